// The SNTP client against scripted UDP responders on loopback (the replies chronyd never sends:
// kiss-o'-death, forged originates, silence), and the clock policy on top of it. The real
// server (chronyd) is in sntp-netns.test.ts.

import * as dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { clockMode, ntpServers, syncClock } from '../../../src/net/clock';
import { querySntp, SntpError, sntpRound } from '../../../src/net/sntp/client';
import { decodeNtp, encodeNtp, MODE, ntpFromMs, type NtpPacket } from '../../../src/net/sntp/packet';
import type { Lease } from '../../../src/net/types';

const sockets: dgram.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

/** A UDP server on loopback that answers each request with what `reply` makes of it (nothing when undefined). */
async function responder(
  type: 'udp4' | 'udp6',
  reply: (req: NtpPacket) => Uint8Array[] | undefined,
  host = type === 'udp4' ? '127.0.0.1' : '::1',
  port = 0,
): Promise<{ host: string; port: number; requests: () => number }> {
  const s = dgram.createSocket(type);
  sockets.push(s);
  let n = 0;
  s.on('message', (msg, rinfo) => {
    n++;
    for (const out of reply(decodeNtp(msg)) ?? []) s.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(port, host, r));
  return { host, port: s.address().port, requests: () => n };
}

/** A server whose clock is `skewMs` ahead of ours, at stratum `stratum`. */
const honest =
  (skewMs: number, stratum = 2) =>
  (req: NtpPacket): Uint8Array[] => {
    const t = ntpFromMs(Date.now() + skewMs);
    return [encodeNtp({ mode: MODE.SERVER, stratum, originate: req.transmit, receive: t, transmit: t })];
  };

describe('querySntp', () => {
  it.each(['udp4', 'udp6'] as const)('%s: an honest server an hour ahead gives offset ≈ +1 h', async (type) => {
    const srv = await responder(type, honest(3_600_000, 3));
    const s = await querySntp(type === 'udp6' ? `[${srv.host}]` : srv.host, { timeoutMs: 2000, port: srv.port });
    expect(s.stratum).toBe(3);
    expect(s.version).toBe(4);
    expect(s.address).toBe(srv.host);
    expect(Math.abs(s.offsetMs - 3_600_000)).toBeLessThan(1000);
    expect(s.delayMs).toBeGreaterThanOrEqual(0);
  });

  it("a kiss-o'-death is an error naming the server and the code", async () => {
    const srv = await responder('udp4', (req) => [
      encodeNtp({ mode: MODE.SERVER, stratum: 0, refId: Buffer.from('DENY'), originate: req.transmit }),
    ]);
    const e = await querySntp(srv.host, { timeoutMs: 2000, port: srv.port }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SntpError);
    expect((e as SntpError).failure).toBe('kiss-o-death');
    expect((e as Error).message).toBe(`NTP server ${srv.host}: kiss-o'-death DENY (access denied)`);
  });

  it('drops a reply to no request of ours and a runt, and takes the genuine one after them', async () => {
    const srv = await responder('udp4', (req) => {
      const forged = encodeNtp({
        mode: MODE.SERVER,
        stratum: 1,
        originate: { sec: req.transmit.sec, frac: (req.transmit.frac + 1) >>> 0 },
        receive: ntpFromMs(Date.parse('2001-01-01')),
        transmit: ntpFromMs(Date.parse('2001-01-01')),
      });
      return [forged, new Uint8Array(10), ...honest(0, 4)(req)];
    });
    const s = await querySntp(srv.host, { timeoutMs: 2000, port: srv.port });
    expect(s.stratum).toBe(4);
    expect(Math.abs(s.offsetMs)).toBeLessThan(1000);
  });

  it('a server that never answers times out, named, after a second request', async () => {
    const srv = await responder('udp4', () => undefined);
    const e = await querySntp(srv.host, { timeoutMs: 600, port: srv.port }).catch((x: unknown) => x);
    expect((e as SntpError).failure).toBe('timeout');
    expect((e as Error).message).toBe(`NTP server ${srv.host}: no reply within 600 ms`);
    expect(srv.requests()).toBe(2);
  });

  it('counts forged replies in the timeout message', async () => {
    const srv = await responder('udp4', () => [encodeNtp({ mode: MODE.SERVER, stratum: 2 })]);
    const e = await querySntp(srv.host, { timeoutMs: 600, port: srv.port }).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/no reply within 600 ms \(2 unusable datagrams ignored\)$/);
  });

  it('a closed port is "nothing answers", not a timeout', async () => {
    const srv = await responder('udp4', () => undefined);
    const port = srv.port;
    sockets.pop()!.close();
    const e = await querySntp('127.0.0.1', { timeoutMs: 2000, port }).catch((x: unknown) => x);
    expect((e as SntpError).failure).toBe('refused');
    expect((e as Error).message).toContain(`nothing answers on udp/${port}`);
  });

  it('a name that does not resolve is named', async () => {
    const e = await querySntp('no-such-host.invalid', { timeoutMs: 2000 }).catch((x: unknown) => x);
    expect((e as SntpError).failure).toBe('resolve');
    expect((e as Error).message).toMatch(/^NTP server no-such-host\.invalid: cannot resolve the name/);
  });
});

