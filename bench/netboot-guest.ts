// Network boot against busybox in the same guest: QEMU (TCG) boots the product initramfs (this
// checkout's dist/tendril.js, node, and the initramfs' own busybox) on a tap device in a private
// namespace, beside dnsmasq (DHCP, TFTP) and nginx (HTTP, HTTPS). The guest runs, N runs
// interleaved:
//   - DHCP: `tendril netboot --leases-only` vs `udhcpc -q -n` (process start → lease), and
//     `tendril netboot --json` (start → lease → the boot file's menu entries, over TFTP);
//   - TFTP, HTTP: `tendril fetch URL` (into its memfd, hashed) vs `tftp -g` / `wget -O` into
//     /tmp (tmpfs), an empty file and a 64 MiB one (TFTP: 8 MiB), and tendril's HTTPS vs HTTP. tendril hashes
//     every byte (sha256) and busybox does not: `wget` then `sha256sum` of the file is the same
//     work done by busybox, measured too.
// Throughput = size / (median time(size) − median time(empty)) per tool: the fixed costs (process
// start: seconds for node under TCG) taken out, as in bench/netboot.ts. Times come from the
// guest's /proc/uptime (10 ms steps; a TCG transfer takes seconds).
// How the guest runs the script: tendril.mode=shell makes /init (after its usual set-up: mounts,
// modules, the payload) start a login shell, and a small cpio appended to the product initramfs
// holds only /etc/profile (this script, which powers off at the end) and the bench's CA. The
// measured binaries are the product initramfs' own.
// Absolute times under TCG say little about hardware; the ratios, measured in one guest in one
// run, are the point. The guest has 2 vCPUs (--smp) and `-cpu max` (--cpu), like the machines
// tendril runs on: with qemu64, sha256 runs OpenSSL's generic code under emulation (about 3 MB/s
// here) and bounds tendril's throughput, which says more about TCG than about tendril.
// `--baseline dist/OTHER.js` (a bundle built from another commit) also fetches over HTTP with
// that build, in the same guest and loop: before/after. The bundle is carried in the bench's cpio.
// `--from-log FILE` prints the summary of a saved guest log (.cache/e2e-logs/) again.
// Measured (idle 2-core host VM, QEMU 7.2, 3 runs, --baseline = the build before the hashing
// worker started with the sink): HTTP tendril 41.7 MB/s (baseline 37.3), busybox wget 97.3 (ratio
// 0.43), busybox wget + sha256sum 33.1, sha256 alone node 44.7 / busybox 55.0; DHCP start → lease
// 4.86 s, → PXELINUX entries 5.08 s; docs/net-transfer.md §11.
//   node scripts/run-ts.mjs bench/netboot-guest.ts [runs] [--size MiB] [--tftp-size MiB] [--smp N] [--cpu MODEL] [--baseline FILE]

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpioArchive } from '../initramfs/cpio';
import { hostKernel } from '../initramfs/host';
import { LOG_DIR, productInitramfs, runQemu } from '../test/fixtures/boot';
import { httpsServer, nginxArgs, nginxConf } from '../test/fixtures/nginx';
import { makePki } from '../test/fixtures/pki';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const RUNS = Number(process.argv[2]?.startsWith('--') ? 3 : (process.argv[2] ?? 3));
const SIZE = Number(option('--size') ?? 64) << 20;
/** TFTP's file: lock-step TFTP under TCG moves well under 1 MB/s for either tool. */
const TFTP_SIZE = Number(option('--tftp-size') ?? 8) << 20;
const SMP = Number(option('--smp') ?? 2);
/** QEMU's -cpu: `max` (what TCG can emulate: SSSE3, AVX2, SHA, AES-NI…) as on the machines tendril
 *  boots; `qemu64` (the e2e tests' default) has none of them, and its sha256 runs the generic code. */
const CPU = option('--cpu') ?? 'max';
const SERVER = '192.0.2.1';
/** Another build's bundle (dist/OTHER.js) to run beside this one's, over HTTP: before/after. */
const BASELINE = option('--baseline');

