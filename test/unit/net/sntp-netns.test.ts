// SNTP against a real server: chronyd from Debian in the server namespace (its own config, `-x`
// so it never touches this machine's clock, `local stratum 8` so it serves without upstream), and
// dnsmasq naming it in DHCP option 42. tendril's CLI in the client namespace, check mode (a test
// must not set the clock), reports an offset near zero and chronyd's stratum; over IPv6 too; and
// with the server black-holed (nft drop) the failure names the server.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDnsmasqArgs } from '../../fixtures/demo-net';
import { CHRONY_STRATUM, chronydArgs, CHRONYD, requireChronyd } from '../../fixtures/chrony';
import { NetnsPair, SERVER_IP, SERVER_IP6 } from '../../fixtures/netns-pair';

let pair: NetnsPair;

interface ClockJson {
  readonly line: string;
  readonly level: string;
  readonly stepped: boolean;
  readonly offsetMs?: number;
  readonly sample?: { server: string; address: string; stratum: number; delayMs: number };
}

async function leasesOnly(settings: string, extra: string[] = []): Promise<{ code: number | null; clock: ClockJson }> {
  const f = path.join(pair.dir, `settings-${Math.random().toString(36).slice(2)}.toml`);
  fs.writeFileSync(f, `[net]\ntimeout = 30\n${settings}`);
  const r = await pair.cli(['netboot', '--iface', 'vc', '--leases-only', '--json', ...extra], { TENDRIL_SETTINGS: f });
  if (process.env.SHOW) console.error(r.stdout, r.stderr);
  const j = JSON.parse(r.stdout) as { clock: ClockJson };
  return { code: r.code, clock: j.clock };
}

beforeAll(async () => {
  requireChronyd();
  pair = new NetnsPair('sntp');
  const d = pair.dir;
  pair.startServer(CHRONYD, chronydArgs(d));
  pair.startServer('/usr/sbin/dnsmasq', [...demoDnsmasqArgs('vs', d), `--dhcp-option=option:ntp-server,${SERVER_IP}`]);
  await pair.waitListening('udp', 123);
  await pair.waitListening('udp', 67);
});

afterAll(() => pair?.close());

describe('SNTP against chronyd in a namespace', () => {
  it('DHCP option 42 names chronyd; check mode reports an offset ≈ 0 and its stratum 8, and leaves the clock', async () => {
    const before = Date.now();
    const r = await leasesOnly('clock = "check"\n');
    expect(r.code).toBe(0);
    expect(r.clock.sample).toMatchObject({ server: SERVER_IP, address: SERVER_IP, stratum: CHRONY_STRATUM });
    // Same host clock on both sides of the veth: only the measurement's own error remains.
    expect(Math.abs(r.clock.offsetMs!)).toBeLessThan(500);
    expect(r.clock.stepped).toBe(false);
    expect(r.clock.line).toMatch(
      /^clock: off by [+-]0\.\d{3} s from 192\.0\.2\.1, stratum 8, delay [\d.]+ ms \(check only\)$/,
    );
    expect(Date.now()).toBeGreaterThanOrEqual(before);
  });

  it('net.ntp over IPv6 (bracketed literal) reaches chronyd through udp6', async () => {
    const r = await leasesOnly(`clock = "check"\nntp = ["[${SERVER_IP6}]"]\n`, [
      '--ip',
      '192.0.2.2::192.0.2.1:24::vc:none',
    ]);
    expect(r.code).toBe(0);
    expect(r.clock.sample).toMatchObject({ server: `[${SERVER_IP6}]`, address: SERVER_IP6, stratum: CHRONY_STRATUM });
    expect(Math.abs(r.clock.offsetMs!)).toBeLessThan(500);
  });

  it('net.clock = off asks nobody', async () => {
    const r = await leasesOnly('clock = "off"\n');
    expect(r.clock.line).toBe('clock: not checked (net.clock = off)');
    expect(r.clock.sample).toBeUndefined();
  });

  it('a black-holed server (nft drop udp/123) times out, named; the lease stage still succeeds', async () => {
    pair.serverExec('nft', ['add table inet sntpdrop']);
    pair.serverExec('nft', ['add chain inet sntpdrop in { type filter hook input priority 0; }']);
    pair.serverExec('nft', ['add rule inet sntpdrop in udp dport 123 drop']);
    try {
      const r = await leasesOnly('clock = "check"\n');
      expect(r.code).toBe(0);
      expect(r.clock.level).toBe('warn');
      expect(r.clock.line).toBe(
        `clock: no usable NTP reply, the clock stays as it is: NTP server ${SERVER_IP}: no reply within 3000 ms`,
      );
    } finally {
      pair.serverExec('nft', ['delete table inet sntpdrop']);
    }
  });
});
