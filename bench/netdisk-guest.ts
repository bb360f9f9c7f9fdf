// A network disk's numbers (issue 13; docs/net-bootfiles.md §9): the time from the DHCP lease to
// the image's entry in the menu, and the download's throughput against busybox `wget` in the same
// guest. QEMU (TCG, 2 vCPUs, -cpu max, 3 GiB) boots the product initramfs (this checkout's
// dist/tendril.js) on a tap device in a private namespace, beside dnsmasq (DHCP; the boot file
// is http://192.0.2.1/disk.raw) and nginx serving the image. The image (GPT: a vfat ESP with
// loader.conf, an ext4 XBOOTLDR with one BLS entry, the host's kernel, a one-file initrd and a
// filler file of AES-CTR keystream, so ~90 % of it is incompressible) is made by sgdisk,
// mkfs.vfat and mke2fs -d and cached under /var/cache/tendril-fixtures by its recipe (nothing
// boots it: its entry only has to be listed, so it does not change with the e2e target initrds).
// The guest (tendril.mode=shell, this script as /etc/profile, like bench/netboot-guest.ts), once:
//   - `tendril netboot --json --verbose`, its stderr and stdout lines stamped with /proc/uptime as
//     they come: DHCPACK, the end of the lease stage (the clock line), the download's progress
//     lines (10 % steps, the last = every byte received), and the JSON (the entries, i.e. the
//     moment the menu could show them);
//   - busybox `wget -O /dev/null` and `wget -O /tmp/disk.raw` of the same URL;
//   - where tendril's time goes: `tendril fetch` of the URL (download into a memfd + sha256, no
//     scan), sha256 of the tmpfs copy by busybox and by node, `tendril list --disk` of it (the
//     scan alone), dd of zeros to tmpfs, and a plain-node client (PROBE) that receives, then also
//     stores, then also hashes; an empty file fetched by each tool gives its fixed cost, and
//     /proc/stat how many vCPUs each step kept busy.
// Absolute times under TCG say little about hardware; the ratios, in one guest, are the point.
// Measured (1 GiB, 2-core host VM shared with other guests, load ~7): lease stage over → entry
// 55.1 s, download 23.3 MB/s against wget -O /dev/null 131.6 (ratio 0.18; 0.31 in an earlier run),
// sha256 ~60 % of the work; docs/net-transfer.md §11.1.
//   node scripts/run-ts.mjs bench/netdisk-guest.ts [--size MiB] [--mem MiB] [--smp N] [--cpu MODEL]
//   node scripts/run-ts.mjs bench/netdisk-guest.ts --from-log FILE [--size MiB]   (summary again)
//   node scripts/run-ts.mjs bench/netdisk-guest.ts --image-only [--size MiB]   (build the image, print its path)

import { createCipheriv } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpioArchive } from '../initramfs/cpio';
import { hostKernel } from '../initramfs/host';
import { blsEntry, LOG_DIR, productInitramfs, runQemu } from '../test/fixtures/boot';
import { buildGptDisk, CACHE_DIR } from '../test/fixtures/images';
import { nginxArgs, nginxConf } from '../test/fixtures/nginx';
import { TAP_SERVER, TapNamespace } from '../test/fixtures/tap-net';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const SIZE_MIB = Number(option('--size') ?? 1024);
const SIZE = SIZE_MIB * 2 ** 20;
const MEM_MIB = Number(option('--mem') ?? 3072);
const SMP = Number(option('--smp') ?? 2);
const CPU = option('--cpu') ?? 'max';
const SERVER = TAP_SERVER;
const URL = `http://${SERVER}/disk.raw`;
const ENTRY = `netdisk:${SERVER}/disk.raw:netdisk-bench.conf`;
const ESP_MIB = 34;

