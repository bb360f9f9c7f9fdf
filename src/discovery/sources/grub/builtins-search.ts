// search, search.fs_uuid/fs_label/file and probe (docs/grub-syslinux.md §A5, §A6).

import { deviceName, resolveDevice, search, stripParens, type SearchKind } from './devices';
import type { Builtin, GrubHost } from './host';
import type { Exec } from './state';

async function doSearch(
  it: GrubHost,
  x: Exec,
  kind: SearchKind,
  key: string | undefined,
  variable: string | undefined,
  line: number,
): Promise<number> {
  if (key === undefined) {
    it.report(x, 'warning', 'search: no key given', line);
    return 1;
  }
  const hits = await search(it.ctx, x.file, kind, key);
  if (hits.length === 0) {
    it.report(
      x,
      'warning',
      `search: no filesystem with ${kind === 'uuid' ? 'UUID' : kind === 'label' ? 'label' : 'file'} ${key.slice(0, 120)}`,
      line,
    );
    return 1;
  }
  if (variable !== undefined && !it.setVar(x, variable, deviceName(hits[0]!, x.env), line)) return 1;
  return 0;
}

const search_: Builtin = {
  async run(it, x, argv, line) {
    let kind: SearchKind | undefined;
    let variable: string | undefined;
    const keys: string[] = [];
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--fs-uuid' || a === '-u') kind = 'uuid';
      else if (a === '--label' || a === '-l') kind = 'label';
      else if (a === '--file' || a === '-f') kind = 'file';
      else if (a === '--set' || a === '-s') {
        // `--set VAR` is not grub syntax (only --set=VAR); a bare --set means root.
        variable = 'root';
      } else if (a.startsWith('--set=')) variable = a.slice(6);
      else if (a === '--no-floppy' || a === '-n' || a === '--efidisk-only') continue;
      else if (a.startsWith('--hint')) {
        if (!a.includes('=')) i++;
      } else if (a.startsWith('-') && a.length > 1 && keys.length === 0 && !/^-[0-9a-fA-F]/.test(a)) {
        it.report(x, 'info', `search: option ${a.slice(0, 40)} ignored`, line);
      } else keys.push(a);
    }
    if (!kind) {
      it.report(x, 'warning', 'search: unspecified search type (--file, --label or --fs-uuid)', line);
      return 1;
    }
    return doSearch(it, x, kind, keys[0], variable, line);
  },
};

/** `search.fs_uuid KEY [VAR [HINT…]]` and friends (u-root#1875: hints after VAR). */
function positional(kind: SearchKind): Builtin {
  return {
    async run(it, x, argv, line) {
      return doSearch(it, x, kind, argv[1], argv[2], line);
    },
  };
}

const probe: Builtin = {
  run(it, x, argv, line) {
    let what: string | undefined;
    let variable: string | undefined;
    let dev: string | undefined;
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--fs-uuid' || a === '-u') what = 'uuid';
      else if (a === '--label' || a === '-l') what = 'label';
      else if (a === '--fs' || a === '-f') what = 'fs';
      else if (a === '--part-uuid') what = 'partuuid';
      else if (a === '--driver' || a === '-d') what = 'driver';
      else if (a.startsWith('--set=')) variable = a.slice(6);
      else if (a === '--set' || a === '-s') variable = argv[++i];
      else dev = a;
    }
    if (!what || dev === undefined) {
      it.report(x, 'warning', 'probe: need --fs-uuid/--label/--fs/--part-uuid and a device', line);
      return 1;
    }
    const r = resolveDevice(it.ctx, x.env, x.file, stripParens(dev), it.devices);
    if (!r.ok) {
      it.report(x, 'warning', `probe ${dev.slice(0, 80)}: ${r.reason}`, line);
      return 1;
    }
    const rep = r.loc.report;
    const value =
      what === 'uuid'
        ? rep.probe?.uuid
        : what === 'label'
          ? rep.probe?.label
          : what === 'partuuid'
            ? rep.partUuid
            : what === 'fs' || what === 'driver'
              ? rep.probe?.type === 'vfat'
                ? 'fat'
                : rep.probe?.type?.replace(/^ext[34]$/, 'ext2')
              : undefined;
    if (value === undefined) {
      it.report(x, 'info', `probe: ${dev.slice(0, 80)} has no ${what}`, line);
      return 1;
    }
    if (variable !== undefined) return it.setVar(x, variable, value, line) ? 0 : 1;
    return 0;
  },
};

export const SEARCH_BUILTINS: Record<string, Builtin> = {
  search: search_,
  'search.fs_uuid': positional('uuid'),
  'search.fs_label': positional('label'),
  'search.file': positional('file'),
  probe,
};
