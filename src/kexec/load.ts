// Loading and executing a plan: bytes through our readers into memfds (tmpfs as fallback),
// re-opened read-only before kexec_file_load (the ETXTBSY rule, docs/kexec.md §1.2),
// verified through /sys/kernel/kexec_loaded, then sync + reboot(KEXEC).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsError } from '../discovery/fs/types';
import { isSyscallError, kexecFileLoad, memfdCreate, reboot, sync } from '../native/sys';
import { type KexecFailure, KexecError, hintFor, readKexecState } from './errors';
import { unmountTracked } from './mounts';
import { type BootPlan, CHUNK, type FsLookup, type PlanFile, readPlanFile } from './plan';
import type { ProgressFn } from './progress';
import { errnoNumber } from '../util/errno';
import type { HashAlg } from '../tpm/algs';
import { type Digests, MultiHash } from '../tpm/digest';

/** Digests of the exact bytes materialize() wrote: the kernel, then each initrd piece. */
export interface WrittenDigests {
  readonly kernel: Digests;
  readonly initrds: readonly Digests[];
}

/**
 * Measured boot's hook (docs/measured-boot.md §3): called once every byte is in the memfds and
 * before anything is sealed or loaded, with the digests of what was written. What it returns is
 * appended to the initrd as one more piece (the event log); with no initrd nothing is appended.
 */
/** What a MeasureHook throws when a TPM or its log failed: the boot stops (syscall 'measure'). */
export class MeasureFailure extends Error {}

export interface MeasureHook {
  readonly algs: readonly HashAlg[];
  measured(d: WrittenDigests): Promise<Uint8Array | undefined>;
}

/**
 * Signature verification's hook (docs/signatures.md §4): the verified bytes are the booted bytes.
 * A signed PE image (a UKI) is read once and verified before the copy, and its sections are
 * copied from that buffer; a file with a detached signature is checked over the chunks as they
 * are copied. finish() runs once everything is copied, before measuring and loading.
 */
export interface VerifyHook {
  prepare(): Promise<void>;
  /** The bytes of this plan file from an image read (and verified) in prepare(), if any. */
  bytes(f: PlanFile): Uint8Array | undefined;
  /** Sees each chunk of this plan file as it is copied. */
  observe(f: PlanFile): ((chunk: Uint8Array) => void) | undefined;
  /** Throws VerifyFailure when the policy refuses the entry. */
  finish(): void;
}

/** What a VerifyHook throws to refuse a boot (syscall 'verify'): the message names file and reason. */
export class VerifyFailure extends Error {
  constructor(
    message: string,
    readonly errno: 'EBADMSG' | 'EPERM',
  ) {
    super(message);
  }
}

async function* slices(b: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < b.length; at += CHUNK) yield b.subarray(at, Math.min(b.length, at + CHUNK));
}

export interface Materialized {
  /** Read-only fds, ready for kexec_file_load. */
  readonly kernelFd: number;
  /** -1 when there is no initrd. */
  readonly initrdFd: number;
  readonly kernelSize: number;
  readonly initrdSize: number;
  /** 'memfd' or the tmpfs directory used. */
  readonly backing: string;
  close(): void;
}

interface Writer {
  fd: number;
  /** Re-open read-only and drop the writable descriptor. */
  seal(): number;
}

function tmpDir(): string {
  for (const d of [process.env.TENDRIL_TMP, '/run', os.tmpdir()]) {
    if (d && fs.existsSync(d)) return d;
  }
  return os.tmpdir();
}

function newWriter(name: string): { w: Writer; backing: string } {
  try {
    const fd = memfdCreate(`tendril-${name}`);
    return {
      backing: 'memfd',
      w: {
        fd,
        seal() {
          const ro = fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_RDONLY);
          fs.closeSync(fd);
          return ro;
        },
      },
    };
  } catch {
    // No addon or no memfd_create: a tmpfs file, unlinked once re-opened read-only.
    const dir = tmpDir();
    const p = path.join(dir, `tendril-${name}-${process.pid}-${Date.now()}`);
    const fd = fs.openSync(p, 'wx', 0o600);
    return {
      backing: dir,
      w: {
        fd,
        seal() {
          fs.closeSync(fd);
          const ro = fs.openSync(p, fs.constants.O_RDONLY);
          fs.unlinkSync(p);
          return ro;
        },
      },
    };
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
}

