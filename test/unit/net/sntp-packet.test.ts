// The NTP packet codec, its timestamps (both NTP eras) and the offset/delay arithmetic on fixed
// numbers; the reply checks a client makes before believing a server (RFC 4330 §5).

import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replyProblem } from '../../../src/net/sntp/client';
import {
  decodeNtp,
  encodeNtp,
  kissCode,
  MODE,
  msFromNtp,
  NTP_HEADER,
  NTP_MAX_PACKET,
  ntpFromMs,
  NtpParseError,
  offsetAndDelay,
  type NtpPacket,
  type NtpTime,
} from '../../../src/net/sntp/packet';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const time = fc.record({ sec: u32, frac: u32 });
const packet = fc.record({
  leap: fc.integer({ min: 0, max: 3 }),
  version: fc.integer({ min: 0, max: 7 }),
  mode: fc.integer({ min: 0, max: 7 }),
  stratum: fc.integer({ min: 0, max: 255 }),
  poll: fc.integer({ min: -128, max: 127 }),
  precision: fc.integer({ min: -128, max: 127 }),
  // 16.16 fixed point: multiples of 2^-16 survive exactly.
  rootDelay: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((n) => n / 65536),
  rootDispersion: u32.map((n) => n / 65536),
  refId: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  reference: time,
  originate: time,
  receive: time,
  transmit: time,
});

describe('NTP packet codec', () => {
  it('decodes what it encodes, field for field', () => {
    fc.assert(
      fc.property(packet, (p) => {
        const b = encodeNtp(p);
        expect(b.length).toBe(NTP_HEADER);
        expect(decodeNtp(b)).toEqual(p);
      }),
    );
  });

  it('reads any datagram as a packet or an NtpParseError naming its length, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: NTP_MAX_PACKET + 64 }), (b) => {
        try {
          const p = decodeNtp(b);
          expect(b.length).toBeGreaterThanOrEqual(NTP_HEADER);
          expect(b.length).toBeLessThanOrEqual(NTP_MAX_PACKET);
          expect(p.refId.length).toBe(4);
        } catch (e) {
          expect(e).toBeInstanceOf(NtpParseError);
          expect((e as Error).message).toMatch(new RegExp(`^NTP packet: ${b.length} bytes, (shorter|longer)`));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('ignores extension fields after the header, refuses a truncated header and an oversized datagram', () => {
    const p = encodeNtp({ mode: MODE.SERVER, stratum: 2, transmit: { sec: 1, frac: 2 } });
    const withExt = new Uint8Array(NTP_HEADER + 20);
    withExt.set(p);
    expect(decodeNtp(withExt).transmit).toEqual({ sec: 1, frac: 2 });
    expect(() => decodeNtp(p.subarray(0, 47))).toThrow('47 bytes, shorter than the 48-byte header');
    expect(() => decodeNtp(new Uint8Array(NTP_MAX_PACKET + 1))).toThrow('1025 bytes, longer than 1024');
  });

  it('reads a packet at an offset inside a larger buffer', () => {
    const p = encodeNtp({ mode: MODE.SERVER, stratum: 3, receive: { sec: 7, frac: 9 } });
    const big = new Uint8Array(100);
    big.set(p, 13);
    expect(decodeNtp(big.subarray(13, 13 + NTP_HEADER)).receive).toEqual({ sec: 7, frac: 9 });
  });
});

describe('NTP timestamps', () => {
  it('maps Unix time both sides of the 2036 era wrap (RFC 4330 §3), to within a fraction step', () => {
    for (const iso of ['1970-01-01T00:00:00Z', '2005-01-01T00:00:00Z', '2036-02-07T06:28:16Z', '2040-01-01T12:00:00Z'])
      expect(msFromNtp(ntpFromMs(Date.parse(iso)))).toBe(Date.parse(iso));
    expect(ntpFromMs(0)).toEqual({ sec: 2_208_988_800, frac: 0 });
    // 2036-02-07T06:28:16Z is second 0 of era 1.
    expect(ntpFromMs(Date.parse('2036-02-07T06:28:16Z'))).toEqual({ sec: 0, frac: 0 });
    expect(ntpFromMs(1500).frac).toBe(2 ** 31);
  });

  // Era 0 with its top bit set starts 1968-01-20; era 1 with it clear ends in 2104.
  it('round-trips any millisecond from 1968 to 2104 within 1 µs', () => {
    fc.assert(
      fc.property(fc.integer({ min: -61_505_152_000, max: 4_233_462_143_999 }), (ms) => {
        expect(Math.abs(msFromNtp(ntpFromMs(ms)) - ms)).toBeLessThan(0.001);
      }),
    );
  });
});

describe('offset and delay (RFC 4330 §5)', () => {
  it('takes the clock offset and the round trip from four fixed timestamps', () => {
    // The client is 10 s behind; 20 ms each way, 5 ms inside the server.
    const t1 = 1_000_000;
    const t2 = t1 + 10_000 + 20;
    const t3 = t2 + 5;
    const t4 = t1 + 45;
    expect(offsetAndDelay(t1, t2, t3, t4)).toEqual({ offsetMs: 10_000, delayMs: 40 });
  });

  it('a client years behind (RTC at 2005) gets the whole difference as its offset', () => {
    const local = Date.parse('2005-01-01T00:00:00Z');
    const real = Date.parse('2026-12-05T15:00:00Z');
    const r = offsetAndDelay(local, real + 1, real + 2, local + 3);
    expect(r.offsetMs).toBe(real - local);
    expect(r.delayMs).toBe(2);
  });

  it('asymmetric paths put half the asymmetry into the offset, none into the delay', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 50 }),
        (t1, off, up, down, proc) => {
          const t2 = t1 + off + up;
          const t3 = t2 + proc;
          const t4 = t3 - off + down;
          const r = offsetAndDelay(t1, t2, t3, t4);
          expect(r.delayMs).toBe(up + down);
          expect(r.offsetMs).toBe(off + (up - down) / 2);
        },
      ),
    );
  });
});

