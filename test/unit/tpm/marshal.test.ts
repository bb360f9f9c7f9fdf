// Command bytes and the response parser. The parser meets arbitrary bytes (fast-check): it
// returns or throws TpmParseError, never anything else, and never reads past what it was given.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reader, TpmParseError, Writer } from '../../../src/tpm/bytes';
import {
  getCapabilityPcrsCommand,
  MAX_RESPONSE,
  parsePcrExtendBody,
  parsePcrRead,
  parsePcrsCapability,
  parseResponse,
  pcrExtendCommand,
  pcrReadCommand,
} from '../../../src/tpm/commands';
import { describeRc } from '../../../src/tpm/rc';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function response(tag: number, rc: number, body: Uint8Array): Uint8Array {
  return new Writer()
    .u16(tag)
    .u32(10 + body.length)
    .u32(rc)
    .bytes(body)
    .done();
}

/** Only TpmParseError may escape a parser. */
function parsesOrRefuses(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof TpmParseError)) throw e;
  }
}

describe('command bytes', () => {
  it('PCR_Extend: header, PCR handle, password session with empty auth, one SHA-256 digest', () => {
    const d = new Uint8Array(32).fill(0xab);
    expect(hex(pcrExtendCommand(9, [{ alg: 'sha256', digest: d }]))).toBe(
      '8002' +
        '00000041' +
        '00000182' +
        '00000009' +
        '00000009' +
        '40000009' +
        '0000' +
        '00' +
        '0000' +
        '00000001' +
        '000b' +
        'ab'.repeat(32),
    );
  });

  it('GetCapability(TPM_CAP_PCRS) and PCR_Read(PCR 9, sha256)', () => {
    expect(hex(getCapabilityPcrsCommand())).toBe(
      '8001' + '00000016' + '0000017a' + '00000005' + '00000000' + '00000001',
    );
    expect(hex(pcrReadCommand(9, 'sha256'))).toBe(
      '8001' + '00000014' + '0000017e' + '00000001' + '000b' + '03' + '000200',
    );
  });

  it('refuses PCRs outside 0..23 and digests of the wrong size', () => {
    expect(() => pcrExtendCommand(24, [{ alg: 'sha256', digest: new Uint8Array(32) }])).toThrow(RangeError);
    expect(() => pcrExtendCommand(-1, [{ alg: 'sha256', digest: new Uint8Array(32) }])).toThrow(RangeError);
    expect(() => pcrExtendCommand(8, [{ alg: 'sha256', digest: new Uint8Array(20) }])).toThrow(RangeError);
    expect(() => pcrExtendCommand(8, [])).toThrow(RangeError);
  });
});

