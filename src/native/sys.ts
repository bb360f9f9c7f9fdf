// Typed wrappers over the addon's boot syscalls (native/src/sys.c). Every failure throws an
// Error with `code` (errno name), `errno` (number) and `syscall`; see SyscallError.

import { loadAddon } from './load';

export interface SyscallError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
}

export function isSyscallError(e: unknown): e is SyscallError {
  return (
    e instanceof Error &&
    typeof (e as Partial<SyscallError>).code === 'string' &&
    typeof (e as Partial<SyscallError>).errno === 'number' &&
    typeof (e as Partial<SyscallError>).syscall === 'string'
  );
}

export interface KexecSegment {
  /** Bytes to copy; null reserves zeroed memory. */
  readonly buf: Uint8Array | null;
  /** Physical destination address (page aligned) and size in memory (≥ buf length). */
  readonly mem: number | bigint;
  readonly memsz: number | bigint;
}

interface SysAddon {
  kexecFileLoad(kernelFd: number, initrdFd: number, cmdline: string, flags: number): void;
  kexecLoad(entry: number | bigint, segments: readonly KexecSegment[], flags: number): void;
  reboot(cmd: number): void;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  finitModule(fd: number, params: string, flags: number): void;
  memfdCreate(name: string, flags: number): number;
  addSeals(fd: number, seals: number): void;
  blkRoSet(fd: number, on: boolean): void;
  blkGetSize64(fd: number): number;
  sync(): void;
  clockSettime(sec: number, nsec: number): void;
}

function sys(): SysAddon {
  return loadAddon() as unknown as SysAddon;
}

// Values from <linux/reboot.h>, <linux/kexec.h>, <sys/mount.h> (checked against the addon's
// own sysConstants in the unit tests).
export const REBOOT_CMD = { KEXEC: 0x45584543, POWER_OFF: 0x4321fedc, RESTART: 0x01234567 } as const;
export type RebootCmd = keyof typeof REBOOT_CMD;
export const KEXEC_FILE_NO_INITRAMFS = 0x4;
export const KEXEC_ARCH_X86_64 = 62 << 16;
export const MFD_CLOEXEC = 0x1;
export const MFD_ALLOW_SEALING = 0x2;
/** <linux/fcntl.h> F_SEAL_* bits for addSeals. */
export const F_SEAL = { SEAL: 0x1, SHRINK: 0x2, GROW: 0x4, WRITE: 0x8 } as const;
export const MNT_DETACH = 0x2;
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  NOATIME: 0x400,
  BIND: 0x1000,
} as const;

/** kexec_file_load(2); initrdFd -1 sets KEXEC_FILE_NO_INITRAMFS. */
export function kexecFileLoad(kernelFd: number, initrdFd: number, cmdline: string, flags = 0): void {
  sys().kexecFileLoad(kernelFd, initrdFd, cmdline, flags);
}

/** kexec_load(2) with at most 16 segments (for multiboot and other non-bzImage targets). */
export function kexecLoad(entry: number | bigint, segments: readonly KexecSegment[], flags: number): void {
  sys().kexecLoad(entry, segments, flags);
}

/** reboot(2) with the magic numbers. Returns only on failure (throws). */
export function reboot(cmd: RebootCmd): void {
  sys().reboot(REBOOT_CMD[cmd]);
}

export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null = null,
): void {
  sys().mount(source, target, fstype, flags, data);
}

export function umount2(target: string, flags = 0): void {
  sys().umount2(target, flags);
}

export function finitModule(fd: number, params = '', flags = 0): void {
  sys().finitModule(fd, params, flags);
}

export function memfdCreate(name: string, flags = MFD_CLOEXEC): number {
  return sys().memfdCreate(name, flags);
}

/** fcntl(fd, F_ADD_SEALS, seals) on a memfd made with MFD_ALLOW_SEALING. */
export function addSeals(fd: number, seals: number): void {
  sys().addSeals(fd, seals);
}

export function blkRoSet(fd: number, on: boolean): void {
  sys().blkRoSet(fd, on);
}

export function blkGetSize64(fd: number): number {
  return sys().blkGetSize64(fd);
}

export function sync(): void {
  sys().sync();
}

/** clock_settime(CLOCK_REALTIME): sets the system clock (never the RTC) to `ms` since 1970. */
export function clockSettime(ms: number): void {
  const sec = Math.floor(ms / 1000);
  sys().clockSettime(sec, Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)));
}

/** The constants compiled into the addon (from the C headers), for cross-checking. */
export function addonConstants(): Record<string, number> {
  return (loadAddon() as { sysConstants: Record<string, number> }).sysConstants;
}
