// End to end, nested: Debian's kernel as \EFI\BOOT\BOOTX64.EFI, started with its own initrd and
// command line from startup.nsh. OVMF's BDS would boot that removable-media path by itself
// with empty LoadOptions, so the kernel disk is passed `,noboot` and a second, empty FAT disk is
// the only bootorder entry (docs/vmm-platform.md §13.1): QemuBootOrderLib then drops the kernel
// disk's boot option, the empty disk has nothing to boot, and the shell runs startup.nsh. OVMF
// connects only the devices the bootorder names (ConnectDevicesFromQemu), so the kernel disk may
// not be mapped yet: startup.nsh (on both disks, whichever is fs0 first) connects everything and
// remaps, after which fs0 is the kernel disk (slot 2 sorts before slot 3).
// One vCPU (--cpus 1): see docs/testing.md §3, "Two vCPUs".
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostKernel } from '../../initramfs/host';
import { fatDisk, markerInitrd, runNestedRetrying, sha256, vmInitramfs } from '../fixtures/vm';

const MARKER = 'TENDRIL-MARKER-BOOTX64-9e27';
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

describe.skipIf(!haveQemu)(
  'tendril vm: \\EFI\\BOOT\\BOOTX64.EFI = Debian kernel, arguments from startup.nsh (nested KVM)',
  () => {
    it('boots the kernel with initrd and command line; /init prints the marker; ACPI power-off; disks unchanged', async () => {
      const startup = {
        path: 'startup.nsh',
        data: 'connect -r\r\nmap -r\r\nfs0:\\EFI\\BOOT\\BOOTX64.EFI initrd=\\initrd.img console=ttyS0 panic=-1 quiet\r\n',
      };
      const esp = fatDisk('vm-bootx64', [
        { path: 'EFI/BOOT/BOOTX64.EFI', from: hostKernel().vmlinuz },
        { path: 'initrd.img', from: markerInitrd(MARKER) },
        startup,
      ]);
      const launcher = fatDisk('vm-launcher', [{ path: 'README.TXT', data: 'tendril launcher disk\r\n' }, startup], 34);
      const before = [sha256(esp), sha256(launcher)];
      const cpio = vmInitramfs('vm-bootx64', [{ file: esp, opts: ',noboot' }, { file: launcher }], '--stats --cpus 1');
      const run = await runNestedRetrying(cpio, [MARKER]);
      const log = run.log;
      expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
      expect(log, log.slice(-3000)).toMatch(new RegExp(`[\\r\\n]${MARKER}[\\r\\n]`));
      expect(log).toContain('guest powered off (ACPI S5');
      expect(run.exitCode, log.slice(-3000)).toBe(0);
      expect(/TENDRIL-DISK0-SHA256=([0-9a-f]{64})/.exec(log)?.[1]).toBe(before[0]);
      expect(/TENDRIL-DISK1-SHA256=([0-9a-f]{64})/.exec(log)?.[1]).toBe(before[1]);
      expect([sha256(esp), sha256(launcher)]).toEqual(before);
    }, 900_000);
  },
);