describe('response parser', () => {
  it('checks tag, size field against the bytes read, error responses without a body', () => {
    expect(parseResponse(response(0x8001, 0, new Uint8Array([1, 2])))).toEqual({
      tag: 0x8001,
      rc: 0,
      body: new Uint8Array([1, 2]),
    });
    const short = response(0x8001, 0, new Uint8Array(4)).slice(0, 12);
    expect(() => parseResponse(short)).toThrow(/size field says 14, 12 bytes arrived/);
    expect(() => parseResponse(response(0xc4, 0, new Uint8Array(0)))).toThrow(/tag 0xc4/);
    expect(() => parseResponse(response(0x8001, 0x101, new Uint8Array(1)))).toThrow(/error response/);
    expect(() => parseResponse(new Uint8Array(MAX_RESPONSE + 1))).toThrow(/exceeds/);
  });

  it('GetCapability: banks and their PCRs', () => {
    const body = new Writer()
      .u8(0)
      .u32(5)
      .u32(2)
      .u16(0x0004)
      .u8(3)
      .bytes(new Uint8Array([0, 0, 0]));
    body
      .u16(0x000b)
      .u8(3)
      .bytes(new Uint8Array([0xff, 0xff, 0xff]));
    const sel = parsePcrsCapability(parseResponse(response(0x8001, 0, body.done())));
    expect(sel[0]).toEqual({ algId: 4, pcrs: [] });
    expect(sel[1]!.pcrs).toEqual([...Array(24).keys()]);
  });

  it('PCR_Extend: the session response and nothing else', () => {
    const ok = new Writer().u32(0).u16(0).u8(1).u16(0).done();
    expect(() => parsePcrExtendBody(parseResponse(response(0x8002, 0, ok)))).not.toThrow();
    const extra = new Writer().u32(0).u16(0).u8(1).u16(0).u8(7).done();
    expect(() => parsePcrExtendBody(parseResponse(response(0x8002, 0, extra)))).toThrow(/trailing/);
    expect(() => parsePcrExtendBody(parseResponse(response(0x8001, 0, ok)))).toThrow(/without sessions/);
  });

  it('fast-check: arbitrary bytes are parsed or refused with TpmParseError, by every parser', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(0x8001, 0x8002), (body, tag) => {
        parsesOrRefuses(() => parseResponse(body));
        const r = { tag, rc: 0, body };
        parsesOrRefuses(() => parsePcrsCapability(r));
        parsesOrRefuses(() => parsePcrExtendBody(r));
        parsesOrRefuses(() => parsePcrRead(r, 'sha256'));
      }),
      { numRuns: 3000 },
    );
  });

  it('fast-check: a well-formed GetCapability answer round-trips; any truncation is refused', () => {
    const bank = fc.record({
      alg: fc.constantFrom(0x0004, 0x000b, 0x000c, 0x000d, 0x0012),
      select: fc.uint8Array({ minLength: 0, maxLength: 8 }),
    });
    fc.assert(
      fc.property(fc.array(bank, { maxLength: 16 }), fc.boolean(), (banks, more) => {
        const w = new Writer()
          .u8(more ? 1 : 0)
          .u32(5)
          .u32(banks.length);
        for (const b of banks) w.u16(b.alg).u8(b.select.length).bytes(b.select);
        const wire = response(0x8001, 0, w.done());
        const sel = parsePcrsCapability(parseResponse(wire));
        expect(sel.map((s) => s.algId)).toEqual(banks.map((b) => b.alg));
        sel.forEach((s, i) => {
          const bits = banks[i]!.select;
          for (let p = 0; p < bits.length * 8; p++)
            expect(s.pcrs.includes(p)).toBe(((bits[p >> 3]! >> (p & 7)) & 1) === 1);
        });
        for (let cut = 10; cut < wire.length; cut++) {
          const r = { tag: 0x8001, rc: 0, body: wire.slice(10, cut) };
          expect(() => parsePcrsCapability(r)).toThrow(TpmParseError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fast-check: a lying size field is always refused', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 0xffffffff }), (body, size) => {
        const b = Buffer.from(response(0x8001, 0, body));
        fc.pre(size !== b.length);
        b.writeUInt32BE(size, 2);
        expect(() => parseResponse(b)).toThrow(TpmParseError);
      }),
    );
  });

  it('the reader refuses sizes beyond their bound and reading past the end', () => {
    expect(() => new Reader(new Uint8Array([0, 65, ...new Uint8Array(65)])).sized(64, 'digest')).toThrow(/exceeds 64/);
    expect(() => new Reader(new Uint8Array([1])).u16('x')).toThrow(/needs 2 bytes, 1 left/);
  });
});

describe('response codes in words', () => {
  it.each([
    [0x000, 'TPM_RC_SUCCESS'],
    [0x100, 'TPM_RC_INITIALIZE (TPM not started)'],
    [0x101, 'TPM_RC_FAILURE (TPM in failure mode)'],
    [0x143, 'TPM_RC_COMMAND_CODE (command not supported or not allowed)'],
    [0x184, 'TPM_RC_VALUE (handle 1)'],
    [0x1c4, 'TPM_RC_VALUE (parameter 1)'],
    [0x2c3, 'TPM_RC_HASH (hash algorithm not supported or bank not allocated) (parameter 2)'],
    [0x98e, 'TPM_RC_AUTH_FAIL (session 1)'],
    [0x907, 'TPM_RC_LOCALITY (PCR not extendable from this locality)'],
    [0x90a, 'TPM_RC_TESTING (self-test running, retry)'],
    [0x921, 'TPM_RC_LOCKOUT'],
    [0x910, 'TPM_RC_REFERENCE_H0'],
    [0x0b0143, '(software layer 11) TPM_RC_COMMAND_CODE (command not supported or not allowed)'],
    [0x0026, 'TPM 1.2 response code 38'],
    [0x0501, 'vendor-specific response code 0x1'],
  ])('0x%s', (rc, words) => {
    expect(describeRc(rc)).toBe(`0x${rc.toString(16).padStart(8, '0')} ${words}`);
  });
});
