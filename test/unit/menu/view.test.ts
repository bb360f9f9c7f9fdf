import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MenuState } from '../../../src/menu/state';
import { ASCII, detailLines, glyphsFor, render, UNICODE } from '../../../src/menu/view';
import { listText } from '../../../src/menu/plain';
import { all, broken, entry, inMenu, others, settings } from './entries';
import { diag } from '../../../src/discovery/diagnostics';
import { log, setConsoleLevel } from '../../../src/log';
import { printable } from '../../../src/util/printable';
import { LineEditor } from '../../../src/menu/editor';
import { hashPassword, verifyPassword, parseHash } from '../../../src/menu/password';

describe('menu frames', () => {
  for (const [w, h] of [
    [80, 24],
    [132, 43],
    [40, 12],
  ] as const) {
    it(`fills exactly ${w}x${h} in every mode`, () => {
      const st = new MenuState();
      st.setEntries(all, settings('debian.conf'));
      st.startCountdown(5);
      for (const k of ['', 'i', 'escape', 'l', 'escape', 'h', 'escape', 'e', 'escape', '/']) {
        if (k) st.key(k);
        const f = render(st, w, h, ASCII);
        expect(f.lines).toHaveLength(h);
        for (const l of f.lines) expect([...l.text].length).toBeLessThanOrEqual(w);
        for (const l of f.lines) expect(l.text).toMatch(/^[\x20-\x7e]*$/);
      }
    });
  }
  it('marks selection, default and bad entries in text, not only with attributes', () => {
    const st = new MenuState();
    st.setEntries(all, settings('debian.conf'));
    const text = render(st, 80, 24, ASCII)
      .lines.map((l) => l.text)
      .join('\n');
    expect(text).toMatch(/>\*\s+Debian 12/);
    expect(text).toMatch(/Old kernel\s+\[bad\]/);
    expect(text).toMatch(/Fedora 39 \(6\.5\).*\[\+2\]/);
  });
  it('shows the countdown and the editor cursor', () => {
    const st = new MenuState();
    st.setEntries(all, settings('debian.conf'));
    st.startCountdown(7);
    expect(render(st, 80, 24, ASCII).lines.at(-2)!.text).toMatch(/Booting 'Debian 12' in 7 s/);
    st.key('e');
    const f = render(st, 80, 24, ASCII);
    expect(f.cursor?.row).toBe(22);
    expect(f.lines[22]!.text).toMatch(/^ >root=\/dev\/vda2 ro debian\.conf/);
  });
  it('chooses Unicode borders only where they render', () => {
    expect(glyphsFor({ TERM: 'linux' })).toBe(UNICODE);
    expect(glyphsFor({ TERM: 'vt100', LANG: 'C.UTF-8' })).toBe(ASCII);
    expect(glyphsFor({ TERM: 'vt220' })).toBe(ASCII);
    expect(glyphsFor({ TERM: 'xterm-256color', LANG: 'en_US.UTF-8' })).toBe(UNICODE);
    expect(glyphsFor({ TERM: 'xterm' })).toBe(ASCII);
    expect(glyphsFor({ TERM: 'linux', TENDRIL_ASCII: '1' })).toBe(ASCII);
  });
});

describe('broken entries', () => {
  const screen = (st: MenuState) =>
    render(st, 100, 24, ASCII)
      .lines.map((l) => l.text)
      .join('\n');
  it('are [BROKEN] with their reason, never [BROKEN,VM] or "booted in a VM"', () => {
    const st = new MenuState();
    st.setEntries([...others.slice(0, 2), ...broken], settings('debian.conf'));
    let text = screen(st);
    expect(text).toMatch(/Windows 7 \(on \/dev\/sdb1\)\s+\[BROKEN\]\s+\|/);
    expect(text).toMatch(/EFI Shell\s+\[BROKEN\]\s+\|/);
    expect(text).toMatch(/Memtest86\+\s+\[VM\]/);
    expect(text).not.toMatch(/BROKEN,VM/);
    // The status line gives the selected entry's reason.
    st.key('j');
    st.key('j');
    expect(st.current?.id).toBe('win7.conf');
    text = screen(st);
    expect(text).toMatch(/win7\.conf {2}BROKEN: chainloader \+1 boots a BIOS boot sector/);
    // Details: the reason, and what the config declares (if anything), not how it would boot.
    const win = detailLines(broken[0]!);
    expect(win).toContain('target    none');
    expect(win).toContain(
      'bootable  NO: chainloader +1 boots a BIOS boot sector; not supported (no BIOS under tendril)',
    );
    const shell = detailLines(broken[1]!);
    expect(shell).toContain('target    as the config declares it (cannot boot):');
    expect(shell).toContain('efi       disk.img:1:/shell.efi');
    expect(shell).toContain('bootable  NO: efi /shell.efi: not found (tried /shell.efi) on disk.img:1');
    expect([...win, ...shell].join('\n')).not.toMatch(/booted in a VM/);
    expect(detailLines(others[1]!)).toContain('efi       disk.img:1:/EFI/memtest.efi  (booted in a VM)');
    // Line mode: the mark and the reason.
    expect(listText(st)).toMatch(/EFI Shell \[BROKEN\]: efi \/shell\.efi: not found/);
  });
});

