// End to end (docs/net-bootfiles.md §8): a BLS `uki-url` entry on a local disk, booted over the
// network. QEMU's NIC is a tap device in a namespace this test creates, with dnsmasq (DHCP, no boot
// file) and nginx (http) beside it. The product initramfs runs the menu with `tendril.origin=` on
// its command line; the disk's default entry says `uki-url :uki.efi`. The menu resolves it against
// the origin, waits for the lease, fetches the UKI from nginx and kexecs its kernel and initrd (the
// marker initrd, which prints its command line and the sha256 of the files in its root).
// The UKI's `.cmdline` holds two pulls with `bootorigin` (docs/net-bootfiles.md §8.3):
// - `systemd.pull=` (the booted system's, after switch-root) and an `rd.systemd.pull=` whose image
//   the server does not have (its pre-fetch fails, so the OS gets the URL): the marker kernel must
//   see both with the absolute URL next to the UKI;
// - `rd.systemd.pull=` with `tendril.pull-prefetch=1`: tendril downloads the image with the
//   SHA256SUMS and SHA256SUMS.gpg nginx serves beside it and appends them as an uncompressed cpio
//   after the UKI's gzip initrd. The marker's initramfs must hold them under
//   /.extra/tendril-pull/0/ with the served bytes' sha256, and its command line must name the image
//   by a file:// URL there.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import {
  blsDisk,
  LOG_DIR,
  privateCopy,
  productInitramfs,
  runQemu,
  targetInitrds,
  targetReport,
  type QemuRun,
} from '../fixtures/boot';
import { nginxArgs, nginxConf } from '../fixtures/nginx';
import { TAP_SERVER, TapNamespace } from '../fixtures/tap-net';
import { buildUki } from '../fixtures/uki';

const MAC = '52:54:00:12:34:58';
const PULL = 'systemd.pull=raw,machine,verify=no,blockdev,bootorigin:image:image.raw.xz';
const REWRITTEN = `systemd.pull=raw,machine,verify=no,blockdev:image:http://${TAP_SERVER}/os/image.raw.xz`;
const RD_MISSING = 'rd.systemd.pull=raw,machine,verify=no,bootorigin:gone:gone.raw.xz';
const RD_MISSING_REWRITTEN = `rd.systemd.pull=raw,machine,verify=no:gone:http://${TAP_SERVER}/os/gone.raw.xz`;
const RD_PULL = 'rd.systemd.pull=raw,machine,bootorigin:image:image.raw.xz';
const DIR = '/.extra/tendril-pull/0';
const FILE_WORD = `rd.systemd.pull=raw,machine:image:file://${DIR}/image.raw.xz`;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
// An odd size: newc's padding after the data is the initrd layout's.
const IMAGE = randomBytes((8 << 20) + 1);
const SUMS = Buffer.from(`${sha(IMAGE)}  image.raw.xz\n`);
const SIG = randomBytes(566);

