// Network boot failures end to end, in QEMU with the product initramfs (tendril.mode=netboot) on a
// tap device in a private namespace beside dnsmasq, nginx (the owner's CA baked into the
// initramfs, plus servers it does not vouch for), atftpd and a relay that cuts a download.
// Two guest boots, one per MAC (dnsmasq tags give each its own iPXE script):
//
//  1. a menu whose items chain a UKI over https from a server another CA signed, one with an
//     expired and one with a not-yet-valid certificate, and behind an https→http redirect, plus a
//     kernel whose initrd is one byte off its [net.pins] sha256, and last the UKI over https with
//     the right CA. Each refusal is on the console with its reason; only the last one boots.
//  2. the kernel over TFTP with 10 % of the UDP packets dropped both ways (nft on tap0) and a
//     12 MiB initrd over HTTP whose first connection is cut at 10 MiB: the bytes still arrive
//     identical (pins checked by tendril, the target's own sha256), and nginx logs the 206 with
//     the Range the resume asked for.

import { X509Certificate, createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { cpioArchive } from '../../initramfs/cpio';
import { LOG_DIR, productInitramfs, runQemu, targetInitrds, targetReport, type QemuRun } from '../fixtures/boot';
import { cutterScript } from '../fixtures/http-cutter';
import { CACHE_DIR } from '../fixtures/images';
import { nginxArgs, nginxConf } from '../fixtures/nginx';
import { makePki, pkiPaths, type Pki } from '../fixtures/pki';
import { TAP_SERVER as S, TapNamespace } from '../fixtures/tap-net';
import { buildUki } from '../fixtures/uki';

const MAC_FAIL = '52:54:00:12:35:01';
const MAC_LOSSY = '52:54:00:12:35:02';
const CUT_AT = 10 << 20;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const URLS = {
  stranger: `https://${S}:8443/target.uki`,
  expired: `https://${S}:8444/target.uki`,
  future: `https://${S}:8445/target.uki`,
  redirect: `https://${S}/redirect.uki`,
  good: `https://${S}/target.uki`,
  flipped: `https://${S}/initrd-flipped.img`,
  tftpKernel: `tftp://${S}:1069/vmlinuz`,
  big: `http://${S}:9080/initrd-big.img`,
} as const;

const FAIL_SCRIPT = `#!ipxe
menu refusals, then the right server
item stranger UKI from a server another CA signed
item expired UKI from a server with an expired certificate
item future UKI from a server whose certificate is not valid yet
item redirect UKI behind an https to http redirect
item flipped Kernel with an initrd one byte off its pin
item good UKI over https with the right CA
choose --default flipped target || exit
goto \${target}
:stranger
chain ${URLS.stranger}
:expired
chain ${URLS.expired}
:future
chain ${URLS.future}
:redirect
chain ${URLS.redirect}
:flipped
kernel https://${S}/vmlinuz tendril.test=flipped
initrd https://${S}/initrd-main.img
initrd ${URLS.flipped}
boot
:good
chain ${URLS.good}
`;

const LOSSY_SCRIPT = `#!ipxe
kernel ${URLS.tftpKernel} tendril.test=lossy
initrd https://${S}/initrd-main.img
initrd ${URLS.big}
boot
`;

interface Site {
  readonly www: string;
  readonly tftp: string;
  readonly pki: Pki;
  readonly main: Uint8Array;
  readonly flipped: Uint8Array;
  readonly big: Uint8Array;
  readonly bigPayload: Uint8Array;
  readonly kernel: Uint8Array;
  readonly settings: string;
}

/** The served files, the PKI (kept while valid, so the baked CA and the initramfs stay cached) and tendril.toml. */
function site(): Site {
  const dir = path.join(CACHE_DIR, 'netboot-failures');
  const caFile = path.join(dir, 'pki', 'test-ca.pem');
  const fresh =
    fs.existsSync(path.join(dir, 'pki', 'stranger.pem')) &&
    Date.parse(new X509Certificate(fs.readFileSync(caFile)).validTo) > Date.now() + 86_400_000;
  if (!fresh) {
    fs.rmSync(path.join(dir, 'pki'), { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
  }
  const pki = fresh ? pkiPaths(path.join(dir, 'pki')) : makePki(dir, S, 365);
  const www = path.join(dir, 'www');
  const tftp = path.join(dir, 'tftp');
  fs.mkdirSync(www, { recursive: true });
  fs.mkdirSync(tftp, { recursive: true });
  const put = (f: string, data: Uint8Array | string): void => {
    if (!fs.existsSync(f) || !fs.readFileSync(f).equals(Buffer.from(data))) fs.writeFileSync(f, data);
  };
  const t = targetInitrds();
  const kernel = fs.readFileSync(hostKernel().vmlinuz);
  const flipped = Buffer.from(t.main);
  flipped[flipped.length >> 1]! ^= 0x01;
  // 12 MiB that do not compress and are the same every run (the pins are baked into the initramfs).
  const bigPayload = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16)).update(
    Buffer.alloc(12 << 20),
  );
  const big = cpioArchive([{ kind: 'file', path: 'payload-big.bin', data: bigPayload }]);
  // The gzip piece's length is arbitrary: the next cpio must start 4-byte aligned.
  const pad = Buffer.alloc((4 - (t.main.length % 4)) % 4);
  const uki = buildUki({
    cmdline: 'tendril.test=uki-https',
    initrd: Buffer.concat([t.main, pad, t.second]),
  });
  put(path.join(www, 'target.uki'), fs.readFileSync(uki));
  put(path.join(www, 'vmlinuz'), kernel);
  put(path.join(www, 'initrd-main.img'), t.main);
  put(path.join(www, 'initrd-flipped.img'), flipped);
  put(path.join(www, 'initrd-big.img'), big);
  put(path.join(www, 'fail.ipxe'), FAIL_SCRIPT);
  put(path.join(www, 'lossy.ipxe'), LOSSY_SCRIPT);
  put(path.join(tftp, 'vmlinuz'), kernel);
  const settings = path.join(dir, 'tendril.toml');
  put(
    settings,
    '[net]\ntimeout = 60\n[net.pins]\n' +
      `"${URLS.flipped}" = "${sha(t.main)}"\n` +
      `"${URLS.tftpKernel}" = "${sha(kernel)}"\n` +
      `"${URLS.big}" = "${sha(big)}"\n`,
  );
  return { www, tftp, pki, main: t.main, flipped, big, bigPayload, kernel, settings };
}

function nginxSite(net: TapNamespace, s: Site): string {
  const tls = (port: number, cert: string, key: string, extra = ''): string =>
    `server { listen ${S}:${port} ssl; ssl_certificate ${cert}; ssl_certificate_key ${key}; ${extra}}`;
  return nginxConf({
    dir: net.dir,
    root: s.www,
    logFormat: '$server_port "$request" $status $body_bytes_sent range="$http_range"',
    servers: [
      `server { listen ${S}:80; }`,
      tls(443, s.pki.leafCert, s.pki.leafKey, `location = /redirect.uki { return 301 http://${S}/target.uki; } `),
      tls(8443, s.pki.strangerCert, s.pki.strangerKey),
      tls(8444, s.pki.expiredCert, s.pki.expiredKey),
      tls(8445, s.pki.futureCert, s.pki.futureKey),
    ],
  });
}

function dnsmasqArgs(d: string): string[] {
  return [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--port=0',
    '--interface=tap0',
    '--bind-interfaces',
    '--no-ping',
    '--log-dhcp',
    `--log-facility=${d}/dnsmasq.log`,
    `--dhcp-leasefile=${d}/leases`,
    `--pid-file=${d}/dnsmasq.pid`,
    '--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,1h',
    `--dhcp-host=${MAC_FAIL},set:fail`,
    `--dhcp-host=${MAC_LOSSY},set:lossy`,
    `--dhcp-boot=tag:fail,https://${S}/fail.ipxe`,
    // Over http: a script fetched over https may not name a tftp file (no downgrade).
    `--dhcp-boot=tag:lossy,http://${S}/lossy.ipxe`,
  ];
}

// 10 % of the UDP packets either way on tap0, DHCP and DNS spared (their own retries are slow
// and not what is tested). At the netdev hooks, so the servers' send() never sees an error.
const LOSS_RULES = `table netdev loss {
  chain e { type filter hook egress device "tap0" priority 0; ip protocol udp udp sport != { 53, 67, 68 } udp dport != { 53, 67, 68 } numgen random mod 10 == 0 counter drop; }
  chain i { type filter hook ingress device "tap0" priority 0; ip protocol udp udp sport != { 53, 67, 68 } udp dport != { 53, 67, 68 } numgen random mod 10 == 0 counter drop; }
}
`;

let s: Site;
let fail: QemuRun;
let lossy: QemuRun;
let failLog = '';
let lossyLog = '';
let dropped: number[] = [];

function boot(net: TapNamespace, initramfs: string, mac: string, name: string): Promise<QemuRun> {
  return runQemu({
    kernel: hostKernel().vmlinuz,
    initrd: initramfs,
    append: 'console=ttyS0 quiet tendril.mode=netboot',
    disks: [],
    timeoutMs: 600_000,
    // The target's end, or tendril's rescue shell after it gave up.
    until: /TARGET-DONE|tendril: rescue shell/,
    logFile: path.join(LOG_DIR, `${name}.log`),
    prefix: net.qemuPrefix,
    extra: TapNamespace.qemuNic(mac),
  });
}

let net: TapNamespace | undefined;
afterAll(() => net?.close());

beforeAll(async () => {
  s = site();
  const initramfs = productInitramfs('zstd', 'squashfs', s.pki.caPem, s.settings);
  net = new TapNamespace('nbfail');
  const d = net.dir;
  fs.writeFileSync(path.join(d, 'nginx.conf'), nginxSite(net, s));
  net.start('/usr/sbin/nginx', nginxArgs(d));
  net.start('/usr/sbin/dnsmasq', dnsmasqArgs(d));
  net.start('/usr/sbin/atftpd', [
    ...['--daemon', '--no-fork', '--port', '1069', '--bind-address', S, '--user', 'root', '--group', 'root'],
    ...['--logfile', `${d}/atftpd.log`, s.tftp],
  ]);
  fs.writeFileSync(
    path.join(d, 'cutter.js'),
    cutterScript({ host: S, listenPort: 9080, toPort: 80, cutAfter: CUT_AT }),
  );
  net.start(process.execPath, [path.join(d, 'cutter.js')]);
  for (const port of [80, 443, 8443, 8444, 8445, 9080]) await net.waitListening('tcp', port);
  for (const port of [67, 1069]) await net.waitListening('udp', port);

  // Sequential: two TCG guests at once would only share the same two cores.
  fail = await boot(net, initramfs, MAC_FAIL, 'netboot-failures-refusals');
  failLog = net.read('access.log');

  fs.writeFileSync(path.join(d, 'loss.nft'), LOSS_RULES);
  net.exec('nft', ['-f', path.join(d, 'loss.nft')]);
  lossy = await boot(net, initramfs, MAC_LOSSY, 'netboot-failures-lossy');
  const counters = net.exec('nft', ['list', 'table', 'netdev', 'loss']);
  dropped = [...counters.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
  lossyLog = net.read('access.log').slice(failLog.length);
  fs.writeFileSync(path.join(LOG_DIR, 'netboot-failures-nginx.log'), failLog + lossyLog);
}, 1_500_000);

/** The titles of the entries tendril loaded (its `loading '<title>' (...) with kexec_file_load` lines). */
const loaded = (output: string): string[] => [...output.matchAll(/tendril: loading '([^']*)'/g)].map((m) => m[1]!);

/** The lines of nginx's access log for one port and path. */
const logLines = (log: string, port: number, p: string): string[] =>
  log.split('\n').filter((l) => l.startsWith(`${port} "GET ${p} `));

describe("https refusals in the guest: nothing is kexec'd and the reason is on the console", () => {
  const show = (): void => void console.error(fail.output.slice(-8000));

  it('the UKI over https with the right CA boots (after every refused item was passed over)', () => {
    const r = targetReport(fail.output);
    if (!r.booted) show();
    expect(fail.timedOut).toBe(false);
    expect(r.booted).toBe(true);
    // Only the good item's command line reached a kernel: no refused item was kexec'd.
    expect(r.cmdline).toContain('tendril.test=uki-https');
    expect(r.cmdline).not.toContain('tendril.test=flipped');
    expect(r.files['/second-initrd-marker']).toBe('second-piece-arrived');
    // tendril announces every kexec_file_load: the good item's is the only one.
    expect(loaded(fail.output)).toEqual([`iPXE: UKI over https with the right CA (${S})`]);
    expect(logLines(failLog, 443, '/target.uki').some((l) => / 200 /.test(l))).toBe(true);
  });

  it('a server whose certificate another CA signed: refused, naming the URL and the CA bundle', () => {
    expect(fail.output).toMatch(
      /https:\/\/192\.0\.2\.1:8443\/target\.uki.*certificate of 192\.0\.2\.1 refused \(\w+: [^)]*\); not signed by CA bundle \/etc\/tendril\/netboot-ca\.pem/,
    );
    // The handshake failed: nginx never got the request.
    expect(logLines(failLog, 8443, '/target.uki')).toEqual([]);
  });

  it('an expired and a not-yet-valid certificate: refused, naming the clock', () => {
    expect(fail.output).toMatch(
      /https:\/\/192\.0\.2\.1:8444\/target\.uki.*refused \(CERT_HAS_EXPIRED: [^)]*\); the local clock says 20\d\d-/,
    );
    expect(fail.output).toMatch(
      /https:\/\/192\.0\.2\.1:8445\/target\.uki.*refused \(CERT_NOT_YET_VALID: [^)]*\); the local clock says 20\d\d-/,
    );
    expect(logLines(failLog, 8444, '/target.uki')).toEqual([]);
    expect(logLines(failLog, 8445, '/target.uki')).toEqual([]);
  });

  it('an https→http redirect: refused, and the http URL is never asked for', () => {
    expect(fail.output).toContain(
      `${URLS.redirect}: redirect to http://${S}/target.uki refused: https must not be downgraded to http`,
    );
    expect(logLines(failLog, 443, '/redirect.uki').some((l) => / 301 /.test(l))).toBe(true);
    expect(logLines(failLog, 80, '/target.uki')).toEqual([]);
  });

  it('an initrd one byte off its pin: refused, naming the URL, the pinned and the served sha256', () => {
    expect(fail.output).toContain(`${URLS.flipped}: sha256 mismatch: expected ${sha(s.main)}, got ${sha(s.flipped)}`);
    // It was tried (it is the menu's default), then the next entry.
    expect(fail.output).toMatch(/tendril: trying next entry '[^']*good'/);
    // Refused before loading: no kexec_file_load for it.
    expect(fail.output).not.toMatch(/tendril: loading 'iPXE: Kernel with an initrd/);
  });
});

