// The DHCPv6 codec and option views on in-memory messages: random bytes (and random options
// behind a valid header, and random IA_NA contents) only ever yield a NetError; encode → decode
// gives back the same options; the limits (size, option count, nesting) are enforced; the views
// read IA_NA/IAADDR/status, DNS, domain list, NTP and the boot file URL as RFC 8415/3646/5908/5970
// lay them out; the identity options and the retransmission schedule follow docs/net-dhcp.md §9.
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ip6Addresses, ip6DefaultRouter, raRouteSeen } from '../../../src/net/dhcp6/ifaddr';
import { clientDuid, identityOptions6, VENDOR_ENTERPRISE } from '../../../src/net/dhcp6/identity';
import {
  DHCP6_LIMITS,
  decodeDhcp6,
  encodeDhcp6,
  encodeOptions,
  MSG6,
  OPT6,
  type Dhcp6Option,
} from '../../../src/net/dhcp6/message';
import { INFORMATION_REQUEST, nextRt, REQUEST, SOLICIT } from '../../../src/net/dhcp6/timing';
import {
  addressList,
  bootFileParams,
  bootFileUrl,
  domainList,
  iaNas,
  ip6Bytes,
  ip6Text,
  ntpServers,
  preferenceOf,
  statusOf,
} from '../../../src/net/dhcp6/views';
import { NetError } from '../../../src/net/types';

const te = (s: string) => new TextEncoder().encode(s);
const opt = (code: number, data: number[] | Uint8Array): Dhcp6Option => ({ code, data: Uint8Array.from(data) });

function expectOnlyNetError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NetError);
  }
}

/** Every view applied to a decoded message: none may throw. */
function allViews(options: readonly Dhcp6Option[]): void {
  iaNas(options);
  statusOf(options);
  preferenceOf(options);
  bootFileUrl(options);
  for (const o of options) {
    addressList(o.data);
    domainList(o.data);
    ntpServers(o.data);
    bootFileParams(o.data);
  }
}

const optionArb = fc.record({
  code: fc.integer({ min: 0, max: 0xffff }).filter((c) => c !== OPT6.IA_NA && c !== OPT6.IAADDR),
  data: fc.uint8Array({ maxLength: 64 }),
});

describe('DHCPv6 codec', () => {
  it('random bytes: a message or a NetError, and the views never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        expectOnlyNetError(() => allViews(decodeDhcp6(b).options));
      }),
      { numRuns: 3000 },
    );
  });

  it('random IA_NA and IAADDR contents behind a valid header: a NetError at worst', () => {
    const ia = fc.uint8Array({ maxLength: 120 }).map((inner) => {
      // IA_NA(12-byte header + inner) where inner often holds an IAADDR with random bytes.
      const data = Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, ...inner]);
      return encodeOptions([{ code: OPT6.IA_NA, data }]);
    });
    const iaaddr = fc.uint8Array({ maxLength: 80 }).map((inner) => {
      const addr = encodeOptions([{ code: OPT6.IAADDR, data: Uint8Array.from([...new Uint8Array(24), ...inner]) }]);
      return encodeOptions([{ code: OPT6.IA_NA, data: Uint8Array.from([0, 0, 0, 1, ...new Uint8Array(8), ...addr]) }]);
    });
    fc.assert(
      fc.property(fc.oneof(ia, iaaddr), (body) => {
        expectOnlyNetError(() => allViews(decodeDhcp6(Uint8Array.from([MSG6.REPLY, 1, 2, 3, ...body])).options));
      }),
      { numRuns: 2000 },
    );
  });

  it('encode → decode gives back the type, transaction id and options', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 0, max: 0xffffff }),
        fc.array(optionArb, { maxLength: 20 }),
        (type, xid, options) => {
          const m = decodeDhcp6(encodeDhcp6({ type, xid, options }));
          expect(m.type).toBe(type);
          expect(m.xid).toBe(xid);
          expect(m.options.map((o) => ({ code: o.code, data: Uint8Array.from(o.data) }))).toEqual(options);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('IA_NA with addresses and status round-trips through the views', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ a: fc.uint8Array({ minLength: 16, maxLength: 16 }), v: fc.nat() }), { maxLength: 5 }),
        fc.integer({ min: 0, max: 0xffff }),
        (addrs, status) => {
          const inner = encodeOptions([
            ...addrs.map(({ a, v }) =>
              opt(OPT6.IAADDR, [...a, 0, 0, 0, 7, (v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]),
            ),
            opt(OPT6.STATUS_CODE, [status >> 8, status & 255, ...te('why')]),
          ]);
          const m = decodeDhcp6(
            encodeDhcp6({
              type: MSG6.REPLY,
              xid: 9,
              options: [opt(OPT6.IA_NA, [0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, ...inner])],
            }),
          );
          const [ia] = iaNas(m.options);
          expect(ia).toMatchObject({ iaid: 5, t1: 1, t2: 2, status: { code: status, message: 'why' } });
          expect(ia!.addresses.map((x) => [x.address, x.preferred, x.valid])).toEqual(
            addrs.map(({ a, v }) => [ip6Text(a), 7, v]),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses what is too big, too many or too deep, naming the reason', () => {
    expect(() => decodeDhcp6(new Uint8Array(DHCP6_LIMITS.maxMessage + 1))).toThrow(/longer than the 4096-byte limit/);
    expect(() => decodeDhcp6(Uint8Array.of(1, 0, 0))).toThrow(/shorter than the 4-byte header/);
    const many = encodeDhcp6({ type: 7, xid: 1, options: Array.from({ length: 257 }, () => opt(8, [])) });
    expect(() => decodeDhcp6(many)).toThrow(/more than 256 options/);
    expect(() => decodeDhcp6(Uint8Array.of(7, 0, 0, 1, 0, 23, 0, 16, 1, 2))).toThrow(
      /option 23 claims 16 bytes but only 2 remain/,
    );
    expect(() => decodeDhcp6(Uint8Array.of(7, 0, 0, 1, 0, 3, 0, 4, 0, 0, 0, 1))).toThrow(
      /option 3 is 4 bytes, shorter than its 12-byte header/,
    );
    // IAADDR inside IAADDR inside IA_NA: one level too deep.
    const deepest = encodeOptions([opt(OPT6.IAADDR, new Uint8Array(24))]);
    const mid = encodeOptions([opt(OPT6.IAADDR, [...new Uint8Array(24), ...deepest])]);
    const deep = encodeDhcp6({ type: 7, xid: 1, options: [opt(OPT6.IA_NA, [...new Uint8Array(12), ...mid])] });
    expect(() => decodeDhcp6(deep)).toThrow(/nested more than 3 deep/);
    // Options inside IA_NA count towards the limit too.
    const inner = encodeOptions(Array.from({ length: 256 }, () => opt(8, [])));
    const wide = encodeDhcp6({ type: 7, xid: 1, options: [opt(OPT6.IA_NA, [...new Uint8Array(12), ...inner])] });
    expect(() => decodeDhcp6(wide)).toThrow(/more than 256 options/);
    try {
      decodeDhcp6(many);
    } catch (e) {
      expect(e).toBeInstanceOf(NetError);
      expect((e as NetError).subject).toBe('DHCPv6 message');
    }
  });
});

