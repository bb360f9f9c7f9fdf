// Network boot against busybox, on the host: a veth pair of private namespaces (the servers in
// one, the clients in the other; nothing touches the host's network). bench/netboot-guest.ts
// runs the same comparison inside a QEMU guest booted from the product initramfs.
//   - DHCP: `tendril netboot --leases-only` (its AF_PACKET client, process start included) vs
//     busybox `udhcpc -q -n` (process start included), dnsmasq answering both;
//   - TFTP: `tendril fetch tftp://…` vs `busybox tftp -g` from dnsmasq's TFTP server (tendril
//     negotiates blksize 1468, busybox asks 512);
//   - HTTP: `tendril fetch http://…` vs `busybox wget` from nginx, and tendril's HTTPS vs HTTP.
// Method. Every run is a new process, so a total includes each tool's start (node's ~50–100 ms
// here, busybox's ~1 ms). Throughput is measured without it: each tool fetches an empty file
// and the big one, N runs interleaved, and
//     throughput = size / (median time(big) − median time(empty))
// i.e. the per-byte cost with each tool's fixed cost (start, connect, request) taken out. Both
// tools keep the bytes in RAM-backed memory: tendril in the sealed memfd network boot kexecs from
// (`tendril fetch` without -o), busybox in a file on tmpfs (/dev/shm). tendril also hashes every
// byte (sha256; the pin check) and busybox does not: `busybox wget` then `busybox sha256sum` of the
// file is the same work done by busybox, reported too. Ratios are busybox time / tendril time:
// above 1.0, tendril is faster. With `--baseline dist/OTHER.js` (a bundle built from another
// commit) that build runs in the same interleaved loop: before/after on the same machine state.
// The machine is shared: compare ratios within one run, not absolute times across runs.
//   node scripts/run-ts.mjs bench/netboot.ts [runs] [--size MiB] [--baseline FILE]
//
// Measured (idle 2-core AMD EPYC VM, 64 MiB, 7 runs, --baseline = the build before the hashing
// worker started with the sink): HTTP tendril 922 MB/s, baseline 643, busybox wget 1298 (ratio
// 0.71, before 0.49; two later runs 0.43 and 0.55), busybox wget + sha256sum 195 (ratio 4.72); DHCP
// start → lease 4.15 s (the offer window and IPv6's short grace). docs/net-transfer.md §11 has the table.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostBusybox } from '../initramfs/host';
import { NetnsPair, SERVER_IP } from '../test/fixtures/netns-pair';
import { httpsServer, nginxArgs, nginxConf } from '../test/fixtures/nginx';
import { makePki } from '../test/fixtures/pki';

// run-ts bundles this into .cache/run/ (the other benches resolve the checkout the same way).
const REPO = path.join(__dirname, '..', '..');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const RUNS = Number(process.argv[2]?.startsWith('--') ? 5 : (process.argv[2] ?? 5));
const SIZE = Number(option('--size') ?? 64) << 20;
const BASELINE = option('--baseline');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

