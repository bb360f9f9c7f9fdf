// PXELINUX `PROXY` (docs/net-bootfiles.md §3.5), against real servers in a private namespace
// pair: dnsmasq's lease carries options 209/210 (config pxelinux.cfg/default under
// http://192.0.2.1/), nginx serves the config, a kernel over http and an initrd over https, and
// tinyproxy listens on 192.0.2.1:8888. Its log names every request it carried: the files of a
// config with PROXY go through it (an absolute URI for http, CONNECT for https); a config
// without PROXY, or a host in net.no-proxy, goes direct (nginx still serves them).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { httpsServer, nginxArgs, nginxConf } from '../../fixtures/nginx';
import { makePki, type Pki } from '../../fixtures/pki';
import { NetnsPair, SERVER_IP, pairDnsmasqArgs } from '../../fixtures/netns-pair';

let pair: NetnsPair;
let pki: Pki;
let www: string;
const PROXY = `http://${SERVER_IP}:8888/`;
const initrd = Buffer.from('070701'.padEnd(1024, '0'));

const proxyLog = (): string => fs.readFileSync(path.join(pair.dir, 'tinyproxy.log'), 'utf8');
const accessLog = (): string => fs.readFileSync(path.join(pair.dir, 'access.log'), 'utf8');

/** The config names this test's own file names, so the logs of earlier tests cannot answer for it. */
function serveConfig(tag: string, proxy: boolean): void {
  fs.copyFileSync(path.join(www, 'vmlinuz'), path.join(www, `k-${tag}`));
  fs.writeFileSync(path.join(www, `i-${tag}`), initrd);
  fs.writeFileSync(
    path.join(www, 'pxelinux.cfg', 'default'),
    `${proxy ? `PROXY ${PROXY}\n` : ''}DEFAULT linux\nLABEL linux\n  KERNEL k-${tag}\n` +
      `  INITRD https://${SERVER_IP}/i-${tag}\n  APPEND tendril.test=${tag}\n`,
  );
}

let settingsFiles = 0;
async function dryRun(extra = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const f = path.join(pair.dir, `settings-${settingsFiles++}.toml`);
  fs.writeFileSync(f, `[net]\nca = "${pki.caPem}"\ntimeout = 30\n${extra}`);
  const r = await pair.cli(['netboot', '--iface', 'vc', '--dry-run'], { TENDRIL_SETTINGS: f });
  if (process.env.SHOW) console.error(r.stdout, r.stderr);
  return r;
}

beforeAll(async () => {
  pair = new NetnsPair('pxeproxy');
  const d = pair.dir;
  pki = makePki(d, SERVER_IP);
  www = path.join(d, 'www');
  fs.mkdirSync(path.join(www, 'pxelinux.cfg'), { recursive: true });
  fs.copyFileSync(hostKernel().vmlinuz, path.join(www, 'vmlinuz'));
  fs.writeFileSync(
    path.join(d, 'nginx.conf'),
    nginxConf({
      dir: d,
      root: www,
      logFormat: '"$request" $status',
      servers: [`server { listen ${SERVER_IP}:80; }`, httpsServer(SERVER_IP, pki.leafCert, pki.leafKey)],
    }),
  );
  pair.startServer('/usr/sbin/nginx', nginxArgs(d));
  fs.writeFileSync(
    path.join(d, 'tinyproxy.conf'),
    `User root\nGroup root\nPort 8888\nListen ${SERVER_IP}\nTimeout 60\nLogFile "${d}/tinyproxy.log"\nLogLevel Info\n` +
      `PidFile "${d}/tinyproxy.pid"\nMaxClients 10\nAllow 192.0.2.0/24\nConnectPort 443\n`,
  );
  pair.startServer('/usr/bin/tinyproxy', ['-d', '-c', path.join(d, 'tinyproxy.conf')]);
  pair.startServer('/usr/sbin/dnsmasq', [
    ...pairDnsmasqArgs(d),
    '--dhcp-option-force=209,pxelinux.cfg/default',
    `--dhcp-option-force=210,http://${SERVER_IP}/`,
  ]);
  for (const port of [80, 443, 8888]) await pair.waitListening('tcp', port);
  await pair.waitListening('udp', 67);
});

afterAll(() => pair?.close());

describe('PXELINUX PROXY', () => {
  it('a config with PROXY: its kernel (http) and initrd (https, by CONNECT) go through that proxy', async () => {
    serveConfig('proxied', true);
    const r = await dryRun();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tendril.test=proxied');
    const log = proxyLog();
    expect(log).toContain(`GET http://${SERVER_IP}/k-proxied HTTP/1.1`);
    expect(log).toMatch(/CONNECT 192\.0\.2\.1:443 HTTP\/1\.1/);
    // The config itself was fetched before PROXY was read: direct.
    expect(log).not.toContain('pxelinux.cfg');
    expect(accessLog()).toContain('"GET /k-proxied HTTP/1.1" 200');
  });

  it('a config without PROXY: the same files go direct', async () => {
    serveConfig('direct', false);
    const connects = (proxyLog().match(/CONNECT /g) ?? []).length;
    const r = await dryRun();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tendril.test=direct');
    expect(accessLog()).toContain('"GET /k-direct HTTP/1.1" 200');
    expect(accessLog()).toContain('"GET /i-direct HTTP/1.1" 200');
    expect(proxyLog()).not.toContain('k-direct');
    expect((proxyLog().match(/CONNECT /g) ?? []).length).toBe(connects);
  });

  it('net.no-proxy still applies to the files a PROXY config names', async () => {
    serveConfig('exempt', true);
    const connects = (proxyLog().match(/CONNECT /g) ?? []).length;
    const r = await dryRun(`no-proxy = "${SERVER_IP}"\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tendril.test=exempt');
    expect(accessLog()).toContain('"GET /k-exempt HTTP/1.1" 200');
    expect(proxyLog()).not.toContain('k-exempt');
    expect((proxyLog().match(/CONNECT /g) ?? []).length).toBe(connects);
  });
});
