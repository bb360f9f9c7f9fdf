// End to end, nested (docs/testing.md §3): the real Debian 12 disk (test/fixtures/debian-vm.ts)
// on tendril's NVMe controller and on its AHCI HBA, at two vCPUs: OVMF's drivers read shim, GRUB
// and the kernel from them, and Debian's nvme and ahci drivers mount the root.
import { describe, it } from 'vitest';
import { CASES, bootDebianCase, haveQemu } from '../fixtures/debian-vm';

describe.skipIf(!haveQemu)("a real Debian disk on tendril's disk controllers (nested KVM)", () => {
  it.each([CASES.nvme, CASES.ahci])(
    '$name: OVMF → shim → GRUB → Debian to its marker, exit 0, disk unchanged',
    bootDebianCase,
    2_700_000,
  );
});
