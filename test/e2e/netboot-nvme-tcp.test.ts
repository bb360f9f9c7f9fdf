// NVMe over TCP end to end (docs/net-nvme.md). The host kernel has no nvmet, so the target is a
// second QEMU guest (test/fixtures/server-guest.ts): Debian's kernel with nvmet and nvmet-tcp
// exporting a GPT disk made by the real tools (a BLS ESP with the host's kernel and the marker
// initrds) through a loop device, and dnsmasq for the lease; wired to the tendril guest with
// `-netdev socket` only. tendril (the product initramfs, tendril.mode=netboot) is given two
// targets on its command line: one whose NQN the target does not export, then the real one.
// - The first fails with a message naming it, and the second still connects: its namespace is
//   scanned by tendril's readers and the disk's loader.conf default is kexec'd. The marker target
//   shows its command line, with the rd.nvmf.* words dracut needs to reach the same namespace and
//   the host NQN derived from the SMBIOS UUID QEMU was given.
// - A second tendril guest, given nothing on its command line, gets an iPXE script as its lease's
//   boot file that says `sanboot nvme+tcp://${next-server}/NQN`: the same namespace boots.
// - The loop device under the namespace completed reads and not a single write.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { blsDisk, blsEntry, LOG_DIR, productInitramfs, runQemu, targetReport, type QemuRun } from '../fixtures/boot';
import {
  NVMET_MODULES,
  freePort,
  nvmetServerInit,
  serverFile,
  serverInitramfs,
  startServerGuest,
} from '../fixtures/server-guest';

const SERVER = '10.0.10.1';
const NQN = 'nqn.2026-12.org.tendril:bls-disk';
const MISSING_NQN = 'nqn.2026-12.org.tendril:not-exported';
const UUID = '5e1f0c2a-7d4b-4c11-9a3e-0123456789ab';
const HOSTNQN = `nqn.2014-08.org.nvmexpress:uuid:${UUID}`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-nvme-tcp-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The target's /init: the lease (a boot file for the second client only), httpd, nvmet. */
const SERVER_INIT = nvmetServerInit({
  address: SERVER,
  nqn: NQN,
  range: '10.0.10.50,10.0.10.99,255.255.255.0,1h',
  dnsmasqExtra: `--dhcp-host=52:54:00:12:34:57,set:ipxe --dhcp-boot=tag:ipxe,http://${SERVER}/boot.ipxe`,
  tail: 'httpd -p 80 -h /www',
});

const BOOT_SCRIPT = `#!ipxe
sanboot nvme+tcp://\${next-server}/${NQN}
`;

let run: QemuRun | undefined;
let sanboot: QemuRun | undefined;
let serverLog = '';

beforeAll(async () => {
  const disk = blsDisk('default nvme-target.conf\ntimeout 1\n', {
    'nvme-decoy.conf': blsEntry({
      title: 'NVMe decoy',
      version: '1.0',
      linux: '/vmlinuz',
      initrds: ['/initrd-main.img'],
      options: 'tendril.test=nvme-decoy',
    }),
    'nvme-target.conf': blsEntry({
      title: 'NVMe target',
      version: '2.0',
      linux: '/vmlinuz',
      initrds: ['/initrd-main.img', '/initrd-second.img'],
      options: 'tendril.test=nvme-target',
    }),
  });
  const initrd = serverInitramfs(path.join(dir, 'server.cpio'), SERVER_INIT, NVMET_MODULES, [
    serverFile('disk.img', fs.readFileSync(disk)),
    serverFile('www/boot.ipxe', Buffer.from(BOOT_SCRIPT)),
  ]);
  const port = await freePort();
  const server = await startServerGuest('nvme-tcp', initrd, [port], 768);
  try {
    const client = (name: string, mac: string, append: string) =>
      runQemu({
        kernel: hostKernel().vmlinuz,
        initrd: productInitramfs(),
        append: `console=ttyS0 quiet tendril.mode=netboot ${append}`,
        disks: [],
        timeoutMs: 600_000,
        until: /TARGET-DONE/,
        logFile: path.join(LOG_DIR, `${name}.log`),
        extra: [
          ...['-uuid', UUID],
          ...['-netdev', `socket,id=n0,connect=127.0.0.1:${port}`],
          ...['-device', `virtio-net-pci,netdev=n0,mac=${mac}`],
        ],
      });
    // One after the other: the server guest listens for one connection at a time.
    run = await client(
      'netboot-nvme-tcp',
      '52:54:00:12:34:56',
      `tendril.nvme=tcp://${SERVER}/${MISSING_NQN} tendril.nvme=tcp://${SERVER}:4420/${NQN}`,
    );
    sanboot = await client('netboot-nvme-tcp-sanboot', '52:54:00:12:34:57', '');
    // One more second of counters after the kexec'd target ran.
    await new Promise((r) => setTimeout(r, 1500));
    serverLog = server.log();
  } finally {
    server.p.kill('SIGKILL');
  }
}, 900_000);

describe('NVMe over TCP against an nvmet target guest', () => {
  it('the target exported the namespace', () => {
    expect(serverLog).toContain('SERVER-READY');
    expect(serverLog).not.toMatch(/SERVER-FAILED/);
  });

  it("boots the namespace's loader.conf default by kexec, with the rd.nvmf words for the OS", () => {
    const r = run!;
    const t = targetReport(r.output);
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('tendril.test=nvme-target');
    expect(t.cmdline).not.toContain('nvme-decoy');
    expect(t.cmdline).toContain(`rd.nvmf.discover=tcp,${SERVER},,4420`);
    expect(t.cmdline).toContain(`rd.nvmf.hostnqn=${HOSTNQN}`);
    expect(t.cmdline).toContain(`rd.nvmf.hostid=${UUID}`);
  });

  it('a target that does not export the NQN is an error naming it; the other still boots', () => {
    const r = run!;
    expect(r.output).toMatch(
      new RegExp(`tcp://${SERVER.replace(/\./g, '\\.')}/${MISSING_NQN}.*write\\(/dev/nvme-fabrics\\): E[A-Z]+`),
    );
    expect(r.output).toMatch(/nvme-tcp:10\.0\.10\.1\/nqn\.2026-12\.org\.tendril:bls-disk\/n1/);
  });

  it('an iPXE script that says sanboot nvme+tcp://${next-server}/NQN boots the same namespace', () => {
    const t = targetReport(sanboot!.output);
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('tendril.test=nvme-target');
    expect(t.cmdline).toContain(`rd.nvmf.discover=tcp,${SERVER},,4420`);
  });

  it('the namespace was read and never written', () => {
    const io = [...serverLog.matchAll(/SERVER-IO reads=(\d+) writes=(\d+)/g)].at(-1);
    expect(io).toBeDefined();
    expect(Number(io![1])).toBeGreaterThan(0);
    expect(Number(io![2])).toBe(0);
  });
});
