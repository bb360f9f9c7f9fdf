// loader.conf parsing (docs/bls.md §11): default, timeout keywords, booleans in every spelling,
// and fuzzing (never throws, every diagnostic has file and line).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseLoaderConf } from '../../../src/discovery/config/loaderconf';

const W = { file: '/loader/loader.conf', fsId: 'vda:1' };
const p = (s: string) => parseLoaderConf(new TextEncoder().encode(s), W);

describe('default', () => {
  it('a glob, lower-cased', () => {
    expect(p('default Fedora-*\n').conf).toMatchObject({ default: 'fedora-*', defaultLine: 1 });
  });
  it('@saved in any case', () => {
    expect(p('default @SAVED').conf.default).toBe('@saved');
  });
  it('other @ values are rejected with a warning, keeping the previous default', () => {
    const r = p('default fedora-*\ndefault @oneshot\n');
    expect(r.conf.default).toBe('fedora-*');
    expect(r.diagnostics).toMatchObject([{ severity: 'warning', line: 2, file: W.file }]);
  });
  it('last wins', () => {
    expect(p('default a\ndefault b').conf.default).toBe('b');
  });
});

describe('timeout (docs/bls.md §11.4, not the sd-boot regression)', () => {
  it.each([
    ['5', { kind: 'seconds', seconds: 5 }],
    ['0', { kind: 'seconds', seconds: 0 }],
    ['007', { kind: 'seconds', seconds: 7 }],
    ['4294967295', { kind: 'seconds', seconds: 4294967295 }],
    ['menu-hidden', { kind: 'menu-hidden' }],
    ['menu-force', { kind: 'menu-force' }],
    ['menu-disabled', { kind: 'menu-disabled' }],
  ])('timeout %s', (v, t) => {
    const r = p(`timeout ${v}\n`);
    expect(r.conf.timeout).toEqual(t);
    expect(r.diagnostics).toEqual([]);
  });
  it.each(['-1', '1.5', 'ten', '4294967296', 'Menu-Force', '5s'])(
    'invalid timeout %s is a warning and ignored',
    (v) => {
      const r = p(`timeout 3\ntimeout ${v}\n`);
      expect(r.conf.timeout).toEqual({ kind: 'seconds', seconds: 3 });
      expect(r.diagnostics).toMatchObject([{ severity: 'warning', line: 2 }]);
    },
  );
  it('unset stays unset', () => {
    expect(p('editor no\n').conf.timeout).toBeUndefined();
  });
});

describe('booleans (docs/bls.md §11.1)', () => {
  const yes = ['yes', 'y', 'true', 't', 'on', '1', 'YES', 'True'];
  const no = ['no', 'n', 'false', 'f', 'off', '0', 'No', 'OFF'];
  it.each(yes)('%s is true', (v) => {
    expect(
      p(`editor ${v}\nauto-entries ${v}\nbeep ${v}\nauto-firmware ${v}\nauto-poweroff ${v}\nauto-reboot ${v}`).conf,
    ).toEqual({
      editor: true,
      autoEntries: true,
      beep: true,
      autoFirmware: true,
      autoPoweroff: true,
      autoReboot: true,
    });
  });
  it.each(no)('%s is false', (v) => {
    expect(p(`editor ${v}\nauto-entries ${v}`).conf).toEqual({ editor: false, autoEntries: false });
  });
  it.each(['2', 'yess', 'enabled', '"'])('%s is not a boolean', (v) => {
    const r = p(`editor ${v}`);
    expect(r.conf.editor).toBeUndefined();
    expect(r.diagnostics).toMatchObject([{ severity: 'warning', line: 1 }]);
  });
});

describe('other keys and syntax', () => {
  it('sd-boot keys that do not apply are accepted silently; unknown keys get an info note', () => {
    const r = p('console-mode max\nsecure-boot-enroll off\nreboot-on-error auto\nlog-level debug\nfoo bar\n');
    expect(r.conf).toEqual({});
    expect(r.diagnostics).toMatchObject([{ severity: 'info', line: 5 }]);
  });
  it('comments, quotes, CRLF, tabs', () => {
    expect(p('# comment\r\n\ttimeout\t"10"\r\n  default "debian-*"\r\n').conf).toEqual({
      timeout: { kind: 'seconds', seconds: 10 },
      default: 'debian-*',
      defaultLine: 3,
    });
  });
  it('invalid UTF-8: ignored with an error naming the line', () => {
    const r = parseLoaderConf(new Uint8Array([...new TextEncoder().encode('timeout 3\ndefault '), 0xfe]), W);
    expect(r.conf).toEqual({});
    expect(r.diagnostics).toMatchObject([{ severity: 'error', line: 2 }]);
  });
});

describe('fuzz', () => {
  it('never throws; every diagnostic names the file and a line', () => {
    const keys = fc.constantFrom('default', 'timeout', 'editor', 'auto-entries', 'beep', 'console-mode', 'x', '#');
    const line = fc
      .tuple(keys, fc.constantFrom(' ', '\t', ''), fc.string({ maxLength: 12 }), fc.constantFrom('\n', '\r\n', '\r'))
      .map((t) => t.join(''));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(line, { maxLength: 20 }).map((a) => new TextEncoder().encode(a.join(''))),
          fc.uint8Array({ maxLength: 200 }),
        ),
        (b) => {
          const r = parseLoaderConf(b, W);
          for (const d of r.diagnostics) {
            expect(d.file).toBe(W.file);
            expect(d.line).toBeGreaterThanOrEqual(1);
          }
          if (r.conf.default !== undefined) expect(r.conf.default).toBe(r.conf.default.toLowerCase());
        },
      ),
      { numRuns: 3000 },
    );
  });
});