let run: QemuRun;
let accessLog = '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-uki-url-e2e-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const ns = new TapNamespace('ukiurl');
  const disk = privateCopy(
    blsDisk('timeout 1\ndefault net.conf\n', { 'net.conf': 'title Network UKI\nuki-url :uki.efi\n' }),
  );
  try {
    const www = path.join(ns.dir, 'www');
    fs.mkdirSync(path.join(www, 'os'), { recursive: true });
    fs.chmodSync(www, 0o755);
    const uki = buildUki({
      cmdline: `console=ttyS0 quiet tendril.test=uki-url ${PULL} ${RD_MISSING} ${RD_PULL}`,
      initrd: targetInitrds().main,
      linux: { file: hostKernel().vmlinuz },
    });
    fs.copyFileSync(uki, path.join(www, 'os', 'uki.efi'));
    fs.writeFileSync(path.join(www, 'os', 'image.raw.xz'), IMAGE);
    fs.writeFileSync(path.join(www, 'os', 'SHA256SUMS'), SUMS);
    fs.writeFileSync(path.join(www, 'os', 'SHA256SUMS.gpg'), SIG);
    for (const f of fs.readdirSync(path.join(www, 'os'))) fs.chmodSync(path.join(www, 'os', f), 0o644);
    fs.writeFileSync(
      path.join(ns.dir, 'nginx.conf'),
      nginxConf({
        dir: ns.dir,
        root: www,
        logFormat: '"$request" $status',
        servers: [`server { listen ${TAP_SERVER}:80; }`],
      }),
    );
    ns.start('/usr/sbin/nginx', nginxArgs(ns.dir));
    ns.start('/usr/sbin/dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--interface=tap0',
      '--bind-interfaces',
      '--no-ping',
      `--dhcp-leasefile=${ns.dir}/leases`,
      `--pid-file=${ns.dir}/dnsmasq.pid`,
      '--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,1h',
    ]);
    await ns.waitListening('tcp', 80);
    await ns.waitListening('udp', 67);
    run = await runQemu({
      kernel: hostKernel().vmlinuz,
      initrd: productInitramfs(),
      // net.family = 4: no DHCPv6 server here, so the lease stage need not wait for one.
      append: `console=ttyS0 quiet tendril.timeout=1 tendril.net.family=4 tendril.origin=http://${TAP_SERVER}/os/tendril.efi tendril.pull-prefetch=1`,
      disks: [disk],
      timeoutMs: 400_000,
      until: /TARGET-DONE/,
      logFile: path.join(LOG_DIR, 'boot-uki-url.log'),
      prefix: ns.qemuPrefix,
      extra: TapNamespace.qemuNic(MAC),
    });
    accessLog = ns.read('access.log');
  } finally {
    ns.close();
    fs.rmSync(path.dirname(disk), { recursive: true, force: true });
  }
}, 600_000);

describe('a BLS uki-url entry boots over the network', () => {
  it("the menu's disk default `uki-url :uki.efi` is fetched from the origin's directory and kexec'd", () => {
    const r = targetReport(run.output);
    if (!r.booted) console.error(run.output.slice(-8000));
    expect(run.timedOut).toBe(false);
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('tendril.test=uki-url');
    expect(accessLog).toContain('"GET /os/uki.efi HTTP/1.1" 200');
  });

  it("the marker kernel's command line has the rewritten systemd.pull and rd.systemd.pull, without bootorigin", () => {
    const r = targetReport(run.output);
    expect(r.cmdline).toContain(REWRITTEN);
    // Its pre-fetch found nothing (404): the OS downloads it itself.
    expect(accessLog).toContain('"GET /os/gone.raw.xz HTTP/1.1" 404');
    expect(r.cmdline).toContain(RD_MISSING_REWRITTEN);
    expect(r.cmdline.some((w) => w.includes('bootorigin'))).toBe(false);
  });

  it('net.pull-prefetch: tendril fetched the rd. pull image and the checksum files next to it', () => {
    for (const f of ['SHA256SUMS', 'SHA256SUMS.gpg', 'image.raw.xz'])
      expect(accessLog).toContain(`"GET /os/${f} HTTP/1.1" 200`);
  });

  it(`the marker's initramfs holds ${DIR}/ with the served bytes, after the UKI's gzip initrd`, () => {
    const r = targetReport(run.output);
    expect(r.sha256).toEqual({
      [`${DIR}/image.raw.xz`]: sha(IMAGE),
      [`${DIR}/SHA256SUMS`]: sha(SUMS),
      [`${DIR}/SHA256SUMS.gpg`]: sha(SIG),
    });
  });

  it('the rd. pull of the image names it by a file:// URL there, and only that', () => {
    const r = targetReport(run.output);
    expect(r.cmdline).toContain(FILE_WORD);
    expect(r.cmdline.filter((w) => w.startsWith('rd.systemd.pull=') && w.includes(':image:'))).toEqual([FILE_WORD]);
  });
});
