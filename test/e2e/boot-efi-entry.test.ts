// End to end, nested (docs/testing.md §3): the initramfs's `node /tendril.js boot --disk <disk>
// --entry <id>` boots a BLS Type #1 entry whose `efi` key names an EFI program (Debian's kernel
// through its EFI stub, with a busybox initrd that prints a marker and powers off) in tendril's
// VM. Nothing names the firmware: the guest carries Debian's ovmf files and QEMU firmware
// descriptors at their own paths, and the dispatch finds them as on a Debian host. The entry's
// options become Boot0000's LoadOptions (the kernel's command line, naming its initrd); the disk
// is passed through read-only with the overlay, and its sha256 is unchanged afterwards.
// One vCPU (--cpus 1): see docs/testing.md §3, "Two vCPUs".
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findOvmf } from '../../src/vm/firmware';
import { efiGptDisk, EFI_PARTUUID } from '../fixtures/efi-disks';
import { buildInitramfs, markerInitrd, patchedKvmAmd, runNestedRetrying, sha256, tendrilFiles } from '../fixtures/vm';

const MARKER = 'TENDRIL-MARKER-BOOT-EFI-ENTRY-7a3c';
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const DESCRIPTORS = '/usr/share/qemu/firmware';

/** Debian's OVMF as the ovmf package installs it: the descriptors and the files the usable one names. */
function ovmfPackageFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const n of fs.readdirSync(DESCRIPTORS)) files[path.join(DESCRIPTORS, n)] = path.join(DESCRIPTORS, n);
  const o = findOvmf();
  files[o.code] = o.code;
  files[o.vars] = o.vars;
  return files;
}

describe.skipIf(!haveQemu)('tendril boot --entry <efi entry> runs it in the VM (nested KVM)', () => {
  it('boots the BLS efi entry through Boot0000 with its options; exit 0; the disk unchanged', async () => {
    const disk = efiGptDisk({ 'EFI/tendril/initrd.img': { copyOf: markerInitrd(MARKER) } });
    const before = sha256(disk);
    const cpio = buildInitramfs({
      name: 'boot-efi-entry',
      files: { ...tendrilFiles(), ...ovmfPackageFiles(), '/vm/disk0.img': disk },
      modules: ['kvm', 'ccp'],
      extraKo: [patchedKvmAmd()],
      script: [
        'cd /vm',
        'node /tendril.js boot --disk /vm/disk0.img --entry tendril-efi.conf --cpus 1 --dry-run </dev/null',
        'echo "TENDRIL-DRY-RUN-EXIT=$?"',
        'node /tendril.js boot --disk /vm/disk0.img --entry tendril-efi.conf --cpus 1 </dev/null',
        'rc=$?',
        'echo "TENDRIL-DISK0-SHA256=$(sha256sum /vm/disk0.img | cut -d" " -f1)"',
      ].join('\n'),
    });
    const run = await runNestedRetrying(cpio, [MARKER]);
    const log = run.log;
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    // The dry run inside the guest: KVM (kvm_amd) can run firmware there, so a VM plan.
    expect(log, log.slice(-4000)).toContain('boot: in a KVM virtual machine (UEFI firmware)');
    expect(log).toContain(`firmware: ${findOvmf().code} (CODE image)`);
    expect(log).toContain('TENDRIL-DRY-RUN-EXIT=0');
    const hd = `HD(2,GPT,${EFI_PARTUUID.toUpperCase()},0x1800,0x20000)`;
    expect(log).toContain(`boot variable: Boot0000 = ${hd}/\\\\EFI\\\\tendril\\\\marker.efi; BootOrder = 0000`);
    expect(log).toContain('disk 0: /vm/disk0.img read-only, guest writes go to an in-memory copy-on-write overlay');
    // The real boot: OVMF's BDS starts exactly that Boot0000, the kernel finds its initrd from LoadOptions.
    expect(log).toContain(
      `BdsDxe: starting Boot0000 "tendril: \\EFI\\tendril\\marker.efi" from ${hd}/\\EFI\\tendril\\marker.efi`,
    );
    expect(log, log.slice(-3000)).toMatch(new RegExp(`[\\r\\n]${MARKER}[\\r\\n]`));
    expect(log).toContain('guest powered off (ACPI S5');
    expect(run.exitCode, log.slice(-3000)).toBe(0);
    expect(/TENDRIL-DISK0-SHA256=([0-9a-f]{64})/.exec(log)?.[1]).toBe(before);
    expect(sha256(disk)).toBe(before);
  }, 900_000);
});
