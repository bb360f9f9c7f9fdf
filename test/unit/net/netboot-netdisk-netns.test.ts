// Disk images as boot files (docs/net-bootfiles.md §9) against real servers in a private
// namespace pair: dnsmasq's lease names an image on nginx; the image is a GPT disk made by
// sgdisk, mkfs.vfat and mke2fs -d (an ESP with loader.conf, an XBOOTLDR with two BLS entries, the
// host's kernel and initrds), served as it is, gzip'd, xz'd and zstd'd by the real programs, and
// under a name that says nothing (classified by its bytes). The client is the real CLI
// (`tendril netboot --json` and `--dry-run`): the image's BLS entries appear with their kernels
// on the image's filesystems and the dry run plans the default one with the kernel's sha256. A
// truncated .gz, an image with no readable partition table and an unverified image under
// net.require-verified give one diagnostic naming the URL and the reason, and no entries.

import { type ChildProcess, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { blsDisk, blsEntry } from '../../fixtures/boot';
import { efiGptDisk } from '../../fixtures/efi-disks';
import { NetnsPair, SERVER_IP } from '../../fixtures/netns-pair';
import { buildUki, KERNEL } from '../../fixtures/uki';

let pair: NetnsPair;
let root: string;
let dnsmasq: ChildProcess | undefined;
let mac = '';
let image: Buffer;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Json {
  bootFiles: { url?: string; kind?: { kind: string; compression?: string; by?: string } }[];
  entries: {
    id: string;
    title: string;
    default: boolean;
    target?: { kind: string; kernel: { fsId: string; path: string }; initrds: { path: string }[]; cmdline: string };
    reason?: string;
  }[];
  defaultId: string | null;
  diagnostics: { severity: string; message: string; file?: string }[];
}

/** (Re)starts dnsmasq with the lease naming `bootUrl`. */
async function serveBootFile(bootUrl: string): Promise<void> {
  if (dnsmasq && dnsmasq.exitCode === null) {
    const gone = new Promise((r) => dnsmasq!.once('exit', r));
    dnsmasq.kill('SIGTERM');
    await gone;
  }
  dnsmasq = await pair.startDnsmasq([`--dhcp-host=${mac},192.0.2.123`, `--dhcp-boot=${bootUrl}`]);
}

function settings(extra = ''): string {
  const f = path.join(pair.dir, `settings-${Math.random().toString(36).slice(2)}.toml`);
  fs.writeFileSync(f, `[net]\ntimeout = 30\n${extra}\n`);
  return f;
}

async function list(extra = ''): Promise<Json> {
  const r = await pair.cli(['netboot', '--iface', 'vc', '--family', '4', '--json'], {
    TENDRIL_SETTINGS: settings(extra),
  });
  if (process.env.SHOW) console.error(r.stdout, r.stderr);
  try {
    return JSON.parse(r.stdout) as Json;
  } catch {
    throw new Error(`netboot printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

beforeAll(async () => {
  pair = new NetnsPair('netdisk');
  const d = pair.dir;
  root = path.join(d, 'srv');
  fs.mkdirSync(root);
  const disk = blsDisk('default netdisk-target.conf\ntimeout 3\n', {
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
      initrds: ['/intel-ucode.img', '/initrd-main.img'],
      options: 'tendril.test=netdisk',
    }),
  });
  image = fs.readFileSync(disk);
  fs.copyFileSync(disk, path.join(root, 'disk.raw'));
  fs.copyFileSync(disk, path.join(root, 'nbp'));
  fs.copyFileSync(efiGptDisk(), path.join(root, 'efi.raw'));
  // A network ESP: its one entry names a UKI next to the image, relative to the image's URL.
  fs.mkdirSync(path.join(root, 'esp'));
  fs.copyFileSync(buildUki({ cmdline: 'console=ttyS0 tendril.test=network-esp' }), path.join(root, 'esp', 'uki.efi'));
  fs.writeFileSync(
    path.join(root, 'esp', 'esp.img.gz'),
    zlib.gzipSync(fs.readFileSync(blsDisk('timeout 0\n', { 'net.conf': 'title Network UKI\nuki-url :uki.efi\n' }))),
  );
  fs.writeFileSync(path.join(root, 'boot.ipxe'), `#!ipxe\nsanboot --no-describe http://${SERVER_IP}/disk.raw.zst\n`);
  fs.writeFileSync(path.join(root, 'disk.raw.gz'), zlib.gzipSync(image, { level: 1 }));
  execFileSync('sh', ['-c', `xz -T2 -1 -c ${disk} > ${root}/disk.raw.xz`]);
  execFileSync('sh', ['-c', `zstd -q -T2 -c ${disk} > ${root}/disk.raw.zst`]);
  const gz = fs.readFileSync(path.join(root, 'disk.raw.gz'));
  fs.writeFileSync(path.join(root, 'cut.raw.gz'), gz.subarray(0, gz.length >> 1));
  // Random bytes: no partition table, no filesystem.
  fs.writeFileSync(
    path.join(root, 'noise.img'),
    createHash('sha512').update('noise').digest().toString('hex').repeat(4096),
  );
  mac = pair.clientMac();
  await pair.startNginx(root);
}, 300_000);

afterAll(() => pair?.close());

const URL_OF = (name: string) => `http://${SERVER_IP}/${name}`;

describe('tendril netboot: a disk image as the boot file', () => {
  it.each([
    ['disk.raw', 'none', 'name'],
    ['disk.raw.gz', 'gzip', 'name'],
    ['disk.raw.xz', 'xz', 'name'],
    ['disk.raw.zst', 'zstd', 'name'],
    ['nbp', 'none', 'content'],
  ])('%s: its BLS entries appear, kernels on the image, the default its loader.conf names', async (name, c, by) => {
    await serveBootFile(URL_OF(name));
    const j = await list();
    expect(j.bootFiles[0]).toMatchObject({ url: URL_OF(name), kind: { kind: 'disk-image', compression: c, by } });
    const disk = `netdisk:${SERVER_IP}/${name}`;
    const titles = j.entries.map((e) => e.title).sort();
    expect(titles).toEqual([
      `Net: Netdisk decoy from ${name} (${SERVER_IP})`,
      `Net: Netdisk target from ${name} (${SERVER_IP})`,
    ]);
    const target = j.entries.find((e) => e.title.includes('target'))!;
    expect(target.id).toBe(`${disk}:netdisk-target.conf`);
    expect(target.default).toBe(true);
    expect(j.defaultId).toBe(target.id);
    // The XBOOTLDR is the image's second partition.
    expect(target.target).toMatchObject({
      kind: 'linux',
      kernel: { fsId: `${disk}:2`, path: '/vmlinuz' },
      cmdline: 'tendril.test=netdisk',
    });
    expect(target.target!.initrds.map((i) => i.path)).toEqual(['/intel-ucode.img', '/initrd-main.img']);
    const summary = j.diagnostics.find((d) => d.message.startsWith(`network disk ${URL_OF(name)} (`));
    expect(summary?.message).toContain(`${image.length} bytes): 2 entries on 2 filesystems, scanned in `);
    if (c === 'none') expect(summary?.message).toContain(`sha256 ${sha(image)}`);
  });

  it('the dry run plans the default entry from the image: its kernel and sha256', async () => {
    await serveBootFile(URL_OF('disk.raw.xz'));
    const r = await pair.cli(['netboot', '--iface', 'vc', '--family', '4', '--dry-run'], {
      TENDRIL_SETTINGS: settings(),
    });
    if (process.env.SHOW) console.error(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    const k = fs.readFileSync(hostKernel().vmlinuz);
    expect(r.stdout).toContain(`kernel: netdisk:${SERVER_IP}/disk.raw.xz:2:/vmlinuz size ${k.length} sha256 ${sha(k)}`);
    expect(r.stdout).toContain('tendril.test=netdisk');
    expect(r.stdout).not.toContain('tendril.test=netdisk-decoy');
  });

  it("iPXE's `sanboot URL` of an image: the image's entries and its default", async () => {
    await serveBootFile(URL_OF('boot.ipxe'));
    const j = await list();
    expect(j.bootFiles[0]).toMatchObject({ url: URL_OF('boot.ipxe'), kind: { kind: 'ipxe-script' } });
    const disk = `netdisk:${SERVER_IP}/disk.raw.zst`;
    expect(j.entries.map((e) => e.id).sort()).toEqual([`${disk}:netdisk-decoy.conf`, `${disk}:netdisk-target.conf`]);
    expect(j.defaultId).toBe(`${disk}:netdisk-target.conf`);
    expect(j.entries.find((e) => e.default)?.target?.kernel).toEqual({ fsId: `${disk}:2`, path: '/vmlinuz' });
  });

  it('a network ESP: its `uki-url :uki.efi` entry resolves next to the image and plans the UKI from nginx', async () => {
    await serveBootFile(URL_OF('esp/esp.img.gz'));
    const r = await pair.cli(['netboot', '--iface', 'vc', '--family', '4', '--dry-run'], {
      TENDRIL_SETTINGS: settings(),
    });
    if (process.env.SHOW) console.error(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Net: Network UKI from esp.img.gz (${SERVER_IP})`);
    expect(r.stdout).toContain(
      `kernel: net:vc:/http/${SERVER_IP}/esp/uki.efi#.linux size ${fs.statSync(KERNEL).size} sha256 ${sha(fs.readFileSync(KERNEL))}`,
    );
    expect(r.stdout).toContain('tendril.test=network-esp');
  });

  it("an efi entry's VM plan has the image's memfd as its read-only disk", async () => {
    await serveBootFile(URL_OF('efi.raw'));
    const id = `netdisk:${SERVER_IP}/efi.raw:tendril-efi.conf`;
    const r = await pair.cli(['netboot', '--iface', 'vc', '--family', '4', '--dry-run', '--entry', id], {
      TENDRIL_SETTINGS: settings(),
    });
    if (process.env.SHOW) console.error(r.stdout, r.stderr);
    // Planned (KVM here) or unavailable (no KVM): the plan names the disk either way.
    expect(r.stdout).toContain(`entry: ${id} (Net: Tendril EFI program from efi.raw (${SERVER_IP}))`);
    expect(r.stdout).toMatch(
      /\n {2}disk 0: \/proc\/self\/fd\/\d+ read-only, guest writes go to an in-memory copy-on-write overlay; .*holds netdisk:192\.0\.2\.1\/efi\.raw:2:\/EFI\/tendril\/marker\.efi/,
    );
  });

  it('a pin on the served (compressed) bytes vouches for the image; a wrong one refuses it', async () => {
    await serveBootFile(URL_OF('disk.raw.gz'));
    const served = fs.readFileSync(path.join(root, 'disk.raw.gz'));
    const ok = await list(`require-verified = true\n[net.pins]\n"${URL_OF('disk.raw.gz')}" = "${sha(served)}"\n`);
    expect(ok.entries).toHaveLength(2);
    const bad = await list(`[net.pins]\n"${URL_OF('disk.raw.gz')}" = "${sha(image)}"\n`);
    expect(bad.entries).toEqual([]);
    const mismatch = `disk image ${URL_OF('disk.raw.gz')}: sha256 mismatch: expected ${sha(image)}, got ${sha(served)}`;
    expect(bad.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toContain(mismatch);
    const unverified = await list('require-verified = true\n');
    expect(unverified.entries).toEqual([]);
    expect(unverified.diagnostics.map((d) => d.message)).toContainEqual(
      expect.stringMatching(/disk image http:\S+disk\.raw\.gz: not verified: no sha256 pin vouches for the image/),
    );
  });

  it.each([
    ['cut.raw.gz', /disk image http:\S+\/cut\.raw\.gz: gzip: unexpected end of file/],
    ['noise.img', /disk image http:\S+\/noise\.img: no partition table or filesystem tendril can read in 524288 bytes/],
  ])('%s: no entries, one error naming the URL and the reason', async (name, why) => {
    await serveBootFile(URL_OF(name));
    const j = await list();
    expect(j.entries).toEqual([]);
    const errors = j.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.message)).toContainEqual(expect.stringMatching(why));
    expect(errors.find((d) => why.test(d.message))?.file).toBe(URL_OF(name));
  });

  it('a boot file that is an nvme+tcp:// URL is connected, not fetched: here (no NVMe/TCP initiator) one error naming it', async () => {
    // The host kernel has no nvme_tcp (test/e2e/netboot-nvme-tcp.test.ts boots one against nvmet).
    const url = `nvme+tcp://${SERVER_IP}:4420/nqn.2026-12.org.example:disk`;
    await serveBootFile(url);
    const j = await list();
    expect(j.entries).toEqual([]);
    const errors = j.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toContainEqual(
      expect.objectContaining({ file: url, message: expect.stringMatching(/\/dev\/nvme-fabrics|nvme_tcp/) as unknown }),
    );
  });
});
