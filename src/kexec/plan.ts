// A boot plan: which bytes become the kernel and the initrd, and the final command line,
// decided before anything is loaded, so `--dry-run` and the real boot share one code path.

import { createHash } from 'node:crypto';
import type { FileSystem } from '../discovery/fs/types';
import { FsError } from '../discovery/fs/types';
import type {
  BootTarget,
  EntryStatus,
  FileRef,
  FsId,
  LinuxTarget,
  MenuEntry,
  UkiTarget,
  UkiUrlTarget,
} from '../discovery/model';
import { bootOriginFor, rewriteBootOriginPulls, type PullRewrite } from '../net/origin';
import {
  type ExtraPiece,
  type PrefetchedPull,
  type PrefetchOptions,
  type PrefetchResult,
  netPullFiles,
  prefetchPulls,
} from '../net/pull-prefetch';
import {
  type AddonFile,
  type FileRange,
  type UkiBootParts,
  composeUkiCmdline,
  ukiBootParts,
} from '../discovery/uki/parts';
import { BZIMAGE_PROBE_BYTES, type BzImageProbe, probeBzImage, versionOffset } from './bzimage';
import { buildCmdline, checkCmdlineLength, type ConsolePolicy } from './cmdline';
import { KexecError, hintFor } from './errors';
import { type InitrdLayout, layoutInitrd } from './initrd';
import {
  type LoadSizes,
  type MemorySource,
  type MemoryVerdict,
  checkMemory,
  formatBytes,
  initrdBytes,
  memAvailable,
} from './memory';
import type { ProgressFn } from './progress';
import { type ErrnoName, errnoNumber } from '../util/errno';
import { printableLines } from '../util/printable';

/** Read unit for every copy: the discovery readers are asked for at most this much at once. */
export const CHUNK = 4 << 20;

export interface PlanFile {
  readonly role: 'kernel' | 'initrd';
  /** 'vda:1:/vmlinuz-6.1' or, for a UKI section, 'vda:1:/EFI/Linux/x.efi#.linux'. */
  readonly label: string;
  readonly fsId: FsId;
  readonly path: string;
  /** Byte range inside the file (whole file: 0 and its size). */
  readonly offset: number;
  readonly size: number;
  readonly microcode?: boolean;
  /** A piece tendril made (the `rd.systemd.pull=` cpio's headers): its bytes, on no filesystem. */
  readonly bytes?: Uint8Array;
}

export interface BootPlan {
  readonly entryId: string;
  readonly title: string;
  readonly syscall: 'kexec_file_load';
  readonly kernel: PlanFile;
  /** In load order (already laid out: empty ones dropped). */
  readonly initrds: readonly PlanFile[];
  readonly initrdLayout: InitrdLayout;
  readonly cmdline: string;
  readonly cmdlineLimit: number;
  readonly consoleDecision: string;
  readonly stripped: readonly string[];
  readonly probe: Extract<BzImageProbe, { ok: true }>;
  readonly warnings: readonly string[];
  /** What loading needs and what MemAvailable said when planned (docs/kexec.md §4.2). */
  readonly memory: { readonly needed: number; readonly available?: number };
  /** A UKI's command-line sources as planned, for signature checks to compare with the verified image (docs/signatures.md §4). */
  readonly uki?: { readonly embeddedCmdline: string; readonly addonCmdline: string };
  /** `rd.systemd.pull=` options whose `bootorigin` became an absolute URL (docs/net-bootfiles.md §8). */
  readonly pullRewrites?: readonly PullRewrite[];
  /** Pull images downloaded into the extra initrd, and the file:// URLs the OS got (docs/net-bootfiles.md §8.3). */
  readonly pullPrefetched?: readonly PrefetchedPull[];
}

export type FsLookup = (fsId: FsId) => FileSystem | undefined;

