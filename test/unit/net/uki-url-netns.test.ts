// BLS `uki-url` entries and the systemd hand-off (docs/net-bootfiles.md §8) against real servers in a
// private namespace pair: a GPT disk made with the real tools holds Type #1 entries that name UKIs
// by URL (`:uki.efi` relative to the origin in net.origin, and an absolute one); dnsmasq leases an
// address (no boot file), nginx serves the UKIs. The client is the real CLI: `tendril boot --disk
// IMG --entry ID --dry-run` brings the network up for the entry, fetches the UKI from nginx and
// plans its kernel and initrd with the served bytes' sha256, and shows the `rd.systemd.pull=`
// option whose `bootorigin` became the absolute URL next to the UKI; so does `tendril netboot` when
// the lease's boot file is that UKI.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blsDisk, blsEntry } from '../../fixtures/boot';
import { NetnsPair, SERVER_IP } from '../../fixtures/netns-pair';
import { buildUki, KERNEL } from '../../fixtures/uki';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const PULL = 'rd.systemd.pull=raw,machine,verify=no,blockdev,bootorigin:image:image.raw.xz';
const ORIGIN = `http://${SERVER_IP}/os/tendril.efi`;
const initrd = Buffer.from('070701'.padEnd(1024, '0'));
let pair: NetnsPair;
let disk: string;
let root: string;

function settings(extra = '', staticIp = true): string {
  // `tendril boot` names no interface: a static dracut ip= on vc does (the veth has no PCI device to find).
  const mode = staticIp ? 'mode = "192.0.2.124::192.0.2.1:255.255.255.0::vc:none"\n' : '';
  return pair.settingsFile(`[net]\n${mode}timeout = 30\nfamily = "4"\n${extra}`);
}

const boot = (entry: string, extra: string) => pair.dryRunBoot(disk, entry, settings(extra));
const requests = (): string[] => pair.requests();

beforeAll(async () => {
  pair = new NetnsPair('ukiurl');
  const d = pair.dir;
  root = path.join(d, 'srv');
  for (const dir of ['os', 'other']) fs.mkdirSync(path.join(root, dir), { recursive: true });
  const uki = buildUki({ cmdline: `console=ttyS0 ${PULL} root=/dev/disk/by-loop-ref/image.raw-part2`, initrd });
  fs.copyFileSync(uki, path.join(root, 'os', 'uki.efi'));
  fs.copyFileSync(uki, path.join(root, 'other', 'uki.efi'));
  disk = blsDisk('timeout 0\n', {
    'net.conf': 'title Network UKI\nuki-url :uki.efi\n',
    'abs.conf': `title Absolute UKI\nuki-url http://${SERVER_IP}/other/uki.efi\noptions quiet ${PULL}\n`,
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
    // For `tendril netboot`: the lease's boot file is the UKI itself.
    `--dhcp-boot=http://${SERVER_IP}/os/uki.efi`,
  ]);
}, 180_000);

afterAll(() => pair?.close());

describe('BLS uki-url entries on a local disk, booted over the network', () => {
  it('`uki-url :uki.efi` resolves against net.origin; the UKI comes from nginx with its sha256; bootorigin is rewritten', async () => {
    const r = await boot('net.conf', `origin = "${ORIGIN}"\n`);
    expect(r.code).toBe(0);
    const label = `net:vc:/http/${SERVER_IP}/os/uki.efi`;
    expect(r.stdout).toContain(
      `kernel: ${label}#.linux size ${fs.statSync(KERNEL).size} sha256 ${sha(fs.readFileSync(KERNEL))}`,
    );
    expect(r.stdout).toMatch(new RegExp(`initrd\\[0\\]: ${label}#\\.initrd size 1024 sha256 ${sha(initrd)}`));
    // StubDeviceURL would be the UKI's own URL: image.raw.xz is looked for next to it.
    const to = `rd.systemd.pull=raw,machine,verify=no,blockdev:image:http://${SERVER_IP}/os/image.raw.xz`;
    expect(r.stdout).toContain(`bootorigin: ${PULL} -> ${to}`);
    const cmdline = /^cmdline \(\d+\/\d+ bytes\): (.*)$/m.exec(r.stdout)?.[1];
    expect(cmdline?.split(' ')).toContain(to);
    expect(cmdline).not.toContain('bootorigin');
    expect(requests()).toContain('"GET /os/uki.efi HTTP/1.1" 200');
  });

  it('an absolute uki-url: the entry options replace .cmdline; bootorigin resolves next to that UKI', async () => {
    const r = await boot('abs.conf', '');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`kernel: net:vc:/http/${SERVER_IP}/other/uki.efi#.linux`);
    const to = `rd.systemd.pull=raw,machine,verify=no,blockdev:image:http://${SERVER_IP}/other/image.raw.xz`;
    const cmdline = /^cmdline \(\d+\/\d+ bytes\): (.*)$/m.exec(r.stdout)?.[1] ?? '';
    expect(cmdline.split(' ').slice(0, 2)).toEqual(['quiet', to]);
    // The UKI's own .cmdline (with its root=) is replaced, as systemd-stub does.
    expect(cmdline).not.toContain('root=');
  });

  it('without an origin the `:name` entry is not bootable, says why, and nothing is fetched', async () => {
    const before = requests().length;
    const r = await boot('net.conf', '');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/uki-url :uki\.efi: relative to the URL tendril was booted from.*net\.origin/);
    expect(requests().length).toBe(before);
  });

  it('tendril netboot: a UKI boot file gets its bootorigin pull resolved next to it', async () => {
    const r = await pair.cli(['netboot', '--iface', 'vc', '--family', '4', '--dry-run'], {
      TENDRIL_SETTINGS: settings('', false),
    });
    if (process.env.SHOW) console.error(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`kernel: net:vc:/http/${SERVER_IP}/os/uki.efi#.linux`);
    expect(r.stdout).toContain(
      `bootorigin: ${PULL} -> rd.systemd.pull=raw,machine,verify=no,blockdev:image:http://${SERVER_IP}/os/image.raw.xz`,
    );
  });

  it('a disk kernel: bootorigin resolves against net.origin', async () => {
    const r = await boot('local.conf', `origin = "${ORIGIN}"\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `bootorigin: rd.systemd.pull=tar,sysext,bootorigin::ext.tar.xz -> rd.systemd.pull=tar,sysext::http://${SERVER_IP}/os/ext.tar.xz`,
    );
  });
});
