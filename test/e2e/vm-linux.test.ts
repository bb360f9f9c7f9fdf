// End to end, nested: OVMF in `tendril vm` runs an EFI program that is not the shell: Debian's
// kernel, started by startup.nsh with its own initrd and command line; the initrd's /init prints
// a marker and powers off through ACPI (our DSDT's \_S5 and the PIIX4 PM1 control register).
// The kernel is NOT at \EFI\BOOT\BOOTX64.EFI: OVMF's BDS boots that removable-media path by
// itself, with empty LoadOptions, before the shell could run startup.nsh (seen in this test's
// first version: the kernel started without initrd or console). A fw_cfg bootorder cannot put
// the shell first either: QemuBootOrderLib applies it only when at least one entry matches.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fatDisk, guestKernel, markerInitrd, runNested, sha256, vmInitramfs } from '../fixtures/vm';

const MARKER = 'TENDRIL-MARKER-LINUX-51c9';
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

describe.skipIf(!haveQemu)('tendril vm: OVMF boots Debian\'s kernel from the virtio disk (nested KVM)', () => {
  it('starts the kernel from startup.nsh with initrd and command line; /init prints the marker; ACPI power-off', async () => {
    const disk = fatDisk('vm-linux', [
      { path: 'EFI/debian/linux.efi', from: guestKernel().vmlinuz },
      { path: 'initrd.img', from: markerInitrd(MARKER) },
      { path: 'startup.nsh', data: 'fs0:\\EFI\\debian\\linux.efi initrd=\\initrd.img console=ttyS0 panic=-1 quiet\r\n' },
    ]);
    const before = sha256(disk);
    const cpio = vmInitramfs('vm-linux', [{ file: disk }], '--stats');
    const run = await runNested(cpio, [MARKER]);
    const log = run.log;
    expect(log, log.slice(-3000)).toMatch(new RegExp(`[\\r\\n]${MARKER}[\\r\\n]`));
    expect(log).toContain('guest powered off (ACPI S5');
    expect(run.exitCode, log.slice(-3000)).toBe(0);
    expect(/TENDRIL-DISK0-SHA256=([0-9a-f]{64})/.exec(log)?.[1]).toBe(before);
    expect(sha256(disk)).toBe(before);
  }, 600_000);
});
