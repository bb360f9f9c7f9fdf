// Actions (docs/sprout.md §7) mapped to tendril (§17.5–§17.7): `chainload` → a Linux, UKI or EFI
// target chosen by the file's content; `print` → a message on the entry; `edera` → a multiboot
// (Xen) target, listed but not bootable by kexec yet. Actions run in order; the first boot
// action ends the list (kexec never returns).

import { diag, type Diagnostic } from '../../diagnostics';
import { normalizePath, statOrNull, type FileStat } from '../../fs/types';
import { statusOf, type EntryStatus, type FileRef } from '../../model';
import type { SourceContext } from '../context';
import { classifyImage, type Classified } from './classify';
import { findUnavailable } from './extractors';
import { resolvePath } from './paths';
import { SOURCE, type ActionCfg, type ChainloadCfg, type EderaCfg, type Loc } from './schema';
import { combineOptions, stampOrder, stampWith, StampError, type ValueMap } from './stamp';

export interface ActionEnv {
  readonly ctx: SourceContext;
  readonly home: string;
  readonly actions: ReadonlyMap<string, ActionCfg>;
  /** Per-evaluation caches: generated entries often share one kernel (fsId + '\0' + path). */
  readonly statCache?: Map<string, Promise<FileStat | null>>;
  readonly classCache?: Map<string, Promise<Classified>>;
}

function cached<T>(cache: Map<string, Promise<T>> | undefined, key: string, f: () => Promise<T>): Promise<T> {
  if (!cache) return f();
  let p = cache.get(key);
  if (!p) {
    p = f();
    cache.set(key, p);
  }
  return p;
}

export interface ActionOutcome {
  /** What the actions boot, or why they cannot (and what they name, when complete). */
  readonly status: EntryStatus;
  readonly diagnostics: Diagnostic[];
}

/** A file that cannot be used; its message (already reported) is the entry's reason. */
class Unbootable extends Error {}

type At = ReturnType<typeof locOf>;

function locOf(fsId: string, at: Loc): { fsId: string; file: string; line?: number } {
  return { fsId, file: at.file, ...(at.line !== undefined ? { line: at.line } : {}) };
}

interface Stamper {
  one(s: string): string;
  options(items: readonly string[]): string;
}

function stamper(values: ValueMap): Stamper {
  const order = stampOrder(values);
  return {
    one: (s) => stampWith(s, values, order),
    options: (items) => combineOptions(items, values, order),
  };
}

/** Report a problem that ends the entry's actions; throws Unbootable with it as the reason. */
function unbootable(out: Diagnostic[], message: string, w: At): never {
  out.push(diag('error', SOURCE, message, w));
  throw new Unbootable(message);
}

/** Resolve a stamped path to a file's place, or throw Unbootable when it names none. */
function place(env: ActionEnv, text: string, what: string, out: Diagnostic[], w: At): FileRef {
  const failed = findUnavailable(text);
  if (failed !== undefined)
    unbootable(out, `${what}: extractor ${failed} matched no filesystem and has no fallback`, w);
  const r = resolvePath(text, env.home, env.ctx);
  if (!r.ok) unbootable(out, `${what}: ${r.reason}`, w);
  return r.ref;
}

/** Why no regular file is at `ref` (undefined: there is one). */
async function missing(env: ActionEnv, ref: FileRef, what: string): Promise<string | undefined> {
  const m = env.ctx.get(ref.fsId);
  const st = m ? await cached(env.statCache, `${ref.fsId}\0${ref.path}`, () => statOrNull(m.fs, ref.path)) : null;
  return st?.kind === 'file'
    ? undefined
    : `${what} ${ref.fsId}:${ref.path} ${st ? 'is not a regular file' : 'not found'}`;
}

/** Resolve a stamped path to an existing regular file, or throw Unbootable with the reason. */
async function fileRef(env: ActionEnv, text: string, what: string, out: Diagnostic[], w: At): Promise<FileRef> {
  const ref = place(env, text, what, out, w);
  const why = await missing(env, ref, what);
  if (why !== undefined) unbootable(out, why, w);
  return ref;
}

/** Run the entry's actions (names already stamped) with its finalised values. */
export async function runActions(
  names: readonly string[],
  values: ValueMap,
  env: ActionEnv,
  entryAt: Loc,
): Promise<ActionOutcome> {
  const diagnostics: Diagnostic[] = [];
  const broken = (message: string, w: At): ActionOutcome => {
    diagnostics.push(diag('error', SOURCE, message, w));
    return { status: { ok: false, reason: message }, diagnostics };
  };
  const s = stamper(values);
  for (const [i, name] of names.entries()) {
    const a = env.actions.get(name);
    const w = locOf(env.home, a?.at ?? entryAt);
    if (!a) return broken(`unknown action '${name}'`, locOf(env.home, entryAt));
    if (a.kind === 'broken') return broken(`action ${name}: ${a.problem}`, w);
    let status: EntryStatus;
    try {
      if (a.kind === 'print') {
        diagnostics.push(diag('info', SOURCE, `print: ${s.one(a.print.text)}`, w));
        continue;
      }
      status =
        a.kind === 'chainload'
          ? await chainload(a.chainload, s, env, diagnostics, w)
          : edera(a.edera, s, env, diagnostics, w);
    } catch (e) {
      if (e instanceof StampError) return broken(`action ${name}: ${e.message}`, w);
      if (e instanceof Unbootable) return { status: { ok: false, reason: e.message }, diagnostics };
      throw e;
    }
    if (i + 1 < names.length) {
      diagnostics.push(
        diag(
          'info',
          SOURCE,
          `actions after ${name} (${names.slice(i + 1).join(', ')}) would only run if the image returned; kexec does not`,
          w,
        ),
      );
    }
    return { status, diagnostics };
  }
  return broken('entry has no chainload or edera action: nothing to boot', locOf(env.home, entryAt));
}

