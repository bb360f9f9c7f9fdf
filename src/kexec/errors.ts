// Load/exec failures as data (docs/kexec.md §4.1): syscall, errno name and number, what
// was being loaded, a hint, and the system state that explains most refusals.

import * as fs from 'node:fs';
import { printableLines } from '../util/printable';

export interface KexecSystemState {
  /** /proc/sys/kernel/kexec_load_disabled: once 1, every load fails with EPERM. */
  readonly kexecLoadDisabled?: boolean;
  /** Active mode from /sys/kernel/security/lockdown ('none', 'integrity', 'confidentiality'). */
  readonly lockdown?: string;
  /** /sys/kernel/kexec_loaded */
  readonly kexecLoaded?: boolean;
  /** Running kernel release. */
  readonly kernelRelease?: string;
}

export interface KexecFailure {
  readonly syscall: string;
  /** Errno name ('ENOEXEC'). Our own checks use the errno the kernel would give (a failed
   *  bzImage probe is ENOEXEC with syscall 'probe'); 'EVERIFY' means the load returned 0 but
   *  /sys/kernel/kexec_loaded did not become 1. */
  readonly errno: string;
  /** Errno number (0 for our own pre-validation). */
  readonly code: number;
  readonly kernel: string;
  readonly initrds: readonly string[];
  /** Bytes with the NUL, once the command line is built (absent for failures before that). */
  readonly cmdlineLength?: number;
  readonly cmdlineLimit?: number;
  readonly hint: string;
  readonly state?: KexecSystemState;
  /** The bzImage probe's verdict, when relevant. */
  readonly probe?: string;
  readonly kernelSize?: number;
  readonly initrdSize?: number;
}

export class KexecError extends Error {
  constructor(readonly failure: KexecFailure) {
    super(`${failure.syscall}: ${failure.errno}${failure.code ? ` (${failure.code})` : ''}: ${failure.hint}`);
    this.name = 'KexecError';
  }
}

function readTrim(path: string, read: (p: string) => string): string | undefined {
  try {
    return read(path).trim();
  } catch {
    return undefined;
  }
}

/** Read the diagnostics docs/kexec.md §4 asks for; missing files leave fields undefined. */
export function readKexecState(read: (p: string) => string = (p) => fs.readFileSync(p, 'utf8')): KexecSystemState {
  const dis = readTrim('/proc/sys/kernel/kexec_load_disabled', read);
  const lock = readTrim('/sys/kernel/security/lockdown', read);
  const loaded = readTrim('/sys/kernel/kexec_loaded', read);
  const rel = readTrim('/proc/sys/kernel/osrelease', read);
  const active = lock ? /\[(\w+)\]/.exec(lock)?.[1] : undefined;
  return {
    ...(dis !== undefined ? { kexecLoadDisabled: dis === '1' } : {}),
    ...(active ? { lockdown: active } : {}),
    ...(loaded !== undefined ? { kexecLoaded: loaded === '1' } : {}),
    ...(rel ? { kernelRelease: rel } : {}),
  };
}

export interface HintContext {
  readonly state?: KexecSystemState;
  readonly probe?: string;
  readonly cmdlineLength?: number;
  readonly cmdlineLimit?: number;
  readonly kernelSize?: number;
  readonly initrdSize?: number;
}

const mb = (n?: number): string => (n === undefined ? '?' : `${(n / (1 << 20)).toFixed(1)} MiB`);

