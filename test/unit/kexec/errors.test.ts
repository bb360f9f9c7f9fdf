import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { KexecError, formatFailure, hintFor, readKexecState } from '../../../src/kexec/errors';

describe('errno hints (docs/kexec.md §4.1)', () => {
  it('gives the table hints', () => {
    expect(hintFor('kexec_file_load', 'ENOEXEC', { probe: 'not 64-bit' })).toBe(
      'kernel image not loadable by kexec_file_load: not 64-bit',
    );
    expect(hintFor('kexec_file_load', 'EKEYREJECTED')).toMatch(/^kernel not signed by a key in the kernel keyrings/);
    expect(hintFor('reboot', 'EINVAL')).toBe('kexec image not loaded');
    expect(hintFor('kexec_file_load', 'EINVAL', { cmdlineLength: 30, cmdlineLimit: 2047 })).toMatch(
      /30 bytes \(limit 2047\)/,
    );
    expect(hintFor('kexec_file_load', 'ETXTBSY')).toMatch(/re-open files read-only/);
    expect(hintFor('kexec_file_load', 'ENOSYS')).toMatch(/try kexec_load/);
    expect(hintFor('kexec_file_load', 'ENOMEM', { kernelSize: 8 << 20, initrdSize: 32 << 20 })).toMatch(
      /8\.0 MiB.*32\.0 MiB/,
    );
  });
  it('EPERM names lockdown and the sysctl', () => {
    const h = hintFor('kexec_file_load', 'EPERM', { state: { lockdown: 'integrity', kexecLoadDisabled: false } });
    expect(h).toMatch(/kernel lockdown \(integrity\) forbids unsigned kernels/);
    expect(hintFor('kexec_load', 'EPERM', { state: { lockdown: 'integrity' } })).toMatch(/forbids kexec_load/);
    expect(hintFor('kexec_file_load', 'EPERM', { state: { kexecLoadDisabled: true } })).toMatch(
      /kexec_load_disabled is 1/,
    );
  });
  it('parses the lockdown file format', () => {
    const files: Record<string, string> = {
      '/proc/sys/kernel/kexec_load_disabled': '0\n',
      '/sys/kernel/security/lockdown': 'none [integrity] confidentiality\n',
      '/sys/kernel/kexec_loaded': '0\n',
      '/proc/sys/kernel/osrelease': '6.1.0-56-amd64\n',
    };
    const st = readKexecState((p) => {
      if (!(p in files)) throw new Error('ENOENT');
      return files[p]!;
    });
    expect(st).toEqual({
      kexecLoadDisabled: false,
      lockdown: 'integrity',
      kexecLoaded: false,
      kernelRelease: '6.1.0-56-amd64',
    });
    expect(
      readKexecState(() => {
        throw new Error('x');
      }),
    ).toEqual({});
  });
  it('formats a failure with every field', () => {
    const e = new KexecError({
      syscall: 'kexec_file_load',
      errno: 'ENOEXEC',
      code: constants.errno.ENOEXEC,
      kernel: 'vda:1:/k',
      initrds: ['vda:1:/i'],
      cmdlineLength: 12,
      cmdlineLimit: 2047,
      hint: 'h',
      state: { lockdown: 'none' },
    });
    expect(e.message).toBe(`kexec_file_load: ENOEXEC (${constants.errno.ENOEXEC}): h`);
    const s = formatFailure(e.failure);
    expect(s).toMatch(/kernel: vda:1:\/k/);
    expect(s).toMatch(/initrds: vda:1:\/i/);
    expect(s).toMatch(/cmdline: 12 bytes \(limit 2047\)/);
    expect(s).toMatch(/lockdown=none/);
  });
  it('leaves the command line out of a failure from before it was built', () => {
    const e = new KexecError({ syscall: 'open', errno: 'EIO', code: 5, kernel: 'k', initrds: [], hint: 'h' });
    expect(formatFailure(e.failure)).not.toMatch(/cmdline/);
  });
});
