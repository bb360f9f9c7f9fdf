// VLANs and bonds end to end (docs/net-dhcp.md §13). The host kernel has no 8021q or bonding, so
// the server is a second QEMU guest: Debian's kernel with its 8021q/bonding modules, busybox,
// the host's dnsmasq and busybox httpd, serving a kernel, the target initrd and a 64 MiB initrd
// of incompressible bytes. The two guests are wired with `-netdev socket` only (no host network).
// - VLAN: the server answers only on eth0.10; tendril, given `vlan=eth0.10:eth0`, gets its lease
//   on eth0.10 and the kexec'd target shows the handed-on vlan= word.
// - Bond: two wires; the server bonds them in broadcast mode, tendril in active-backup from
//   `bond=...`. Mid-download of the big initrd the test takes tendril's active member down with
//   the QEMU monitor's `set_link ... off`; the target's sha256 of the payload still matches.

import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpioArchive } from '../../initramfs/cpio';
import { hostKernel } from '../../initramfs/host';
import { LOG_DIR, productInitramfs, runQemu, targetInitrds, targetReport, type QemuRun } from '../fixtures/boot';
import { hmp } from '../fixtures/qemu-monitor';
import {
  SERVER_INIT_HEAD,
  freePort,
  serverDnsmasq,
  serverFile,
  serverInitramfs,
  startServerGuest,
} from '../fixtures/server-guest';

const SERVER = '10.0.10.1';
const BIG_BYTES = 64 << 20;
const BOND = 'bond0:eth0,eth1:mode=active-backup,miimon=100';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-vlan-bond-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The same incompressible bytes every run. */
const bigPayload = createCipheriv('aes-128-ctr', Buffer.alloc(16, 9), Buffer.alloc(16)).update(Buffer.alloc(BIG_BYTES));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const BOOT_SCRIPT = `#!ipxe
kernel http://${SERVER}/vmlinuz tendril.test=vlan-bond
initrd http://${SERVER}/initrd-main.img
initrd http://${SERVER}/initrd-big.img
boot
`;

/** The server's /init: modules, the VLAN or bond, dnsmasq and httpd on it, then SERVER-READY. */
const SERVER_INIT = `${SERVER_INIT_HEAD}case "$(cat /mode)" in
vlan)
  ip link set eth0 up
  ip link add link eth0 name eth0.10 type vlan id 10 || echo "SERVER-FAILED vlan"
  IF=eth0.10 ;;
bond)
  b=/sys/class/net/bond0/bonding
  [ -d $b ] || echo +bond0 >/sys/class/net/bonding_masters
  echo broadcast >$b/mode || echo "SERVER-FAILED mode"
  echo 100 >$b/miimon
  for s in eth0 eth1; do ip link set $s down; echo +$s >$b/slaves || echo "SERVER-FAILED enslave $s"; done
  IF=bond0 ;;
esac
ip addr add ${SERVER}/24 dev $IF
ip link set $IF up
${serverDnsmasq('10.0.10.50,10.0.10.99,255.255.255.0,1h', `--dhcp-boot=http://${SERVER}/boot.ipxe`)}
httpd -p 80 -h /www
echo SERVER-READY
# Bytes each wire brought in: the client's active-backup bond sends on its active member only.
while true; do
  [ -e /sys/class/net/eth1 ] && echo "SERVER-RX $(cat /sys/class/net/eth0/statistics/rx_bytes) $(cat /sys/class/net/eth1/statistics/rx_bytes)"
  sleep 1