export interface PlanOptions {
  readonly append?: string;
  readonly replace?: string;
  readonly ownConsoles?: readonly string[];
  readonly consolePolicy?: ConsolePolicy;
  readonly policy?: readonly string[];
  /** MemAvailable in bytes (default: /proc/meminfo); the plan is refused when it is too small. */
  readonly memAvailable?: MemorySource;
  /**
   * `trust.policy = require` (docs/signatures.md §7): options from the disk (a Type #1 `uki`
   * entry's) do not replace a UKI's signed `.cmdline`, as systemd-stub does under Secure Boot.
   * The operator's own replacement (`--cmdline`, the editor) still applies.
   */
  readonly lockUkiCmdline?: boolean;
  /**
   * A `uki-url` entry's URL as a file on an interface's network filesystem that `lookup` finds
   * (docs/net-bootfiles.md §8); it may bring the network up. Absent: such entries cannot be planned.
   */
  readonly ukiUrl?: (url: string) => Promise<FileRef>;
  /** tendril's boot origin (net.origin, or the lease's boot file): `bootorigin` pulls resolve against it. */
  readonly origin?: string;
  /**
   * net.pull-prefetch: download the rewritten `rd.systemd.pull=` images (through `ukiUrl`'s
   * network) into an extra initrd cpio and point the pulls at it (docs/net-bootfiles.md §8.3).
   */
  readonly pullPrefetch?: PrefetchOptions;
}

export const labelOf = (r: FileRef, section?: string): string => `${r.fsId}:${r.path}${section ? `#${section}` : ''}`;

function fsFor(lookup: FsLookup, ref: FileRef, role: string, ctx: FailCtx): FileSystem {
  const f = lookup(ref.fsId);
  if (!f) throw fail(ctx, 'open', 'ENODEV', `${role} ${labelOf(ref)}: filesystem ${ref.fsId} is not available`);
  return f;
}

interface FailCtx {
  kernel: string;
  initrds: string[];
}

function fail(
  ctx: FailCtx,
  syscall: string,
  errno: ErrnoName,
  hint: string,
  extra: { probe?: string } = {},
): KexecError {
  return new KexecError({
    syscall,
    errno,
    code: errnoNumber(errno),
    kernel: ctx.kernel,
    initrds: ctx.initrds,
    hint,
    ...extra,
  });
}

/** Read [pos, pos+len) of a file through the reader, refusing short reads. */
export async function readRange(f: FileSystem, path: string, pos: number, len: number): Promise<Uint8Array> {
  const h = await f.open(path);
  try {
    const out = new Uint8Array(Math.max(0, Math.min(len, h.size - pos)));
    let done = 0;
    while (done < out.length) {
      const c = await h.read(pos + done, Math.min(CHUNK, out.length - done));
      if (c.length === 0) throw new FsError('EIO', path, `short read at ${pos + done}`);
      out.set(c, done);
      done += c.length;
    }
    return out;
  } finally {
    await h.close();
  }
}

