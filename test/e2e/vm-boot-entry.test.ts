// End to end, nested (docs/testing.md §3): OVMF starts exactly the loader tendril names. A GPT disk
// whose ESP holds Debian's kernel at \EFI\tendril\marker.efi (an EFI program through its stub)
// and a busybox initrd that prints a marker: not the removable-media path, so only the Boot0000
// that tendril writes into the variable store (HD(1,GPT,<PARTUUID>,...)/\EFI\tendril\marker.efi,
// with the kernel's command line as its optional data) can find it. No launcher disk; the
// ESP's startup.nsh only prints a failure marker, for the case that Boot0000 did not boot.
// One vCPU (--cpus 1): see docs/testing.md §3, "Two vCPUs".
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostKernel } from '../../initramfs/host';
import { buildGptDisk } from '../fixtures/images';
import { markerInitrd, runNestedRetrying, sha256, splitFirmware, vmInitramfs } from '../fixtures/vm';

const MARKER = 'TENDRIL-MARKER-BOOT0000-5d1e';
const FALLBACK = 'TENDRIL-BOOT0000-DID-NOT-BOOT';
const PARTUUID = '5d1e0b7a-21c4-4b8e-9a51-6f0c2d3e4a5b';
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

describe.skipIf(!haveQemu)('tendril vm --loader: a generated Boot0000 starts the chosen loader (nested KVM)', () => {
  it('boots \\EFI\\tendril\\marker.efi with its command line from Boot0000; ACPI power-off; disk unchanged', async () => {
    const disk = buildGptDisk([
      {
        type: 'esp',
        sizeMiB: 64,
        partUuid: PARTUUID,
        fs: {
          kind: 'vfat',
          label: 'ESP',
          files: {
            'EFI/tendril/marker.efi': { copyOf: hostKernel().vmlinuz },
            'EFI/tendril/initrd.img': { copyOf: markerInitrd(MARKER) },
            'startup.nsh': `echo ${FALLBACK}\r\nreset -s\r\n`,
          },
        },
      },
    ]);
    const before = sha256(disk);
    const cpio = vmInitramfs(
      'vm-boot-entry',
      [{ file: disk }],
      "--cpus 1 --loader '0:1:\\EFI\\tendril\\marker.efi' --loader-args 'initrd=\\EFI\\tendril\\initrd.img console=ttyS0 panic=-1 quiet' --stats",
      {},
      splitFirmware(),
    );
    const run = await runNestedRetrying(cpio, [MARKER, FALLBACK]);
    const log = run.log;
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const path = `HD(1,GPT,${PARTUUID.toUpperCase()},0x800,0x20000)/\\EFI\\tendril\\marker.efi`;
    expect(log).toContain(`Boot0000 = ${path} on /vm/disk0.img`);
    // OVMF's BDS prints the option it starts, rendering the device path with its own
    // DevicePathToText: the oracle for the bytes tendril wrote.
    expect(log).toContain(`BdsDxe: starting Boot0000 "tendril: \\EFI\\tendril\\marker.efi" from ${path}`);
    expect(log).not.toMatch(new RegExp(`[\\r\\n]${FALLBACK}[\\r\\n]`));
    expect(log, log.slice(-3000)).toMatch(new RegExp(`[\\r\\n]${MARKER}[\\r\\n]`));
    expect(log).toContain('guest powered off (ACPI S5');
    expect(run.exitCode, log.slice(-3000)).toBe(0);
    expect(/TENDRIL-DISK0-SHA256=([0-9a-f]{64})/.exec(log)?.[1]).toBe(before);
    expect(sha256(disk)).toBe(before);
  }, 900_000);
});