/** The guest's job: /etc/profile of the login shell tendril.mode=shell starts. */
function guestScript(): string {
  const m = 'node /tendril.js';
  // The baseline bundle sits beside /tendril.js, so it finds the same /tendril.node.
  const before = `node -e "require('/tendril-baseline.js').main(process.argv.slice(1)).then((c) => (process.exitCode = c))"`;
  return `# bench/netboot-guest.ts: runs once, then powers the guest off.
[ -e /run/bench-started ] && return 0
: >/run/bench-started
n=0
while [ ! -e /run/tendril-net-modules ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
ip link set eth0 up
# One measurement: BENCH label start end status (seconds since boot, /proc/uptime).
t() {
  l=$1; shift
  read a _ </proc/uptime
  "$@" >/tmp/bench.out 2>&1
  rc=$?
  read b _ </proc/uptime
  echo "BENCH $l $a $b $rc"
  [ $rc -eq 0 ] || tail -5 /tmp/bench.out
  rm -f /tmp/out
}
echo "BENCH-START cores=$(grep -c ^processor /proc/cpuinfo)"
# sha256 alone, of a file in /tmp, for the record: node's (OpenSSL) and busybox's.
ip addr add 192.0.2.50/24 dev eth0 2>/dev/null
wget -q -O /tmp/ref http://${SERVER}/big.bin
ip addr del 192.0.2.50/24 dev eth0 2>/dev/null
for i in $(seq 1 ${RUNS}); do
  t dhcp-tendril ${m} netboot --leases-only --iface eth0 --timeout 30
  t dhcp-busybox udhcpc -q -n -f -i eth0 -s /bin/true -t 5
  t menu-tendril ${m} netboot --json --iface eth0 --timeout 30
  ip addr add 192.0.2.50/24 dev eth0 2>/dev/null
  for f in empty big; do
    g=$f; [ $f = big ] && g=tftp
    t tftp-tendril-$f ${m} fetch tftp://${SERVER}/$g.bin
    t tftp-busybox-$f tftp -g -r $g.bin -l /tmp/out ${SERVER}
    t http-tendril-$f ${m} fetch http://${SERVER}/$f.bin
    t http-busybox-$f wget -q -O /tmp/out http://${SERVER}/$f.bin
${
  BASELINE !== undefined
    ? `    t http-baseline-$f ${before} fetch http://${SERVER}/$f.bin
`
    : ''
}    t httpsha-busybox-$f sh -c "wget -q -O /tmp/out http://${SERVER}/$f.bin && sha256sum /tmp/out"
    t https-tendril-$f ${m} fetch https://${SERVER}/$f.bin --ca /etc/bench-ca.pem
  done
  t sha256-node-empty node -e "require('crypto').createHash('sha256').update(require('fs').readFileSync('/dev/null')).digest()"
  t sha256-node-big node -e "require('crypto').createHash('sha256').update(require('fs').readFileSync('/tmp/ref')).digest()"
  t sha256-busybox-empty sha256sum /dev/null
  t sha256-busybox-big sha256sum /tmp/ref
  # A secondary address makes busybox's \`ip -4 addr flush\` (tendril's lease set-up) fail with
  # EADDRNOTAVAIL: the next run's DHCP starts with the lease's address only.
  ip addr del 192.0.2.50/24 dev eth0 2>/dev/null
done
echo BENCH-DONE
sleep 1
poweroff -f
`;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Milliseconds per label from the guest's BENCH lines; failed commands are counted, not timed. */
function parse(output: string): Map<string, number[]> {
  const times = new Map<string, number[]>();
  for (const m of output.matchAll(/^BENCH (\S+) ([\d.]+) ([\d.]+) (\d+)\r?$/gm)) {
    if (m[4] !== '0') {
      console.log(`guest: ${m[1]} failed with status ${m[4]} (its output follows it in the log); not counted`);
      continue;
    }
    const list = times.get(m[1]!) ?? [];
    list.push((Number(m[3]) - Number(m[2])) * 1000);
    times.set(m[1]!, list);
  }
  return times;
}

/** The medians, throughputs and ratios of a guest's output (`--from-log FILE` re-reads a log). */
function summarize(output: string, logFile: string): void {
  const t = parse(output);
  const med = (l: string): number => {
    const xs = t.get(l);
    if (!xs || xs.length === 0) throw new Error(`guest: no ${l} measurement; see ${logFile}`);
    return median(xs);
  };
  /** MB/s; NaN when the size's cost is lost in the fixed cost's noise (then printed as such). */
  const rate = (tool: string): number => {
    const ms = med(`${tool}-big`) - med(`${tool}-empty`);
    return ms > 0 ? (tool.startsWith('tftp') ? TFTP_SIZE : SIZE) / 1e6 / (ms / 1000) : NaN;
  };
  console.log(/BENCH-START (\S+)/.exec(output)?.[1] ?? '');
  console.log(
    `DHCP lease (process start → lease): tendril ${med('dhcp-tendril').toFixed(0)} ms, busybox udhcpc ${med('dhcp-busybox').toFixed(0)} ms, ratio ${(med('dhcp-busybox') / med('dhcp-tendril')).toFixed(2)}`,
  );
  console.log(
    `start → lease → menu entries (tendril netboot --json, PXELINUX over TFTP): ${med('menu-tendril').toFixed(0)} ms`,
  );
  for (const [proto, bb] of [
    ['tftp', 'busybox tftp'],
    ['http', 'busybox wget'],
  ] as const) {
    console.log(`${proto.toUpperCase()} ${(proto === 'tftp' ? TFTP_SIZE : SIZE) >> 20} MiB`);
    for (const [tool, name] of [
      [`${proto}-tendril`, 'tendril'],
      [`${proto}-busybox`, bb],
    ] as const)
      console.log(
        `  ${name.padEnd(13)} total ${med(`${tool}-big`).toFixed(0).padStart(6)} ms (empty file ${med(`${tool}-empty`).toFixed(0).padStart(5)} ms)   throughput ${rate(tool).toFixed(1).padStart(6)} MB/s`,
      );
    console.log(
      `  throughput ratio ${(rate(`${proto}-tendril`) / rate(`${proto}-busybox`)).toFixed(2)}   total ratio ${(med(`${proto}-busybox-big`) / med(`${proto}-tendril-big`)).toFixed(2)}`,
    );
  }
  if (BASELINE !== undefined)
    console.log(
      `  baseline (${BASELINE}): total ${med('http-baseline-big').toFixed(0)} ms (empty file ${med('http-baseline-empty').toFixed(0)} ms), throughput ${rate('http-baseline').toFixed(1)} MB/s, ratio to busybox wget ${(rate('http-baseline') / rate('http-busybox')).toFixed(2)}`,
    );
  console.log(
    `  busybox wget, then sha256sum (the same work as tendril): throughput ${rate('httpsha-busybox').toFixed(1)} MB/s, tendril vs it: ratio ${(rate('http-tendril') / rate('httpsha-busybox')).toFixed(2)}`,
  );
  console.log(
    `sha256 of a ${SIZE >> 20} MiB file in /tmp, alone: node (OpenSSL) ${rate('sha256-node').toFixed(1)} MB/s, busybox sha256sum ${rate('sha256-busybox').toFixed(1)} MB/s`,
  );
  console.log(
    `HTTPS vs HTTP, tendril: throughput https ${rate('https-tendril').toFixed(1)} MB/s, http ${rate('http-tendril').toFixed(1)} MB/s, ratio ${(rate('https-tendril') / rate('http-tendril')).toFixed(2)}`,
  );
  console.log(`(guest log: ${logFile})`);
}

async function main(): Promise<void> {
  const fromLog = option('--from-log');
  if (fromLog !== undefined) return summarize(fs.readFileSync(fromLog, 'latin1'), fromLog);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-bench-guest-'));
  const ns = `tnb-bench-${process.pid}`;
  const children: ChildProcess[] = [];
  const ip = (...a: string[]): void => void execFileSync('ip', a, { stdio: 'pipe' });
  try {
    const files = path.join(dir, 'files');
    fs.mkdirSync(path.join(files, 'pxelinux.cfg'), { recursive: true });
    fs.writeFileSync(path.join(files, 'big.bin'), randomBytes(SIZE));
    fs.writeFileSync(path.join(files, 'tftp.bin'), randomBytes(TFTP_SIZE));
    fs.writeFileSync(path.join(files, 'empty.bin'), '');
    // The boot file `netboot --json` follows: a PXELINUX config with one entry.
    fs.writeFileSync(path.join(files, 'pxelinux.0'), 'not a real NBP\n');
    fs.writeFileSync(path.join(files, 'vmlinuz'), 'not a kernel\n');
    fs.writeFileSync(
      path.join(files, 'pxelinux.cfg', 'default'),
      'DEFAULT bench\nLABEL bench\n  KERNEL vmlinuz\n  APPEND bench\n',
    );
    const pki = makePki(dir, SERVER);
    fs.writeFileSync(
      path.join(dir, 'nginx.conf'),
      nginxConf({
        dir,
        root: files,
        servers: [`server { listen ${SERVER}:80; }`, httpsServer(SERVER, pki.leafCert, pki.leafKey)],
      }),
    );
    // The product initramfs, then a cpio carrying only the guest's job and the CA.
    const initrd = path.join(dir, 'initrd.img');
    fs.copyFileSync(productInitramfs(), initrd);
    fs.appendFileSync(
      initrd,
      cpioArchive([
        { kind: 'dir', path: 'etc' },
        { kind: 'file', path: 'etc/profile', data: Buffer.from(guestScript()), mode: 0o644 },
        { kind: 'file', path: 'etc/bench-ca.pem', data: fs.readFileSync(pki.caPem), mode: 0o644 },
        ...(BASELINE !== undefined
          ? [{ kind: 'file' as const, path: 'tendril-baseline.js', data: fs.readFileSync(BASELINE), mode: 0o644 }]
          : []),
      ]),
    );

    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
    ip('-n', ns, 'addr', 'add', `${SERVER}/24`, 'dev', 'tap0');
    ip('-n', ns, 'link', 'set', 'tap0', 'up');
    const start = (cmd: string, args: string[]): void =>
      void children.push(spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore' }));
    start('/usr/sbin/nginx', nginxArgs(dir));
    start('/usr/sbin/dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--port=0',
      '--interface=tap0',
      '--bind-interfaces',
      '--no-ping',
      '--user=root',
      `--pid-file=${dir}/dnsmasq.pid`,
      `--dhcp-leasefile=${dir}/leases`,
      '--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,1h',
      '--enable-tftp',
      `--tftp-root=${files}`,
      '--dhcp-boot=pxelinux.0',
    ]);
    console.log(
      `booting the product initramfs under TCG (${SMP} vCPUs, -cpu ${CPU}); ${RUNS} runs, ${SIZE >> 20} MiB (TFTP ${TFTP_SIZE >> 20} MiB) and empty files`,
    );
    const logFile = path.join(LOG_DIR, 'bench-netboot-guest.log');
    let pending = '';
    const run = await runQemu({
      kernel: hostKernel().vmlinuz,
      initrd,
      append: 'console=ttyS0 quiet tendril.mode=shell',
      disks: [],
      cpu: CPU,
      timeoutMs: 3_600_000,
      until: /BENCH-DONE/,
      logFile,
      // The guest's lines as they come: a TCG run takes minutes.
      onOutput: (chunk) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) if (/^BENCH/.test(l)) process.stderr.write(`  guest: ${l.trim()}\n`);
      },
      prefix: ['ip', 'netns', 'exec', ns],
      extra: [
        '-smp',
        String(SMP),
        '-netdev',
        'tap,id=n0,ifname=tap0,script=no,downscript=no',
        '-device',
        'virtio-net-pci,netdev=n0',
      ],
    });
    if (run.timedOut || !/BENCH-DONE/.test(run.output)) throw new Error(`the guest did not finish; see ${logFile}`);
    summarize(run.output, logFile);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
