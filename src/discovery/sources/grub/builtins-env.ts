// source, configfile, load_env and save_env (docs/grub-syslinux.md §A3, §A5, §A8).

import { FsError } from '../../fs/types';
import type { Builtin, GrubHost } from './host';
import { GRUBENV_MAX_BYTES, readGrubenv } from './grubenv-read';
import type { Exec, SourceFile } from './state';

function fileArg(it: GrubHost, x: Exec, spec: string | undefined, cmd: string, line: number): SourceFile | null {
  if (spec === undefined) {
    it.report(x, 'warning', `${cmd}: file name expected`, line);
    return null;
  }
  const r = it.resolve(x, spec);
  if (!r.ok) {
    it.report(x, 'error', `${cmd} ${spec.slice(0, 120)}: ${r.reason}`, line);
    return null;
  }
  return { loc: r.loc, path: r.path };
}

/** `[-f FILE | --file=FILE] [--skip-sig] [VARS…]`; FILE defaults to $prefix/grubenv. */
function envArgs(it: GrubHost, x: Exec, argv: readonly string[]): { file: string; vars: string[] } {
  let file: string | undefined;
  const vars: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-f' || a === '--file') file = argv[++i];
    else if (a.startsWith('--file=')) file = a.slice(7);
    else if (a === '-s' || a === '--skip-sig') continue;
    else vars.push(a);
  }
  return { file: file ?? `${it.getVar(x, 'prefix')}/grubenv`, vars };
}

export const ENV_BUILTINS: Record<string, Builtin> = {
  source: {
    async run(it, x, argv, line) {
      const f = fileArg(it, x, argv[1], 'source', line);
      return f ? it.source(x, f, line) : 1;
    },
  },
  '.': {
    async run(it, x, argv, line) {
      const f = fileArg(it, x, argv[1], 'source', line);
      return f ? it.source(x, f, line) : 1;
    },
  },
  configfile: {
    async run(it, x, argv, line) {
      const f = fileArg(it, x, argv[1], 'configfile', line);
      return f ? it.configfile(x, f, line) : 1;
    },
  },
  load_env: {
    async run(it, x, argv, line) {
      const { file, vars } = envArgs(it, x, argv);
      const f = fileArg(it, x, file, 'load_env', line);
      if (!f) return 1;
      let bytes: Uint8Array;
      try {
        bytes = await it.readBytes(f.loc, f.path, GRUBENV_MAX_BYTES);
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
        it.report(x, 'warning', `load_env: cannot read ${f.path}: ${e.code}`, line);
        return 1;
      }
      const env = readGrubenv(bytes, { file: f.path, fsId: f.loc.refId, device: f.loc.report.device });
      for (const d of env.diagnostics) it.report(x, d.severity, `load_env: ${d.message}`, line);
      const want = vars.length ? new Set(vars) : null;
      for (const [k, v] of env.vars) {
        if (want && !want.has(k)) continue;
        if (!it.setVar(x, k, v, line)) return 1;
        it.recordEnvOrigin(k, { fsId: f.loc.refId, path: f.path, value: v });
      }
      return 0;
    },
  },
  save_env: {
    run(it, x, argv, line) {
      // Never written during evaluation: recorded, so the one-shot next_entry clear can be done
      // by the boot path (docs/grub-syslinux.md §A7).
      const { file, vars } = envArgs(it, x, argv);
      const f = fileArg(it, x, file, 'save_env', line);
      if (!f) return 1;
      if (x.rec) {
        x.rec.saveEnv.push(...vars);
        return 0;
      }
      const values = new Map<string, string>();
      for (const v of vars) values.set(v, it.getVar(x, v));
      it.recordSaveEnv({ fsId: f.loc.refId, path: f.path, values, line, file: x.file.path });
      return 0;
    },
  },
};
