// BLS snippet syntax (docs/bls.md §2) and keys (§3), conformance checklist §13 "Parser" and
// "Repeated keys", plus fuzzing: random and mutated files never throw and every diagnostic
// names the file and a line.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { joinOptions, parseBlsEntry, type BlsParseResult } from '../../../src/discovery/config/blsfile';
import { splitKeyValueLines, firstInvalidUtf8 } from '../../../src/discovery/config/lines';

const W = { file: '/loader/entries/t.conf', fsId: 'vda:1' };
const enc = (s: string) => new TextEncoder().encode(s);
const parse = (s: string, arch: 'x64' | 'aa64' = 'x64') => parseBlsEntry(enc(s), W, arch);
function ok(r: BlsParseResult) {
  if (r.status !== 'ok') throw new Error(`expected ok, got ${r.status}: ${JSON.stringify(r.diagnostics)}`);
  return r.fields;
}

describe('line syntax', () => {
  const kv = (s: string) => splitKeyValueLines(s).lines.map((l) => [l.key, l.value, l.line]);

  it('tabs and spaces both separate key and value; inner blanks are kept', () => {
    expect(kv('title\tFedora  Linux\nversion    6.1 \t\n')).toEqual([
      ['title', 'Fedora  Linux', 1],
      ['version', '6.1', 2],
    ]);
  });

  it('CR, LF and CRLF all end lines; line numbers count CRLF once', () => {
    expect(kv('a 1\r\nb 2\rc 3\nd 4')).toEqual([
      ['a', '1', 1],
      ['b', '2', 2],
      ['c', '3', 3],
      ['d', '4', 4],
    ]);
  });

  it('comments, including indented ones; "#" inside a value is kept', () => {
    expect(kv('# c\n   # indented\n\t#tab\noptions a#b # c\n')).toEqual([['options', 'a#b # c', 4]]);
  });

  it('a key without a value is ignored', () => {
    expect(kv('linux\n  initrd   \nversion 1\n')).toEqual([['version', '1', 3]]);
  });

  it('quotes: "x" stripped, "x kept, x" kept, inner quotes kept, lone " becomes empty', () => {
    expect(kv('a "x"\nb "x\nc x"\nd "a" b "c"\ne "\nf ""\n')).toEqual([
      ['a', 'x', 1],
      ['b', '"x', 2],
      ['c', 'x"', 3],
      ['d', 'a" b "c', 4],
      ['e', '', 5],
      ['f', '', 6],
    ]);
  });

  it('single quotes are not stripped (spec: only double quotes)', () => {
    expect(kv("a 'x'")).toEqual([['a', "'x'", 1]]);
  });

  it('reports the line where the line limit is hit', () => {
    const r = splitKeyValueLines('a 1\n'.repeat(10), { maxLines: 5 });
    expect(r.tooManyLines).toBe(6);
    expect(r.lines).toHaveLength(5);
  });
});