async function copyInto(
  w: Writer,
  f: PlanFile,
  lookup: FsLookup,
  progress: ProgressFn | undefined,
  t0: number,
  hash?: MultiHash,
  verify?: VerifyHook,
): Promise<void> {
  let done = 0;
  const held = verify?.bytes(f);
  const see = verify?.observe(f);
  for await (const c of held ? slices(held) : readPlanFile(f, lookup)) {
    writeAll(w.fd, c);
    // The digest is of these very chunks, the bytes kexec_file_load will get, not of a re-read.
    hash?.update(c);
    see?.(c);
    done += c.length;
    progress?.({ label: f.label, done, total: f.size, elapsedMs: Date.now() - t0 });
  }
}

/**
 * A filesystem that holds a file as a sealed, read-only memfd (network downloads,
 * docs/net-transfer.md §10): materialize() hands that fd to kexec_file_load instead of copying.
 */
interface SealedFiles {
  sealedFile(path: string): { readonly fd: number; readonly size: number } | undefined;
}

/** The sealed memfd holding exactly `f` (the whole file), or undefined. */
function sealedFd(f: PlanFile, lookup: FsLookup): number | undefined {
  const fsys = lookup(f.fsId) as (FsLookupResult & Partial<SealedFiles>) | undefined;
  const s = fsys?.sealedFile?.(f.path);
  return s && f.offset === 0 && f.size === s.size ? s.fd : undefined;
}
type FsLookupResult = NonNullable<ReturnType<FsLookup>>;

/**
 * A new read-only open of a sealed memfd (its own descriptor, closed with the others) whose bytes
 * are read once for the hooks: the digest and the detached-signature check see the very bytes
 * kexec_file_load gets, since F_SEAL_WRITE|GROW|SHRINK forbid any change (memfd_create(2), fcntl(2)
 * "File Seals"). A read, not a copy: the download's memory is the only copy.
 */
function reopenSealed(
  fd: number,
  f: PlanFile,
  progress: ProgressFn | undefined,
  t0: number,
  hash?: MultiHash,
  verify?: VerifyHook,
): number {
  const ro = fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_RDONLY);
  const see = verify?.observe(f);
  if (!hash && !see) return ro;
  try {
    for (let done = 0; done < f.size;) {
      const c = Buffer.allocUnsafe(Math.min(CHUNK, f.size - done));
      const n = fs.readSync(ro, c, 0, c.length, done);
      if (n === 0) throw new FsError('EIO', f.label, `short read at ${done} of a sealed memfd`);
      hash?.update(c.subarray(0, n));
      see?.(c.subarray(0, n));
      done += n;
      progress?.({ label: f.label, done, total: f.size, elapsedMs: Date.now() - t0 });
    }
    return ro;
  } catch (e) {
    fs.closeSync(ro);
    throw e;
  }
}

/**
 * Copy the kernel and the concatenated initrd out of the readers into sealed files. A kernel, or a
 * lone initrd, that is already a sealed memfd (a network download) is used as it is; the initrd
 * is still copied when the measured-boot event log must be appended to it.
 */
