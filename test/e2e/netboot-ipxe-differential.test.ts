// Differential: one iPXE script, served over QEMU's slirp TFTP, booted once by the real iPXE (the
// ROM of QEMU's virtio-net, from Debian's ipxe-qemu, started by SeaBIOS with `-boot n`) and once
// by tendril's interpreter in its initramfs (`tendril.mode=netboot`). The marker kernel must get
// the same command line (settings expanded the same way: ${next-server}, ${net0/mac:hexhyp},
// ${ip}; `set`, `isset`, `goto`) and the same initrd pieces.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { LOG_DIR, productInitramfs, runQemu, targetInitrds, targetReport, type QemuRun } from '../fixtures/boot';

const MAC = '52:54:00:12:34:57';

const SCRIPT = `#!ipxe
set base tftp://\${next-server}
isset \${net0/mac} || goto nonic
goto kernel
:nonic
echo no NIC
exit
:kernel
set args tendril.test=ipxe-diff mac=\${net0/mac:hexhyp} ip=\${ip} console=ttyS0 quiet
kernel \${base}/vmlinuz \${args}
initrd \${base}/initrd-main.img
initrd \${base}/initrd-second.img
boot
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-ipxe-diff-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let ipxe: QemuRun;
let tendril: QemuRun;

beforeAll(async () => {
  fs.copyFileSync(hostKernel().vmlinuz, path.join(dir, 'vmlinuz'));
  const t = targetInitrds();
  fs.writeFileSync(path.join(dir, 'initrd-main.img'), t.main);
  fs.writeFileSync(path.join(dir, 'initrd-second.img'), t.second);
  fs.writeFileSync(path.join(dir, 'boot.ipxe'), SCRIPT);
  const nic = [
    ...['-netdev', `user,id=n0,restrict=on,ipv4=on,ipv6=off,tftp=${dir},bootfile=boot.ipxe`],
    ...['-device', `virtio-net-pci,netdev=n0,mac=${MAC}`],
  ];
  const common = { disks: [], timeoutMs: 300_000, until: /TARGET-DONE/ };
  // iPXE from the NIC's option ROM: no -kernel, SeaBIOS boots the network.
  ipxe = await runQemu({
    ...common,
    logFile: path.join(LOG_DIR, 'netboot-ipxe-rom.log'),
    extra: ['-boot', 'n', ...nic],
  });
  tendril = await runQemu({
    ...common,
    kernel: hostKernel().vmlinuz,
    initrd: productInitramfs(),
    append: 'console=ttyS0 quiet tendril.mode=netboot',
    logFile: path.join(LOG_DIR, 'netboot-ipxe-tendril.log'),
    extra: nic,
  });
}, 900_000);

describe("one iPXE script: QEMU's iPXE ROM and tendril boot the marker kernel the same way", () => {
  it('both boot it', () => {
    for (const r of [ipxe, tendril]) {
      if (!targetReport(r.output).booted) console.error(r.output.slice(-4000));
      expect(targetReport(r.output).booted).toBe(true);
    }
    // The ROM really ran the script (not tendril): its banner and its TFTP lines.
    expect(ipxe.output).toMatch(/iPXE .*Open Source Network Boot Firmware/);
    expect(ipxe.output).toContain('tftp://10.0.2.2/boot.ipxe');
  });

  it('the same command line, with the settings expanded the same way', () => {
    const a = targetReport(ipxe.output).cmdline;
    const b = targetReport(tendril.output).cmdline;
    expect(b).toEqual(a);
    expect(a).toContain(`mac=${MAC.replace(/:/g, '-')}`);
    expect(a).toContain('ip=10.0.2.15');
  });

  it('the same initrd pieces', () => {
    const a = targetReport(ipxe.output).files;
    expect(a['/second-initrd-marker']).toBe('second-piece-arrived');
    expect(targetReport(tendril.output).files).toEqual(a);
  });
});
