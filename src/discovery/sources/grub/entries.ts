// From what an entry body recorded to a SourceEntry: resolve and check every file, join the
// command line as grub does, and say why an entry is not bootable (and what it names, if
// every file it names has a place).

import { diag, type Diagnostic, type Where } from '../../diagnostics';
import { type FileStat, FsError } from '../../fs/types';
import { Interner } from '../../entries/intern';
import { originOf, statusOf, type BootTarget, type FileRef, type SourceEntry } from '../../model';
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
/** Why the file is not an EFI application for this platform (pe/efiapp.ts), or undefined. */
export type EfiCheckFn = (loc: FsLoc, path: string) => Promise<string | undefined>;

interface Check {
  readonly diagnostics: Diagnostic[];
  /** The first reason the entry cannot boot. */
  reason?: string;
  readonly stat: StatFn;
  readonly intern: Interner;
}

/** A problem that keeps the entry from booting: reported, and the first one is the reason. */
function fail(check: Check, severity: Diagnostic['severity'], message: string, where: Where): void {
  check.reason ??= message;
  check.diagnostics.push(diag(severity, 'grub', message, where));
}

/** The file a loader command names: null when its device cannot be resolved (no place to name). */
async function fileRef(l: Loaded, what: string, check: Check): Promise<FileRef | null> {
  const where = { fsId: l.file.loc.refId, file: l.file.path, line: l.line, device: l.file.loc.report.device };
  if (!l.res.ok) {
    fail(check, 'error', `${what} ${l.spec.slice(0, 160)}: ${l.res.reason}`, where);
    return null;
  }
  const ref: FileRef = check.intern.ref(l.res.loc.refId, l.res.path);
  const st = await check.stat(l.res.loc, l.res.path);
  if (st instanceof FsError) {
    fail(check, 'error', `${what} ${l.res.path} not found on ${ref.fsId} (${st.code})`, where);
  } else if (st.kind !== 'file') {
    fail(check, 'error', `${what} ${l.res.path} on ${ref.fsId} is not a regular file`, where);
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
  /** Shared by the entries of one config (entries/intern.ts). */
  intern: Interner = new Interner(),
  /** Checks a `chainloader` file; absent: only its existence is checked. */
  efiCheck?: EfiCheckFn,
): Promise<SourceEntry | string> {
  const check: Check = { diagnostics: [...rec.notes], stat, intern };
  const loc = def.file.loc;
  const rep = loc.report;
  const origin = originOf(
    'grub',
    rep,
    loc.loopImage !== undefined ? `${loc.loopImage}:${def.file.path}` : def.file.path,
    def.bls ? undefined : def.line,
  );
  // What the entry names; undefined when a file of it has no place (an unresolvable device).
  let target: BootTarget | undefined;
  if (rec.kernel) {
    const kernel = await fileRef(rec.kernel, 'kernel', check);
    let located = kernel !== null;
    const initrds: FileRef[] = [];
    for (const i of rec.initrds) {
      const r = await fileRef(i, 'initrd', check);
      if (r) initrds.push(r);
      else located = false;
    }
    const dt = rec.devicetree ? await fileRef(rec.devicetree, 'devicetree', check) : null;
    if (rec.devicetree && !dt) located = false;
    if (kernel && located) {
      target = {
        kind: 'linux',
        kernel,
        initrds,
        cmdline: intern.str(joinCmdline(rec.kernel.args)),
        ...(dt ? { devicetree: dt } : {}),
      };
    }
  } else if (rec.multiboot) {
    const mb = rec.multiboot;
    const kernel = await fileRef(mb, 'multiboot kernel', check);
    let located = kernel !== null;
    const modules: { file: FileRef; cmdline: string }[] = [];
    for (const m of rec.modules) {
      const f = await fileRef(m, 'module', check);
      if (f) modules.push({ file: f, cmdline: joinCmdline(m.args) });
      else located = false;
    }
    if (kernel && located) target = { kind: 'multiboot', kernel, cmdline: joinCmdline(mb.args), modules };
    fail(check, 'info', `${mb.command} (multiboot) entry: not bootable by kexec yet`, {
      fsId: mb.file.loc.refId,
      file: mb.file.path,
      line: mb.line,
    });
  } else if (rec.chain) {
    const c = rec.chain;
    if ('plusOne' in c) {
      // A BIOS boot sector: no file, nothing tendril could run; the entry names no target.
      fail(check, 'warning', 'chainloader +1 boots a BIOS boot sector; not supported (no BIOS under tendril)', {
        fsId: rep.fsId,
        file: def.file.path,
        line: c.line,
      });
    } else {
      const before = check.reason;
      const image = await fileRef(c, 'chainloader', check);
      if (image) target = { kind: 'efi', image, ...(c.args.length ? { options: joinCmdline(c.args) } : {}) };
      // The file is there: is it a program the firmware in the VM can start?
      if (image && c.res.ok && check.reason === before && efiCheck) {
        const problem = await efiCheck(c.res.loc, c.res.path);
        if (problem !== undefined) {
          fail(check, 'error', `chainloader ${problem} on ${image.fsId}`, {
            fsId: c.file.loc.refId,
            file: c.file.path,
            line: c.line,
            device: c.file.loc.report.device,
          });
        }
      }
    }
  } else {
    return rec.unsupported ?? 'the entry loads no kernel, multiboot kernel or EFI program';
  }
  return {
    sourceId: place.id,
    ...(def.bls ? { idWithoutProfile: def.bls.id } : {}),
    title: def.title,
    ...(def.bls?.version !== undefined ? { version: def.bls.version } : {}),
    ...(def.bls?.sortKey !== undefined ? { sortKey: def.bls.sortKey } : {}),
    ...(def.bls?.machineId !== undefined ? { machineId: def.bls.machineId } : {}),
    ...(def.bls?.architecture !== undefined ? { architecture: def.bls.architecture } : {}),
    origin,
    status: statusOf(target, check.reason),
    ...(def.bls?.counter ? { bootCounter: def.bls.counter } : {}),
    ...(place.hidden ? { hidden: true } : {}),
    ...(place.group !== undefined ? { group: place.group } : {}),
    diagnostics: check.diagnostics,
  };
}
