// End to end over QEMU's own network (slirp, no host network: `restrict=on`): the product
// initramfs with tendril.mode=netboot brings up virtio-net, gets a DHCPv4 lease with tendril's
// raw-socket client, follows the boot file (pxelinux.0) to pxelinux.cfg/ over TFTP, takes the
// config the PXELINUX lookup order prefers (UUID, then 01-<MAC>, then hex IP prefixes, then
// default), and kexecs the kernel and initrds that config names. The target prints its command
// line: which config won, and IPAPPEND's BOOTIF=.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import {
  blsDisk,
  blsEntry,
  LOG_DIR,
  privateCopy,
  productInitramfs,
  runQemu,
  targetReport,
  type QemuRun,
} from '../fixtures/boot';
import { demoDnsmasqArgs, demoNetwork, demoNginxConf } from '../fixtures/demo-net';
import { nginxArgs } from '../fixtures/nginx';
import { pxeTftpRoot } from '../fixtures/pxe-root';
import { TapNamespace } from '../fixtures/tap-net';

const MAC = '52:54:00:12:34:56';
const UUID = '5a2f6d3c-1b4e-4c8a-9f00-0123456789ab';
// slirp's first lease: 10.0.2.15 = 0A00020F.
const HEX_PREFIX = '0A0002';