/** The docs/kexec.md §4.1 hint for an errno from a given syscall. */
export function hintFor(syscall: string, errno: string, ctx: HintContext = {}): string {
  const st = ctx.state ?? {};
  switch (errno) {
    case 'ENOEXEC':
      return `kernel image not loadable by kexec_file_load: ${ctx.probe ?? 'the kernel refused its format'}`;
    case 'EKEYREJECTED':
      return 'kernel not signed by a key in the kernel keyrings (KEXEC_SIG / IMA); on coreboot the .platform keyring is empty, so the distro key must be built in or in the secondary keyring';
    case 'EPERM': {
      const why: string[] = [];
      if (st.kexecLoadDisabled) why.push('kexec_load_disabled is 1 (cannot be reset until reboot)');
      if (st.lockdown && st.lockdown !== 'none') {
        why.push(
          syscall === 'kexec_load'
            ? `kernel lockdown (${st.lockdown}) forbids kexec_load`
            : `kernel lockdown (${st.lockdown}) forbids unsigned kernels`,
        );
      }
      if (!why.length) why.push('missing CAP_SYS_BOOT?');
      return `${why.join('; ')} (lockdown: ${st.lockdown ?? 'unknown'}, kexec_load_disabled: ${st.kexecLoadDisabled === undefined ? 'unknown' : st.kexecLoadDisabled ? 1 : 0})`;
    }
    case 'EINVAL':
      if (syscall === 'reboot') return 'kexec image not loaded';
      return `invalid argument: command line ${ctx.cmdlineLength ?? '?'} bytes (limit ${ctx.cmdlineLimit ?? '?'}), flags, or a non-regular file`;
    case 'ETXTBSY':
      return 're-open files read-only: a kernel or initrd file is open for writing (docs/kexec.md §1.2)';
    case 'EBADF':
      return 'bad file descriptor (internal bug in tendril)';
    case 'ENOMEM':
      return `not enough memory for kernel (${mb(ctx.kernelSize)}) + initrd (${mb(ctx.initrdSize)}) + purgatory; try removing initrds`;
    case 'EFBIG':
      return `file larger than the kernel's read limit (kernel ${mb(ctx.kernelSize)}, initrd ${mb(ctx.initrdSize)})`;
    case 'EBUSY':
      return 'another kexec load is in progress or the crash kernel is in use; retry';
    case 'ENOSYS':
      return `${syscall} is not available in this kernel (CONFIG_KEXEC_FILE missing or unsupported architecture); try kexec_load`;
    case 'EADDRNOTAVAIL':
      return 'no crashkernel region reserved (not expected for a normal boot)';
    default:
      return `${syscall} failed with ${errno}`;
  }
}

/**
 * The human-readable lines, raw: labels and hints quote disk content, so a printer makes each
 * line printable (the menu's error panel does it as it draws).
 */
export function failureLines(f: KexecFailure): string[] {
  const lines = [
    `boot failed: ${f.syscall}: ${f.errno}${f.code ? ` (${f.code})` : ''}`,
    `  hint: ${f.hint}`,
    `  kernel: ${f.kernel}${f.kernelSize !== undefined ? ` (${f.kernelSize} bytes)` : ''}`,
  ];
  if (f.initrds.length)
    lines.push(
      `  initrds: ${f.initrds.join(', ')}${f.initrdSize !== undefined ? ` (${f.initrdSize} bytes total)` : ''}`,
    );
  if (f.cmdlineLength !== undefined)
    lines.push(
      `  cmdline: ${f.cmdlineLength} bytes${f.cmdlineLimit !== undefined ? ` (limit ${f.cmdlineLimit})` : ''}`,
    );
  if (f.probe) lines.push(`  image: ${f.probe}`);
  const st = f.state;
  if (st) {
    lines.push(
      `  system: lockdown=${st.lockdown ?? 'unknown'} kexec_load_disabled=${st.kexecLoadDisabled === undefined ? '?' : st.kexecLoadDisabled ? 1 : 0} kexec_loaded=${st.kexecLoaded === undefined ? '?' : st.kexecLoaded ? 1 : 0} kernel=${st.kernelRelease ?? '?'}`,
    );
  }
  return lines;
}

/** Multi-line form for the console, every line printable (src/util/printable.ts). */
export function formatFailure(f: KexecFailure): string {
  return printableLines(failureLines(f)).join('\n');
}
