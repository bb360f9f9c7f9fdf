// End to end, nested: QEMU/TCG (-cpu max, Debian's kernel) loads the patched kvm-amd and runs
// `tendril vm` with Debian's OVMF.fd and a FAT disk whose startup.nsh echoes a marker, runs
// `map` and `reset -s`. See docs/testing.md §3 for why the module is patched.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fatDisk, OVMF, runNestedRetrying, sha256, vmInitramfs } from '../fixtures/vm';

const MARKER = 'TENDRIL-MARKER-SHELL-7f3a';
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

describe.skipIf(!haveQemu)('tendril vm: OVMF to the UEFI shell (nested KVM)', () => {
  it('runs startup.nsh from the virtio disk, lists it in map, powers off via ACPI, leaves the disk unchanged', async () => {
    expect(fs.existsSync(OVMF)).toBe(true);
    const disk = fatDisk('vm-shell', [{ path: 'startup.nsh', data: `echo ${MARKER}\r\nmap\r\nreset -s\r\n` }]);
    const before = sha256(disk);
    const cpio = vmInitramfs('vm-shell', [{ file: disk }], '--stats');
    const run = await runNestedRetrying(cpio, [MARKER]);
    const log = run.log;
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    expect(log, log.slice(-3000)).toContain('TENDRIL-VM-START');
    // The marker comes from the shell's `echo` (the echoed command line has the text too, so
    // require it at the start of a line on its own).
    const markerLine = new RegExp(`[\\r\\n]${MARKER}[\\r\\n]`).exec(log);
    expect(markerLine, log.slice(-3000)).not.toBeNull();
    // `map` (run after the echo) lists the virtio disk at 00:02.0 as a filesystem and a block device.
    const mapOut = log.slice(markerLine!.index);
    expect(mapOut).toMatch(/FS0:.*BLK\d+:/s);
    expect(mapOut).toContain('PciRoot(0x0)/Pci(0x2,0x0)');
    expect(log).toContain('guest powered off (ACPI S5');
    expect(run.exitCode, log.slice(-3000)).toBe(0);
    const m = /TENDRIL-DISK0-SHA256=([0-9a-f]{64})/.exec(log);
    expect(m?.[1]).toBe(before);
    expect(sha256(disk)).toBe(before);
  }, 900_000);

  it('the same disk on NVMe (,if=nvme): OVMF finds its filesystem through NvmExpressDxe and runs startup.nsh', async () => {
    const disk = fatDisk('vm-shell', [{ path: 'startup.nsh', data: `echo ${MARKER}\r\nmap\r\nreset -s\r\n` }]);
    const before = sha256(disk);
    const cpio = vmInitramfs('vm-shell-nvme', [{ file: disk, opts: ',if=nvme' }], '--stats');
    const run = await runNestedRetrying(cpio, [MARKER]);
    const log = run.log;
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const markerLine = new RegExp(`[\\r\\n]${MARKER}[\\r\\n]`).exec(log);
    expect(markerLine, log.slice(-3000)).not.toBeNull();
    // Namespace 1 of the controller at 00:02.0, EUI-64 zero (nvme/identify.ts).
    expect(log.slice(markerLine!.index), log.slice(-3000)).toMatch(
      /PciRoot\(0x0\)\/Pci\(0x2,0x0\)\/NVMe\(0x1,00-00-00-00-00-00-00-00\)/,
    );
    expect(log).toContain('guest powered off (ACPI S5');
    expect(run.exitCode, log.slice(-3000)).toBe(0);
    expect(/TENDRIL-DISK0-SHA256=([0-9a-f]{64})/.exec(log)?.[1]).toBe(before);
  }, 900_000);
});