done
`;

/** The server's initramfs for `mode` (uncompressed: most of it is the big initrd). */
function vlanBondServer(mode: 'vlan' | 'bond'): string {
  const t = targetInitrds();
  return serverInitramfs(
    path.join(dir, `server-${mode}.cpio`),
    SERVER_INIT,
    ['8021q', 'bonding'],
    [
      serverFile('mode', Buffer.from(mode)),
      serverFile('www/boot.ipxe', Buffer.from(BOOT_SCRIPT)),
      serverFile('www/vmlinuz', fs.readFileSync(hostKernel().vmlinuz)),
      serverFile('www/initrd-main.img', t.main),
      serverFile('www/initrd-big.img', cpioArchive([{ kind: 'file', path: 'payload-big.bin', data: bigPayload }])),
    ],
  );
}

interface BondRun extends QemuRun {
  /** The big initrd's progress (percent) when its active member went down; undefined: never. */
  readonly cutAt?: number;
  /** What the monitor said to set_link (nothing on success), or why it failed. */
  readonly setLink: string;
  readonly server: string;
  /** The server's last bytes received per wire [eth0, eth1] before the cut, and at the end. */
  readonly rxAtCut?: readonly [number, number];
  readonly rxEnd?: readonly [number, number];
}

function lastRx(serverLog: string): [number, number] | undefined {
  const m = [...serverLog.matchAll(/SERVER-RX (\d+) (\d+)/g)].at(-1);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

async function clientRun(mode: 'vlan' | 'bond'): Promise<BondRun> {
  const ports = await Promise.all((mode === 'bond' ? [0, 1] : [0]).map(() => freePort()));
  const server = await startServerGuest(`vlan-bond-${mode}`, vlanBondServer(mode), ports);
  const monitor = path.join(dir, `hmp-${mode}.sock`);
  let cutAt: number | undefined;
  let rxAtCut: [number, number] | undefined;
  let setLink = '';
  let cutting = false;
  let seen = '';
  try {
    const run = await runQemu({
      kernel: hostKernel().vmlinuz,
      initrd: productInitramfs(),
      append: `console=ttyS0 quiet tendril.mode=netboot ${mode === 'vlan' ? 'vlan=eth0.10:eth0' : `bond=${BOND}`}`,
      disks: [],
      timeoutMs: 600_000,
      until: /TARGET-DONE/,
      logFile: path.join(LOG_DIR, `vlan-bond-${mode}.log`),
      extra: [
        ...['-monitor', `unix:${monitor},server,nowait`],
        ...ports.flatMap((port, i) => [
          ...['-netdev', `socket,id=n${i},connect=127.0.0.1:${port}`],
          ...['-device', `virtio-net-pci,id=nic${i},netdev=n${i},mac=52:54:00:12:34:5${i + 6}`],
        ]),
      ],
      onOutput: (chunk) => {
        if (mode !== 'bond' || cutting) return;
        seen += chunk;
        const pct = [...seen.matchAll(/initrd-big\.img \[[#-]+\]\s+(\d+)%/g)].map((m) => Number(m[1]));
        const last = pct.at(-1);
        if (last === undefined || last < 15) return;
        // The first member is the active one (active-backup picks the first enslaved).
        cutting = true;
        cutAt = last;
        rxAtCut = lastRx(server.log());
        void hmp(monitor, 'set_link nic0 off').then(
          (r) => (setLink = `answered '${r.trim()}'`),
          (e: unknown) => (setLink = `failed: ${String(e)}`),
        );
      },
    });
    const rxEnd = lastRx(server.log());
    return {
      ...run,
      ...(cutAt !== undefined ? { cutAt } : {}),
      setLink,
      server: server.log(),
      ...(rxAtCut ? { rxAtCut } : {}),
      ...(rxEnd ? { rxEnd } : {}),
    };
  } finally {
    server.p.kill('SIGKILL');
  }
}

const runs: Partial<Record<'vlan' | 'bond', BondRun>> = {};

beforeAll(async () => {
  // Sequential: each run is already two TCG guests on two cores.
  runs.vlan = await clientRun('vlan');
  runs.bond = await clientRun('bond');
}, 1_500_000);

describe('VLAN and bond from the dracut syntax, against a server guest over -netdev socket', () => {
  it('vlan=eth0.10:eth0: the lease comes over VLAN 10 and the target gets the vlan= word', () => {
    const r = runs.vlan!;
    expect(r.server).not.toMatch(/SERVER-FAILED/);
    expect(r.server).toMatch(/DHCPACK\(eth0\.10\) 10\.0\.10\.\d+ 52:54:00:12:34:56/);
    const t = targetReport(r.output);
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('tendril.test=vlan-bond');
    expect(t.cmdline).toContain('vlan=eth0.10:eth0');
    expect(t.sha256['/payload-big.bin']).toBe(sha(bigPayload));
    // tendril's lease line names the VLAN interface, not eth0.
    expect(r.output).toMatch(/eth0\.10: 10\.0\.10\.\d+\/24/);
  });

  it('bond=: the active member goes down mid-download and the 64 MiB initrd still arrives whole', () => {
    const r = runs.bond!;
    expect(r.server).not.toMatch(/SERVER-FAILED/);
    expect(r.output).toMatch(/bond0: 10\.0\.10\.\d+\/24/);
    expect(r.setLink).toBe("answered ''");
    expect(r.cutAt).toBeGreaterThanOrEqual(15);
    expect(r.cutAt).toBeLessThan(100);
    // Before the cut the backup wire was silent; after it, the rest of the download's ACKs came
    // over it (GRO makes them few: 14 KB for the last 50 MiB on the run this was written on).
    expect(r.rxAtCut![1]).toBeLessThan(1024);
    expect(r.rxEnd![1] - r.rxAtCut![1]).toBeGreaterThan(4096);
    const t = targetReport(r.output);
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain(`bond=${BOND}`);
    expect(t.sha256['/payload-big.bin']).toBe(sha(bigPayload));
  });
});
