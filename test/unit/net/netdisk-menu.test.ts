// Network disks in the network menu (docs/net-bootfiles.md §9), without a network: two leases on
// an in-memory fetcher, one naming a gzip'd GPT image made by sgdisk, mkfs.vfat and mke2fs -d
// (a BLS entry and the host's kernel), the other a corrupt image. The good lease's entry is in
// the menu and plans for kexec with its kernel read from the image through NetMenu.fs(); the bad
// one is one error naming its URL, and the rest of the menu stays.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { planBoot } from '../../../src/kexec/plan';
import { netMenu, type NetMenu } from '../../../src/net/boot';
import { blsDisk, blsEntry } from '../../fixtures/boot';
import { LEASE, memFetch } from './memfetch';

const GOOD = 'http://192.0.2.1/os/debian.img.gz';
const BAD = 'http://192.0.2.1/os/broken.iso';
let menu: NetMenu;
let disk: Buffer;

beforeAll(async () => {
  disk = fs.readFileSync(
    blsDisk('default a.conf\n', {
      'a.conf': blsEntry({ title: 'Image A', linux: '/vmlinuz', initrds: ['/initrd-main.img'], options: 'x=a' }),
    }),
  );
  // A GPT header at 512 with the rest of the disk cut off: a partition table that lies.
  const broken = Buffer.from(disk.subarray(0, 1 << 20));
  broken.fill(0xff, 1024, 2048);
  const { fetch } = memFetch({ [GOOD]: new Uint8Array(zlib.gzipSync(disk, { level: 1 })), [BAD]: broken });
  menu = await netMenu(
    [
      { ...LEASE, iface: 'eth0', bootUrl: GOOD },
      { ...LEASE, iface: 'eth1', bootUrl: BAD },
    ],
    fetch,
    { image: { maxBytes: 256 << 20 } },
  );
}, 120_000);

describe('network disks in the network menu', () => {
  it("the good image's entry is there and plans for kexec, its kernel read from the image", async () => {
    expect(menu.entries.map((e) => e.title)).toEqual(['Net: Image A from debian.img.gz (192.0.2.1)']);
    const e = menu.entries[0]!;
    expect(e.origin.device).toBe('netdisk:192.0.2.1/debian.img.gz');
    expect(menu.settings.defaultId).toBe(e.id);
    const plan = await planBoot(e, (id) => menu.fs(id), { memAvailable: () => undefined });
    expect(plan.kernel).toMatchObject({
      fsId: 'netdisk:192.0.2.1/debian.img.gz:2',
      path: '/vmlinuz',
      size: fs.statSync(hostKernel().vmlinuz).size,
    });
    expect(plan.cmdline).toContain('x=a');
    expect(menu.devices?.map((d) => d.device.name)).toEqual(['netdisk:192.0.2.1/debian.img.gz']);
  });

  it('the corrupt one is one error naming its URL; nothing else is lost', () => {
    const errors = menu.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(
      /^disk image http:\/\/192\.0\.2\.1\/os\/broken\.iso: no partition table or filesystem/,
    );
    expect(errors[0]!.file).toBe(BAD);
    expect(menu.sources.map((s) => s.bootFile?.kind.kind)).toEqual(['disk-image', 'disk-image']);
  });

  it('over net.max-image: an xz image is refused by the size its index declares, a gzip one at the limit', async () => {
    const xz = new Uint8Array(execFileSync('xz', ['-T2', '-1', '-c'], { input: disk, maxBuffer: 256 << 20 }));
    const XZ = 'http://192.0.2.1/os/big.raw.xz';
    const GZ = 'http://192.0.2.1/os/big.raw.gz';
    const { fetch } = memFetch({ [XZ]: xz, [GZ]: new Uint8Array(zlib.gzipSync(disk, { level: 1 })) });
    const m = await netMenu(
      [
        { ...LEASE, iface: 'eth0', bootUrl: XZ },
        { ...LEASE, iface: 'eth1', bootUrl: GZ },
      ],
      fetch,
      { image: { maxBytes: 16 << 20 } },
    );
    expect(m.entries).toEqual([]);
    expect(m.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([
      `disk image ${XZ}: the xz image declares ${disk.length} bytes, refused: ${disk.length} bytes are more than net.max-image allows (16777216 bytes)`,
      `disk image ${GZ}: decompresses to more than 16777216 bytes (net.max-image): refused`,
    ]);
  });
});
