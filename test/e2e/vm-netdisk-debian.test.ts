// End to end, nested (docs/testing.md §3): a network disk's UEFI entry booted in tendril's VM
// (docs/net-bootfiles.md §9.5). The product initramfs runs `tendril menu` on the serial console of
// a QEMU/TCG machine whose CPU offers SVM (`-cpu max`, the patched kvm-amd.ko as in
// menu-vm-debian.test.ts), with no disk at all: its only way to Debian is QEMU's slirp network,
// whose lease names http://10.0.2.2:PORT/debian/disk.raw.zst, the real Debian 12 disk
// (test/fixtures/debian-disk.ts) served by the host (test/fixtures/netdisk-http.ts). The menu
// downloads it into a memfd, decompresses it with zstd, scans it and lists its entries; a person
// stops the countdown to the image's grub default, waits for the ESP's automatic entry
// "Net: UEFI: Debian on netdisk:…" to be marked [VM], finds it with `/` and boots it: OVMF →
// shim → GRUB → Debian's kernel → systemd run in tendril's VM with the memfd as the VM's disk
// (read-only, the in-memory overlay on top), to the marker the image's unit prints, then the
// guest powers off and the menu comes back. The terminal is 132 columns wide (COLUMNS= on the
// kernel command line reaches the menu through /init's environment): the long network title and
// its [VM] mark fit on one row.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { LOG_DIR, productInitramfs } from '../fixtures/boot';
import { DEBIAN_MARKER } from '../fixtures/debian-disk';
import { debianDiskZst, serveFiles, type CompressedDebian, type FileServer } from '../fixtures/netdisk-http';
import { type InteractiveRun, KEY, runQemuInteractive } from '../fixtures/qemu-interactive';
import { patchedKvmAmd } from '../fixtures/vm';

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const URL_PATH = '/debian/disk.raw.zst';
const SEARCH = 'UEFI: Debian';
const PAGE_DOWN = '\x1b[6~';
const ROW = /Net: UEFI: Debian on netdisk:10\.0\.2\.2\/disk\.raw\.zst from disk\.raw\.zst \(10\.0\.2\.2\)[^\n]*\[VM\]/;