export async function materialize(
  plan: BootPlan,
  lookup: FsLookup,
  progress?: ProgressFn,
  measure?: MeasureHook,
  verify?: VerifyHook,
): Promise<Materialized> {
  const opened: number[] = [];
  const hasher = (): MultiHash | undefined => (measure ? new MultiHash(measure.algs) : undefined);
  try {
    await verify?.prepare();
    const kh = hasher();
    // A UKI's sections come from the image verify read (and checked) as a whole: those are copied.
    const kDirect = verify?.bytes(plan.kernel) ? undefined : sealedFd(plan.kernel, lookup);
    let kernelFd: number;
    let backing: string;
    if (kDirect !== undefined) {
      kernelFd = reopenSealed(kDirect, plan.kernel, progress, Date.now(), kh, verify);
      backing = 'memfd';
    } else {
      const k = newWriter('kernel');
      opened.push(k.w.fd);
      await copyInto(k.w, plan.kernel, lookup, progress, Date.now(), kh, verify);
      opened.pop();
      kernelFd = k.w.seal();
      backing = k.backing;
    }
    opened.push(kernelFd);
    let initrdFd = -1;
    let r: ReturnType<typeof newWriter> | undefined;
    const initrdDigests: Digests[] = [];
    const only = plan.initrds.length === 1 ? plan.initrds[0]! : undefined;
    const iDirect = only && !verify?.bytes(only) ? sealedFd(only, lookup) : undefined;
    if (only && iDirect !== undefined) {
      const h = hasher();
      initrdFd = reopenSealed(iDirect, only, progress, Date.now(), h, verify);
      opened.push(initrdFd);
      if (h) initrdDigests.push(h.digests());
    } else if (plan.initrds.length) {
      r = newWriter('initrd');
      opened.push(r.w.fd);
      for (let i = 0; i < plan.initrds.length; i++) {
        const h = hasher();
        await copyInto(r.w, plan.initrds[i]!, lookup, progress, Date.now(), h, verify);
        if (h) initrdDigests.push(h.digests());
        const pad = plan.initrdLayout.pieces[i]!.pad;
        if (pad) writeAll(r.w.fd, new Uint8Array(pad));
      }
    }
    // Refused before anything is measured or loaded.
    verify?.finish();
    let extra = 0;
    if (measure) {
      const piece = await measure.measured({ kernel: kh!.digests(), initrds: initrdDigests });
      if (piece?.length && only && iDirect !== undefined) {
        // The event log goes after the download: a sealed memfd cannot grow, so this one initrd is copied.
        r = newWriter('initrd');
        opened.push(r.w.fd);
        await copyInto(r.w, only, lookup, undefined, Date.now());
        fs.closeSync(initrdFd);
        opened.splice(opened.indexOf(initrdFd), 1);
        initrdFd = -1;
      }
      if (r && piece?.length) {
        // The last measured piece was not padded: NUL bytes to 4 first (docs/kexec.md §2).
        const pad = (4 - (plan.initrdLayout.total % 4)) % 4;
        writeAll(r.w.fd, new Uint8Array(pad));
        writeAll(r.w.fd, piece);
        extra = pad + piece.length;
      }
    }
    if (r) {
      opened.splice(opened.indexOf(r.w.fd), 1);
      initrdFd = r.w.seal();
      opened.push(initrdFd);
    }
    const initrdSize = initrdFd >= 0 ? fs.fstatSync(initrdFd).size : 0;
    if (initrdFd >= 0 && initrdSize !== plan.initrdLayout.total + extra) {
      throw new Error(
        `initrd is ${initrdSize} bytes, plan says ${plan.initrdLayout.total}${extra ? ` + ${extra} (event log)` : ''} (a file changed while reading?)`,
      );
    }
    return {
      kernelFd,
      initrdFd,
      kernelSize: fs.fstatSync(kernelFd).size,
      initrdSize,
      backing,
      close() {
        for (const fd of [kernelFd, initrdFd]) if (fd >= 0) fs.closeSync(fd);
      },
    };
  } catch (e) {
    for (const fd of opened) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    throw e;
  }
}

function failureFrom(e: unknown, plan: BootPlan, m?: Materialized): KexecFailure {
  const state = readKexecState();
  const syscall = isSyscallError(e) ? e.syscall : 'kexec_file_load';
  const errno = isSyscallError(e) ? e.code : 'EIO';
  const ctx = {
    state,
    probe: `${plan.probe.format}, protocol 0x${plan.probe.protocol.toString(16)}`,
    cmdlineLength: Buffer.byteLength(plan.cmdline) + 1,
    cmdlineLimit: plan.cmdlineLimit,
    ...(m ? { kernelSize: m.kernelSize, initrdSize: m.initrdSize } : {}),
  };
  return {
    syscall,
    errno,
    code: isSyscallError(e) ? e.errno : 0,
    kernel: plan.kernel.label,
    initrds: plan.initrds.map((f) => f.label),
    cmdlineLength: ctx.cmdlineLength,
    cmdlineLimit: plan.cmdlineLimit,
    hint: isSyscallError(e) ? hintFor(syscall, errno, ctx) : e instanceof Error ? e.message : String(e),
    state,
    ...(m ? { kernelSize: m.kernelSize, initrdSize: m.initrdSize } : {}),
  };
}