/** `mib` MiB of AES-128-CTR keystream under a fixed key: incompressible, the same on every run. */
function fillerFile(mib: number): string {
  const out = path.join(CACHE_DIR, 'netdisk-bench', `filler-${mib}.bin`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  const fd = fs.openSync(tmp, 'w');
  try {
    for (let i = 0; i < mib; i++) fs.writeSync(fd, cipher.update(zeros));
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, out);
  return out;
}

/** The image: SIZE_MIB in all, cached by its recipe (the filler's path, size and mtime included). */
function benchImage(): string {
  const bootMiB = SIZE_MIB - ESP_MIB - 2;
  const kernelMiB = Math.ceil(fs.statSync(hostKernel().vmlinuz).size / 2 ** 20);
  // ext4's own metadata (inode tables, journal) and the kernel and initrds leave this much.
  const fillerMiB = Math.max(0, bootMiB - 24 - kernelMiB - Math.ceil(bootMiB * 0.05));
  return buildGptDisk([
    {
      type: 'esp',
      sizeMiB: ESP_MIB,
      fs: { kind: 'vfat', label: 'ESP', files: { 'loader/loader.conf': 'default netdisk-bench.conf\ntimeout 1\n' } },
    },
    {
      type: 'xbootldr',
      sizeMiB: bootMiB,
      fs: {
        kind: 'ext4',
        label: 'boot',
        files: {
          vmlinuz: { copyOf: hostKernel().vmlinuz },
          'initrd.img': cpioArchive([{ kind: 'file', path: 'netdisk-bench', data: Buffer.from('netdisk bench\n') }]),
          'loader/entries/netdisk-bench.conf': blsEntry({
            title: 'Netdisk bench',
            version: '1.0',
            linux: '/vmlinuz',
            initrds: ['/initrd.img'],
            options: 'tendril.test=netdisk-bench',
          }),
          ...(fillerMiB > 0 ? { 'filler.bin': { copyOf: fillerFile(fillerMiB) } } : {}),
        },
      },
    },
  ]);
}

/**
 * A plain-node HTTP/1.0 client reading as tendril's does (net.connect's onread into one 1 MiB
 * buffer, bench's /bench-probe.js): `recv` drops the body, `store` writes it to a tmpfs file
 * (shmem, as a memfd), `hash` also runs sha256 over it on the same thread. The steps of
 * tendril's download taken one at a time, without tendril's code around them.
 */
const PROBE = `const net = require('net'), fs = require('fs'), crypto = require('crypto');
const [mode, host, name] = process.argv.slice(2);
const fd = mode === 'recv' ? -1 : fs.openSync('/tmp/probe.bin', 'w');
const hash = mode === 'hash' ? crypto.createHash('sha256') : undefined;
let head = Buffer.alloc(0), pos = 0;
const body = (c) => {
  if (fd >= 0) for (let o = 0; o < c.length; ) o += fs.writeSync(fd, c, o, c.length - o, pos + o);
  pos += c.length;
  hash?.update(c);
};
const s = net.connect({ host, port: 80, onread: { buffer: Buffer.allocUnsafe(1 << 20), callback: (n, b) => {
  const c = b.subarray(0, n);
  if (head === undefined) return body(c);
  head = Buffer.concat([head, c]);
  const end = head.indexOf('\\r\\n\\r\\n');
  if (end < 0) return;
  const rest = head.subarray(end + 4);
  head = undefined;
  body(rest);
} } });
s.on('connect', () => s.write('GET /' + name + ' HTTP/1.0\\r\\nHost: ' + host + '\\r\\n\\r\\n'));
s.on('end', () => {
  console.log(pos, hash ? hash.digest('hex') : '');
  if (fd >= 0) { fs.closeSync(fd); fs.unlinkSync('/tmp/probe.bin'); }
});
`;

/** The guest's job: /etc/profile of the login shell tendril.mode=shell starts. */
function guestScript(): string {
  const m = 'node /tendril.js';
  // sha256 of a file by node, as tendril's hashing worker reads it (1 MiB reads); the file is argv[1].
  const nodeSha = `node -e "const h=require('crypto').createHash('sha256');require('fs').createReadStream(process.argv[1],{highWaterMark:1<<20}).on('data',(c)=>h.update(c)).on('end',()=>console.log(h.digest('hex')))"`;
  return `# bench/netdisk-guest.ts: runs once, then powers the guest off.
[ -e /run/bench-started ] && return 0
: >/run/bench-started
n=0
while [ ! -e /run/tendril-net-modules ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
ip link set eth0 up
# The guest's CPU time (all vCPUs, clock ticks) busy and idle, from /proc/stat's first line.
cpu() { read -r _ u n s i w q sq st _ </proc/stat; echo "$((u + n + s + q + sq + st)) $((i + w))"; }
# One measurement: BENCH label start end status (seconds since boot, /proc/uptime), and
# BENCHCPU label busy idle: the ticks all vCPUs spent busy and idle meanwhile.
t() {
  l=$1; shift
  c0=$(cpu)
  read a _ </proc/uptime
  "$@" >/tmp/bench.out 2>&1
  rc=$?
  read b _ </proc/uptime
  c1=$(cpu)
  echo "BENCH $l $a $b $rc"
  echo "BENCHCPU $l $c0 $c1"
  [ $rc -eq 0 ] || tail -5 /tmp/bench.out
}
# Each line of tendril netboot as it comes, stamped (uptime, busy and idle ticks); the JSON's lines go to /tmp/nb.json, its first one stamped.
stamp() {
  j=0
  while IFS= read -r l; do
    read u _ </proc/uptime
    case "$l" in
      '{') echo "NDL $u $(cpu) {"; j=1; echo "$l" >/tmp/nb.json ;;
      *) if [ $j = 1 ]; then echo "$l" >>/tmp/nb.json; else echo "NDL $u $(cpu) $l"; fi ;;
    esac
  done
}
echo "BENCH-START cores=$(grep -c ^processor /proc/cpuinfo) mem=$(grep MemTotal /proc/meminfo | tr -s ' ')"
read a _ </proc/uptime
echo "NDL $a $(cpu) start"
${m} netboot --json --verbose --iface eth0 --timeout 60 2>&1 | stamp
read b _ </proc/uptime
echo "NDL $b $(cpu) exit"
grep -o '"id": "netdisk:[^"]*"' /tmp/nb.json | sed 's/^/NETDISK-ENTRY /'
grep -o '"message": "network disk [^"]*"' /tmp/nb.json | head -3 | sed 's/^/NETDISK-DIAG /'
ip addr add 192.0.2.50/24 dev eth0 2>/dev/null
t wget-null wget -q -O /dev/null ${URL}
t wget-empty wget -q -O /dev/null http://${SERVER}/empty.bin
# Storing the bytes in memory alone (tmpfs is shmem, as tendril's memfd is).
t tmpfs-dd dd if=/dev/zero of=/tmp/zero.bin bs=1M count=${SIZE_MIB}
rm -f /tmp/zero.bin
t wget-tmpfs wget -q -O /tmp/disk.raw ${URL}
t sha256-busybox sha256sum /tmp/disk.raw
cat /tmp/bench.out
t sha256-node ${nodeSha} /tmp/disk.raw
t sha256-node-empty ${nodeSha} /dev/null
t scan-tendril ${m} list --json --disk /tmp/disk.raw
grep -c '"id"' /tmp/bench.out | sed 's/^/BENCH-SCAN-IDS /'
rm -f /tmp/disk.raw
t fetch-empty ${m} fetch http://${SERVER}/empty.bin
t fetch-tendril ${m} fetch ${URL}
tail -2 /tmp/bench.out
# The same steps in plain node (PROBE): receive only, + store in tmpfs, + sha256 inline.
t probe-empty node /bench-probe.js recv ${SERVER} empty.bin
for p in recv store hash; do t probe-$p node /bench-probe.js $p ${SERVER} disk.raw; done
cat /tmp/bench.out
# The first measurement again: did the host's load change meanwhile?
t wget-null-again wget -q -O /dev/null ${URL}
echo BENCH-DONE
sleep 1
poweroff -f
`;
}

interface Stamp {
  readonly t: number;
  /** /proc/stat ticks of all vCPUs, busy and idle, at that moment. */
  readonly busy: number;
  readonly idle: number;
  readonly line: string;
}

/** How many vCPUs were busy on average between two /proc/stat samples. */
const busyCpus = (cores: number, a: { busy: number; idle: number }, b: { busy: number; idle: number }): string =>
  ((cores * (b.busy - a.busy)) / Math.max(1, b.busy - a.busy + b.idle - a.idle)).toFixed(2);

/** The summary of a guest's output (`--from-log FILE` re-reads a saved one). */
function summarize(output: string, logFile: string): void {
  const stamps: Stamp[] = [...output.matchAll(/^NDL ([\d.]+) (\d+) (\d+) (.*?)\r?$/gm)].map((m) => ({
    t: Number(m[1]),
    busy: Number(m[2]),
    idle: Number(m[3]),
    line: m[4]!,
  }));
  const cores = Number(/BENCH-START cores=(\d+)/.exec(output)?.[1] ?? 1);
  const cpuOf = new Map<string, string>();
  for (const m of output.matchAll(/^BENCHCPU (\S+) (\d+) (\d+) (\d+) (\d+)\r?$/gm))
    cpuOf.set(
      m[1]!,
      busyCpus(cores, { busy: Number(m[2]), idle: Number(m[3]) }, { busy: Number(m[4]), idle: Number(m[5]) }),
    );
  const at = (what: string, re: RegExp, last = false): number => {
    const hits = stamps.filter((s) => re.test(s.line));
    const s = last ? hits.at(-1) : hits[0];
    if (!s) throw new Error(`guest: no ${what} line from tendril netboot; see ${logFile}`);
    return s.t;
  };
  const bench = new Map<string, number>();
  for (const m of output.matchAll(/^BENCH (\S+) ([\d.]+) ([\d.]+) (\d+)\r?$/gm)) {
    if (m[4] !== '0') console.log(`guest: ${m[1]} failed with status ${m[4]} (its output follows it in the log)`);
    else bench.set(m[1]!, Number(m[3]) - Number(m[2]));
  }
  const sec = (l: string): number => {
    const v = bench.get(l);
    if (v === undefined) throw new Error(`guest: no ${l} measurement; see ${logFile}`);
    return v;
  };
  const entries = [...output.matchAll(/^NETDISK-ENTRY "id": "([^"]+)"/gm)].map((m) => m[1]!);
  if (!entries.includes(ENTRY))
    throw new Error(
      `guest: the image's entry ${ENTRY} is not in tendril netboot's JSON (${entries.join(', ')}); see ${logFile}`,
    );
  const start = at('start', /^start$/);
  const ack = at('DHCPACK', /DHCPACK/);
  const leased = at('clock (end of the lease stage)', /tendril netboot: clock:/);
  // The download's progress lines (every 10 % on a log): `URL [###---]  42% 430.1/1024.0 MiB 40.1 MB/s ETA …`.
  const progress = stamps.flatMap((s) => {
    const m = /disk\.raw \[[#-]+\] +(\d+)% ([\d.]+)\/[\d.]+ MiB ([\d.]+) MB\/s/.exec(s.line);
    return m ? [{ ...s, pct: Number(m[1]), mib: Number(m[2]), rate: m[3]! }] : [];
  });
  const first = progress[0];
  const last = progress.at(-1);
  if (!first || !last || last.pct !== 100 || first === last)
    throw new Error(`guest: no progress lines of the image's download; see ${logFile}`);
  const p100 = last.t;
  const ownRate = last.rate;
  const json = at('JSON', /^\{$/);
  const jsonStamp = stamps.find((s) => s.line === '{')!;
  const mb = SIZE / 1e6;
  const steady = ((last.mib - first.mib) * 2 ** 20) / 1e6 / (last.t - first.t);
  const wget = mb / (sec('wget-null') - sec('wget-empty'));
  const wgetTmp = mb / (sec('wget-tmpfs') - sec('wget-empty'));
  const fetch = mb / (sec('fetch-tendril') - sec('fetch-empty'));
  const f = (x: number): string => x.toFixed(2);
  const r = (x: number): string => x.toFixed(1);
  console.log(/BENCH-START (.*)/.exec(output)?.[1]?.trim() ?? '');
  console.log(`network disk ${URL}: ${SIZE_MIB} MiB raw GPT image, entry ${ENTRY}`);
  console.log(`tendril netboot --json (seconds since its start):`);
  console.log(`  DHCPACK ${f(ack - start)}, lease stage done ${f(leased - start)}, entries printed ${f(json - start)}`);
  console.log(
    `  lease → entry in the menu: ${f(json - ack)} s from the DHCPACK, ${f(json - leased)} s from the end of the lease stage`,
  );
  console.log(
    `    of which: lease stage end → last byte received ${f(p100 - leased)} s; last byte → entries (sha256 catch-up, scan, JSON) ${f(json - p100)} s`,
  );
  console.log(
    `  download: ${r(steady)} MB/s steady (${first.pct} % → 100 % lines), ${ownRate} MB/s as tendril counts it (from its request), ${r(mb / (p100 - leased))} MB/s from the lease stage's end`,
  );
  console.log(
    `busybox wget, same URL, same guest: -O /dev/null ${r(wget)} MB/s (${f(sec('wget-null'))} s; again at the end ${r(mb / (sec('wget-null-again') - sec('wget-empty')))} MB/s), -O /tmp (tmpfs) ${r(wgetTmp)} MB/s`,
  );
  console.log(
    `  ratio tendril / wget -O /dev/null: download ${f(steady / wget)}, lease end → entry ${f(mb / (json - leased) / wget)} (the image's MB over the lease→entry seconds); tendril / wget -O /tmp (both keep the bytes in memory): download ${f(steady / wgetTmp)}`,
  );
  console.log(
    `where the time goes: tendril fetch (memfd + sha256, no scan) ${r(fetch)} MB/s; sha256 of the tmpfs copy alone: busybox ${r(mb / sec('sha256-busybox'))} MB/s, node ${r(mb / (sec('sha256-node') - sec('sha256-node-empty')))} MB/s (its start taken out); scan of the copy (tendril list --disk, less tendril's start) ${f(sec('scan-tendril') - sec('fetch-empty'))} s; tendril's start (fetch of an empty file) ${f(sec('fetch-empty'))} s`,
  );
  console.log(`  writing ${SIZE_MIB} MiB of zeros to tmpfs alone (dd bs=1M): ${r(mb / sec('tmpfs-dd'))} MB/s`);
  const probe = (p: string): string => r(mb / (sec(`probe-${p}`) - sec('probe-empty')));
  console.log(
    `  plain node, reading as tendril does (its start taken out): receive only ${probe('recv')} MB/s, + store in tmpfs ${probe('store')} MB/s, + sha256 on the same thread ${probe('hash')} MB/s`,
  );
  console.log(
    `  vCPUs busy on average (of ${cores}, /proc/stat): tendril netboot's download ${busyCpus(cores, first, last)}, its last byte → entries ${busyCpus(cores, last, jsonStamp)}; wget -O /dev/null ${cpuOf.get('wget-null')}, wget -O /tmp ${cpuOf.get('wget-tmpfs')}, dd to tmpfs ${cpuOf.get('tmpfs-dd')}, node sha256 ${cpuOf.get('sha256-node')}, busybox sha256sum ${cpuOf.get('sha256-busybox')}, tendril fetch ${cpuOf.get('fetch-tendril')}`,
  );
  console.log(`(guest log: ${logFile})`);
}

async function main(): Promise<void> {
  const fromLog = option('--from-log');
  if (fromLog !== undefined) return summarize(fs.readFileSync(fromLog, 'latin1'), fromLog);
  const img = benchImage();
  if (fs.statSync(img).size !== SIZE) throw new Error(`${img}: ${fs.statSync(img).size} bytes, expected ${SIZE}`);
  if (process.argv.includes('--image-only')) return void console.log(img);
  const tap = new TapNamespace('bench-netdisk');
  const dir = tap.dir;
  try {
    const files = path.join(dir, 'files');
    fs.mkdirSync(files);
    // nginx serves the cached image through a symlink: no 1 GiB copy.
    fs.symlinkSync(img, path.join(files, 'disk.raw'));
    fs.writeFileSync(path.join(files, 'empty.bin'), '');
    fs.writeFileSync(
      path.join(dir, 'nginx.conf'),
      nginxConf({ dir, root: files, servers: [`server { listen ${SERVER}:80; }`] }),
    );
    const initrd = path.join(dir, 'initrd.img');
    fs.copyFileSync(productInitramfs(), initrd);
    fs.appendFileSync(
      initrd,
      cpioArchive([
        { kind: 'dir', path: 'etc' },
        { kind: 'file', path: 'etc/profile', data: Buffer.from(guestScript()), mode: 0o644 },
        { kind: 'file', path: 'bench-probe.js', data: Buffer.from(PROBE), mode: 0o644 },
      ]),
    );
    tap.start('/usr/sbin/nginx', nginxArgs(dir));
    tap.start('/usr/sbin/dnsmasq', [
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
      `--dhcp-boot=${URL}`,
    ]);
    console.log(
      `booting the product initramfs under TCG (${SMP} vCPUs, -cpu ${CPU}, ${MEM_MIB} MiB); image ${img} (${SIZE_MIB} MiB)`,
    );
    const logFile = path.join(LOG_DIR, 'bench-netdisk-guest.log');
    // Other QEMUs on the host's cores slow the guest: say how busy the host was.
    const load0 = os.loadavg()[0]!.toFixed(1);
    let pending = '';
    const run = await runQemu({
      kernel: hostKernel().vmlinuz,
      initrd,
      append: 'console=ttyS0 quiet tendril.mode=shell',
      disks: [],
      cpu: CPU,
      memMiB: MEM_MIB,
      timeoutMs: 3_600_000,
      until: /BENCH-DONE/,
      logFile,
      onOutput: (chunk) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) if (/^(BENCH|NDL|NETDISK)/.test(l)) process.stderr.write(`  guest: ${l.trim()}\n`);
      },
      prefix: tap.qemuPrefix,
      extra: ['-smp', String(SMP), ...TapNamespace.qemuNic('52:54:00:12:34:56')],
    });
    if (run.timedOut || !/BENCH-DONE/.test(run.output)) throw new Error(`the guest did not finish; see ${logFile}`);
    summarize(run.output, logFile);
    console.log(`host load (1 min) before the boot ${load0}, after it ${os.loadavg()[0]!.toFixed(1)}`);
  } finally {
    tap.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