async function sizeOf(f: FileSystem, ref: FileRef, role: string, ctx: FailCtx): Promise<number> {
  try {
    const st = await f.stat(ref.path);
    if (st.kind !== 'file') throw new FsError('EINVAL', ref.path, 'not a regular file');
    return st.size;
  } catch (e) {
    if (e instanceof FsError) {
      const what = e.code === 'ENOENT' ? 'missing' : 'unreadable';
      throw fail(ctx, 'open', e.code, `${role} ${labelOf(ref)} is ${what}: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Refuse a plan whose sizes do not fit in memory (docs/kexec.md §4.2), before its files are
 * read: ENOMEM with both numbers and the largest file.
 */
function memoryGate(ctx: FailCtx, sizes: LoadSizes, opts: PlanOptions): MemoryVerdict {
  const v = checkMemory(sizes, (opts.memAvailable ?? memAvailable)());
  if (v.ok === false) {
    throw new KexecError({
      syscall: 'plan',
      errno: 'ENOMEM',
      code: errnoNumber('ENOMEM'),
      kernel: ctx.kernel,
      initrds: ctx.initrds,
      hint: v.reason,
      kernelSize: sizes.kernel.size,
      initrdSize: initrdBytes(sizes.initrds),
    });
  }
  return v;
}

const sizesOf = (kernel: KernelSource, initrds: readonly InitrdSource[], initSize?: number): LoadSizes => ({
  kernel: { label: kernel.file.label, size: kernel.file.size },
  initrds: initrds.map((i) => ({ label: i.file.label, size: i.file.size })),
  ...(initSize !== undefined ? { kernelInitSize: initSize } : {}),
});

interface KernelSource {
  readonly file: PlanFile;
  readonly fs: FileSystem;
}

interface InitrdSource {
  readonly file: PlanFile;
  /** Absent for a piece that carries its bytes. */
  readonly fs?: FileSystem;
}

/**
 * Build the plan for a Linux or UKI entry. Throws KexecError naming the file and the reason;
 * a broken entry is refused with its own reason (what it declares is never loaded).
 */
export async function planBoot(entry: MenuEntry, lookup: FsLookup, opts: PlanOptions = {}): Promise<BootPlan> {
  if (!entry.status.ok) throw await refusal(entry.status, entry.id, lookup);
  const t = entry.status.target;
  if (t.kind === 'linux') return planLinux(entry, t, lookup, opts);
  if (t.kind === 'uki') return planUki(entry, t, lookup, opts);
  if (t.kind === 'uki-url') return planUki(entry, await ukiOfUrl(t, opts), lookup, opts);
  const ref = 'image' in t ? labelOf(t.image) : labelOf(t.kernel);
  throw new KexecError({
    syscall: 'plan',
    errno: 'ENOEXEC',
    code: errnoNumber('ENOEXEC'),
    kernel: ref,
    initrds: [],
    hint: `entry kind '${t.kind}' cannot be kexec'd with kexec_file_load (${t.kind === 'multiboot' ? 'needs kexec_load' : 'needs the VM path'})`,
  });
}

/** A `uki-url` target as the UKI on the network it names. */
async function ukiOfUrl(t: UkiUrlTarget, opts: PlanOptions): Promise<UkiTarget> {
  const refuse = (errno: ErrnoName, why: string): KexecError =>
    new KexecError({ syscall: 'plan', errno, code: errnoNumber(errno), kernel: t.url, initrds: [], hint: why });
  if (!opts.ukiUrl) throw refuse('ENETDOWN', `uki-url ${t.url}: this command has no network to fetch it with`);
  let image: FileRef;
  try {
    image = await opts.ukiUrl(t.url);
  } catch (e) {
    throw refuse('ENETDOWN', `uki-url ${t.url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    kind: 'uki',
    image,
    profile: t.profile ?? 0,
    addons: [],
    ...(t.cmdlineOverride !== undefined ? { cmdlineOverride: t.cmdlineOverride } : {}),
  };
}

/** What a target loads, as a failure names it: the kernel (or image) and the initrds. */
function targetFiles(t: BootTarget): { kernel?: FileRef; initrds: readonly FileRef[] } {
  switch (t.kind) {
    case 'linux':
      return { kernel: t.kernel, initrds: t.initrds };
    case 'uki':
    case 'efi':
      return { kernel: t.image, initrds: [] };
    case 'multiboot':
      return { kernel: t.kernel, initrds: [] };
    case 'uki-url':
      return { initrds: [] };
  }
}

/**
 * Why a broken entry is refused, with the errno of the problem behind its reason: the lookup
 * error discovery recorded (ELOOP, EACCES for an escape, ENOENT), else the first declared file
 * that the same readers fail to find now, else ENOEXEC (the config names nothing loadable).
 * What it declares is looked up, never read (docs/kexec.md §4.1).
 */
async function refusal(s: Extract<EntryStatus, { ok: false }>, id: string, lookup: FsLookup): Promise<KexecError> {
  const files = s.declared ? targetFiles(s.declared) : { initrds: [] };
  let errno: ErrnoName | undefined = s.errno;
  for (const r of errno ? [] : [files.kernel, ...files.initrds]) {
    if (!r) continue;
    const f = lookup(r.fsId);
    if (!f) {
      errno = 'ENODEV';
      break;
    }
    const code = await f.stat(r.path).then(
      () => undefined,
      (e: unknown) => (e instanceof FsError ? e.code : undefined),
    );
    if (code) {
      errno = code;
      break;
    }
  }
  const e = errno ?? 'ENOEXEC';
  return new KexecError({
    syscall: 'plan',
    errno: e,
    code: errnoNumber(e),
    kernel: files.kernel ? labelOf(files.kernel) : `(none; entry ${id})`,
    initrds: files.initrds.map((r) => labelOf(r)),
    hint: `entry not bootable: ${s.reason}`,
  });
}

async function planLinux(entry: MenuEntry, t: LinuxTarget, lookup: FsLookup, opts: PlanOptions): Promise<BootPlan> {
  const ctx: FailCtx = { kernel: labelOf(t.kernel), initrds: t.initrds.map((r) => labelOf(r)) };
  const kfs = fsFor(lookup, t.kernel, 'kernel', ctx);
  const ksize = await sizeOf(kfs, t.kernel, 'kernel', ctx);
  const kernel: KernelSource = {
    fs: kfs,
    file: { role: 'kernel', label: ctx.kernel, fsId: t.kernel.fsId, path: t.kernel.path, offset: 0, size: ksize },
  };
  const initrds: InitrdSource[] = [];
  for (const r of t.initrds) {
    const f = fsFor(lookup, r, 'initrd', ctx);
    const size = await sizeOf(f, r, 'initrd', ctx);
    initrds.push({ fs: f, file: { role: 'initrd', label: labelOf(r), fsId: r.fsId, path: r.path, offset: 0, size } });
  }
  // Sizes come from stat alone: nothing has been read yet.
  memoryGate(ctx, sizesOf(kernel, initrds), opts);
  return finishPlan(entry, ctx, kernel, initrds, lookup, { ...opts, entryOptions: t.cmdline });
}

async function planUki(entry: MenuEntry, t: UkiTarget, lookup: FsLookup, opts: PlanOptions): Promise<BootPlan> {
  const ctx: FailCtx = { kernel: labelOf(t.image, '.linux'), initrds: [] };
  const ufs = fsFor(lookup, t.image, 'UKI', ctx);
  const addons: AddonFile[] = t.addons.map((a) => ({
    fs: fsFor(lookup, a, 'add-on', ctx),
    path: a.path,
    fsId: a.fsId,
  }));
  let parts: UkiBootParts;
  try {
    parts = await ukiBootParts(ufs, t.image.path, t.profile, addons, { fsId: t.image.fsId });
  } catch (e) {
    const code = e instanceof FsError ? e.code : 'ENOEXEC';
    throw fail(ctx, 'plan', code, `UKI ${labelOf(t.image)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const range = (r: FileRange, role: 'kernel' | 'initrd'): PlanFile => {
    const fsId = r.fsId ?? t.image.fsId;
    return {
      role,
      label: `${fsId}:${r.path}#${r.section}`,
      fsId,
      path: r.path,
      offset: r.offset,
      size: r.length,
      ...(r.section === '.ucode' ? { microcode: true } : {}),
    };
  };
  const kernel: KernelSource = { fs: ufs, file: range(parts.kernel, 'kernel') };
  const initrds: InitrdSource[] = parts.initrdParts.map((r) => ({ fs: r.fs, file: range(r, 'initrd') }));
  ctx.initrds = initrds.map((i) => i.file.label);
  // Section sizes come from the PE headers: no section's bytes have been read yet.
  memoryGate(ctx, sizesOf(kernel, initrds), opts);
  // systemd-stub rule: options from the entry or the editor replace .cmdline; add-ons append.
  const locked =
    opts.replace === undefined &&
    opts.lockUkiCmdline === true &&
    t.cmdlineOverride !== undefined &&
    parts.embeddedCmdline !== '';
  const entryOptions = composeUkiCmdline(parts, opts.replace ?? t.cmdlineOverride, locked);
  const warnings = parts.skippedAddons.map((a) => `add-on ${a.path} skipped: ${a.reason}`);
  if (locked)
    warnings.push(
      `the options of ${entry.origin.file} are ignored: trust.policy = require keeps the UKI's signed .cmdline`,
    );
  const { replace: _r, ...rest } = opts;
  const plan = await finishPlan(entry, ctx, kernel, initrds, lookup, { ...rest, entryOptions }, warnings);
  return { ...plan, uki: { embeddedCmdline: parts.embeddedCmdline, addonCmdline: parts.addonCmdline } };
}

async function finishPlan(
  entry: MenuEntry,
  ctx: FailCtx,
  kernel: KernelSource,
  initrds: InitrdSource[],
  lookup: FsLookup,
  opts: PlanOptions & { entryOptions: string },
  extraWarnings: string[] = [],
): Promise<BootPlan> {
  const k = kernel.file;
  const head = await readRange(kernel.fs, k.path, k.offset, Math.min(BZIMAGE_PROBE_BYTES, k.size));
  const vo = versionOffset(head);
  const vbytes =
    vo !== undefined && vo < k.size
      ? await readRange(kernel.fs, k.path, k.offset + vo, Math.min(128, k.size - vo))
      : undefined;
  const probe = probeBzImage(head, k.size, vbytes);
  if (!probe.ok) {
    throw fail(
      ctx,
      'probe',
      'ENOEXEC',
      hintFor('kexec_file_load', 'ENOEXEC', { probe: `${ctx.kernel}: ${probe.reason}` }),
      {
        probe: probe.reason,
      },
    );
  }
  const cl = buildCmdline({
    entryOptions: opts.entryOptions,
    ...(opts.replace !== undefined ? { replace: opts.replace } : {}),
    ...(opts.append !== undefined ? { append: opts.append } : {}),
    ...(opts.ownConsoles ? { ownConsoles: opts.ownConsoles } : {}),
    ...(opts.consolePolicy ? { consolePolicy: opts.consolePolicy } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
  });
  // The systemd hand-off: `bootorigin` pulls get the absolute URL (docs/net-bootfiles.md §8).
  const pull = rewriteBootOriginPulls(cl.cmdline, bootOriginFor(k, opts.origin));
  let pre = await prefetchFor(pull.rewrites, pull.cmdline, lookup, opts);
  let withExtra = [...initrds, ...extraInitrds(pre.pieces, lookup)];
  // Now init_size is known: the kernel segment may need more than the file (docs/kexec.md §4.2).
  if (pre.pieces.length) {
    const v = checkMemory(sizesOf(kernel, withExtra, probe.initSize), (opts.memAvailable ?? memAvailable)());
    if (v.ok === false) {
      // The OS can still download the images itself: boot without the copies.
      const dropped = pre.prefetched.map((p) => `${p.url}: not prefetched (the OS downloads it): ${v.reason}`);
      pre = { cmdline: pull.cmdline, pieces: [], prefetched: [], notes: [...pre.notes, ...dropped] };
      withExtra = [...initrds];
    }
  }
  const cmdline = pre.cmdline;
  const memory = memoryGate(ctx, sizesOf(kernel, withExtra, probe.initSize), opts);
  const infos = [];
  for (const i of withExtra) {
    const h =
      i.file.size <= 0
        ? new Uint8Array(0)
        : i.file.bytes
          ? i.file.bytes.subarray(0, 512)
          : await readRange(fsOf(i, ctx), i.file.path, i.file.offset, Math.min(512, i.file.size));
    infos.push({
      label: i.file.label,
      size: i.file.size,
      head: h,
      path: i.file.path,
      ...(i.file.microcode ? { microcode: true } : {}),
    });
  }
  const layout = layoutInitrd(infos);
  const files = layout.pieces.map((p) => withExtra[p.index]!.file);
  const tooLong = checkCmdlineLength(cmdline, probe.cmdlineSize);
  if (tooLong) {
    throw new KexecError({
      syscall: 'plan',
      errno: 'EINVAL',
      code: errnoNumber('EINVAL'),
      kernel: ctx.kernel,
      initrds: ctx.initrds,
      cmdlineLength: Buffer.byteLength(cmdline),
      cmdlineLimit: probe.cmdlineSize,
      hint: tooLong,
    });
  }
  const warnings = [
    ...extraWarnings,
    ...layout.warnings,
    ...layout.skipped.map((s) => `${s}: empty initrd skipped`),
    ...(memory.ok === 'unknown' ? [memory.note] : []),
    ...pull.notes,
    ...pre.notes,
  ];
  return {
    entryId: entry.id,
    title: entry.displayTitle,
    syscall: 'kexec_file_load',
    kernel: k,
    initrds: files,
    initrdLayout: layout,
    cmdline,
    cmdlineLimit: probe.cmdlineSize,
    ...(pull.rewrites.length ? { pullRewrites: pull.rewrites } : {}),
    ...(pre.prefetched.length ? { pullPrefetched: pre.prefetched } : {}),
    consoleDecision: cl.consoleDecision,
    stripped: cl.stripped,
    probe,
    warnings,
    memory: { needed: memory.needed, ...(memory.ok === true ? { available: memory.available } : {}) },
  };
}

/**
 * The extra initrd for `rd.systemd.pull=` images (docs/net-bootfiles.md §8.3), when net.pull-prefetch
 * is on and there is a network to fetch with. Under trust.policy = require (lockUkiCmdline) every
 * initrd piece must carry a signature tendril checks; the pulled image is checked by the OS instead.
 */
async function prefetchFor(
  rewrites: readonly PullRewrite[],
  cmdline: string,
  lookup: FsLookup,
  opts: PlanOptions,
): Promise<PrefetchResult> {
  const none = (notes: string[] = []): PrefetchResult => ({ cmdline, pieces: [], prefetched: [], notes });
  const words = rewrites.map((r) => r.to).filter((w) => w.startsWith('rd.'));
  if (!opts.pullPrefetch || !words.length) return none();
  if (opts.lockUkiCmdline)
    return none([
      'rd.systemd.pull images not prefetched: trust.policy = require verifies every initrd piece, and these are verified by the OS',
    ]);
  if (!opts.ukiUrl)
    return none(['rd.systemd.pull images not prefetched: this command has no network to fetch them with']);
  return prefetchPulls(cmdline, words, netPullFiles(opts.ukiUrl, lookup), opts.pullPrefetch);
}

const PULL_FS = 'tendril-pull';
const withFs = (fs: FileSystem | undefined): { fs?: FileSystem } => (fs ? { fs } : {});

function extraInitrds(pieces: readonly ExtraPiece[], lookup: FsLookup): InitrdSource[] {
  return pieces.map((p, i) =>
    p.kind === 'bytes'
      ? {
          file: {
            role: 'initrd',
            label: p.label,
            fsId: PULL_FS,
            path: `/cpio-${i}`,
            offset: 0,
            size: p.bytes.length,
            bytes: p.bytes,
          },
        }
      : {
          file: { role: 'initrd', label: p.label, fsId: p.ref.fsId, path: p.ref.path, offset: 0, size: p.size },
          ...withFs(lookup(p.ref.fsId)),
        },
  );
}

function fsOf(i: InitrdSource, ctx: FailCtx): FileSystem {
  if (!i.fs) throw fail(ctx, 'open', 'ENODEV', `initrd ${i.file.label}: filesystem ${i.file.fsId} is not available`);
  return i.fs;
}

/** Stream a plan file's bytes in CHUNK-sized pieces. */
export async function* readPlanFile(f: PlanFile, lookup: FsLookup): AsyncGenerator<Uint8Array> {
  if (f.bytes) {
    for (let at = 0; at < f.bytes.length; at += CHUNK) yield f.bytes.subarray(at, Math.min(f.bytes.length, at + CHUNK));
    return;
  }
  const fsys = lookup(f.fsId);
  if (!fsys) throw new FsError('EIO', f.path, `filesystem ${f.fsId} went away`);
  const h = await fsys.open(f.path);
  try {
    let done = 0;
    while (done < f.size) {
      const c = await h.read(f.offset + done, Math.min(CHUNK, f.size - done));
      if (c.length === 0) throw new FsError('EIO', f.path, `short read at ${f.offset + done} (file shrank?)`);
      yield c;
      done += c.length;
    }
  } finally {
    await h.close();
  }
}

export async function sha256Of(f: PlanFile, lookup: FsLookup, progress?: ProgressFn): Promise<string> {
  const h = createHash('sha256');
  const t0 = Date.now();
  let done = 0;
  for await (const c of readPlanFile(f, lookup)) {
    h.update(c);
    done += c.length;
    progress?.({ label: `sha256 ${f.label}`, done, total: f.size, elapsedMs: Date.now() - t0 });
  }
  return h.digest('hex');
}

/**
 * The largest file `--dry-run` hashes (docs/kexec.md §4.2): beyond it the plan shows the size
 * and says why there is no hash, so a dry run stays a matter of seconds.
 */
export const DRY_RUN_HASH_LIMIT = 512 << 20;

export interface DescribeOptions {
  /** Files larger than this are not hashed (default DRY_RUN_HASH_LIMIT). */
  readonly hashLimit?: number;
  /** Progress of the hashing, for large files. */
  readonly progress?: ProgressFn;
}

async function hashText(f: PlanFile, lookup: FsLookup, o: DescribeOptions): Promise<string> {
  const limit = o.hashLimit ?? DRY_RUN_HASH_LIMIT;
  if (f.size > limit) {
    return `sha256 not computed: ${formatBytes(f.size)} exceeds the dry-run hash limit of ${formatBytes(limit)}`;
  }
  return `sha256 ${await sha256Of(f, lookup, o.progress)}`;
}

/** The dry-run text: every file with fsId:path, size, sha256, then cmdline and syscall. Titles,
 *  labels and the command line come from disks: every line is made printable. */
export async function describePlan(plan: BootPlan, lookup: FsLookup, o: DescribeOptions = {}): Promise<string> {
  const lines = [`entry: ${plan.entryId} (${plan.title})`];
  const ver = plan.probe.version ? `, ${plan.probe.version}` : '';
  const proto = `${plan.probe.protocol >> 8}.${String(plan.probe.protocol & 0xff).padStart(2, '0')}`;
  lines.push(`kernel: ${plan.kernel.label} size ${plan.kernel.size} ${await hashText(plan.kernel, lookup, o)}`);
  lines.push(
    `  bzImage protocol ${proto}, cmdline_size ${plan.cmdlineLimit}${plan.probe.efiStub ? ', EFI stub' : ''}${ver}`,
  );
  for (let i = 0; i < plan.initrds.length; i++) {
    const f = plan.initrds[i]!;
    const p = plan.initrdLayout.pieces[i]!;
    lines.push(`initrd[${i}]: ${f.label} size ${f.size} ${await hashText(f, lookup, o)} at ${p.offset} pad ${p.pad}`);
  }
  if (plan.initrds.length) lines.push(`initrd total: ${plan.initrdLayout.total} bytes`);
  else lines.push('initrd: none (KEXEC_FILE_NO_INITRAMFS)');
  lines.push(`cmdline (${Buffer.byteLength(plan.cmdline)}/${plan.cmdlineLimit} bytes): ${plan.cmdline}`);
  for (const r of plan.pullRewrites ?? []) lines.push(`bootorigin: ${r.from} -> ${r.to}`);
  for (const p of plan.pullPrefetched ?? [])
    lines.push(
      `pull-prefetch: ${p.url} -> ${p.fileUrl} size ${p.size} sha256 ${p.sha256}${p.aux.length ? ` with ${p.aux.join(', ')}` : ''}`,
    );
  lines.push(`console: ${plan.consoleDecision}`);
  if (plan.stripped.length) lines.push(`stripped: ${plan.stripped.join(' ')}`);
  const m = plan.memory;
  lines.push(
    `memory: loading needs ${formatBytes(m.needed)}${m.available !== undefined ? `, MemAvailable ${formatBytes(m.available)}` : ''}`,
  );
  for (const w of plan.warnings) lines.push(`warning: ${w}`);
  lines.push(`syscall: ${plan.syscall}`);
  return printableLines(lines).join('\n') + '\n';
}
