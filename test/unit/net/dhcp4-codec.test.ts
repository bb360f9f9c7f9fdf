// The DHCPv4 codec, framing and boot-URL rules on in-memory packets: random input only ever
// yields a NetError (or, for framing, undefined); encode → decode is lossless; overload and the
// 66/67/sname/siaddr precedence follow docs/net-dhcp.md §2–3.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildUdpIp, parseUdpIp } from '../../../src/net/dhcp4/frame';
import { identityOptions, parseUuid } from '../../../src/net/dhcp4/identity';
import { bootUrl, leaseFromAck, maskToPrefix } from '../../../src/net/dhcp4/lease';
import { OPT, OPTION_LIMITS, writeOptions } from '../../../src/net/dhcp4/options';
import { BOOTREPLY, decodeDhcp4, encodeDhcp4, MAX_PACKET, type Dhcp4Packet } from '../../../src/net/dhcp4/packet';
import { NetError } from '../../../src/net/types';

const COOKIE = [99, 130, 83, 99];
const te = (s: string) => new TextEncoder().encode(s);

function expectOnlyNetError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NetError);
  }
}

/** A reply built byte by byte: header fields, then raw option-area bytes for options/file/sname. */
function rawReply(o: {
  options: number[];
  file?: number[] | string;
  sname?: number[] | string;
  siaddr?: number[];
}): Uint8Array {
  const b = new Uint8Array(240 + o.options.length);
  b[0] = BOOTREPLY;
  b[1] = 1;
  b[2] = 6;
  b.set(o.siaddr ?? [0, 0, 0, 0], 20);
  const field = (v: number[] | string | undefined, off: number) => {
    if (v !== undefined) b.set(typeof v === 'string' ? te(v) : v, off);
  };
  field(o.sname, 44);
  field(o.file, 108);
  b.set(COOKIE, 236);
  b.set(o.options, 240);
  return b;
}

const opt = (code: number, s: string) => [code, s.length, ...te(s)];
const ip = (code: number, a: number[]) => [code, 4, ...a];

