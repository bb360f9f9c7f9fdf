import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decode,
  describeError,
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRrq,
  MAX_OPTIONS,
  MAX_PACKET,
  TftpDecodeError,
} from '../../../src/net/tftp/packet';

const asciiText = (max: number) =>
  fc.string({
    unit: fc.integer({ min: 1, max: 0x7f }).map((c) => String.fromCharCode(c)),
    minLength: 1,
    maxLength: max,
  });
const optionMap = fc
  .uniqueArray(
    fc.tuple(
      asciiText(12).map((s) => s.toLowerCase()),
      asciiText(12),
    ),
    {
      maxLength: 6,
      selector: ([k]) => k,
    },
  )
  .map((pairs) => Object.fromEntries(pairs) as Record<string, string>);

describe('TFTP packet codec', () => {
  it('decodes any datagram to a packet or a TftpDecodeError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => {
        try {
          const p = decode(b);
          // Nothing decoded holds more than the datagram carried.
          if (p.op === 'DATA') expect(p.data.length).toBe(b.length - 4);
          if (p.op === 'ERROR') expect(p.message.length).toBeLessThanOrEqual(255);
        } catch (e) {
          expect(e).toBeInstanceOf(TftpDecodeError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('decodes well-formed-looking option lists with hostile contents without crashing', () => {
    const hostile = fc
      .array(fc.oneof(asciiText(300), fc.constant(''), fc.string({ maxLength: 5 })), { maxLength: 60 })
      .map((parts) => Buffer.concat([Buffer.from([0, 6]), ...parts.map((p) => Buffer.from(`${p}\0`, 'utf8'))]));
    fc.assert(
      fc.property(hostile, (b) => {
        try {
          const p = decode(b);
          expect(p.op).toBe('OACK');
          if (p.op === 'OACK') expect(Object.keys(p.options).length).toBeLessThanOrEqual(MAX_OPTIONS);
        } catch (e) {
          expect(e).toBeInstanceOf(TftpDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips DATA, ACK, ERROR, OACK and RRQ', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 1468 }), (block, data) => {
        expect(decode(encodeData(block, data))).toEqual({ op: 'DATA', block, data: Buffer.from(data) });
        expect(decode(encodeAck(block))).toEqual({ op: 'ACK', block });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), asciiText(100), (code, msg) => {
        const p = decode(encodeError(code, msg));
        expect(p).toEqual({ op: 'ERROR', code, message: msg.replace(/[^\x20-\x7e]/g, '?') });
      }),
    );
    fc.assert(
      fc.property(optionMap, (o) => {
        const p = decode(encodeOack(o));
        expect(p.op === 'OACK' && { ...p.options }).toEqual(o);
      }),
    );
    fc.assert(
      fc.property(asciiText(100), optionMap, (name, o) => {
        const p = decode(encodeRrq(name, o));
        expect(p.op === 'RRQ' && { filename: p.filename, mode: p.mode, options: { ...p.options } }).toEqual({
          filename: name,
          mode: 'octet',
          options: o,
        });
      }),
    );
  });

  it('block numbers wrap at 16 bits', () => {
    expect(decode(encodeAck(65536))).toEqual({ op: 'ACK', block: 0 });
    expect(decode(encodeData(65535, new Uint8Array(1)))).toMatchObject({ block: 65535 });
  });

  it('refuses what breaks the limits, naming why', () => {
    expect(() => decode(new Uint8Array(1))).toThrow(/shorter than an opcode/);
    expect(() => decode(new Uint8Array(MAX_PACKET + 1))).toThrow(/longer than/);
    expect(() => decode(Buffer.from([0, 9]))).toThrow(/unknown opcode 9/);
    expect(() => decode(Buffer.from([0, 3, 0]))).toThrow(/no block number/);
    expect(() => decode(Buffer.from([0, 4, 0, 1, 0]))).toThrow(/ACK of 5 bytes/);
    expect(() => decode(Buffer.from('\0\x06blksize\x00512', 'latin1'))).toThrow(/unterminated/);
    expect(() => decode(Buffer.from('\0\x06blksize\0', 'latin1'))).toThrow(/has no value/);
    expect(() => decode(Buffer.from('\0\x06blksize\x001\0BLKSIZE\x002\0', 'latin1'))).toThrow(/given twice/);
    expect(() => decode(Buffer.from('\0\x06\xe9\x001\0', 'latin1'))).toThrow(/non-ASCII/);
    const many = Array.from({ length: MAX_OPTIONS + 2 }, (_, i) => `o${i}\x001\0`).join('');
    expect(() => decode(Buffer.from(`\0\x06${many}`, 'latin1'))).toThrow(/more than 16 options/);
    expect(() => encodeRrq('x'.repeat(600))).toThrow(/limit 512/);
    expect(() => encodeRrq('caf\u00e9')).toThrow(/ASCII/);
    expect(() => encodeRrq('')).toThrow(/empty/);
  });

  it('names errors with the RFC text and the server’s own words', () => {
    expect(describeError(1, 'File not found', '192.0.2.1')).toBe('TFTP error 1 (File not found) from 192.0.2.1');
    expect(describeError(2, 'no', '192.0.2.1')).toBe(
      'TFTP error 2 (Access violation) from 192.0.2.1 (server says "no")',
    );
    expect(describeError(99, '', '192.0.2.1')).toBe('TFTP error 99 (unknown code) from 192.0.2.1');
  });
});
