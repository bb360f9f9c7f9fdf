// Pre-fetched `rd.systemd.pull=` images (docs/net-bootfiles.md §8.3) against real servers in a private
// namespace pair: dnsmasq leases an address, nginx serves a UKI whose `.cmdline` holds a `bootorigin`
// pull (verify=signature, systemd's default), the image it names and the SHA256SUMS and
// SHA256SUMS.gpg next to it. The client is the real CLI with net.pull-prefetch on: `tendril boot
// --disk IMG --entry ID --dry-run` plans the UKI with one more initrd (the cpio headers, the image
// as nginx served it with its sha256, the trailer) and a file:// REMOTE; a pull whose image the
// server lacks, or that is over net.pull-prefetch-max, keeps its http URL with the reason; `tendril
// netboot` does the same for a UKI boot file.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blsDisk, blsEntry } from '../../fixtures/boot';
import { NetnsPair, SERVER_IP } from '../../fixtures/netns-pair';
import { buildUki } from '../../fixtures/uki';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const PULL = 'rd.systemd.pull=raw,machine,bootorigin:image:image.raw.xz';
const HTTP = `rd.systemd.pull=raw,machine:image:http://${SERVER_IP}/os/image.raw.xz`;
const FILE = 'rd.systemd.pull=raw,machine:image:file:///.extra/tendril-pull/0/image.raw.xz';
const ORIGIN = `http://${SERVER_IP}/os/tendril.efi`;
const IMAGE = randomBytes((2 << 20) + 1);
const SUMS = Buffer.from(`${sha(IMAGE)}  image.raw.xz\n`);
const initrd = Buffer.from('070701'.padEnd(1024, '0'));
let pair: NetnsPair;
let disk: string;

function settings(extra = '', staticIp = true): string {
  const mode = staticIp ? 'mode = "192.0.2.124::192.0.2.1:255.255.255.0::vc:none"\n' : '';
  return pair.settingsFile(`[net]\n${mode}timeout = 30\nfamily = "4"\npull-prefetch = true\n${extra}`);
}

const boot = (entry: string, extra: string) => pair.dryRunBoot(disk, entry, settings(extra));
const requests = (): string[] => pair.requests();

const cmdlineOf = (stdout: string): string[] =>
  (/^cmdline \(\d+\/\d+ bytes\): (.*)$/m.exec(stdout)?.[1] ?? '').split(' ');

beforeAll(async () => {
  pair = new NetnsPair('pullpre');
  const d = pair.dir;
  const root = path.join(d, 'srv');
  fs.mkdirSync(path.join(root, 'os'), { recursive: true });
  const uki = buildUki({ cmdline: `console=ttyS0 ${PULL}`, initrd });
  fs.copyFileSync(uki, path.join(root, 'os', 'uki.efi'));
  fs.writeFileSync(path.join(root, 'os', 'image.raw.xz'), IMAGE);
  fs.writeFileSync(path.join(root, 'os', 'SHA256SUMS'), SUMS);
  fs.writeFileSync(path.join(root, 'os', 'SHA256SUMS.gpg'), Buffer.from('not really a signature\n'));
  disk = blsDisk('timeout 0\n', {
    'net.conf': 'title Network UKI\nuki-url :uki.efi\n',
    'local.conf': blsEntry({
      title: 'Local',
      linux: '/vmlinuz',
      initrds: ['/initrd-second.img'],
      options: `quiet rd.systemd.pull=tar,sysext,bootorigin::ext.tar.xz`,
    }),
  });
  await pair.startNginx(root);
  await pair.startDnsmasq([
    `--dhcp-host=${pair.clientMac()},192.0.2.124`,
    `--dhcp-boot=http://${SERVER_IP}/os/uki.efi`,
  ]);
}, 180_000);

afterAll(() => pair?.close());

