// Actions (docs/sprout.md §7) mapped to tendril (§17.5–§17.7): `chainload` → a Linux, UKI or EFI
// target chosen by the file's content; `print` → a message on the entry; `edera` → a multiboot
// (Xen) target, listed but not bootable by kexec yet. Actions run in order; the first boot
// action ends the list (kexec never returns).

import { diag, type Diagnostic } from '../../diagnostics';
import { normalizePath, statOrNull, type FileStat } from '../../fs/types';
import type { BootTarget, FileRef } from '../../model';
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
  target?: BootTarget;
  bootable: boolean;
  readonly diagnostics: Diagnostic[];
}

class Unbootable extends Error {}

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

/** Resolve a stamped path to an existing regular file, or throw Unbootable with the reason. */
async function fileRef(
  env: ActionEnv,
  text: string,
  what: string,
  out: Diagnostic[],
  w: ReturnType<typeof locOf>,
): Promise<FileRef> {
  const failed = findUnavailable(text);
  if (failed !== undefined) {
    out.push(diag('error', SOURCE, `${what}: extractor ${failed} matched no filesystem and has no fallback`, w));
    throw new Unbootable();
  }
  const r = resolvePath(text, env.home, env.ctx);
  if (!r.ok) {
    out.push(diag('error', SOURCE, `${what}: ${r.reason}`, w));
    throw new Unbootable();
  }
  const m = env.ctx.get(r.ref.fsId);
  const st = m ? await cached(env.statCache, `${r.ref.fsId}\0${r.ref.path}`, () => statOrNull(m.fs, r.ref.path)) : null;
  if (st?.kind !== 'file') {
    out.push(
      diag('error', SOURCE, `${what} ${r.ref.fsId}:${r.ref.path} ${st ? 'is not a regular file' : 'not found'}`, w),
    );
    throw new Unbootable();
  }
  return r.ref;
}