export interface LoadResult {
  readonly kernelSize: number;
  readonly initrdSize: number;
  readonly backing: string;
  readonly elapsedMs: number;
}

export interface LoadDeps {
  readonly kexecFileLoad?: typeof kexecFileLoad;
  readonly readLoaded?: () => string;
  /** Measured boot: extends and the event log piece, before kexec_file_load. */
  readonly measure?: MeasureHook;
  /** Signature verification over the copied bytes, before measuring and kexec_file_load. */
  readonly verify?: VerifyHook;
}

/** Materialise and kexec_file_load the plan; verify it is loaded. Throws KexecError. */
export async function loadPlan(
  plan: BootPlan,
  lookup: FsLookup,
  progress?: ProgressFn,
  deps: LoadDeps = {},
): Promise<LoadResult> {
  const t0 = Date.now();
  let m: Materialized;
  try {
    m = await materialize(plan, lookup, progress, deps.measure, deps.verify);
  } catch (e) {
    if (e instanceof VerifyFailure) {
      // An unverified entry under trust.policy = require: nothing was measured or loaded.
      throw new KexecError({
        ...failureFrom(e, plan),
        syscall: 'verify',
        errno: e.errno,
        code: errnoNumber(e.errno),
        hint: e.message,
      });
    }
    if (e instanceof MeasureFailure) {
      // A TPM or its log failed: the boot stops here, nothing was loaded.
      throw new KexecError({ ...failureFrom(e, plan), syscall: 'measure', errno: 'EIO', code: errnoNumber('EIO') });
    }
    if (e instanceof FsError) {
      // A reader failed mid-copy (disk error, file changed): name the file and the reason.
      throw new KexecError({
        ...failureFrom(e, plan),
        syscall: 'read',
        errno: e.code,
        code: errnoNumber(e.code),
        hint: `reading ${e.message}`,
      });
    }
    throw new KexecError({ ...failureFrom(e, plan), syscall: isSyscallError(e) ? e.syscall : 'read' });
  }
  try {
    (deps.kexecFileLoad ?? kexecFileLoad)(m.kernelFd, m.initrdFd, plan.cmdline, 0);
  } catch (e) {
    throw new KexecError(failureFrom(e, plan, m));
  } finally {
    m.close();
  }
  const loaded = (deps.readLoaded ?? (() => fs.readFileSync('/sys/kernel/kexec_loaded', 'utf8')))().trim();
  if (loaded !== '1') {
    throw new KexecError({
      ...failureFrom(
        new Error(`kexec_file_load returned 0 but /sys/kernel/kexec_loaded is ${JSON.stringify(loaded)}`),
        plan,
        m,
      ),
      syscall: 'kexec_file_load',
      errno: 'EVERIFY',
    });
  }
  return { kernelSize: m.kernelSize, initrdSize: m.initrdSize, backing: m.backing, elapsedMs: Date.now() - t0 };
}

/** Detach our mounts, sync, jump. Returns only by throwing KexecError (the machine keeps running). */
export function execLoaded(log: (s: string) => void = () => {}): never {
  for (const err of unmountTracked()) log(`umount ${err}`);
  sync();
  try {
    reboot('KEXEC');
  } catch (e) {
    const errno = isSyscallError(e) ? e.code : 'EIO';
    throw new KexecError({
      syscall: 'reboot',
      errno,
      code: isSyscallError(e) ? e.errno : 0,
      kernel: '(loaded image)',
      initrds: [],
      hint: hintFor('reboot', errno, { state: readKexecState() }),
    });
  }
  throw new KexecError({
    syscall: 'reboot',
    errno: 'EIO',
    code: errnoNumber('EIO'),
    kernel: '(loaded image)',
    initrds: [],
    hint: 'reboot(KEXEC) returned',
  });
}