describe('decodeDhcp4 under random input', () => {
  it('random bytes give a packet or a NetError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (b) => expectOnlyNetError(() => decodeDhcp4(b))),
      { numRuns: 2000 },
    );
  });

  it('random option areas behind a valid header give a packet or a NetError, within the limits', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1200 }),
        fc.uint8Array({ minLength: 128, maxLength: 128 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.constantFrom(0, 1, 2, 3, 4),
        (opts, file, sname, ov) => {
          const options = ov === 0 ? [...opts] : [OPT.OVERLOAD, 1, ov, ...opts];
          const b = rawReply({ options, file: [...file], sname: [...sname] });
          try {
            const p = decodeDhcp4(b);
            let instances = 0;
            for (const v of p.options.values()) {
              expect(v.length).toBeLessThanOrEqual(OPTION_LIMITS.maxValueBytes);
              instances++;
            }
            expect(instances).toBeLessThanOrEqual(OPTION_LIMITS.maxInstances);
            // Whatever decodes also yields a boot URL or none, never an exception.
            const u = bootUrl(p);
            if (u !== undefined) expect(u).toMatch(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//);
          } catch (e) {
            expect(e).toBeInstanceOf(NetError);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('refuses oversized packets, truncated options, a missing cookie and a missing END', () => {
    expect(() => decodeDhcp4(new Uint8Array(MAX_PACKET + 1))).toThrow(/over the 4096 limit/);
    expect(() => decodeDhcp4(new Uint8Array(239))).toThrow(/shorter than a BOOTP header/);
    expect(() => decodeDhcp4(new Uint8Array(300))).toThrow(/no DHCP magic cookie/);
    expect(() => decodeDhcp4(rawReply({ options: [OPT.BOOTFILE, 9, 1, 2] }))).toThrow(/option 67 .* runs past the end/);
    expect(() => decodeDhcp4(rawReply({ options: [OPT.MESSAGE_TYPE, 1, 2] }))).toThrow(/no END option/);
    expect(() => decodeDhcp4(rawReply({ options: [OPT.OVERLOAD, 1, 7, 255] }))).toThrow(/overload/);
  });

  it('refuses more option instances than the limit', () => {
    const many: number[] = [];
    for (let i = 0; i <= OPTION_LIMITS.maxInstances; i++) many.push(200, 0);
    expect(() => decodeDhcp4(rawReply({ options: [...many, 255] }))).toThrow(/more than 512 options/);
  });
});

describe('encodeDhcp4 → decodeDhcp4', () => {
  const optionMap = fc
    .uniqueArray(fc.tuple(fc.integer({ min: 1, max: 254 }), fc.uint8Array({ maxLength: 600 })), {
      selector: ([k]) => k,
      maxLength: 6,
    })
    .map((entries) => new Map(entries));

  it('is lossless, splitting values over 255 bytes into several instances (RFC 3396)', () => {
    fc.assert(
      fc.property(
        optionMap,
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 0xffff }),
        (options, xid, chaddr, secs) => {
          // 52 (overload) would redirect decoding into file/sname, which encode does not use.
          options.delete(OPT.OVERLOAD);
          const bytes = encodeDhcp4({ op: 1, xid, chaddr, secs, options, ciaddr: '192.0.2.7', siaddr: '198.51.100.9' });
          const p = decodeDhcp4(bytes);
          expect(p.xid).toBe(xid);
          expect(p.secs).toBe(secs);
          expect(p.chaddr).toEqual(chaddr);
          expect(p.ciaddr).toBe('192.0.2.7');
          expect(p.siaddr).toBe('198.51.100.9');
          expect(new Map([...p.options].map(([k, v]) => [k, [...v]]))).toEqual(
            new Map([...options].map(([k, v]) => [k, [...v]])),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes a 600-byte option as 255 + 255 + 90', () => {
    const area = writeOptions(new Map([[OPT.BOOTFILE, new Uint8Array(600).fill(0x61)]]));
    expect([area[0], area[1], area[257], area[258], area[514], area[515]]).toEqual([67, 255, 67, 255, 67, 90]);
    expect(area[area.length - 1]).toBe(255);
  });
});

describe('option overload (RFC 2132 §9.3) and concatenation order (RFC 3396 §5)', () => {
  it('reads options from file (1), sname (2) or both (3), and joins a split option as options, file, sname', () => {
    const b = rawReply({
      options: [OPT.OVERLOAD, 1, 3, ...opt(OPT.BOOTFILE, 'pxe'), 255],
      file: [...opt(OPT.BOOTFILE, 'linux'), ...ip(OPT.SERVER_ID, [192, 0, 2, 1]), 255],
      sname: [...opt(OPT.BOOTFILE, '.0'), 255],
      siaddr: [192, 0, 2, 9],
    });
    const p = decodeDhcp4(b);
    expect(p.overload).toBe(3);
    expect(new TextDecoder().decode(p.options.get(OPT.BOOTFILE))).toBe('pxelinux.0');
    expect(bootUrl(p)).toBe('tftp://192.0.2.9/pxelinux.0');
  });

  it('with overload 1 the file field is not a boot file name', () => {
    const p = decodeDhcp4(
      rawReply({
        options: [OPT.OVERLOAD, 1, 1, 255],
        file: [...ip(OPT.ROUTER, [192, 0, 2, 1]), 255],
        siaddr: [192, 0, 2, 9],
      }),
    );
    expect(p.options.get(OPT.ROUTER)).toEqual(Uint8Array.of(192, 0, 2, 1));
    expect(bootUrl(p)).toBeUndefined();
  });

  it('with overload 2 the sname field is not a server name', () => {
    const p = decodeDhcp4(
      rawReply({
        options: [OPT.OVERLOAD, 1, 2, ...ip(OPT.SERVER_ID, [192, 0, 2, 5]), 255],
        sname: [...opt(OPT.HOSTNAME, 'x'), 255],
        file: 'boot.ipxe',
      }),
    );
    expect(bootUrl(p)).toBe('tftp://192.0.2.5/boot.ipxe');
  });
});

describe('boot URL precedence (docs/net-dhcp.md §3)', () => {
  const url = (o: Parameters<typeof rawReply>[0]) => bootUrl(decodeDhcp4(rawReply(o)));
  const sid = ip(OPT.SERVER_ID, [192, 0, 2, 1]);

  it('option 67 beats the file field; 66 beats sname, siaddr and the server id', () => {
    expect(
      url({
        options: [...sid, ...opt(OPT.BOOTFILE, 'opt.0'), ...opt(OPT.TFTP_SERVER, 'tftp.example'), 255],
        file: 'field.0',
        sname: 'sname.example',
        siaddr: [192, 0, 2, 9],
      }),
    ).toBe('tftp://tftp.example/opt.0');
  });

  it('sname beats siaddr, siaddr beats the server id', () => {
    expect(url({ options: [...sid, 255], file: 'f', sname: 'boot.example', siaddr: [192, 0, 2, 9] })).toBe(
      'tftp://boot.example/f',
    );
    expect(url({ options: [...sid, 255], file: 'f', siaddr: [192, 0, 2, 9] })).toBe('tftp://192.0.2.9/f');
    expect(url({ options: [...sid, 255], file: 'f' })).toBe('tftp://192.0.2.1/f');
  });

  it('keeps a name that has a scheme, and names no URL without a file', () => {
    expect(url({ options: [...sid, ...opt(OPT.BOOTFILE, 'https://192.0.2.1/uki.efi\0'), 255] })).toBe(
      'https://192.0.2.1/uki.efi',
    );
    expect(url({ options: [...sid, 255], siaddr: [192, 0, 2, 9] })).toBeUndefined();
  });

  it('percent-encodes the file name byte for byte; a leading / survives as //', () => {
    expect(url({ options: [...sid, 255], file: '/srv/a b#?.0' })).toBe('tftp://192.0.2.1//srv/a%20b%23%3F.0');
  });

  it('skips a server name that is not a host name', () => {
    expect(url({ options: [...sid, ...opt(OPT.TFTP_SERVER, 'a/b@c'), 255], file: 'f', siaddr: [192, 0, 2, 9] })).toBe(
      'tftp://192.0.2.9/f',
    );
  });
});

describe('the lease from an ACK', () => {
  const ack = (extra: number[]): Dhcp4Packet => {
    const b = rawReply({
      options: [
        53,
        1,
        5,
        ...ip(OPT.SERVER_ID, [192, 0, 2, 1]),
        ...ip(OPT.SUBNET_MASK, [255, 255, 255, 0]),
        ...extra,
        255,
      ],
    });
    b.set([192, 0, 2, 100], 16);
    return decodeDhcp4(b);
  };
  const nic = { name: 'eth0', mac: '52:54:00:12:34:56' };

  it('takes router, DNS, NTP, MTU, lease time, 209 and 210', () => {
    const l = leaseFromAck(
      ack([
        ...ip(OPT.ROUTER, [192, 0, 2, 254]),
        OPT.DNS,
        8,
        192,
        0,
        2,
        53,
        192,
        0,
        2,
        54,
        ...ip(OPT.NTP, [192, 0, 2, 123]),
        OPT.MTU,
        2,
        0x05,
        0xdc,
        OPT.LEASE_TIME,
        4,
        0,
        0,
        0x0e,
        0x10,
        ...opt(OPT.PXELINUX_CONFIGFILE, 'pxelinux.cfg/custom'),
        ...opt(OPT.PXELINUX_PATHPREFIX, 'http://192.0.2.1/'),
      ]),
      nic,
      'pxe',
    );
    expect(l).toMatchObject({
      iface: 'eth0',
      address: '192.0.2.100',
      prefixLength: 24,
      router: '192.0.2.254',
      dns: ['192.0.2.53', '192.0.2.54'],
      ntp: ['192.0.2.123'],
      mtu: 1500,
      leaseSeconds: 3600,
      server: '192.0.2.1',
      pxeConfigFile: 'pxelinux.cfg/custom',
      pxePathPrefix: 'http://192.0.2.1/',
      identity: 'pxe',
    });
  });

  it('prefers the default route of option 121 over option 3 (RFC 3442)', () => {
    const l = leaseFromAck(
      ack([...ip(OPT.ROUTER, [192, 0, 2, 254]), OPT.CLASSLESS_ROUTES, 5, 0, 192, 0, 2, 253]),
      nic,
      'pxe',
    );
    expect(l.router).toBe('192.0.2.253');
    expect(l.routes).toBeUndefined();
  });

  it('keeps the other routes of option 121, in order, on-link ones as 0.0.0.0', () => {
    const l = leaseFromAck(
      ack([OPT.CLASSLESS_ROUTES, 17, 24, 198, 51, 100, 192, 0, 2, 7, 25, 203, 0, 113, 0, 0, 0, 0, 0]),
      nic,
      'pxe',
    );
    expect(l.router).toBeUndefined();
    expect(l.routes).toEqual([
      { dest: '198.51.100.0', prefix: 24, gateway: '192.0.2.7' },
      { dest: '203.0.113.0', prefix: 25, gateway: '0.0.0.0' },
    ]);
  });

  it('refuses a non-contiguous netmask', () => {
    const b = ack([]);
    const bad = new Map(b.options);
    bad.set(OPT.SUBNET_MASK, Uint8Array.of(255, 0, 255, 0));
    expect(() => leaseFromAck({ ...b, options: bad }, nic, 'pxe')).toThrow(/non-contiguous netmask 255.0.255.0/);
  });

  it('maskToPrefix knows every contiguous mask and nothing else', () => {
    for (let p = 0; p <= 32; p++) {
      const n = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
      expect(maskToPrefix([24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.'))).toBe(p);
    }
    expect(maskToPrefix('255.255.0.255')).toBeUndefined();
  });
});

describe('IPv4/UDP framing', () => {
  const datagram = fc.record({
    src: fc.ipV4(),
    dst: fc.ipV4(),
    srcPort: fc.integer({ min: 0, max: 0xffff }),
    dstPort: fc.integer({ min: 0, max: 0xffff }),
    payload: fc.uint8Array({ maxLength: 1500 }),
  });

  it('round-trips, and any flipped byte is dropped or still consistent', () => {
    fc.assert(
      fc.property(datagram, fc.nat(), fc.integer({ min: 1, max: 255 }), (d, at, x) => {
        const b = buildUdpIp(d);
        const back = parseUdpIp(b);
        expect(back).toEqual({ ...d, payload: Uint8Array.from(d.payload) });
        const bad = b.slice();
        const i = at % bad.length;
        bad[i] = bad[i]! ^ x;
        const r = parseUdpIp(bad);
        // Ones-complement sums see every single-byte change; the one way through is a UDP
        // checksum flipped to 0, which means "not computed" (RFC 768).
        if (r !== undefined) expect([bad[26], bad[27]]).toEqual([0, 0]);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes parse to a datagram or to nothing, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void parseUdpIp(b)),
      { numRuns: 2000 },
    );
  });

  it('skips only the UDP checksum when told it is not filled in yet', () => {
    const b = buildUdpIp({ src: '192.0.2.1', dst: '192.0.2.100', srcPort: 67, dstPort: 68, payload: te('x') });
    b[26] = b[26]! ^ 0xff;
    expect(parseUdpIp(b)).toBeUndefined();
    expect(parseUdpIp(b, false)?.payload).toEqual(te('x'));
  });
});

describe('identities (docs/net-dhcp.md §1)', () => {
  const mac = Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56);
  const uuid = parseUuid('01234567-89ab-cdef-0123-456789abcdef');
  const get = (id: Parameters<typeof identityOptions>[0]) => new Map(identityOptions(id, mac, uuid));
  const str = (v: Uint8Array | undefined) => new TextDecoder().decode(v);

  it('pxe sends the PXE vendor class, arch 7, UNDI 3.16, client id and UUID', () => {
    const o = get('pxe');
    expect(str(o.get(60))).toBe('PXEClient:Arch:00007:UNDI:003016');
    expect([...o.get(93)!]).toEqual([0, 7]);
    expect([...o.get(94)!]).toEqual([1, 3, 16]);
    expect([...o.get(61)!]).toEqual([1, ...mac]);
    expect([...o.get(97)!]).toEqual([0, ...uuid!]);
    expect(o.has(77)).toBe(false);
    expect([...o.get(55)!]).toEqual(
      expect.arrayContaining([1, 3, 6, 12, 15, 26, 28, 42, 43, 66, 67, 119, 121, 209, 210]),
    );
    expect([...o.get(57)!]).toEqual([0x05, 0xc0]);
  });

  it('http sends HTTPClient and arch 16; ipxe and tendril add their user class', () => {
    expect(str(get('http').get(60))).toBe('HTTPClient:Arch:00016:UNDI:003001');
    expect([...get('http').get(93)!]).toEqual([0, 0x10]);
    expect(str(get('ipxe').get(77))).toBe('iPXE');
    expect(str(get('tendril').get(77))).toBe('tendril');
  });

  it('parseUuid takes only the canonical form', () => {
    expect(parseUuid('0123456789abcdef0123456789abcdef')).toBeUndefined();
    expect(parseUuid('not-a-uuid')).toBeUndefined();
    expect(uuid?.length).toBe(16);
  });
});