describe('keys', () => {
  it('a complete Fedora snippet', () => {
    const f = ok(
      parse(
        [
          'title Fedora Linux 39 (Workstation Edition)',
          'version 6.5.6-300.fc39.x86_64',
          'linux /vmlinuz-6.5.6-300.fc39.x86_64',
          'initrd /initramfs-6.5.6-300.fc39.x86_64.img',
          'options root=UUID=1234 ro rhgb quiet',
          'grub_users $grub_users',
          'grub_arg --unrestricted',
          'grub_class fedora',
          'id fedora-20231010-6.5.6',
          '',
        ].join('\n'),
      ),
    );
    expect(f.title).toBe('Fedora Linux 39 (Workstation Edition)');
    expect(f.version).toBe('6.5.6-300.fc39.x86_64');
    expect(f.loader).toEqual({ kind: 'linux', value: '/vmlinuz-6.5.6-300.fc39.x86_64', line: 3 });
    expect(f.initrds).toEqual([{ value: '/initramfs-6.5.6-300.fc39.x86_64.img', line: 4 }]);
    expect(joinOptions(f.options)).toBe('root=UUID=1234 ro rhgb quiet');
  });

  it('Fedora grub_* and id keys are tolerated silently; unknown keys are ignored', () => {
    const r = parse('linux /k\ngrub_users x\ngrub_arg y\ngrub_class z\nid w\nfrobnicate 1\n');
    ok(r);
    expect(r.diagnostics).toEqual([]);
  });

  it('a known key in the wrong case is ignored with an info note', () => {
    const r = parse('linux /k\nTitle X\n');
    expect(ok(r).title).toBeUndefined();
    expect(r.diagnostics).toMatchObject([{ severity: 'info', line: 2, file: W.file }]);
  });

  it('all options lines are joined with one space, in order', () => {
    expect(joinOptions(ok(parse('options a b\nlinux /k\noptions  c\noptions "d e"\n')).options)).toBe('a b c d e');
  });

  it('all initrd lines are kept, in order', () => {
    expect(
      ok(parse('initrd /ucode.img\nlinux /k\ninitrd /initrd.img\ninitrd /extra.img\n')).initrds.map((i) => i.value),
    ).toEqual(['/ucode.img', '/initrd.img', '/extra.img']);
  });

  it('repeated last-wins keys: linux, title, version, machine-id, sort-key, devicetree', () => {
    const f = ok(
      parse(
        'linux /a\nlinux /b\ntitle A\ntitle B\nversion 1\nversion 2\nmachine-id 0\nmachine-id 1\nsort-key x\nsort-key y\ndevicetree /a.dtb\ndevicetree /b.dtb\n',
      ),
    );
    expect([f.loader.value, f.title, f.version, f.machineId, f.sortKey, f.devicetree?.value]).toEqual([
      '/b',
      'B',
      '2',
      '1',
      'y',
      '/b.dtb',
    ]);
    expect(f.loader.line).toBe(2);
  });

  it.each([
    ['linux', 'uki'],
    ['uki', 'linux'],
    ['efi', 'linux'],
    ['linux', 'efi'],
    ['uki-url', 'uki'],
    ['uki', 'uki-url'],
  ])('%s + %s: entry is bad, diagnostic names file and the conflicting line', (k1, k2) => {
    const r = parse(`title t\n${k1} /a\noptions x\n${k2} /b\n`);
    expect(r.status).toBe('bad');
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ severity: 'error', file: W.file, fsId: 'vda:1', line: 4 });
    expect(r.diagnostics[0]!.message).toContain('line 2');
  });

  it('no loader key: bad', () => {
    const r = parse('title t\noptions x\n');
    expect(r.status).toBe('bad');
    expect(r.diagnostics[0]).toMatchObject({ severity: 'error', line: 2 });
  });

  it('efi, uki and uki-url entries', () => {
    expect(ok(parse('efi /EFI/tools/shell.efi\noptions -nostartup\n')).loader).toMatchObject({
      kind: 'efi',
      value: '/EFI/tools/shell.efi',
    });
    const u = ok(parse('uki /EFI/Linux/a.efi\nprofile 2\n'));
    expect(u.loader.kind).toBe('uki');
    expect(u.profile).toBe(2);
    expect(ok(parse('uki-url http://h/a.efi\n')).loader).toMatchObject({ kind: 'uki-url', value: 'http://h/a.efi' });
    expect(ok(parse('uki-url :b.efi\n')).loader.value).toBe(':b.efi');
  });

  it('profile must be an unsigned number, otherwise a warning and 0', () => {
    for (const bad of ['-1', 'x', '1x', '4294967296', '+1', '0x1']) {
      const r = parse(`uki /a.efi\nprofile ${bad}\n`);
      expect(ok(r).profile).toBe(0);
      expect(r.diagnostics).toMatchObject([{ severity: 'warning', line: 2 }]);
    }
    expect(ok(parse('uki /a.efi\nprofile 4294967295\n')).profile).toBe(4294967295);
  });

  it('architecture: case-insensitive match keeps the entry; mismatch hides it and stops parsing', () => {
    expect(ok(parse('architecture X64\nlinux /k\n')).architecture).toBe('X64');
    expect(ok(parse('architecture aa64\nlinux /k\n', 'aa64')).architecture).toBe('aa64');
    const r = parse('linux /k\narchitecture aa64\nlinux /k\nuki /x\n');
    expect(r.status).toBe('ignored');
    expect(r.diagnostics).toMatchObject([{ severity: 'info', line: 2, file: W.file }]);
  });

  it('devicetree-overlay: space-separated list, lines accumulate', () => {
    const f = ok(
      parse('linux /k\ndevicetree /d.dtb\ndevicetree-overlay /a.dtbo  /b.dtbo\ndevicetree-overlay /c.dtbo\n'),
    );
    expect(f.devicetreeOverlays.map((o) => o.value)).toEqual(['/a.dtbo', '/b.dtbo', '/c.dtbo']);
  });

  it('extra: all kept, unknown suffixes tolerated', () => {
    expect(
      ok(parse('linux /k\nextra /a.cred\nextra /b.sysext.raw\nextra /c.weird\n')).extra.map((e) => e.value),
    ).toEqual(['/a.cred', '/b.sysext.raw', '/c.weird']);
  });

  it('machine-id that is not 32 hex digits is kept with an info note', () => {
    const r = parse('linux /k\nmachine-id ABC\n');
    expect(ok(r).machineId).toBe('ABC');
    expect(r.diagnostics).toMatchObject([{ severity: 'info', line: 2 }]);
  });
});

