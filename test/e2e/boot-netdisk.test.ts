// End to end over QEMU's own network (slirp, `restrict=on`): the product initramfs with
// tendril.mode=netboot gets a DHCPv4 lease whose boot file is a disk image, xz- or
// zstd-compressed (docs/net-bootfiles.md §9): a GPT disk made by sgdisk, mkfs.vfat and mke2fs -d
// with two BLS entries and the host's kernel. tendril downloads it over TFTP into a memfd,
// decompresses it with the initramfs's busybox xz or its zstd, scans it as a network disk and
// kexecs the default entry its loader.conf names, kernel and initrds read from the image's ext4.
// The target prints its command line.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { blsDisk, blsEntry, LOG_DIR, productInitramfs, runQemu, targetReport, type QemuRun } from '../fixtures/boot';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-netdisk-e2e-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const runs: Record<'xz' | 'zst', QemuRun | undefined> = { xz: undefined, zst: undefined };

beforeAll(async () => {
  const disk = blsDisk('default netdisk-target.conf\ntimeout 1\n', {
    'netdisk-decoy.conf': blsEntry({
      title: 'Netdisk decoy',
      version: '1.0',
      linux: '/vmlinuz',
      initrds: ['/initrd-main.img'],
      options: 'tendril.test=netdisk-decoy',
    }),
    'netdisk-target.conf': blsEntry({
      title: 'Netdisk target',
      version: '2.0',
      linux: '/vmlinuz',
      initrds: ['/initrd-main.img', '/initrd-second.img'],
      options: 'tendril.test=netdisk-target',
    }),
  });
  const root = path.join(dir, 'tftp');
  fs.mkdirSync(root);
  execFileSync('sh', ['-c', `xz -T2 -1 -c "$1" > "$2"`, 'sh', disk, path.join(root, 'disk.raw.xz')]);
  execFileSync('zstd', ['-q', '-T2', '-1', '-o', path.join(root, 'disk.raw.zst'), disk]);
  const boot = (ext: 'xz' | 'zst', mac: string): Promise<QemuRun> =>
    runQemu({
      kernel: hostKernel().vmlinuz,
      initrd: productInitramfs(),
      append: 'console=ttyS0 quiet tendril.mode=netboot',
      disks: [],
      timeoutMs: 400_000,
      until: /TARGET-DONE/,
      logFile: path.join(LOG_DIR, `netboot-netdisk-${ext}.log`),
      extra: [
        ...['-netdev', `user,id=n0,restrict=on,ipv4=on,ipv6=off,tftp=${root},bootfile=disk.raw.${ext}`],
        ...['-device', `virtio-net-pci,netdev=n0,mac=${mac}`],
      ],
    });
  [runs.xz, runs.zst] = await Promise.all([boot('xz', '52:54:00:12:34:57'), boot('zst', '52:54:00:12:34:58')]);
}, 1_000_000);

describe('network boot of a disk image (slirp, TFTP)', () => {
  it.each(['xz', 'zst'] as const)(
    "a .%s image's default BLS entry is kexec'd with its kernel and initrds from the image",
    (ext) => {
      const run = runs[ext]!;
      const r = targetReport(run.output);
      if (!r.booted) console.error(run.output.slice(-6000));
      expect(run.timedOut).toBe(false);
      expect(r.booted).toBe(true);
      expect(r.cmdline).toContain('tendril.test=netdisk-target');
      expect(r.cmdline).not.toContain('tendril.test=netdisk-decoy');
      expect(r.files['/second-initrd-marker']).toBe('second-piece-arrived');
    },
  );
});
