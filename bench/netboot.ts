// Network boot against busybox, on the same veth pair in private namespaces (the servers in one,
// the clients in the other; nothing touches the host's network):
//   - DHCP: `tendril netboot --leases-only` (its AF_PACKET client, process start included) vs
//     busybox `udhcpc -q -n` (process start included), dnsmasq answering both;
//   - TFTP: `tendril fetch tftp://…` vs `busybox tftp -g` for a 64 MiB file from dnsmasq's TFTP
//     server (tendril negotiates blksize 1468 and, with atftpd, windowsize 16; busybox asks 512);
//   - HTTP: `tendril fetch http://…` vs `busybox wget` from nginx, and HTTPS against HTTP.
// Medians of N runs, interleaved; each line prints the ratio (busybox time / tendril time:
// above 1.0, tendril is faster). The downloads are hashed by tendril (sha256) and not by busybox.
// The initramfs size with the NIC drivers is `npm run bench:boot`'s and initramfs/README.md's.
//   node scripts/run-ts.mjs bench/netboot.ts [runs]

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostBusybox } from '../initramfs/host';
import { NetnsPair, SERVER_IP } from '../test/fixtures/netns-pair';
import { httpsServer, nginxArgs, nginxConf } from '../test/fixtures/nginx';
import { makePki } from '../test/fixtures/pki';

const RUNS = Number(process.argv[2] ?? 5);
const SIZE = 64 << 20;
// run-ts bundles this into .cache/run/ (the other benches resolve the checkout the same way).
const REPO = path.join(__dirname, '..', '..');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed(pair: NetnsPair, cmd: string[], env: Record<string, string> = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', pair.client, ...cmd], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    timeout: 300_000,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

function line(what: string, ours: number[], theirs: number[], bytes?: number): void {
  const a = median(ours);
  const b = median(theirs);
  const rate = (ms: number): string => (bytes ? ` (${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s)` : '');
  console.log(
    `${what.padEnd(34)} tendril ${a.toFixed(0).padStart(6)} ms${rate(a)}   busybox ${b.toFixed(0).padStart(6)} ms${rate(b)}   ratio ${(b / a).toFixed(2)}`,
  );
}

async function main(): Promise<void> {
  const busybox = hostBusybox();
  const pair = new NetnsPair('bench');
  try {
    const d = pair.dir;
    const tftp = path.join(d, 'tftp');
    const www = path.join(d, 'www');
    fs.mkdirSync(tftp);
    fs.mkdirSync(www);
    const file = randomBytes(SIZE);
    fs.writeFileSync(path.join(tftp, 'big.bin'), file);
    fs.writeFileSync(path.join(www, 'big.bin'), file);
    const pki = makePki(d, SERVER_IP);
    fs.writeFileSync(
      path.join(d, 'nginx.conf'),
      nginxConf({
        dir: d,
        root: www,
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
      `--tftp-root=${tftp}`,
      // A boot file in the offer: tendril takes the first offer that has one at once (it waits
      // up to 2 s for a better offer otherwise, docs/net-dhcp.md §3); busybox takes any.
      '--dhcp-boot=big.bin',
    ]);
    await pair.waitListening('tcp', 443);
    await pair.waitListening('udp', 69);
    const tendril = [process.execPath, path.join(REPO, 'bin', 'tendril.js')];
    const out = path.join(d, 'out.bin');
    const fetch = (url: string, extra: string[] = []): number =>
      timed(pair, [...tendril, 'fetch', url, '-o', out, '--max-bytes', String(SIZE * 2), ...extra]);

    const dhcp: [number[], number[]] = [[], []];
    const tftpT: [number[], number[]] = [[], []];
    const httpT: [number[], number[]] = [[], []];
    const httpsT: number[] = [];
    console.log(`${RUNS} runs each, interleaved; ${SIZE >> 20} MiB file; medians`);
    for (let i = 0; i < RUNS; i++) {
      dhcp[0].push(timed(pair, [...tendril, 'netboot', '--leases-only', '--iface', 'vc', '--timeout', '30']));
      dhcp[1].push(timed(pair, [busybox, 'udhcpc', '-q', '-n', '-f', '-i', 'vc', '-s', '/bin/true', '-t', '5']));
      tftpT[0].push(fetch(`tftp://${SERVER_IP}/big.bin`));
      tftpT[1].push(timed(pair, [busybox, 'tftp', '-g', '-r', 'big.bin', '-l', out, SERVER_IP]));
      httpT[0].push(fetch(`http://${SERVER_IP}/big.bin`));
      httpT[1].push(timed(pair, [busybox, 'wget', '-q', '-O', out, `http://${SERVER_IP}/big.bin`]));
      httpsT.push(fetch(`https://${SERVER_IP}/big.bin`, ['--ca', pki.caPem]));
    }
    line('DHCP lease (process start → lease)', dhcp[0], dhcp[1]);
    line('TFTP 64 MiB (dnsmasq)', tftpT[0], tftpT[1], SIZE);
    line('HTTP 64 MiB (nginx)', httpT[0], httpT[1], SIZE);
    const h = median(httpsT);
    const p = median(httpT[0]);
    console.log(
      `${'HTTPS vs HTTP, tendril'.padEnd(34)} https ${h.toFixed(0).padStart(6)} ms (${(SIZE / 1e6 / (h / 1000)).toFixed(1)} MB/s)   http ${p.toFixed(0).padStart(6)} ms   ratio ${(p / h).toFixed(2)}`,
    );
  } finally {
    pair.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