const LOCAL_ENTRY = blsEntry({
  title: 'Local disk',
  linux: '/vmlinuz',
  initrds: ['/initrd-main.img'],
  options: 'tendril.test=local-disk',
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-netboot-e2e-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function label(name: string, ipappend = ''): string {
  return [
    `DEFAULT ${name}`,
    `LABEL ${name}`,
    '  KERNEL vmlinuz',
    '  INITRD initrd-main.img,initrd-second.img',
    `  APPEND tendril.test=pxe-${name} quiet`,
    ...(ipappend ? [`  IPAPPEND ${ipappend}`] : []),
    '',
  ].join('\n');
}

/** A TFTP root: the NBP name the lease points at, the kernel and initrds, and the configs. */
function tftpRoot(name: string, configs: Record<string, string>): string {
  return pxeTftpRoot(path.join(dir, name), configs);
}

function netboot(
  name: string,
  root: string,
  extra: string[] = [],
  o: { append?: string; disks?: string[]; bootfile?: string } = {},
): Promise<QemuRun> {
  return runQemu({
    kernel: hostKernel().vmlinuz,
    initrd: productInitramfs(),
    append: o.append ?? 'console=ttyS0 quiet tendril.mode=netboot',
    disks: o.disks ?? [],
    timeoutMs: 300_000,
    until: /TARGET-DONE/,
    logFile: path.join(LOG_DIR, `${name}.log`),
    extra: [
      ...['-netdev', `user,id=n0,restrict=on,ipv4=on,ipv6=off,tftp=${root},bootfile=${o.bootfile ?? 'pxelinux.0'}`],
      ...['-device', `virtio-net-pci,netdev=n0,mac=${MAC}`],
      ...extra,
    ],
  });
}

const runs: Record<string, QemuRun> = {};

beforeAll(async () => {
  const all = {
    default: label('default'),
    [HEX_PREFIX]: label('hexip'),
    [`01-${MAC.replace(/:/g, '-')}`]: label('mac', '2'),
  };
  // Sequential: two TCG guests at once would only share the same two cores.
  runs.mac = await netboot('netboot-mac', tftpRoot('mac', all));
  runs.uuid = await netboot('netboot-uuid', tftpRoot('uuid', { ...all, [UUID]: label('uuid') }), ['-uuid', UUID]);
  runs.hexip = await netboot(
    'netboot-hexip',
    tftpRoot('hexip', { default: label('default'), [HEX_PREFIX]: label('hexip') }),
  );
  // The menu (/init's default mode) with no disk: the network's default boots after the countdown.
  runs.menu = await netboot('netboot-menu', tftpRoot('menu', { default: label('menu') }), [], {
    append: 'console=ttyS0 quiet tendril.timeout=2',
  });
  // The menu with a BLS disk and a boot file on a server nothing answers for (restrict=on drops
  // it): the disk's default boots; the network is not waited for.
  const disk = privateCopy(blsDisk('timeout 1\ndefault local.conf\n', { 'local.conf': LOCAL_ENTRY }));
  try {
    runs.local = await netboot('netboot-blackhole', tftpRoot('blackhole', {}), [], {
      append: 'console=ttyS0 quiet',
      disks: [disk],
      bootfile: 'http://10.0.2.200/never.ipxe',
    });
  } finally {
    fs.rmSync(path.dirname(disk), { recursive: true, force: true });
  }
  runs.demo = await demoNetworkBoot();
}, 1_000_000);

/**
 * The demo's network (scripts/demo.sh as root): QEMU on a tap device inside a namespace this test
 * creates, dnsmasq and nginx (https with the test CA, baked into the demo's initramfs) beside it;
 * the menu has no disk, so the network's default boots after the countdown, over https.
 */
async function demoNetworkBoot(): Promise<QemuRun> {
  const ns = new TapNamespace('demo');
  try {
    const d = ns.dir;
    const net = demoNetwork();
    fs.writeFileSync(path.join(d, 'nginx.conf'), demoNginxConf(net, d));
    ns.start('/usr/sbin/dnsmasq', [...demoDnsmasqArgs('tap0', d), '--log-queries', `--log-facility=${d}/dnsmasq.log`]);
    ns.start('/usr/sbin/nginx', nginxArgs(d));
    await ns.waitListening('tcp', 443);
    await ns.waitListening('udp', 67);
    const run = await runQemu({
      kernel: hostKernel().vmlinuz,
      initrd: productInitramfs('zstd', 'squashfs', net.caPem),
      append: 'console=ttyS0 quiet tendril.timeout=2',
      disks: [],
      timeoutMs: 300_000,
      until: /TARGET-DONE/,
      logFile: path.join(LOG_DIR, 'netboot-demo-https.log'),
      prefix: ns.qemuPrefix,
      extra: TapNamespace.qemuNic(MAC),
    });
    demoAccessLog = ns.read('access.log');
    demoDnsLog = ns.read('dnsmasq.log');
    return run;
  } finally {
    ns.close();
  }
}

let demoAccessLog = '';
let demoDnsLog = '';

describe('network boot over slirp: DHCP, TFTP, pxelinux lookup, kexec', () => {
  it.each([
    ['mac', 'the 01-<MAC> config wins over hex IP and default'],
    ['uuid', 'the SMBIOS UUID config wins over all others'],
    ['hexip', 'the longest hex-IP prefix wins over default'],
  ])('%s: %s', (name) => {
    const run = runs[name]!;
    const r = targetReport(run.output);
    if (!r.booted) console.error(run.output.slice(-6000));
    expect(run.timedOut).toBe(false);
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain(`tendril.test=pxe-${name}`);
    expect(r.cmdline).toContain('console=ttyS0');
    expect(r.files['/second-initrd-marker']).toBe('second-piece-arrived');
  });

  it("the menu boots the network's default after the countdown when no disk has an entry", () => {
    const r = targetReport(runs.menu!.output);
    if (!r.booted) console.error(runs.menu!.output.slice(-6000));
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('tendril.test=pxe-menu');
  });

  it("a dead server does not stand in the way of the disk's default", () => {
    const r = targetReport(runs.local!.output);
    if (!r.booted) console.error(runs.local!.output.slice(-6000));
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('tendril.test=local-disk');
  });

  it("the demo's network: DHCP → https iPXE menu → its default item kexec'd, the CA verified", () => {
    const r = targetReport(runs.demo!.output);
    if (!r.booted) console.error(runs.demo!.output.slice(-6000));
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('demo=net-https');
    expect(r.cmdline).toContain(`mac=${MAC.replace(/:/g, '-')}`);
    // Fetched over https from nginx: the script, the kernel, the initramfs.
    for (const f of ['/boot.ipxe', '/vmlinuz', '/initramfs.img'])
      expect(demoAccessLog).toContain(`"GET ${f} HTTP/1.1" 200`);
    // The kernel's URL names the server: the guest asked the lease's DNS server (its resolv.conf).
    expect(demoDnsLog).toMatch(/query\[A\] boot\.test from 192\.0\.2\.1\d\d/);
  });

  it('IPAPPEND 2 hands the booting NIC on as BOOTIF=', () => {
    expect(targetReport(runs.mac!.output).cmdline).toContain(`BOOTIF=01-${MAC.replace(/:/g, '-')}`);
    expect(targetReport(runs.uuid!.output).cmdline.some((t) => t.startsWith('BOOTIF='))).toBe(false);
  });
});