describe('DHCPv6 option views', () => {
  it('addresses print as RFC 5952 text and parse back', () => {
    expect(ip6Text(ip6Bytes('2001:db8::1')!)).toBe('2001:db8::1');
    expect(ip6Text(ip6Bytes('2001:0db8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    expect(ip6Text(ip6Bytes('fe80::')!)).toBe('fe80::');
    expect(ip6Text(new Uint8Array(16))).toBe('::');
    expect(ip6Text(ip6Bytes('1:2:3:4:5:6:0:8')!)).toBe('1:2:3:4:5:6:0:8');
    for (const bad of ['1::2::3', '1:2:3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', '1:2:3:4::5:6:7:8'])
      expect(ip6Bytes(bad)).toBeUndefined();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const t = ip6Text(b);
        expect(ip6Bytes(t)).toEqual(b);
        // The same text as WHATWG URL's canonical form.
        expect(new URL(`http://[${t}]/`).hostname).toBe(`[${t}]`);
      }),
      { numRuns: 1000 },
    );
  });

  it('DNS, domain list, NTP (56 and 31), boot URL and parameters, preference', () => {
    const dns = [...ip6Bytes('2001:db8::53')!, ...ip6Bytes('2001:db8::54')!];
    expect(addressList(Uint8Array.from(dns))).toEqual(['2001:db8::53', '2001:db8::54']);
    expect(addressList(Uint8Array.from(dns.slice(1)))).toEqual([]);
    const names = Uint8Array.of(7, ...te('example'), 4, ...te('test'), 0, 3, ...te('lab'), 0);
    expect(domainList(names)).toEqual(['example.test', 'lab']);
    expect(domainList(Uint8Array.of(5, ...te('ab')))).toEqual([]);
    const ntp = [0, 1, 0, 16, ...ip6Bytes('2001:db8::123')!, 0, 3, 0, 10, 3, ...te('ntp'), 4, ...te('test'), 0];
    expect(ntpServers(Uint8Array.from(ntp))).toEqual(['2001:db8::123', 'ntp.test']);
    expect(bootFileUrl([opt(OPT6.BOOTFILE_URL, te('tftp://[2001:db8::1]/x.efi\0'))])).toBe(
      'tftp://[2001:db8::1]/x.efi',
    );
    expect(bootFileUrl([opt(OPT6.BOOTFILE_URL, te('http://x/a b'))])).toBeUndefined();
    expect(bootFileParams(Uint8Array.of(0, 3, ...te('a=1'), 0, 2, ...te('b2')))).toEqual(['a=1', 'b2']);
    expect(preferenceOf([opt(OPT6.PREFERENCE, [255])])).toBe(255);
    expect(preferenceOf([])).toBe(0);
  });
});

