// End to end over QEMU's slirp network: the real Debian 12 disk (test/fixtures/debian-disk.ts:
// GPT, ESP with shim and signed GRUB, ext4 root with Debian's kernel and update-grub's grub.cfg)
// as a network disk (docs/net-bootfiles.md §9). The lease's boot file is
// http://10.0.2.2:PORT/debian/disk.raw.zst, served by the host (test/fixtures/netdisk-http.ts).
// The product initramfs with tendril.mode=netboot downloads it into a memfd, decompresses it with
// its zstd (zero blocks stay holes, so the ext4's free space costs no memory), scans it with
// discovery's readers and kexecs the network's default: the image's grub.cfg default, kernel and
// initrd read from the image's ext4.
//
// What is true after the kexec: Debian's kernel runs with the grub.cfg's command line
// (root=UUID=<the image's root>, console=ttyS0,115200) and Debian's initramfs (initramfs-tools)
// starts and looks for that root. It cannot find it: the image lived in tendril's memory, which
// the kexec gave back, and the machine has no disk. So the run ends when the initramfs says it is
// waiting for the root file system; nothing here claims Debian's userland ran (the nested test of
// the UEFI entry, vm-netdisk-debian.test.ts, boots it to its marker).

import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { LOG_DIR, productInitramfs, runQemu, type QemuRun } from '../fixtures/boot';
import { ROOT_UUID } from '../fixtures/debian-disk';
import { debianDiskZst, serveFiles, type CompressedDebian, type FileServer } from '../fixtures/netdisk-http';

const URL_PATH = '/debian/disk.raw.zst';

let image: CompressedDebian;
let server: FileServer;
let run: QemuRun;
/** Host clock (ms since the QEMU start) when each console pattern first showed; the lease is
 *  the server's GET (the guest asks for the boot file as soon as it has its address). */
const seen: Record<string, number> = {};
const MILESTONES: Record<string, RegExp> = {
  entries: /\n {2}netdisk:10\.0\.2\.2\/disk\.raw\.zst:/,
  loading: /tendril: loading '/,
  loaded: /tendril: loaded kernel/,
  debianKernel: /Linux version 6\.\d+\.\d+-\d+-amd64/,
  waitingForRoot: /Begin: Waiting for root file system/,
};

afterAll(async () => server?.close());

beforeAll(async () => {
  image = debianDiskZst();
  server = await serveFiles({ [URL_PATH]: image.zst });
  const t0 = Date.now();
  let out = '';
  run = await runQemu({
    kernel: hostKernel().vmlinuz,
    initrd: productInitramfs(),
    // No DHCPv6 on slirp here (ipv6=off): net.family=4 keeps the lease stage from waiting for one.
    append: 'console=ttyS0 quiet tendril.mode=netboot tendril.net.family=4',
    disks: [],
    timeoutMs: 900_000,
    until: MILESTONES.waitingForRoot!,
    logFile: path.join(LOG_DIR, 'netboot-netdisk-debian.log'),
    onOutput: (s) => {
      out += s;
      for (const [k, re] of Object.entries(MILESTONES))
        if (seen[k] === undefined && re.test(out)) seen[k] = Date.now() - t0;
    },
    extra: [
      // restrict=off: the guest reaches the host's loopback (the server) as 10.0.2.2.
      ...['-netdev', `user,id=n0,restrict=off,ipv4=on,ipv6=off,bootfile=http://10.0.2.2:${server.port}${URL_PATH}`],
      ...['-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:12:34:61'],
    ],
  });
  const get = server.requests.find((r) => r.method === 'GET' && r.url === URL_PATH);
  const at = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  console.log(
    `netdisk-debian: image ${image.disk.sizeBytes} bytes, served as ${image.zstBytes} bytes of zstd; ` +
      `since QEMU started: ${Object.entries(seen)
        .map(([k, v]) => `${k} ${at(v)}`)
        .join(', ')}; ` +
      (get ? `GET ${at(get.start - t0)} to ${at(get.end - t0)} (${get.bytes} bytes)` : 'no GET'),
  );
}, 1_000_000);

describe('network boot of the real Debian disk over HTTP (slirp, zstd)', () => {
  it("its grub.cfg default is kexec'd: Debian's kernel with the grub.cfg's root=UUID, and Debian's initramfs runs", () => {
    const text = run.output.replace(/\r/g, '');
    const tail = text.slice(-6000);
    expect(run.timedOut, tail).toBe(false);
    // The whole image went over HTTP once (tendril also asks for a SHA256SUMS beside it, which
    // this server does not have: docs/net-transfer.md §9).
    const gets = server.requests.filter((r) => r.method === 'GET' && r.url === URL_PATH);
    expect(gets.map((r) => [r.status, r.bytes])).toEqual([[200, image.zstBytes]]);
    // tendril listed the image's entries (the grub.cfg's and the ESP's) with the grub default as
    // the network's, and loaded Debian's kernel from the image's ext4 (partition 2).
    const release = image.disk.kernelRelease.replace(/\./g, '\\.');
    expect(text, tail).toMatch(
      / {2}netdisk:10\.0\.2\.2\/disk\.raw\.zst:grub:\S+ +Net: Debian GNU\/Linux from disk\.raw\.zst \(10\.0\.2\.2\) +\(default\)/,
    );
    expect(text, tail).toMatch(
      / {2}netdisk:10\.0\.2\.2\/disk\.raw\.zst:auto-uefi-debian +Net: UEFI: Debian on netdisk:/,
    );
    expect(text, tail).toMatch(
      new RegExp(
        `tendril: loading 'Net: Debian GNU/Linux from disk\\.raw\\.zst \\(10\\.0\\.2\\.2\\)' \\(netdisk:10\\.0\\.2\\.2/disk\\.raw\\.zst:2:/boot/vmlinuz-${release}\\)`,
      ),
    );
    // Debian's kernel (the host's, which QEMU loaded for tendril, is another release and quiet)
    // with the grub.cfg's command line.
    const at = text.search(new RegExp(`Linux version ${release} `));
    expect(at, tail).toBeGreaterThan(0);
    const debian = text.slice(at);
    const cmdline = /\] Command line: (.*)/.exec(debian)?.[1] ?? '';
    expect(cmdline.split(' ')).toEqual([`root=UUID=${ROOT_UUID}`, 'ro', 'console=ttyS0,115200']);
    // Debian's initramfs (initramfs-tools) ran: it unpacked, started and went looking for that root.
    expect(text, tail).toMatch(/Loading, please wait\.\.\./);
    expect(text, tail).toContain('Begin: Waiting for root file system');
  });
});
