// End to end, nested (docs/testing.md §3): Linux drives tendril's virtio-blk the fast way
// (docs/vmm-platform.md §12.1): it enables MSI-X, its notifies go to the I/O thread through an
// ioeventfd (they never reach JavaScript) and completions come back through irqfd. The guest,
// booted with --cpus 1 (docs/testing.md §3, "Two vCPUs") through Boot0000, loads virtio_pci and virtio_blk, reads the first 16 MiB
// of its disk and hashes them, writes a block and reads it back (into tendril's copy-on-write
// overlay), and prints its interrupt lines. The host image must not change.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  LINUX_EFI_LOADER,
  linuxEfiDisk,
  runNestedRetrying,
  scriptInitrd,
  sha256,
  splitFirmware,
  vmInitramfs,
} from '../fixtures/vm';

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

const SCRIPT = [
  'echo "TENDRIL-HEAD-SHA256=$(dd if=/dev/vda bs=1M count=16 2>/dev/null | sha256sum | cut -d" " -f1)"',
  'dd if=/dev/urandom of=/tmp/block bs=4096 count=1 2>/dev/null',
  'dd if=/tmp/block of=/dev/vda bs=4096 seek=30000',
  'sync',
  'echo 3 > /proc/sys/vm/drop_caches',
  'dd if=/dev/vda of=/tmp/back bs=4096 skip=30000 count=1',
  'cmp /tmp/block /tmp/back && echo TENDRIL-WRITE-READBACK-OK',
  'grep -i virtio /proc/interrupts | sed "s/^/TENDRIL-IRQ: /"',
].join('\n');

describe.skipIf(!haveQemu)('tendril vm: Linux on virtio-blk with MSI-X, ioeventfd and irqfd (nested KVM)', () => {
  it('reads and writes the disk through the I/O thread; interrupts are MSI-X; notifies skip JavaScript', async () => {
    const initrd = scriptInitrd(SCRIPT, ['virtio_pci', 'virtio_blk']);
    const disk = linuxEfiDisk(initrd, 160);
    const before = sha256(disk);
    const head = execFileSync('sh', ['-c', `dd if=${disk} bs=1M count=16 2>/dev/null | sha256sum | cut -d" " -f1`], {
      encoding: 'utf8',
    }).trim();
    const cpio = vmInitramfs(
      'vm-virtio-linux',
      [{ file: disk }],
      `--cpus 1 ${LINUX_EFI_LOADER} --stats`,
      {},
      splitFirmware(),
    );
    const run = await runNestedRetrying(cpio, ['TENDRIL-EXIT-CODE=']);
    const log = run.log.replace(/\r/g, '');
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    expect(/TENDRIL-HEAD-SHA256=([0-9a-f]{64})/.exec(log)?.[1], log.slice(-4000)).toBe(head);
    expect(log).toContain('TENDRIL-WRITE-READBACK-OK');
    const irqs = log.split('\n').filter((l) => l.startsWith('TENDRIL-IRQ: '));
    expect(irqs.join('\n'), log.slice(-4000)).toMatch(/PCI-MSIX?.*virtio\d+-req/);
    expect(irqs.join('\n')).not.toMatch(/IO-APIC.*virtio/);
    expect(run.exitCode, log.slice(-3000)).toBe(0);
    const stats = JSON.parse(/tendril-vm-stats (\{.*\})/.exec(log)?.[1] ?? '{}') as { exits?: Record<string, number> };
    // Every queue notify, OVMF's and Linux's, went to the I/O thread through the ioeventfd: none
    // reached JavaScript, while the requests (kernel and initrd for OVMF, the 16 MiB, the write and
    // the read back for Linux) were served.
    expect(stats.exits?.['disk0:requests'] ?? 0, JSON.stringify(stats.exits)).toBeGreaterThan(50);
    expect(stats.exits?.['disk0:notifies reaching JS']).toBe(0);
    expect(stats.exits?.['disk0:bytes read'] ?? 0).toBeGreaterThan(16 << 20);
    expect(stats.exits?.['disk0:bytes written'] ?? 0).toBeGreaterThanOrEqual(4096);
    expect(/TENDRIL-DISK0-SHA256=([0-9a-f]{64})/.exec(log)?.[1]).toBe(before);
    expect(sha256(disk)).toBe(before);
  }, 900_000);
});