describe('DHCPv6 identity and timing', () => {
  it('DUID-UUID from the system UUID, DUID-LL from the MAC otherwise', () => {
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
    expect([...clientDuid(mac, undefined)]).toEqual([0, 3, 0, 1, 2, 0, 0, 0, 0, 1]);
    const uuid = Uint8Array.from({ length: 16 }, (_, i) => i);
    expect([...clientDuid(mac, uuid)]).toEqual([0, 4, ...uuid]);
  });

  it.each([
    ['pxe', 'PXEClient:Arch:00007:UNDI:003016', undefined, 7],
    ['http', 'HTTPClient:Arch:00016:UNDI:003001', undefined, 16],
    ['ipxe', 'PXEClient:Arch:00007:UNDI:003016', 'iPXE', 7],
    ['tendril', 'PXEClient:Arch:00007:UNDI:003016', 'tendril', 7],
  ] as const)('%s: vendor class 16 (enterprise 343), user class 15, arch 61', (id, vendor, user, arch) => {
    const opts = identityOptions6(id);
    const vc = opts.find((o) => o.code === OPT6.VENDOR_CLASS)!.data;
    expect([...vc.subarray(0, 4)]).toEqual([0, 0, VENDOR_ENTERPRISE >> 8, VENDOR_ENTERPRISE & 255]);
    expect((vc[4]! << 8) | vc[5]!).toBe(vendor.length);
    expect(new TextDecoder().decode(vc.subarray(6))).toBe(vendor);
    const uc = opts.find((o) => o.code === OPT6.USER_CLASS)?.data;
    expect(uc && new TextDecoder().decode(uc.subarray(2))).toBe(user);
    expect([...opts.find((o) => o.code === OPT6.CLIENT_ARCH_TYPE)!.data]).toEqual([0, arch]);
  });

  it('RT starts near IRT, doubles, is capped at MRT, each within ±10 % (RFC 8415 §15)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 20 }),
        (rs) => {
          for (const r of [SOLICIT, REQUEST, INFORMATION_REQUEST]) {
            let prev: number | undefined;
            for (const [i, rand] of rs.entries()) {
              const rt = nextRt(r, prev, rand, r === SOLICIT);
              if (i === 0 && r === SOLICIT) expect(rt).toBeGreaterThan(r.irt);
              if (i === 0) expect(rt).toBeLessThanOrEqual(r.irt * 1.1);
              else expect(rt).toBeGreaterThanOrEqual(Math.min(prev! * 1.9, r.mrt * 0.9));
              expect(rt).toBeLessThanOrEqual(r.mrt * 1.1);
              prev = rt;
            }
          }
        },
      ),
    );
  });
});

describe('/proc readers', () => {
  it('if_inet6 and ipv6_route lines become addresses and the default router', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-if6-'));
    const inet6 = path.join(dir, 'if_inet6');
    fs.writeFileSync(
      inet6,
      [
        'fe800000000000000818007afec0cdd7 02 40 20 80       c0',
        '20010db8000000000818007afec0cdd7 02 40 00 00       c0',
        '20010db8000000000000000000000179 02 80 00 c0       c0',
        '20010db8000000000000000000000002 03 40 00 80       c1',
        'garbage',
      ].join('\n'),
    );
    expect(ip6Addresses('c0', inet6)).toEqual([
      {
        address: 'fe80::818:7a:fec0:cdd7',
        prefixLength: 64,
        scope: 'link',
        tentative: false,
        dadFailed: false,
        permanent: true,
      },
      {
        address: '2001:db8::818:7a:fec0:cdd7',
        prefixLength: 64,
        scope: 'global',
        tentative: false,
        dadFailed: false,
        permanent: false,
      },
      {
        address: '2001:db8::179',
        prefixLength: 128,
        scope: 'global',
        tentative: true,
        dadFailed: false,
        permanent: true,
      },
    ]);
    const route = path.join(dir, 'ipv6_route');
    fs.writeFileSync(
      route,
      [
        '20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001       c0',
        '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe8000000000000028b049fffefb9c4f 00000400 00000001 00000000 00450003       c0',
      ].join('\n'),
    );
    expect(ip6DefaultRouter('c0', route)).toBe('fe80::28b0:49ff:fefb:9c4f');
    expect(ip6DefaultRouter('c1', route)).toBeUndefined();
    expect(raRouteSeen('c0', route)).toBe(true);
    fs.writeFileSync(
      route,
      '20010db8000000000000000000000179 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001       c0\n',
    );
    expect(raRouteSeen('c0', route)).toBe(false);
    fs.rmSync(dir, { recursive: true });
  });
});