describe('reply checks', () => {
  const sent: NtpTime = { sec: 0xc5a0b000, frac: 12345 };
  const good: NtpPacket = decodeNtp(
    encodeNtp({
      mode: MODE.SERVER,
      version: 4,
      stratum: 2,
      originate: sent,
      receive: { sec: 0xeb000000, frac: 1 },
      transmit: { sec: 0xeb000000, frac: 2 },
    }),
  );
  const ascii = (s: string): Uint8Array => new Uint8Array([...s].map((c) => c.charCodeAt(0)));

  it('accepts a proper server reply', () => {
    expect(replyProblem(good, sent)).toBeUndefined();
  });

  it.each<[string, Partial<NtpPacket>, string, string]>([
    ['a client packet', { mode: MODE.CLIENT }, 'bogus', 'mode 3, not 4'],
    ['a broadcast', { mode: MODE.BROADCAST }, 'bogus', 'mode 5'],
    ['NTPv2', { version: 2 }, 'bogus', 'NTP version 2'],
    ['kiss-o-death RATE', { stratum: 0, refId: ascii('RATE') }, 'kiss-o-death', "kiss-o'-death RATE (rate exceeded)"],
    ['kiss-o-death DENY', { stratum: 0, refId: ascii('DENY') }, 'kiss-o-death', 'DENY (access denied)'],
    ['stratum 16', { stratum: 16 }, 'unsynchronised', 'stratum 16'],
    ['leap 3', { leap: 3 }, 'unsynchronised', 'leap indicator 3'],
    ['another originate', { originate: { sec: sent.sec, frac: 1 } }, 'bogus', 'originate timestamp does not match'],
    ['a zero transmit time', { transmit: { sec: 0, frac: 0 } }, 'bogus', 'transmit timestamp is zero'],
    ['a zero receive time', { receive: { sec: 0, frac: 0 } }, 'bogus', 'receive timestamp is zero'],
    ['a far root', { rootDispersion: 20 }, 'unsynchronised', 'root distance 20.0 s'],
  ])('refuses %s', (_what, change, failure, reason) => {
    const r = replyProblem({ ...good, ...change }, sent);
    expect(r?.failure).toBe(failure);
    expect(r?.reason).toContain(reason);
  });

  it('names a kiss code in ASCII, or in hex when it is not one', () => {
    expect(kissCode(ascii('RSTR'))).toBe('RSTR');
    expect(kissCode(new Uint8Array([0xc0, 0, 2, 1]))).toBe('c0000201');
  });
});
