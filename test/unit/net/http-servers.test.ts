// HTTP(S) against nginx with a test CA in a private namespace pair, through the real CLI:
// the right CA downloads; a wrong CA, an expired certificate and an https→http redirect are
// refused with the reason; a connection cut mid-body is resumed with Range/If-Range (nginx logs
// the 206); a sha256 pin mismatch names both hashes; tinyproxy carries https by CONNECT and http
// by absolute URI; no_proxy bypasses a proxy; a 404 is not retried.

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutterScript } from '../../fixtures/http-cutter';
import { nginxArgs, nginxConf } from '../../fixtures/nginx';
import { makePki, type Pki } from '../../fixtures/pki';
import { NetnsPair, SERVER_IP, SERVER_IP6 } from '../../fixtures/netns-pair';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const CUT_AFTER = 1 << 20;

// Forwards 192.0.2.1:9443 to nginx's 443, cutting its first connection after CUT_AFTER bytes
// from the server (a download dropped in the middle), and a server that accepts and never answers.
const CUTTER =
  cutterScript({ host: SERVER_IP, listenPort: 9443, toPort: 443, cutAfter: CUT_AFTER }) +
  `net.createServer((c) => c.resume()).listen(9080, '${SERVER_IP}');\n`;

function siteConf(d: string, www: string, pki: Pki): string {
  const tls = (port: number, cert: string, key: string, extra = ''): string =>
    `server { listen ${SERVER_IP}:${port} ssl; ssl_certificate ${cert}; ssl_certificate_key ${key}; ${extra}}`;
  return nginxConf({
    dir: d,
    root: www,
    logFormat: '$server_port "$request" $status $body_bytes_sent range="$http_range" if_range="$http_if_range"',
    servers: [
      `server { listen ${SERVER_IP}:80; listen [${SERVER_IP6}]:80; }`,
      tls(
        443,
        pki.leafCert,
        pki.leafKey,
        `location = /downgrade { return 302 http://${SERVER_IP}/file.bin; } ` +
          'location = /hop { return 301 /file.bin; } location = /loop { return 302 /loop; } ',
      ),
      tls(8443, pki.expiredCert, pki.expiredKey),
      tls(8444, pki.futureCert, pki.futureKey),
    ],
  });
}