function timed(pair: NetnsPair, cmd: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', pair.client, ...cmd], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeout: 300_000,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

/** Times of one tool: the empty file and the big one. */
interface Series {
  readonly name: string;
  readonly empty: number[];
  readonly big: number[];
}

const series = (name: string): Series => ({ name, empty: [], big: [] });

/** Per-byte throughput in MB/s, fixed cost taken out (see the header). */
function throughput(s: Series): number {
  return mbps(SIZE, Math.max(median(s.big) - median(s.empty), 0.001));
}

function report(what: string, ours: Series[], theirs: Series): void {
  console.log(what);
  const row = (s: Series): string =>
    `  ${s.name.padEnd(16)} total ${median(s.big).toFixed(0).padStart(6)} ms (empty file ${median(s.empty).toFixed(0).padStart(4)} ms)   throughput ${throughput(s).toFixed(0).padStart(5)} MB/s`;
  for (const s of [...ours, theirs]) console.log(row(s));
  for (const s of ours)
    console.log(
      `  ${`${s.name} vs ${theirs.name}`.padEnd(34)} throughput ratio ${(throughput(s) / throughput(theirs)).toFixed(2)}   total ratio ${(median(theirs.big) / median(s.big)).toFixed(2)}`,
    );
}

async function main(): Promise<void> {
  const busybox = hostBusybox();
  const pair = new NetnsPair('bench');
  const shm = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'tendril-bench-'));
  try {
    const d = pair.dir;
    // One directory for both servers (the big file once on disk).
    const files = path.join(d, 'files');
    fs.mkdirSync(files);
    fs.writeFileSync(path.join(files, 'big.bin'), randomBytes(SIZE));
    fs.writeFileSync(path.join(files, 'empty.bin'), '');
    const pki = makePki(d, SERVER_IP);
    fs.writeFileSync(
      path.join(d, 'nginx.conf'),
      nginxConf({
        dir: d,
        root: files,
        servers: [`server { listen ${SERVER_IP}:80; }`, httpsServer(SERVER_IP, pki.leafCert, pki.leafKey)],
      }),
    );
    pair.startServer('/usr/sbin/nginx', nginxArgs(d));
    pair.startServer('/usr/sbin/dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--port=0',
      '--interface=vs',
      '--bind-interfaces',
      '--no-ping',
      // The TFTP root is under the test's private (0700) directory: dnsmasq keeps root to read it.
      '--user=root',
      `--pid-file=${d}/dnsmasq.pid`,
      `--dhcp-leasefile=${d}/leases`,
      '--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,1h',
      '--enable-tftp',
      `--tftp-root=${files}`,
      // A boot file in the offer: tendril takes the first offer that has one at once (it waits
      // up to 2 s for a better offer otherwise, docs/net-dhcp.md §3); busybox takes any.
      '--dhcp-boot=big.bin',
    ]);
    await pair.waitListening('tcp', 443);
    await pair.waitListening('udp', 69);
    const out = path.join(shm, 'out.bin');
    const bundles: [string, string][] = [['tendril', path.join(REPO, 'bin', 'tendril.js')]];
    if (BASELINE !== undefined) bundles.push(['tendril-baseline', path.resolve(BASELINE)]);
    // bin/tendril.js loads dist/tendril.js; a baseline bundle exports the same main().
    const run = (bundle: string, args: string[]): string[] =>
      bundle.endsWith(path.join('bin', 'tendril.js'))
        ? [process.execPath, bundle, ...args]
        : [
            process.execPath,
            '-e',
            `require(${JSON.stringify(bundle)}).main(process.argv.slice(1)).then(c=>process.exitCode=c)`,
            ...args,
          ];
    const fetch = (bundle: string, url: string, extra: string[] = []): number =>
      timed(pair, run(bundle, ['fetch', url, '--max-bytes', String(SIZE * 2), ...extra]));

    const dhcp = bundles.map(([n]) => series(n));
    const dhcpBb = series('busybox udhcpc');
    const tftp = bundles.map(([n]) => series(n));
    const tftpBb = series('busybox tftp');
    const http = bundles.map(([n]) => series(n));
    const httpBb = series('busybox wget');
    // The same work as tendril's (download, then sha256 of every byte), by busybox.
    const httpBbSha = series('busybox wget+sha256sum');
    const https = bundles.map(([n]) => series(`${n} https`));
    console.log(
      `${RUNS} runs each, interleaved; ${SIZE >> 20} MiB and empty files; medians; ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(1)}`,
    );
    for (let i = 0; i < RUNS; i++) {
      for (const [k, [, b]] of bundles.entries()) {
        dhcp[k]!.big.push(timed(pair, run(b, ['netboot', '--leases-only', '--iface', 'vc', '--timeout', '30'])));
        for (const [f, key] of [
          ['empty.bin', 'empty'],
          ['big.bin', 'big'],
        ] as const) {
          tftp[k]![key].push(fetch(b, `tftp://${SERVER_IP}/${f}`));
          http[k]![key].push(fetch(b, `http://${SERVER_IP}/${f}`));
          https[k]![key].push(fetch(b, `https://${SERVER_IP}/${f}`, ['--ca', pki.caPem]));
        }
      }
      dhcpBb.big.push(timed(pair, [busybox, 'udhcpc', '-q', '-n', '-f', '-i', 'vc', '-s', '/bin/true', '-t', '5']));
      for (const [f, key] of [
        ['empty.bin', 'empty'],
        ['big.bin', 'big'],
      ] as const) {
        tftpBb[key].push(timed(pair, [busybox, 'tftp', '-g', '-r', f, '-l', out, SERVER_IP]));
        httpBb[key].push(timed(pair, [busybox, 'wget', '-q', '-O', out, `http://${SERVER_IP}/${f}`]));
        httpBbSha[key].push(
          timed(pair, [
            busybox,
            'sh',
            '-c',
            `${busybox} wget -q -O ${out} http://${SERVER_IP}/${f} && ${busybox} sha256sum ${out}`,
          ]),
        );
      }
    }
    for (const s of dhcp)
      console.log(
        `DHCP lease (process start → lease): ${s.name} ${median(s.big).toFixed(0)} ms, busybox udhcpc ${median(dhcpBb.big).toFixed(0)} ms, ratio ${(median(dhcpBb.big) / median(s.big)).toFixed(2)}`,
      );
    report(`TFTP ${SIZE >> 20} MiB (dnsmasq)`, tftp, tftpBb);
    report(`HTTP ${SIZE >> 20} MiB (nginx)`, http, httpBb);
    report(`HTTP ${SIZE >> 20} MiB (nginx), busybox also hashing`, http, httpBbSha);
    for (const [k, s] of https.entries())
      console.log(
        `HTTPS vs HTTP, ${bundles[k]![0]}: throughput https ${throughput(s).toFixed(0)} MB/s, http ${throughput(http[k]!).toFixed(0)} MB/s, ratio ${(throughput(s) / throughput(http[k]!)).toFixed(2)}`,
      );
  } finally {
    pair.close();
    fs.rmSync(shm, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