let image: CompressedDebian;
let server: FileServer;
let run: InteractiveRun;
/** Host clock (ms since the QEMU start) when each pattern first showed in the console text. */
const seen: Record<string, number> = {};
const COUNTDOWN = /Booting '[^']*Debian[^']*' in \d+ s/;
const MILESTONES: Record<string, RegExp> = {
  uefiRow: /Net: UEFI: Debian on netdisk/,
  ovmf: /BdsDxe: starting Boot0000/,
  marker: new RegExp(DEBIAN_MARKER),
};

afterAll(async () => server?.close());

beforeAll(async () => {
  if (!haveQemu) return;
  image = debianDiskZst();
  server = await serveFiles({ [URL_PATH]: image.zst });
  const initramfs = productInitramfs('zstd', 'squashfs', undefined, undefined, [patchedKvmAmd()]);
  // One retry, only for a machine that went silent (docs/testing.md §3), as menu-vm-debian does.
  for (let attempt = 1; ; attempt++) {
    server.requests.length = 0;
    for (const k of Object.keys(seen)) delete seen[k];
    const t0 = Date.now();
    let text = '';
    // Steps match the screen model (the menu redraws cells, not lines): they stamp their own time.
    const mark = (k: string) => () => {
      seen[k] ??= Date.now() - t0;
      return Promise.resolve();
    };
    run = await runQemuInteractive({
      kernel: hostKernel().vmlinuz,
      initrd: initramfs,
      append:
        'console=ttyS0 quiet tendril.mode=menu tendril.timeout=300 tendril.net.family=4 ' +
        'tendril.vm.cpus=1 tendril.vm.memory=1G COLUMNS=132 LINES=30',
      cpu: 'max',
      // 1 GiB for the VM, the image's data (~370 MiB of the 622 MiB; its zeros are holes) and
      // the 93 MiB download while it is decompressed.
      memMiB: 3584,
      disks: [],
      screen: { cols: 132, rows: 30 },
      timeoutMs: 1_080_000,
      stallMs: 240_000,
      logFile: path.join(LOG_DIR, `vm-netdisk-debian-${attempt}.log`),
      extra: [
        ...['-netdev', `user,id=n0,restrict=off,ipv4=on,ipv6=off,bootfile=http://10.0.2.2:${server.port}${URL_PATH}`],
        ...['-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:12:34:62'],
      ],
      onOutput: (s) => {
        text += s;
        for (const [k, re] of Object.entries(MILESTONES))
          if (seen[k] === undefined && re.test(text)) seen[k] = Date.now() - t0;
      },
      steps: [
        // Any key stops the countdown to the network's default (the image's grub entry, by kexec).
        { when: COUNTDOWN, send: [KEY.down], before: mark('countdown') },
        // kvm and kvm_amd load at low priority after the menu is up; the row then says [VM].
        { when: ROW, send: ['/', ...SEARCH.split(''), KEY.enter, KEY.enter], gapMs: 250, before: mark('vmRow') },
        // Debian powered off in the VM and the menu is back: open the log at its end.
        {
          when: new RegExp(`${DEBIAN_MARKER}[\\s\\S]*Net: UEFI: Debian on netdisk`),
          send: ['l', PAGE_DOWN, PAGE_DOWN, PAGE_DOWN],
        },
        { when: /VM exit status \d+/, send: KEY.escape },
        { when: /Enter boot {2}e edit {2}i info/, send: 'P' },
        { when: /Really power off\? \(y\/n\)/, send: 'y' },
      ],
    });
    const get = server.requests.find((r) => r.method === 'GET' && r.url === URL_PATH);
    const at = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
    console.log(
      `vm-netdisk-debian attempt ${attempt}: since QEMU started: ${Object.entries(seen)
        .map(([k, v]) => `${k} ${at(v)}`)
        .join(', ')}; ` + (get ? `GET ${at(get.start - t0)} to ${at(get.end - t0)} (${get.bytes} bytes)` : 'no GET'),
    );
    if (!run.stalled || attempt === 2) break;
    console.error(
      `vm-netdisk-debian: attempt ${attempt} stalled after ${run.stepsDone} steps; retrying. Screen:\n${run.screen}`,
    );
  }
}, 2_400_000);

describe.skipIf(!haveQemu)("a network disk's UEFI entry boots in the VM (nested KVM, slirp, HTTP)", () => {
  it('the image came over HTTP once, and its UEFI entry is listed and marked [VM]', () => {
    if (run.screens.length < 6) console.error(`${run.text.slice(-6000)}\n--- screen ---\n${run.screen}`);
    const gets = server.requests.filter((r) => r.method === 'GET' && r.url === URL_PATH);
    expect(gets.map((r) => [r.status, r.bytes])).toEqual([[200, image.zstBytes]]);
    expect(run.screens[1] ?? '', run.screen).toMatch(ROW);
  });

  it('Enter boots it: OVMF → shim → GRUB → Debian to its marker, the root on the VM disk that is the memfd', () => {
    expect(run.screens.length, `last screen:\n${run.screen}`).toBe(6);
    expect(run.text).toContain('BdsDxe: starting Boot0000');
    expect(run.text).toMatch(/shimx64\.efi/);
    expect(run.text).toContain('Welcome to GRUB!');
    expect(run.text).toMatch(new RegExp(`Linux version ${image.disk.kernelRelease.replace(/\./g, '\\.')} `));
    expect(run.text).toContain(DEBIAN_MARKER);
    expect(run.text).toContain('TENDRIL-DEBIAN-CPUS=1');
    expect(run.text).toMatch(/TENDRIL-DEBIAN-ROOT=\/dev\/vda2/);
    // The VM's disk holds the image's bytes: the first MiB as Debian read it from /dev/vda.
    const first = Buffer.alloc(1 << 20);
    const fd = fs.openSync(image.disk.image, 'r');
    fs.readSync(fd, first, 0, first.length, 0);
    fs.closeSync(fd);
    expect(/^TENDRIL-DEBIAN-DISK-1M-SHA256=([0-9a-f]{64})$/m.exec(run.text.replace(/\r/g, ''))?.[1]).toBe(
      createHash('sha256').update(first).digest('hex'),
    );
  });

  it('the guest powered off, the menu came back and its log says the VM ended with status 0', () => {
    expect(run.text).toContain('tendril vm: guest powered off (ACPI S5');
    const log = (run.screens[3] ?? '').replace(/\|\n\|/g, '');
    expect(log).toMatch(/netdisk:10\.0\.2\.2\/disk\.raw\.zst:auto-uefi-debian: VM exit status 0/);
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
  });
});
