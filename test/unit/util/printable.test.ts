// The terminal-safety rule for disk strings (src/util/printable.ts): whatever a disk holds, the
// printed form has no control character a terminal would obey, and it is unambiguous (decodes
// back to the exact string).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPrintable, printable, unprintable } from '../../../src/util/printable';

/** Code units a terminal acts on, or that reorder the line: none may survive printable(). */
const ACTIVE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const ESC = '\x1b';
/** Real terminal control sequences, as a hostile title would carry them. */
const sequence = fc.oneof(
  fc.constantFrom(
    `${ESC}[2J`, // erase display
    `${ESC}[1A${ESC}[K`, // cursor up, erase line: hides the warning above
    `${ESC}]0;owned\x07`, // OSC: retitle the terminal, BEL-terminated
    `${ESC}]52;c;ZXZpbA==${ESC}\\`, // OSC 52: write the clipboard, ST-terminated
    `${ESC}P+q544e${ESC}\\`, // DCS query
    `${ESC}c`, // full reset
    `${ESC}[8m`, // conceal
    '\x9b2J', // C1 CSI
    '\x9d0;t\x9c', // C1 OSC ... ST
    '\x90q\x9c', // C1 DCS
    '\x85', // C1 NEL
    '\r\n',
    '\b\b\b',
    '\u202eevil\u202c', // right-to-left override
    '\u2028',
  ),
  fc
    .tuple(
      fc.constantFrom(`${ESC}[`, '\x9b'),
      fc.array(fc.nat(999), { maxLength: 4 }),
      fc.constantFrom('m', 'H', 'J', 'K', 'A'),
    )
    .map(([csi, params, final]) => csi + params.join(';') + final),
);
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('\\', '\\\\', '\\x1b', '\\u202e', 'x1b', '{bold}', '}'),
  fc.string({ unit: codeUnit, maxLength: 8 }),
);
/** Arbitrary text with arbitrary control sequences mixed in. */
const hostile = fc.array(fc.oneof(sequence, text), { maxLength: 12 }).map((parts) => parts.join(''));

describe('printable (terminal-safe disk strings)', () => {
  it('leaves no C0, DEL, C1, separator or bidi control in any string', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const p = printable(s);
        expect(p).not.toMatch(ACTIVE);
        expect(isPrintable(p)).toBe(!p.includes('\\'));
        // As bytes on the wire: no C0/DEL byte, and no UTF-8 encoded C1 (C2 80–C2 9F).
        const bytes = Buffer.from(p, 'utf8');
        for (let i = 0; i < bytes.length; i++) {
          const b = bytes[i]!;
          expect(b < 0x20 || b === 0x7f).toBe(false);
          if (b === 0xc2) expect(bytes[i + 1]! >= 0x80 && bytes[i + 1]! <= 0x9f).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('is reversible, hence unambiguous: unprintable(printable(s)) === s', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        expect(unprintable(printable(s))).toBe(s);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(hostile, hostile, (a, b) => {
        if (a !== b) expect(printable(a)).not.toBe(printable(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('maps code unit by code unit, so a whole line may be made printable at once', () => {
    fc.assert(
      fc.property(hostile, hostile, (a, b) => {
        expect(printable(a + b)).toBe(printable(a) + printable(b));
      }),
    );
  });

  it('leaves ordinary text alone', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[ -[\]-~]*$/), (s) => {
        expect(printable(s)).toBe(s);
        expect(isPrintable(s)).toBe(true);
      }),
    );
    expect(printable('Fedora Linux 39 (6.5.6-300.fc39.x86_64) — ünïcödé ✓')).toBe(
      'Fedora Linux 39 (6.5.6-300.fc39.x86_64) — ünïcödé ✓',
    );
  });

  it('shows escapes the way the README documents them', () => {
    expect(printable(`Evil ${ESC}[2J${ESC}]0;pwned\x07 \x9b \x9d ${ESC}[1A${ESC}[K end`)).toBe(
      'Evil \\x1b[2J\\x1b]0;pwned\\x07 \\x9b \\x9d \\x1b[1A\\x1b[K end',
    );
    expect(printable('a\\b\tc\nd\x7f\u202e')).toBe('a\\\\b\\x09c\\x0ad\\x7f\\u202e');
    expect(unprintable('a\\\\x1b')).toBe('a\\x1b');
  });
});
