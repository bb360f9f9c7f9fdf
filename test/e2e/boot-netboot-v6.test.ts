// End to end over IPv6 only: QEMU's slirp with `ipv4=off,ipv6=on` sends router advertisements
// (here for the documentation prefix 2001:db8::/64 instead of its default site-local fec0::/64)
// and answers DHCPv6 Information-Requests with its DNS server and, because `bootfile` is set,
// option 59 `tftp://[2001:db8::2]/pxelinux.0` (libslirp's dhcpv6.c); its TFTP
// server answers over IPv6 too. The product initramfs in tendril.mode=netboot must get a SLAAC
// address, fall back from Solicit (slirp has no stateful DHCPv6) to Information-Request, follow
// the boot URL to pxelinux.cfg/ over TFTP on IPv6, and kexec the config's kernel and initrds
// while DHCPv4 finds nobody (the two families run in parallel; docs/net-dhcp.md). QEMU runs in
// a namespace of the test's own with only loopback: slirp can reach nothing outside it.

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { LOG_DIR, productInitramfs, runQemu, targetReport, type QemuRun } from '../fixtures/boot';
import { pxeTftpRoot } from '../fixtures/pxe-root';

const MAC = '52:54:00:12:34:66';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-netboot-v6-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let run: QemuRun;
// libslirp drops every IPv6 UDP datagram under `restrict=on` (DHCPv6 and TFTP included), so the
// isolation comes from a network namespace of our own with nothing but loopback instead.
const NS = `tnb-v6-${process.pid}`;
afterAll(() => void spawnSync('ip', ['netns', 'del', NS]));

beforeAll(async () => {
  const root = pxeTftpRoot(path.join(dir, 'tftp'), {
    [`01-${MAC.replace(/:/g, '-')}`]:
      'DEFAULT v6\nLABEL v6\n  KERNEL vmlinuz\n  INITRD initrd-main.img,initrd-second.img\n  APPEND tendril.test=pxe-v6 quiet\n',
  });
  execFileSync('ip', ['netns', 'add', NS]);
  run = await runQemu({
    prefix: ['ip', 'netns', 'exec', NS],
    kernel: hostKernel().vmlinuz,
    initrd: productInitramfs(),
    // A short per-NIC deadline: DHCPv4 has no server here and must not hold the boot for 60 s.
    append: 'console=ttyS0 quiet tendril.mode=netboot tendril.net.timeout=20',
    disks: [],
    timeoutMs: 400_000,
    until: /TARGET-DONE/,
    logFile: path.join(LOG_DIR, 'netboot-v6.log'),
    extra: [
      ...[
        '-netdev',
        `user,id=n0,ipv4=off,ipv6=on,ipv6-prefix=2001:db8::,ipv6-prefixlen=64,tftp=${root},bootfile=pxelinux.0`,
      ],
      ...['-device', `virtio-net-pci,netdev=n0,mac=${MAC}`],
    ],
  });
}, 900_000);

describe('network boot over IPv6 only (slirp: SLAAC, DHCPv6 Information-Request, TFTP)', () => {
  it("kexecs the 01-<MAC> config's kernel and initrds fetched from tftp://[2001:db8::2]/", () => {
    const r = targetReport(run.output);
    if (!r.booted) console.error(run.output.slice(-6000));
    expect(run.timedOut).toBe(false);
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('tendril.test=pxe-v6');
    expect(r.files['/second-initrd-marker']).toBe('second-piece-arrived');
  });
});
