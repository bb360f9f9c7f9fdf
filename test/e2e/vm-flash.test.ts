// End to end, nested (docs/testing.md §3): Debian's split firmware, OVMF_CODE_4M.fd with the
// OVMF_VARS_4M.fd template copied onto tendril's CFI flash (docs/vmm-platform.md §11). The shell's
// startup.nsh stores a non-volatile shell variable (a UEFI variable), resets the machine and,
// after the reset, finds it again: the flash kept its contents. The disk is ",ro", so OVMF's
// \NvVars file (its fallback without flash) cannot have carried the variable across.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ovmfSplit } from '../../initramfs/host';
import { fatDisk, runNestedRetrying, sha256, splitFirmware, vmInitramfs } from '../fixtures/vm';

const FIRST = 'TENDRIL-FLASH-FIRST-BOOT-41c2';
const KEPT = 'TENDRIL-FLASH-VARS-KEPT-41c2';
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

const STARTUP = [
  'if "%tendrilboot%" == "1" then',
  `  echo ${KEPT}`,
  '  set -d tendrilboot',
  '  reset -s',
  'endif',
  'set tendrilboot 1',
  `echo ${FIRST}`,
  'reset',
].join('\r\n');

describe.skipIf(!haveQemu)('tendril vm: split OVMF on CFI flash (nested KVM)', () => {
  it('reaches the shell, keeps a variable across a guest reset, leaves the disk and the template unchanged', async () => {
    const template = ovmfSplit().vars;
    const templateBefore = sha256(template);
    const disk = fatDisk('vm-flash', [{ path: 'startup.nsh', data: STARTUP + '\r\n' }]);
    const before = sha256(disk);
    const cpio = vmInitramfs('vm-flash', [{ file: disk, opts: ',ro' }], '--stats', {}, splitFirmware());
    const run = await runNestedRetrying(cpio, [KEPT]);
    const log = run.log;
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const first = log.search(new RegExp(`[\\r\\n]${FIRST}[\\r\\n]`));
    const kept = log.search(new RegExp(`[\\r\\n]${KEPT}[\\r\\n]`));
    expect(first, log.slice(-3000)).toBeGreaterThan(0);
    expect(log.slice(first)).toContain('guest reset');
    expect(kept, log.slice(-3000)).toBeGreaterThan(first);
    expect(log).toContain('guest powered off (ACPI S5');
    expect(run.exitCode, log.slice(-3000)).toBe(0);
    const stats = JSON.parse(/tendril-vm-stats (\{.*\})/.exec(log)?.[1] ?? '{}') as {
      resets?: number;
      exits?: Record<string, number>;
    };
    expect(stats.resets).toBe(1);
    // The variable store was probed and written through the CFI commands (writes exit).
    expect(stats.exits?.['js:pflash-vars'] ?? 0).toBeGreaterThan(100);
    expect(/TENDRIL-DISK0-SHA256=([0-9a-f]{64})/.exec(log)?.[1]).toBe(before);
    expect(sha256(disk)).toBe(before);
    expect(sha256(template)).toBe(templateBefore);
    expect(fs.existsSync(template)).toBe(true);
  }, 900_000);
});