describe('sntpRound and syncClock', () => {
  it('asks every server and takes the lowest delay; the failures are kept, named', async () => {
    // Three loopback addresses on one port: near (stratum 5), far (its timestamps claim 500 ms
    // more round trip, stratum 1) and one that refuses with a kiss-o'-death.
    const near = await responder('udp4', honest(50_000, 5));
    const far = await responder(
      'udp4',
      (req) => {
        const t3 = ntpFromMs(Date.now() + 50_000);
        const t2 = ntpFromMs(Date.now() + 50_500);
        return [encodeNtp({ mode: MODE.SERVER, stratum: 1, originate: req.transmit, receive: t2, transmit: t3 })];
      },
      '127.0.0.2',
      near.port,
    );
    const kod = await responder(
      'udp4',
      (req) => [encodeNtp({ mode: MODE.SERVER, stratum: 0, refId: Buffer.from('RATE'), originate: req.transmit })],
      '127.0.0.3',
      near.port,
    );
    const r = await sntpRound([far.host, kod.host, near.host, near.host], { timeoutMs: 1500, port: near.port });
    expect(r.samples.map((x) => x.server).sort()).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(r.samples.find((x) => x.server === '127.0.0.2')!.delayMs).toBeGreaterThanOrEqual(499);
    expect(r.best?.server).toBe('127.0.0.1');
    expect(r.best?.stratum).toBe(5);
    expect(r.errors.map((e) => e.message)).toEqual([`NTP server 127.0.0.3: kiss-o'-death RATE (rate exceeded)`]);
  });

  it('set: steps by the offset through the injected setter; check: only reports', async () => {
    const srv = await responder('udp4', honest(-7_200_000));
    const calls: number[] = [];
    const set = await syncClock({
      mode: 'set',
      servers: [srv.host],
      port: srv.port,
      setClock: (ms) => void calls.push(ms - Date.now()),
    });
    expect(set.stepped).toBe(true);
    expect(set.line).toMatch(
      new RegExp(`^clock: stepped by -7(?:199|200)\\.\\d{3} s from 127\\.0\\.0\\.1, stratum 2, delay`),
    );
    expect(calls).toHaveLength(1);
    expect(Math.abs(calls[0]! + 7_200_000)).toBeLessThan(1000);
    const check = await syncClock({
      mode: 'check',
      servers: [srv.host],
      port: srv.port,
      setClock: () => calls.push(0),
    });
    expect(check.stepped).toBe(false);
    expect(check.line).toMatch(/^clock: off by -7(?:199|200)\.\d{3} s from 127\.0\.0\.1, .* \(check only\)$/);
    expect(calls).toHaveLength(1);
  });

  it('set: a clock within a second is left alone; a refused step is reported, not thrown', async () => {
    const srv = await responder('udp4', honest(0));
    const near = await syncClock({ mode: 'set', servers: [srv.host], port: srv.port, setClock: () => expect.fail() });
    expect(near.line).toMatch(/^clock: within [+-]0\.\d{3} s of 127\.0\.0\.1.*, not stepped$/);
    const far = await responder('udp4', honest(100_000));
    const refused = await syncClock({
      mode: 'set',
      servers: [far.host],
      port: far.port,
      setClock: () => {
        throw new Error('clock_settime(CLOCK_REALTIME): EPERM');
      },
    });
    expect(refused.stepped).toBe(false);
    expect(refused.level).toBe('warn');
    expect(refused.line).toMatch(/cannot step it: clock_settime\(CLOCK_REALTIME\): EPERM$/);
  });

  it('no server, off, and all failing each say so', async () => {
    expect((await syncClock({ mode: 'set', servers: [] })).line).toBe(
      'clock: no NTP server (no DHCP option 42, net.ntp empty): the clock stays as it is',
    );
    expect((await syncClock({ mode: 'off', servers: ['192.0.2.1'] })).line).toBe(
      'clock: not checked (net.clock = off)',
    );
    const dead = await responder('udp4', () => undefined);
    const r = await syncClock({
      mode: 'set',
      servers: [dead.host],
      port: dead.port,
      timeoutMs: 400,
      setClock: () => expect.fail(),
    });
    expect(r.level).toBe('warn');
    expect(r.line).toBe(
      `clock: no usable NTP reply, the clock stays as it is: NTP server ${dead.host}: no reply within 400 ms`,
    );
  });

  it('net.clock defaults to set under the initramfs and to check elsewhere; a setting wins', () => {
    expect(clockMode(undefined, { TENDRIL_INITRAMFS: '1' })).toBe('set');
    expect(clockMode(undefined, {})).toBe('check');
    expect(clockMode('off', { TENDRIL_INITRAMFS: '1' })).toBe('off');
    expect(clockMode('set', {})).toBe('set');
  });

  it('servers: the settings first, then each lease option 42, no repeats', () => {
    const lease = (ntp: string[]): Lease => ({
      iface: 'eth0',
      mac: '52:54:00:00:00:01',
      family: 4,
      how: 'dhcp',
      address: '192.0.2.10',
      prefixLength: 24,
      dns: [],
      ntp,
    });
    expect(ntpServers(['ntp.test'], [lease(['192.0.2.1', '192.0.2.2']), lease(['192.0.2.1'])])).toEqual([
      'ntp.test',
      '192.0.2.1',
      '192.0.2.2',
    ]);
  });
});