describe('a lossy TFTP and a cut HTTP download in the guest still deliver identical bytes', () => {
  it('the kernel over TFTP with 10 % loss and the cut initrd boot; the target got the same bytes', () => {
    const r = targetReport(lossy.output);
    if (!r.booted) console.error(lossy.output.slice(-8000));
    expect(lossy.timedOut).toBe(false);
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('tendril.test=lossy');
    expect(loaded(lossy.output)).toEqual([`iPXE: lossy.ipxe (${S})`]);
    // The pins (kernel over TFTP, big initrd) held in tendril (the flipped initrd above shows this
    // initramfs enforces them), and the target hashed its piece itself.
    expect(lossy.output).not.toContain('sha256 mismatch');
    expect(r.sha256['/payload-big.bin']).toBe(sha(s.bigPayload));
  });

  it('packets were lost both ways while it ran', () => {
    expect(dropped).toHaveLength(2);
    for (const n of dropped) expect(n).toBeGreaterThan(0);
  });

  it('the cut download was resumed: nginx logs a 206 for the rest, from the byte the cut left off', () => {
    const lines = logLines(lossyLog, 80, '/initrd-big.img');
    const resumed = lines.map((l) => / 206 (\d+) range="bytes=(\d+)-"$/.exec(l)).find((m) => m !== null);
    if (!resumed) console.error(lossyLog);
    expect(resumed).toBeDefined();
    const [sent, from] = [Number(resumed![1]), Number(resumed![2])];
    // The cut came at 10 MiB of the stream (headers included), so the body stopped just short of it.
    expect(from).toBeGreaterThan(CUT_AT - 4096);
    expect(from).toBeLessThanOrEqual(CUT_AT);
    expect(sent).toBe(s.big.length - from);
  });
});