describe('net.pull-prefetch: the pull image rides in the initrd', () => {
  it('`tendril boot --dry-run`: an extra initrd with the image as served and its sha256; REMOTE is file://', async () => {
    const before = requests().length;
    const r = await boot('net.conf', `origin = "${ORIGIN}"\n`);
    expect(r.code).toBe(0);
    const img = `net:vc:/http/${SERVER_IP}/os/image.raw.xz`;
    // initrd[0] is the UKI's .initrd; the extra cpio follows: headers, the image, the trailer.
    expect(r.stdout).toMatch(/initrd\[1\]: tendril-pull:cpio#0 size \d+ sha256 [0-9a-f]{64} at \d+ pad 0/);
    expect(r.stdout).toMatch(
      new RegExp(`initrd\\[2\\]: ${img.replace(/\./g, '\\.')} size ${IMAGE.length} sha256 ${sha(IMAGE)} at \\d+ pad 3`),
    );
    expect(r.stdout).toMatch(/initrd\[3\]: tendril-pull:cpio#trailer size 124 /);
    expect(r.stdout).toContain(`bootorigin: ${PULL} -> ${HTTP}`);
    expect(r.stdout).toContain(
      `pull-prefetch: http://${SERVER_IP}/os/image.raw.xz -> file:///.extra/tendril-pull/0/image.raw.xz size ${IMAGE.length} sha256 ${sha(IMAGE)} with SHA256SUMS, SHA256SUMS.gpg`,
    );
    const words = cmdlineOf(r.stdout);
    expect(words).toContain(FILE);
    expect(words.join(' ')).not.toContain('http://');
    // systemd-pull's order: per-file names first (404), then the per-directory ones.
    expect(requests().slice(before)).toEqual([
      '"GET /os/uki.efi HTTP/1.1" 200',
      '"GET /os/image.raw.xz.sha256 HTTP/1.1" 404',
      '"GET /os/SHA256SUMS HTTP/1.1" 200',
      '"GET /os/image.raw.xz.sha256.asc HTTP/1.1" 404',
      '"GET /os/image.raw.xz.sha256.gpg HTTP/1.1" 404',
      '"GET /os/SHA256SUMS.gpg HTTP/1.1" 200',
      '"GET /os/image.raw.xz HTTP/1.1" 200',
    ]);
  });

  it('over net.pull-prefetch-max the pull keeps its http URL and the plan says why', async () => {
    const r = await boot('net.conf', `origin = "${ORIGIN}"\npull-prefetch-max = 1\n`);
    expect(r.code).toBe(0);
    expect(cmdlineOf(r.stdout)).toContain(HTTP);
    expect(r.stdout).not.toContain('tendril-pull:cpio');
    expect(r.stdout).toMatch(
      /warning: http:\/\/192\.0\.2\.1\/os\/image\.raw\.xz: not prefetched \(the OS downloads it\): .*limit of 1048576 bytes/,
    );
  });

  it('a disk kernel whose pull image the server lacks: http URL kept, the 404 named', async () => {
    const r = await boot('local.conf', `origin = "${ORIGIN}"\n`);
    expect(r.code).toBe(0);
    expect(cmdlineOf(r.stdout)).toContain(`rd.systemd.pull=tar,sysext::http://${SERVER_IP}/os/ext.tar.xz`);
    expect(r.stdout).toMatch(
      /warning: http:\/\/192\.0\.2\.1\/os\/ext\.tar\.xz: not prefetched \(the OS downloads it\): .*404/,
    );
  });

  it('tendril netboot: a UKI boot file gets the prefetched image next to it', async () => {
    const r = await pair.cli(['netboot', '--iface', 'vc', '--family', '4', '--dry-run'], {
      TENDRIL_SETTINGS: settings('', false),
    });
    if (process.env.SHOW) console.error(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `initrd[2]: net:vc:/http/${SERVER_IP}/os/image.raw.xz size ${IMAGE.length} sha256 ${sha(IMAGE)}`,
    );
    expect(cmdlineOf(r.stdout)).toContain(FILE);
  });
});