describe('line editor', () => {
  it('scrolls a long line around the cursor', () => {
    const ed = new LineEditor('x'.repeat(200));
    const [text, col] = ed.view(50);
    // The cursor sits after the last character, so the window keeps one free cell.
    expect(text).toBe('x'.repeat(49));
    expect(col).toBe(49);
    ed.home();
    expect(ed.view(50)).toEqual(['x'.repeat(50), 0]);
  });
  it('drops control characters (C0, DEL, C1) and deletes words', () => {
    const ed = new LineEditor('a b');
    ed.insert('\x1b[2J\x9b\x7f c');
    expect(ed.value).toBe('a b[2J c');
    ed.killWord();
    expect(ed.value).toBe('a b[2J ');
  });
});

describe('menu password', () => {
  it('verifies a salted scrypt hash and rejects a wrong password', () => {
    const h = hashPassword('s3cret');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(hashPassword('s3cret')).not.toBe(h);
    expect(verifyPassword('s3cret', h)).toBe(true);
    expect(verifyPassword('s3cret ', h)).toBe(false);
  });
  it('refuses malformed or hostile hash strings', () => {
    expect(() => parseHash('md5$abc')).toThrow(/scrypt/);
    expect(() => parseHash('scrypt$1073741824$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==')).toThrow(/range/);
  });
});

describe('disk strings in the menu (issue 16 finding 10)', () => {
  const ESC = '\x1b';
  /** Terminal control sequences and C1 controls as a hostile disk would put them in any string. */
  const hostile = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          `${ESC}[2J`,
          `${ESC}]0;t\x07`,
          `${ESC}[1A${ESC}[K`,
          '\x9b31m',
          '\x85',
          '\r',
          '\\',
          '{bold}',
          '\u202e',
        ),
        fc.string({ maxLength: 6 }),
        fc.string({ unit: fc.integer({ min: 0, max: 0x2100 }).map((n) => String.fromCharCode(n)), maxLength: 4 }),
      ),
      { minLength: 1, maxLength: 6 },
    )
    .map((p) => p.join(''));

  function hostileEntries(t: string): ReturnType<typeof inMenu> {
    const where = { fsId: `d:1${t}`, file: `/e${t}`, line: 1 };
    return inMenu(
      [
        entry(`ok${t}.conf`, {
          displayTitle: `A${t}`,
          version: t,
          diagnostics: [diag('warning', 'bls', `unknown key ${t}`, where)],
          status: {
            ok: true,
            target: { kind: 'linux', kernel: { fsId: 'disk.img:1', path: `/vm${t}` }, initrds: [], cmdline: `ro ${t}` },
          },
        }),
        entry(`bad${t}.conf`, { displayTitle: `B${t}`, status: { ok: false, reason: `linux /x${t}: not found` } }),
      ],
      `ok${t}.conf`,
    );
  }

  /** Every frame of every mode the keys reach: the help, details, log, editor, search, error, loading. */
  function frames(t: string): string[] {
    const st = new MenuState();
    st.setEntries(hostileEntries(t), settings(`ok${t}.conf`));
    st.startCountdown(5);
    setConsoleLevel('off');
    log('warn', 'test', `disk said ${t}`);
    setConsoleLevel('warn');
    const out: string[] = [];
    const snap = (): void => void out.push(...render(st, 80, 24, ASCII).lines.map((l) => l.text));
    snap();
    for (const k of ['i', 'escape', 'l', 'escape', 'e', 'escape', '/', 'escape', 'down']) {
      st.key(k);
      snap();
    }
    st.showError(`Cannot boot B${t}`, [`hint: ${t}`, t]);
    snap();
    st.showLoading(st.entries[0]!, `disk.img:1:/vm${t} [####] 50%`);
    snap();
    return out;
  }

  it('draws no control character from any title, id, path, reason, diagnostic or log line', () => {
    fc.assert(
      fc.property(hostile, (t) => {
        for (const line of frames(t)) expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/);
      }),
      { numRuns: 150 },
    );
  });

  it('shows the escapes, and the editor cursor counts their columns', () => {
    const t = `${ESC}[2J\x9b`;
    const text = frames(t).join('\n');
    expect(text).toContain('A\\x1b[2J\\x9b');
    expect(text).toContain('linux /x\\x1b[2J\\x9b: not found');
    expect(text).toContain('unknown key \\x1b[2J\\x9b');
    // The log view, scrolled to its end (the newest record).
    const st = new MenuState();
    st.key('l');
    st.scroll = 1e6;
    expect(
      render(st, 80, 24, ASCII)
        .lines.map((l) => l.text)
        .join('\n'),
    ).toContain('disk said \\x1b[2J\\x9b');
    const ed = new LineEditor(`ro ${t} x`);
    expect(ed.view(80)).toEqual([`ro ${printable(t)} x`, `ro ${printable(t)} x`.length]);
    ed.home();
    for (let i = 0; i < 4; i++) ed.right();
    expect(ed.view(80)[1]).toBe('ro \\x1b'.length);
  });

  it('the plain menu lists and details them the same way', () => {
    const st = new MenuState();
    const t = `${ESC}]0;pwned\x07`;
    st.setEntries(hostileEntries(t), settings(`ok${t}.conf`));
    const text = listText(st) + detailLines(st.entries[0]!).map(printable).join('\n');
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(text).toContain('A\\x1b]0;pwned\\x07');
    expect(text).toContain('B\\x1b]0;pwned\\x07 [BROKEN]: linux /x\\x1b]0;pwned\\x07: not found');
  });
});