/** Run the entry's actions (names already stamped) with its finalised values. */
export async function runActions(
  names: readonly string[],
  values: ValueMap,
  env: ActionEnv,
  entryAt: Loc,
): Promise<ActionOutcome> {
  const out: ActionOutcome = { bootable: false, diagnostics: [] };
  const s = stamper(values);
  for (const [i, name] of names.entries()) {
    const a = env.actions.get(name);
    const w = locOf(env.home, a?.at ?? entryAt);
    if (!a) {
      out.diagnostics.push(diag('error', SOURCE, `unknown action '${name}'`, locOf(env.home, entryAt)));
      return out;
    }
    if (a.problem || !a.kind) {
      out.diagnostics.push(diag('error', SOURCE, `action ${name}: ${a.problem ?? 'unknown action configuration'}`, w));
      return out;
    }
    try {
      if (a.kind === 'print') {
        out.diagnostics.push(diag('info', SOURCE, `print: ${s.one(a.print!.text)}`, w));
        continue;
      }
      if (a.kind === 'chainload') await chainload(a.chainload!, s, env, out, w);
      else edera(a.edera!, s, env, out, w);
    } catch (e) {
      if (e instanceof StampError) out.diagnostics.push(diag('error', SOURCE, `action ${name}: ${e.message}`, w));
      else if (!(e instanceof Unbootable)) throw e;
      return out;
    }
    if (i + 1 < names.length) {
      out.diagnostics.push(
        diag(
          'info',
          SOURCE,
          `actions after ${name} (${names.slice(i + 1).join(', ')}) would only run if the image returned; kexec does not`,
          w,
        ),
      );
    }
    return out;
  }
  out.diagnostics.push(
    diag('error', SOURCE, 'entry has no chainload or edera action: nothing to boot', locOf(env.home, entryAt)),
  );
  return out;
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

async function chainload(
  c: ChainloadCfg,
  s: Stamper,
  env: ActionEnv,
  out: ActionOutcome,
  w: ReturnType<typeof locOf>,
): Promise<void> {
  const image = await fileRef(env, s.one(c.path), 'chainload.path', out.diagnostics, w);
  const cmdline = s.options(c.options);
  const m = env.ctx.get(image.fsId)!;
  const cls = await cached(env.classCache, `${image.fsId}\0${image.path}`, () => classifyImage(m.fs, image.path));
  if (!cls.ok) {
    out.diagnostics.push(diag('error', SOURCE, `chainload: ${cls.reason}`, w));
    throw new Unbootable();
  }
  if (cls.kind === 'efi') {
    out.target = { kind: 'efi', image, ...(cmdline ? { options: cmdline } : {}) };
    out.bootable = true;
    out.diagnostics.push(diag('info', SOURCE, `chainload ${image.path}: ${cls.detail}`, w));
    return;
  }
  if (cls.kind === 'uki') {
    out.target = { kind: 'uki', image, profile: 0, addons: [], ...(cmdline ? { cmdlineOverride: cmdline } : {}) };
    out.bootable = true;
    return;
  }
  const initrds: FileRef[] = [];
  for (const item of c.linuxInitrd ?? []) {
    const p = s.one(item);
    if (p === '') continue;
    const r = resolvePath(p, env.home, env.ctx);
    if (r.ok && r.ref.path === '/') {
      // docs/sprout.md §15.4: sprout would read the partition root as an initrd; there is simply none.
      out.diagnostics.push(
        diag(
          'warning',
          SOURCE,
          `linux-initrd ${JSON.stringify(p)} names a filesystem root; no initrd (sprout would fail here)`,
          w,
        ),
      );
      continue;
    }
    initrds.push(await fileRef(env, p, 'linux-initrd', out.diagnostics, w));
  }
  const taken = takeInitrdTokens(cmdline);
  for (const p of taken.paths) {
    // EFI-stub syntax: relative to the kernel's own volume.
    let path: string;
    try {
      path = normalizePath('/' + p.replace(/\\/g, '/'));
    } catch (e) {
      out.diagnostics.push(diag('error', SOURCE, `initrd=${p}: ${(e as Error).message}`, w));
      throw new Unbootable();
    }
    initrds.push(await fileRef(env, `tendril-fs:${image.fsId}/${path}`, `initrd=${p}`, out.diagnostics, w));
  }
  if (taken.paths.length) {
    out.diagnostics.push(
      diag(
        'info',
        SOURCE,
        `initrd= in options converted to ${taken.paths.length} initrd file(s) and removed from the command line`,
        w,
      ),
    );
  }
  if (/(^|\s)placeholder(\s|$)/.test(taken.cmdline)) {
    out.diagnostics.push(
      diag('warning', SOURCE, 'command line is "placeholder": set [values] linux-options (root=...)', w),
    );
  }
  out.target = { kind: 'linux', kernel: image, initrds, cmdline: taken.cmdline };
  out.bootable = true;
}

function edera(e: EderaCfg, s: Stamper, env: ActionEnv, out: ActionOutcome, w: ReturnType<typeof locOf>): void {
  // Resolve without requiring existence to build the listing; the reason says why it cannot boot.
  const ref = (text: string, what: string): FileRef => {
    const failed = findUnavailable(text);
    if (failed !== undefined) {
      out.diagnostics.push(
        diag('error', SOURCE, `${what}: extractor ${failed} matched no filesystem and has no fallback`, w),
      );
      throw new Unbootable();
    }
    const r = resolvePath(text, env.home, env.ctx);
    if (!r.ok) {
      out.diagnostics.push(diag('error', SOURCE, `${what}: ${r.reason}`, w));
      throw new Unbootable();
    }
    return r.ref;
  };
  const xen = ref(s.one(e.xen), 'edera.xen');
  const kernel = ref(s.one(e.kernel), 'edera.kernel');
  const initrdText = e.initrd === undefined ? '' : s.one(e.initrd);
  const modules = [{ file: kernel, cmdline: s.options(e.kernelOptions) }];
  if (initrdText !== '') modules.push({ file: ref(initrdText, 'edera.initrd'), cmdline: '' });
  out.target = { kind: 'multiboot', kernel: xen, cmdline: s.options(e.xenOptions), modules };
  out.bootable = false;
  out.diagnostics.push(
    diag(
      'warning',
      SOURCE,
      'edera (Xen) entry: not bootable by kexec yet (needs a multiboot kexec of a multiboot-capable xen.gz)',
      w,
    ),
  );
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
