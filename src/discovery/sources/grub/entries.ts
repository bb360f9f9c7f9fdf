// From what an entry body recorded to a BootEntry: resolve and check every file, join the
// command line as grub does, and say why an entry is not bootable.

import { diag, type Diagnostic } from '../../diagnostics';
import { type FileStat, FsError } from '../../fs/types';
import { originOf, type BootEntry, type BootTarget, type FileRef } from '../../model';
import type { FsLoc, Loaded, MenuDef, Recorder } from './state';

/**
 * grub-core/lib/cmdline.c: arguments joined by one space; `\`, `'` and `"` get a backslash;
 * an argument containing a space is wrapped in double quotes. No BOOT_IMAGE= is added.
 */
export function joinCmdline(args: readonly string[]): string {
  return args
    .map((a) => {
      const esc = a.replace(/[\\'"]/g, (c) => '\\' + c);
      return a.includes(' ') ? `"${esc}"` : esc;
    })
    .join(' ');
}

export type StatFn = (loc: FsLoc, path: string) => Promise<FileStat | FsError>;

interface Check {
  readonly diagnostics: Diagnostic[];
  ok: boolean;
  readonly stat: StatFn;
}

async function fileRef(l: Loaded, what: string, check: Check): Promise<FileRef | null> {
  const where = { fsId: l.file.loc.refId, file: l.file.path, line: l.line, device: l.file.loc.report.device };
  if (!l.res.ok) {
    check.ok = false;
    check.diagnostics.push(diag('error', 'grub', `${what} ${l.spec.slice(0, 160)}: ${l.res.reason}`, where));
    return null;
  }
  const ref: FileRef = { fsId: l.res.loc.refId, path: l.res.path };
  const st = await check.stat(l.res.loc, l.res.path);
  if (st instanceof FsError) {
    check.ok = false;
    check.diagnostics.push(diag('error', 'grub', `${what} ${l.res.path} not found on ${ref.fsId} (${st.code})`, where));
  } else if (st.kind !== 'file') {
    check.ok = false;
    check.diagnostics.push(diag('error', 'grub', `${what} ${l.res.path} on ${ref.fsId} is not a regular file`, where));
  }
  return ref;
}

export interface EntryPlace {
  readonly id: string;
  readonly group?: string;
  readonly hidden: boolean;
}

/** Build the entry, or return the reason it is not an entry at all (no loader command). */
export async function buildEntry(
  def: MenuDef,
  rec: Recorder,
  place: EntryPlace,
  stat: StatFn,
): Promise<BootEntry | string> {
  const check: Check = { diagnostics: [...rec.notes], ok: true, stat };
  const loc = def.file.loc;
  const rep = loc.report;
  const origin = originOf(
    'grub',
    rep,
    loc.loopImage !== undefined ? `${loc.loopImage}:${def.file.path}` : def.file.path,
    def.bls ? undefined : def.line,
  );
  let target: BootTarget;
  if (rec.kernel) {
    const kernel = await fileRef(rec.kernel, 'kernel', check);
    const initrds: FileRef[] = [];
    for (const i of rec.initrds) {
      const r = await fileRef(i, 'initrd', check);
      if (r) initrds.push(r);
    }
    const dt = rec.devicetree ? await fileRef(rec.devicetree, 'devicetree', check) : null;
    if (!kernel) {
      // Unresolvable device: keep the entry visible with the path as written.
      target = {
        kind: 'linux',
        kernel: { fsId: rep.fsId, path: rec.kernel.spec },
        initrds,
        cmdline: joinCmdline(rec.kernel.args),
      };
    } else {
      target = {
        kind: 'linux',
        kernel,
        initrds,
        cmdline: joinCmdline(rec.kernel.args),
        ...(dt ? { devicetree: dt } : {}),
      };
    }
  } else if (rec.multiboot) {
    const mb = rec.multiboot;
    const kernel = (await fileRef(mb, 'multiboot kernel', check)) ?? { fsId: rep.fsId, path: mb.spec };
    const modules: { file: FileRef; cmdline: string }[] = [];
    for (const m of rec.modules) {
      const f = (await fileRef(m, 'module', check)) ?? { fsId: rep.fsId, path: m.spec };
      modules.push({ file: f, cmdline: joinCmdline(m.args) });
    }
    target = { kind: 'multiboot', kernel, cmdline: joinCmdline(mb.args), modules };
    check.ok = false;
    check.diagnostics.push(
      diag('info', 'grub', `${mb.command} (multiboot) entry: not bootable by kexec yet`, {
        fsId: mb.file.loc.refId,
        file: mb.file.path,
        line: mb.line,
      }),
    );
  } else if (rec.chain) {
    const c = rec.chain;
    if ('plusOne' in c) {
      target = { kind: 'efi', image: { fsId: rep.fsId, path: '+1' } };
      check.ok = false;
      check.diagnostics.push(
        diag('warning', 'grub', 'chainloader +1 boots a BIOS boot sector; not supported (no BIOS under tendril)', {
          fsId: rep.fsId,
          file: def.file.path,
          line: c.line,
        }),
      );
    } else {
      const image = (await fileRef(c, 'chainloader', check)) ?? { fsId: rep.fsId, path: c.spec };
      target = { kind: 'efi', image, ...(c.args.length ? { options: joinCmdline(c.args) } : {}) };
    }
  } else {
    return rec.unsupported ?? 'the entry loads no kernel, multiboot kernel or EFI program';
  }
  return {
    id: place.id,
    ...(def.bls ? { idWithoutProfile: def.bls.id } : {}),
    title: def.title,
    displayTitle: def.title,
    ...(def.bls?.version !== undefined ? { version: def.bls.version } : {}),
    ...(def.bls?.sortKey !== undefined ? { sortKey: def.bls.sortKey } : {}),
    ...(def.bls?.machineId !== undefined ? { machineId: def.bls.machineId } : {}),
    ...(def.bls?.architecture !== undefined ? { architecture: def.bls.architecture } : {}),
    origin,
    target,
    ...(def.bls?.counter ? { bootCounter: def.bls.counter } : {}),
    ...(place.hidden ? { hidden: true } : {}),
    ...(place.group !== undefined ? { group: place.group } : {}),
    bootable: check.ok,
    diagnostics: check.diagnostics,
  };
}
