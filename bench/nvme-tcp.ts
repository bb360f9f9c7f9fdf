// NVMe/TCP scan time against a local disk of the same contents (docs/net-nvme.md §5). Two QEMU
// guests under TCG, wired with `-netdev socket` only (test/fixtures/server-guest.ts):
//   - the target: Debian's kernel with nvmet/nvmet-tcp exporting a GPT disk made by the real tools
//     (the BLS disk of the end-to-end tests) through a loop device, and dnsmasq;
//   - the client: the product initramfs with tendril.mode=shell, the same disk image as a local
//     virtio disk (read-only), and `tendril.nvme=` on its command line.
// The client's /etc/profile (an appended cpio) runs `tendril netboot --dry-run --json` once: the
// lease, the connect, and the namespace's first scan, whose in-process time tendril reports
// ("scanned in N ms"). The controller stays connected after that process, so then, N runs
// interleaved with the page cache dropped before each, it times `tendril list --disk DEV --json`
// on the namespace, on the local disk, and on /dev/null (the fixed cost: node, the bundle, the
// settings), by /proc/uptime. Prints the medians and the ratio NVMe/TCP ÷ local, whole and with
// the fixed cost taken out.
//   node scripts/run-ts.mjs bench/nvme-tcp.ts [runs]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpioArchive } from '../initramfs/cpio';
import { hostKernel } from '../initramfs/host';
import { blsDisk, blsEntry, LOG_DIR, productInitramfs, runQemu } from '../test/fixtures/boot';
import {
  NVMET_MODULES,
  freePort,
  nvmetServerInit,
  serverFile,
  serverInitramfs,
  startServerGuest,
} from '../test/fixtures/server-guest';

const RUNS = Number(process.argv[2] ?? 3);
const SERVER = '10.0.10.1';
const NQN = 'nqn.2026-12.org.tendril:bench';

const SERVER_INIT = nvmetServerInit({ address: SERVER, nqn: NQN, range: '10.0.10.50,10.0.10.99,255.255.255.0,1h' });

function guestScript(): string {
  const m = 'node /tendril.js';
  return `# bench/nvme-tcp.ts: runs once, then powers the guest off.
[ -e /run/bench-started ] && return 0
: >/run/bench-started
n=0
while [ ! -e /run/tendril-net-modules ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
t() {
  l=$1; shift
  sync; echo 3 >/proc/sys/vm/drop_caches
  read a _ </proc/uptime
  "$@" >/tmp/bench.out 2>&1
  rc=$?
  read b _ </proc/uptime
  echo "BENCH $l $a $b $rc"
  [ $rc -eq 0 ] || tail -5 /tmp/bench.out
}
echo "BENCH-START cores=$(grep -c ^processor /proc/cpuinfo)"
${m} netboot --dry-run --json --iface eth0 --timeout 60 >/tmp/netboot.json 2>/tmp/netboot.err
grep -o 'NVMe/TCP [^"]*scanned in [0-9]* ms' /tmp/netboot.json | sed 's/^/BENCH-FIRST /'
# The namespace's block device (a multipath head when native multipath is on).
dev=$(ls /sys/block | grep -m1 -E '^nvme[0-9]+n[0-9]+$')
[ -n "$dev" ] || { echo "BENCH-FAILED no namespace"; tail -20 /tmp/netboot.err; }
for i in $(seq 1 ${RUNS}); do
  t none ${m} list --disk /dev/null --json
  t local ${m} list --disk /dev/vda --json
  grep -q bench.conf /tmp/bench.out || echo "BENCH-FAILED local: no entry"
  t nvme ${m} list --disk /dev/$dev --json
  grep -q bench.conf /tmp/bench.out || echo "BENCH-FAILED nvme: no entry"
done
echo BENCH-DONE
sleep 1
poweroff -f
`;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-bench-nvme-'));
  try {
    const disk = blsDisk('default bench.conf\n', {
      'bench.conf': blsEntry({
        title: 'Bench',
        linux: '/vmlinuz',
        initrds: ['/initrd-main.img', '/initrd-second.img'],
        options: 'tendril.test=bench',
      }),
    });
    const initrd = serverInitramfs(path.join(dir, 'server.cpio'), SERVER_INIT, NVMET_MODULES, [
      serverFile('disk.img', fs.readFileSync(disk)),
    ]);
    const client = path.join(dir, 'client.img');
    fs.copyFileSync(productInitramfs(), client);
    fs.appendFileSync(
      client,
      cpioArchive([
        { kind: 'dir', path: 'etc' },
        { kind: 'file', path: 'etc/profile', data: Buffer.from(guestScript()), mode: 0o644 },
      ]),
    );
    const port = await freePort();
    const server = await startServerGuest('bench-nvme-tcp', initrd, [port], 768);
    const logFile = path.join(LOG_DIR, 'bench-nvme-tcp.log');
    console.log(`disk ${fs.statSync(disk).size >> 20} MiB; ${RUNS} runs each; the guests run under TCG`);
    try {
      const run = await runQemu({
        kernel: hostKernel().vmlinuz,
        initrd: client,
        append: `console=ttyS0 quiet tendril.mode=shell tendril.nvme=tcp://${SERVER}/${NQN}`,
        disks: [],
        timeoutMs: 1_800_000,
        until: /BENCH-DONE/,
        logFile,
        onOutput: (chunk) => {
          for (const l of chunk.split('\n')) if (/^BENCH/.test(l)) process.stderr.write(`  guest: ${l.trim()}\n`);
        },
        extra: [
          ...['-drive', `file=${disk},format=raw,if=virtio,readonly=on`],
          ...['-netdev', `socket,id=n0,connect=127.0.0.1:${port}`],
          ...['-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56'],
        ],
      });
      if (!/BENCH-DONE/.test(run.output)) throw new Error(`the guest did not finish; see ${logFile}`);
      const times = new Map<string, number[]>();
      const failed = /BENCH-FAILED.*/.exec(run.output);
      if (failed) throw new Error(`guest: ${failed[0].trim()}; see ${logFile}`);
      for (const m of run.output.matchAll(/^BENCH (none|local|nvme) ([\d.]+) ([\d.]+) (\d+)\r?$/gm)) {
        if (m[4] !== '0') throw new Error(`guest: ${m[1]} failed (${m[4]}); see ${logFile}`);
        times.set(m[1]!, [...(times.get(m[1]!) ?? []), (Number(m[3]) - Number(m[2])) * 1000]);
      }
      const first = /BENCH-FIRST (.*)/.exec(run.output)?.[1]?.trim();
      const none = median(times.get('none') ?? [NaN]);
      const local = median(times.get('local') ?? [NaN]);
      const nvme = median(times.get('nvme') ?? [NaN]);
      console.log(`first scan, in process (netboot --dry-run): ${first ?? 'not reported'}`);
      console.log(`tendril list --disk, page cache dropped, median of ${RUNS}:`);
      console.log(`  no disk (/dev/null: node, the bundle, the settings)  ${none.toFixed(0)} ms`);
      console.log(`  local virtio disk   ${local.toFixed(0)} ms (scan ${(local - none).toFixed(0)} ms)`);
      console.log(`  NVMe/TCP namespace  ${nvme.toFixed(0)} ms (scan ${(nvme - none).toFixed(0)} ms)`);
      console.log(
        `  ratio NVMe/TCP / local: ${(nvme / local).toFixed(2)} whole, ${((nvme - none) / (local - none)).toFixed(2)} scan`,
      );
    } finally {
      server.p.kill('SIGKILL');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