describe('HTTP(S) client against nginx and tinyproxy', () => {
  let pair: NetnsPair;
  let pki: Pki;
  let file: Buffer;
  let d: string;
  const accessLog = (): string => fs.readFileSync(path.join(d, 'access.log'), 'utf8');

  beforeAll(async () => {
    pair = new NetnsPair('http');
    d = pair.dir;
    pki = makePki(d, SERVER_IP);
    const www = path.join(d, 'www');
    fs.mkdirSync(www);
    file = randomBytes((4 << 20) + 77);
    fs.writeFileSync(path.join(www, 'file.bin'), file);
    // A signed SHA256SUMS beside it, and in tampered/ the same signature over a changed list.
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'release@test', '-f', path.join(d, 'release')]);
    fs.writeFileSync(path.join(www, 'SHA256SUMS'), `${sha(file)}  file.bin\n`);
    execFileSync('ssh-keygen', [
      '-q',
      '-Y',
      'sign',
      '-f',
      path.join(d, 'release'),
      '-n',
      'file',
      path.join(www, 'SHA256SUMS'),
    ]);
    fs.mkdirSync(path.join(www, 'tampered'));
    fs.writeFileSync(path.join(www, 'tampered', 'SHA256SUMS'), `${'0'.repeat(64)}  file.bin\n`);
    fs.copyFileSync(path.join(www, 'SHA256SUMS.sig'), path.join(www, 'tampered', 'SHA256SUMS.sig'));
    fs.writeFileSync(path.join(d, 'nginx.conf'), siteConf(d, www, pki));
    pair.startServer('/usr/sbin/nginx', nginxArgs(d));
    fs.writeFileSync(path.join(d, 'cutter.js'), CUTTER);
    pair.startServer(process.execPath, [path.join(d, 'cutter.js')]);
    fs.writeFileSync(
      path.join(d, 'tinyproxy.conf'),
      `User root\nGroup root\nPort 8888\nListen ${SERVER_IP}\nTimeout 60\nLogFile "${d}/tinyproxy.log"\nLogLevel Info\n` +
        `PidFile "${d}/tinyproxy.pid"\nMaxClients 10\nAllow 192.0.2.0/24\nConnectPort 443\n`,
    );
    pair.startServer('/usr/bin/tinyproxy', ['-d', '-c', path.join(d, 'tinyproxy.conf')]);
    for (const port of [80, 443, 8443, 8444, 9443, 9080, 8888]) await pair.waitListening('tcp', port);
  });

  afterAll(() => pair?.close());

  const expectOk = (r: { code: number | null; stdout: string; stderr: string }, url: string): void => {
    expect(r.stderr).not.toMatch(/tendril fetch:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${url} ${file.length} ${sha(file)}\n`);
  };

  it('downloads over https with the right CA and writes -o FILE', async () => {
    const out = path.join(d, 'out.bin');
    const r = await pair.cli(['fetch', `https://${SERVER_IP}/file.bin`, '--ca', pki.caPem, '-o', out]);
    expectOk(r, `https://${SERVER_IP}/file.bin`);
    expect(sha(fs.readFileSync(out))).toBe(sha(file));
  });

  it('follows a same-scheme redirect and reports the final URL', async () => {
    const r = await pair.cli(['fetch', `https://${SERVER_IP}/hop`, '--ca', pki.caPem]);
    expectOk(r, `https://${SERVER_IP}/file.bin`);
  });

  it('downloads over http from an IPv6 literal', async () => {
    expectOk(await pair.cli(['fetch', `http://[${SERVER_IP6}]/file.bin`]), `http://[${SERVER_IP6}]/file.bin`);
  });

  it('refuses a certificate from another CA, naming the CA bundle', async () => {
    const r = await pair.cli(['fetch', `https://${SERVER_IP}/file.bin`, '--ca', pki.otherCaPem]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`tendril fetch: https://${SERVER_IP}/file.bin: certificate of ${SERVER_IP} refused (`);
    expect(r.stderr).toContain(`not signed by CA bundle ${pki.otherCaPem}`);
    expect(r.stdout).toBe('');
  });

  it('refuses an expired certificate and says what the local clock is', async () => {
    const r = await pair.cli(['fetch', `https://${SERVER_IP}:8443/file.bin`, '--ca', pki.caPem]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/certificate of 192\.0\.2\.1 refused \(CERT_HAS_EXPIRED: certificate has expired\)/);
    expect(r.stderr).toMatch(/the local clock says \d{4}-\d\d-\d\dT/);
  });

  it('refuses a certificate not valid yet and says what the local clock is', async () => {
    const r = await pair.cli(['fetch', `https://${SERVER_IP}:8444/file.bin`, '--ca', pki.caPem]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /certificate of 192\.0\.2\.1 refused \(CERT_NOT_YET_VALID: certificate is not yet valid\)/,
    );
    expect(r.stderr).toMatch(/the local clock says \d{4}-\d\d-\d\dT.*set the time \(SNTP\)/);
  });

  it('refuses an https→http redirect', async () => {
    const plain = (): number => (accessLog().match(/^80 "GET /gm) ?? []).length;
    const before = plain();
    const r = await pair.cli(['fetch', `https://${SERVER_IP}/downgrade`, '--ca', pki.caPem]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `https://${SERVER_IP}/downgrade: redirect to http://${SERVER_IP}/file.bin refused: https must not be downgraded to http`,
    );
    expect(plain()).toBe(before); // nothing was asked over http
  });

  it('stops after 5 redirects', async () => {
    const r = await pair.cli(['fetch', `https://${SERVER_IP}/loop`, '--ca', pki.caPem]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('more than 5 redirects');
    expect(accessLog().match(/^443 "GET \/loop /gm)).toHaveLength(6);
  });

  it('resumes a download cut mid-body with Range and If-Range; nginx answers 206', async () => {
    const r = await pair.cli(['fetch', '--verbose', `https://${SERVER_IP}:9443/file.bin`, '--ca', pki.caPem]);
    expectOk(r, `https://${SERVER_IP}:9443/file.bin`);
    const m = /resumed at byte (\d+) \(HTTP 206/.exec(r.stderr);
    expect(m).not.toBeNull();
    const at = Number(m![1]);
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(CUT_AFTER);
    // One cut, one resume: the rest arrived in the 206.
    expect(r.stderr.match(/resumed at byte/g)).toHaveLength(1);
    const etag = /if_range="\\x22[0-9a-f]+-[0-9a-f]+\\x22"/; // nginx escapes the quotes
    const line = accessLog()
      .split('\n')
      .find((l) => l.includes(`range="bytes=${at}-"`));
    expect(line).toMatch(new RegExp(`^443 "GET /file\\.bin HTTP/1\\.1" 206 ${file.length - at} `));
    expect(line).toMatch(etag);
  });

  it('names expected and actual hash on a sha256 mismatch', async () => {
    const pin = 'ab'.repeat(32);
    const r = await pair.cli(['fetch', `https://${SERVER_IP}/file.bin`, '--ca', pki.caPem, '--sha256', pin]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`https://${SERVER_IP}/file.bin: sha256 mismatch: expected ${pin}, got ${sha(file)}`);
  });

  it('refuses a file over --max-bytes from its Content-Length', async () => {
    const r = await pair.cli(['fetch', `http://${SERVER_IP}/file.bin`, '--max-bytes', '1M']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`server announced ${file.length} bytes, more than the limit of 1048576 bytes`);
  });

  it('does not retry a 404', async () => {
    const r = await pair.cli(['fetch', `http://${SERVER_IP}/missing.bin`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`http://${SERVER_IP}/missing.bin: HTTP 404 Not Found`);
    expect(accessLog().match(/"GET \/missing\.bin /g)).toHaveLength(1);
  });

  it('goes through tinyproxy: CONNECT for https, an absolute URI for http', async () => {
    const env = { https_proxy: `http://${SERVER_IP}:8888`, http_proxy: `http://${SERVER_IP}:8888` };
    expectOk(
      await pair.cli(['fetch', `https://${SERVER_IP}/file.bin`, '--ca', pki.caPem], env),
      `https://${SERVER_IP}/file.bin`,
    );
    expectOk(
      await pair.cli(['fetch', `http://${SERVER_IP}/file.bin?via=proxy`], env),
      `http://${SERVER_IP}/file.bin?via=proxy`,
    );
    const log = fs.readFileSync(path.join(d, 'tinyproxy.log'), 'utf8');
    expect(log).toMatch(/CONNECT 192\.0\.2\.1:443 HTTP\/1\.1/);
    expect(log).toMatch(/GET http:\/\/192\.0\.2\.1\/file\.bin\?via=proxy HTTP\/1\.1/);
  });

  it('no_proxy bypasses a (dead) proxy', async () => {
    const env = { https_proxy: 'http://192.0.2.1:1', no_proxy: 'example.com,192.0.2.1' };
    expectOk(
      await pair.cli(['fetch', `https://${SERVER_IP}/file.bin`, '--ca', pki.caPem], env),
      `https://${SERVER_IP}/file.bin`,
    );
    const r = await pair.cli(['fetch', `https://${SERVER_IP}/file.bin`, '--ca', pki.caPem], {
      https_proxy: 'http://192.0.2.1:1',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/connect to 192\.0\.2\.1:1: ECONNREFUSED \(gave up after 5 attempts\)/);
  });

  it('pins the file from a SHA256SUMS signed with ssh-keygen -Y sign; a changed list is refused', async () => {
    const keys = path.join(d, 'release.pub');
    const args = ['fetch', `https://${SERVER_IP}/file.bin`, '--ca', pki.caPem, '--trusted-keys', keys];
    const downloads = (): number => (accessLog().match(/"GET \/file\.bin /g) ?? []).length;
    const ok = await pair.cli([...args, '--sums', `https://${SERVER_IP}/SHA256SUMS`]);
    expectOk(ok, `https://${SERVER_IP}/file.bin`);
    expect(ok.stderr).toMatch(/SHA256SUMS: signature by SHA256:\S+ \(release@test\) verified/);
    const before = downloads();
    const bad = await pair.cli([...args, '--sums', `https://${SERVER_IP}/tampered/SHA256SUMS`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/tampered\/SHA256SUMS: signature by SHA256:\S+ does not match the file/);
    expect(downloads()).toBe(before); // refused before the file was requested
  });

  it('gives up on a silent server after the idle deadline, and on a black-holed port after the connect deadline', async () => {
    const idle = await pair.cli([
      'fetch',
      `http://${SERVER_IP}:9080/file.bin`,
      '--idle-timeout',
      '0.5',
      '--retries',
      '1',
    ]);
    expect(idle.code).toBe(1);
    expect(idle.stderr).toBe(
      `tendril fetch: http://${SERVER_IP}:9080/file.bin: no data from ${SERVER_IP} for 500 ms (gave up after 2 attempts)\n`,
    );
    fs.writeFileSync(
      path.join(d, 'blackhole.nft'),
      'table inet blackhole { chain i { type filter hook input priority 0; tcp dport 9081 drop; }; }\n',
    );
    pair.serverExec('nft', ['-f', path.join(d, 'blackhole.nft')]);
    try {
      const r = await pair.cli(['fetch', `https://${SERVER_IP}:9081/f`, '--connect-timeout', '0.5', '--retries', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `tendril fetch: https://${SERVER_IP}:9081/f: connect to ${SERVER_IP}:9081 took longer than 500 ms (gave up after 1 attempt)\n`,
      );
    } finally {
      pair.serverExec('nft', ['delete', 'table', 'inet', 'blackhole']);
    }
  });
});
