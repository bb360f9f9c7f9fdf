// The addon's boot syscalls, called for real where that is harmless: every failure must
// name the syscall and errno. reboot() is only called with invalid commands, and
// kexec_file_load only with an image no kernel accepts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonCandidates, loadAddon } from '../../../src/native/load';
import * as sys from '../../../src/native/sys';

const shape = (e: unknown, syscall: string): sys.SyscallError => {
  expect(sys.isSyscallError(e)).toBe(true);
  const s = e as sys.SyscallError;
  expect(s.syscall).toBe(syscall);
  expect(s.message).toMatch(new RegExp(`^${syscall.replace(/[()]/g, '\\$&')}: ${s.code} \\(`));
  expect(os.constants.errno[s.code as keyof typeof os.constants.errno]).toBe(s.errno);
  return s;
};

const catchErr = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
};

describe('native addon: boot syscalls', () => {
  it('loads from the checkout and finds the build output first after $TENDRIL_ADDON', () => {
    expect(typeof loadAddon().kexecFileLoad).toBe('function');
    expect(addonCandidates('/x/dist', { TENDRIL_ADDON: '/a.node' })).toEqual(
      expect.arrayContaining(['/a.node', '/x/dist/tendril.node', '/x/native/build/Release/tendril.node']),
    );
  });
  it('constants agree with the C headers compiled into the addon', () => {
    const c = sys.addonConstants();
    expect(c.REBOOT_KEXEC).toBe(sys.REBOOT_CMD.KEXEC);
    expect(c.REBOOT_POWER_OFF).toBe(sys.REBOOT_CMD.POWER_OFF);
    expect(c.REBOOT_RESTART).toBe(sys.REBOOT_CMD.RESTART);
    expect(c.KEXEC_FILE_NO_INITRAMFS).toBe(sys.KEXEC_FILE_NO_INITRAMFS);
    expect(c.MNT_DETACH).toBe(sys.MNT_DETACH);
  });
  it('memfd_create gives a working fd', () => {
    const fd = sys.memfdCreate('tendril-test');
    fs.writeSync(fd, Buffer.from('abc'));
    expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toMatch(/^\/memfd:tendril-test/);
    fs.closeSync(fd);
  });
  it('errors carry syscall, errno name and number', () => {
    shape(
      catchErr(() => sys.umount2('/nonexistent-tendril-path', 0)),
      'umount2',
    );
    expect((catchErr(() => sys.umount2('/nonexistent-tendril-path', 0)) as sys.SyscallError).code).toBe('ENOENT');
    const fd = fs.openSync(process.execPath, 'r');
    try {
      expect(
        shape(
          catchErr(() => sys.blkGetSize64(fd)),
          'ioctl(BLKGETSIZE64)',
        ).code,
      ).toBe('ENOTTY');
    } finally {
      fs.closeSync(fd);
    }
    expect(
      shape(
        catchErr(() => sys.mount(null, '/nonexistent-tendril-path', 'tmpfs', 0)),
        'mount',
      ).code,
    ).toMatch(/ENOENT|EPERM/);
  });
  it('kexec_file_load refuses an image that is not a kernel (or is unavailable)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-sys-'));
    const f = path.join(dir, 'junk');
    fs.writeFileSync(f, Buffer.alloc(4096, 7));
    const fd = fs.openSync(f, 'r');
    try {
      expect(
        shape(
          catchErr(() => sys.kexecFileLoad(fd, -1, 'x', 0)),
          'kexec_file_load',
        ).code,
      ).toMatch(/ENOEXEC|ENOSYS|EPERM|EINVAL/);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true });
    }
  });
  it('argument errors are TypeErrors and never reach the kernel', () => {
    const addon = loadAddon() as Record<string, (...a: unknown[]) => unknown>;
    expect(() => addon.reboot!(0x1234)).toThrow(TypeError);
    expect(() => addon.kexecFileLoad!(0, -1, 'a\0b', 0)).toThrow(TypeError);
    const seg = { buf: null, mem: 0x100000, memsz: 4096 };
    expect(() => sys.kexecLoad(0, Array(17).fill(seg), 0)).toThrow(/at most 16/);
    expect(() => sys.kexecLoad(0, [{ buf: new Uint8Array(8192), mem: 0x100000, memsz: 4096 }], 0)).toThrow(
      /larger than memsz/,
    );
  });
  it('refuses numbers that are not exact integers in range, naming the function and the argument', () => {
    const addon = loadAddon() as Record<string, (...a: unknown[]) => unknown>;
    const typeError = (f: () => unknown, message: RegExp) => {
      const e = catchErr(f);
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(message);
    };
    typeError(() => sys.memfdCreate('x', 1.5), /^memfdCreate: flags must be an integer in 0\.\.4294967295, got 1\.5$/);
    typeError(() => sys.memfdCreate('x', NaN), /^memfdCreate: flags must be .*, got NaN$/);
    typeError(() => sys.memfdCreate('x', 2 ** 32), /^memfdCreate: flags .* got 4294967296$/);
    typeError(
      () => sys.blkGetSize64(2 ** 31),
      /^blkGetSize64: fd must be an integer in 0\.\.2147483647, got 2147483648$/,
    );
    typeError(() => sys.blkGetSize64(Infinity), /^blkGetSize64: fd .* got Infinity$/);
    typeError(() => sys.umount2('/nonexistent-tendril-path', 0.5), /^umount2: flags /);
    typeError(() => addon.reboot!(0x45584543 + 0.25), /^reboot: cmd must be an integer/);
    typeError(() => addon.kexecFileLoad!(-1, -1, 'x', 0), /^kexecFileLoad: kernelFd /);
    typeError(() => addon.kexecFileLoad!(0, -2, 'x', 0), /^kexecFileLoad: initrdFd must be an integer in -1\.\./);
    typeError(() => addon.kexecFileLoad!(0, -1, 'x'), /^kexecFileLoad: flags is missing$/);
    typeError(() => addon.blkRoSet!(0, 1), /^blkRoSet: on must be a boolean, got a number$/);
    // 64-bit values: a number only up to 2^53 - 1 (above it, it may already be rounded), a
    // bigint up to the C type's limit.
    typeError(
      () => sys.kexecLoad(2 ** 53, [], 0),
      /^kexecLoad: entry .* \(a bigint above that\), got 9007199254740992$/,
    );
    typeError(() => sys.kexecLoad(2n ** 64n, [], 0), /^kexecLoad: entry .* got a bigint outside it$/);
    typeError(() => sys.kexecLoad(-1n, [], 0), /^kexecLoad: entry /);
    typeError(
      () => sys.kexecLoad(0, [{ buf: null, mem: 0x100000 + 0.5, memsz: 4096 }], 0),
      /^kexecLoad: segments\[0\]\.mem must be an integer/,
    );
    typeError(
      () => sys.kexecLoad(0, [{ buf: null, mem: 0x100000, memsz: NaN }], 0),
      /^kexecLoad: segments\[0\]\.memsz /,
    );
    typeError(() => addon.mount!(null, '/x', null, 1.5, null), /^mount: flags /);
    typeError(() => addon.exitNow!(256), /^exitNow: code must be an integer in 0\.\.255, got 256$/);
    typeError(() => addon.exitNow!(0.5), /^exitNow: code /);
  });
});