describe('file-level problems', () => {
  it('invalid UTF-8: entry skipped, diagnostic names the line of the bad byte', () => {
    const bytes = new Uint8Array([...enc('title a\nlinux /k\r\noptions '), 0xff, ...enc('\n')]);
    const r = parseBlsEntry(bytes, W, 'x64');
    expect(r.status).toBe('invalid');
    expect(r.diagnostics).toMatchObject([{ severity: 'error', file: W.file, line: 3 }]);
  });

  it.each([
    [[0xc0, 0x80]], // overlong
    [[0xed, 0xa0, 0x80]], // surrogate
    [[0xf4, 0x90, 0x80, 0x80]], // > U+10FFFF
    [[0xe2, 0x82]], // truncated
    [[0x80]], // stray continuation
  ])('rejects malformed sequence %j', (seq) => {
    expect(firstInvalidUtf8(new Uint8Array(seq))).toBe(0);
  });

  it('accepts well-formed multi-byte text', () => {
    expect(firstInvalidUtf8(enc('Débian 😀 ü'))).toBe(-1);
  });

  it('a BOM is dropped so the first key still counts', () => {
    const r = parseBlsEntry(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('title T\nlinux /k\n')]), W, 'x64');
    expect(ok(r).title).toBe('T');
  });

  it('a NUL ends the file (as in sd-boot) with a warning naming its line', () => {
    const r = parseBlsEntry(new Uint8Array([...enc('linux /k\ntitle T\n'), 0, ...enc('\ntitle U\n')]), W, 'x64');
    expect(ok(r).title).toBe('T');
    expect(r.diagnostics).toMatchObject([{ severity: 'warning', line: 3 }]);
  });

  it('size and line-count limits', () => {
    const big = parseBlsEntry(new Uint8Array(70_000).fill(0x20), W, 'x64');
    expect(big.status).toBe('invalid');
    expect(big.diagnostics[0]).toMatchObject({ severity: 'error', line: 1 });
    const many = parseBlsEntry(enc('linux /k\n' + '#\n'.repeat(5000)), W, 'x64');
    expect(many.status).toBe('invalid');
    expect(many.diagnostics[0]).toMatchObject({ severity: 'error', line: 4097 });
  });
});

describe('fuzz', () => {
  const keys = [
    'title',
    'version',
    'linux',
    'efi',
    'uki',
    'uki-url',
    'initrd',
    'options',
    'architecture',
    'profile',
    'devicetree',
    'devicetree-overlay',
    'machine-id',
    'sort-key',
    'extra',
    'Title',
    'grub_arg',
    '#',
    '',
  ];
  const sep = fc.constantFrom(' ', '\t', '  ', '');
  const eol = fc.constantFrom('\n', '\r\n', '\r', '');
  const val = fc.string({ maxLength: 20 });
  const lineArb = fc.tuple(fc.constantFrom(...keys), sep, val, eol).map(([k, s, v, e]) => k + s + v + e);
  const fileArb = fc.array(lineArb, { maxLength: 30 }).map((l) => l.join('\n'));

  function checkResult(r: BlsParseResult) {
    for (const d of r.diagnostics) {
      expect(d.file).toBe(W.file);
      expect(Number.isInteger(d.line) && d.line! >= 1).toBe(true);
    }
    if (r.status === 'ok') {
      expect(LOADERS).toContain(r.fields.loader.kind);
    } else if (r.status !== 'ignored') {
      expect(r.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    }
  }
  const LOADERS = ['linux', 'efi', 'uki', 'uki-url'];

  it('structured random files', () => {
    fc.assert(
      fc.property(fileArb, (s) => checkResult(parse(s))),
      { numRuns: 2000 },
    );
  });

  it('random bytes and mutated real files', () => {
    const real = enc('title Fedora\nversion 6.1\nlinux /vmlinuz\ninitrd /initrd\noptions root=/dev/sda1 ro\n');
    const mutated = fc
      .array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })
      .map((muts) => {
        const b = real.slice();
        for (const [i, v] of muts) b[i] = v;
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), (b) => checkResult(parseBlsEntry(b, W, 'x64'))),
      { numRuns: 3000 },
    );
  });
});