/** `initrd=<path>` words of an EFI-stub command line: removed, resolved on the kernel's fs. */
export function takeInitrdTokens(cmdline: string): { cmdline: string; paths: string[] } {
  const paths: string[] = [];
  const rest = cmdline.replace(/(^|\s)initrd=(\S*)/g, (_m, _sp: string, p: string) => {
    if (p) paths.push(p);
    return ' ';
  });
  return { cmdline: rest.replace(/\s+/g, ' ').trim(), paths };
}

async function chainload(c: ChainloadCfg, s: Stamper, env: ActionEnv, out: Diagnostic[], w: At): Promise<EntryStatus> {
  const image = await fileRef(env, s.one(c.path), 'chainload.path', out, w);
  const cmdline = s.options(c.options);
  const m = env.ctx.get(image.fsId)!;
  const cls = await cached(env.classCache, `${image.fsId}\0${image.path}`, () =>
    classifyImage(m.fs, image.path, env.ctx.arch),
  );
  if (!cls.ok) unbootable(out, `chainload: ${cls.reason}`, w);
  if (cls.kind === 'efi') {
    out.push(diag('info', SOURCE, `chainload ${image.path}: ${cls.detail}`, w));
    return { ok: true, target: { kind: 'efi', image, ...(cmdline ? { options: cmdline } : {}) } };
  }
  if (cls.kind === 'uki') {
    return {
      ok: true,
      target: { kind: 'uki', image, profile: 0, addons: [], ...(cmdline ? { cmdlineOverride: cmdline } : {}) },
    };
  }
  // A Linux kernel: every initrd is looked at, so a missing one still leaves the whole
  // declared target to show; the first missing file is the reason it cannot boot.
  let reason: string | undefined;
  const initrd = async (text: string, what: string): Promise<FileRef> => {
    const ref = place(env, text, what, out, w);
    const why = await missing(env, ref, what);
    if (why !== undefined) {
      out.push(diag('error', SOURCE, why, w));
      reason ??= why;
    }
    return ref;
  };
  const initrds: FileRef[] = [];
  for (const item of c.linuxInitrd ?? []) {
    const p = s.one(item);
    if (p === '') continue;
    const r = resolvePath(p, env.home, env.ctx);
    if (r.ok && r.ref.path === '/') {
      // docs/sprout.md §15.4: sprout would read the partition root as an initrd; there is simply none.
      out.push(
        diag(
          'warning',
          SOURCE,
          `linux-initrd ${JSON.stringify(p)} names a filesystem root; no initrd (sprout would fail here)`,
          w,
        ),
      );
      continue;
    }
    initrds.push(await initrd(p, 'linux-initrd'));
  }
  const taken = takeInitrdTokens(cmdline);
  for (const p of taken.paths) {
    // EFI-stub syntax: relative to the kernel's own volume.
    let path: string;
    try {
      path = normalizePath('/' + p.replace(/\\/g, '/'));
    } catch (e) {
      unbootable(out, `initrd=${p}: ${(e as Error).message}`, w);
    }
    initrds.push(await initrd(`tendril-fs:${image.fsId}/${path}`, `initrd=${p}`));
  }
  if (taken.paths.length) {
    out.push(
      diag(
        'info',
        SOURCE,
        `initrd= in options converted to ${taken.paths.length} initrd file(s) and removed from the command line`,
        w,
      ),
    );
  }
  if (/(^|\s)placeholder(\s|$)/.test(taken.cmdline)) {
    out.push(diag('warning', SOURCE, 'command line is "placeholder": set [values] linux-options (root=...)', w));
  }
  return statusOf({ kind: 'linux', kernel: image, initrds, cmdline: taken.cmdline }, reason);
}

function edera(e: EderaCfg, s: Stamper, env: ActionEnv, out: Diagnostic[], w: At): EntryStatus {
  // Resolve without requiring existence to build the listing; the reason says why it cannot boot.
  const ref = (text: string, what: string): FileRef => place(env, text, what, out, w);
  const xen = ref(s.one(e.xen), 'edera.xen');
  const kernel = ref(s.one(e.kernel), 'edera.kernel');
  const initrdText = e.initrd === undefined ? '' : s.one(e.initrd);
  const modules = [{ file: kernel, cmdline: s.options(e.kernelOptions) }];
  if (initrdText !== '') modules.push({ file: ref(initrdText, 'edera.initrd'), cmdline: '' });
  const reason = 'edera (Xen) entry: not bootable by kexec yet (needs a multiboot kexec of a multiboot-capable xen.gz)';
  out.push(diag('warning', SOURCE, reason, w));
  return { ok: false, reason, declared: { kind: 'multiboot', kernel: xen, cmdline: s.options(e.xenOptions), modules } };
}

/** The canonical BLS chainload (docs/sprout.md §17.5): path `<root>\$chainload`, options ["$options"], initrd `<root>\$initrd`. */
export function isCanonicalBlsChainload(a: ActionCfg | undefined): boolean {
  const c = a?.kind === 'chainload' ? a.chainload : undefined;
  if (!c) return false;
  if (!c.path.endsWith('$chainload')) return false;
  if (c.options.length !== 1 || c.options[0] !== '$options') return false;
  const li = c.linuxInitrd;
  return li === undefined || (li.length === 1 && li[0]!.endsWith('$initrd'));
}
