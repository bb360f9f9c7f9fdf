// grubenv parsing and rewriting (docs/grub-syslinux.md §A8), checked against the real
// grub-editenv (Debian grub-common): blocks it writes parse to what it lists, and our
// rewrite produces byte-identical blocks to its set/unset.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GRUBENV_SIZE, parseGrubenv, rewriteGrubenv } from '../../../src/discovery/config/grubenv';

const enc = (s: string) => new TextEncoder().encode(s);
const W = { file: '/grub2/grubenv', fsId: 'vda:2' };

function block(body: string, size = GRUBENV_SIZE): Uint8Array {
  const b = new Uint8Array(size).fill(0x23);
  b.set(enc('# GRUB Environment Block\n' + body));
  return b;
}

describe('parseGrubenv (spec)', () => {
  it('reads name=value lines, skips # lines, lines without = and empty names', () => {
    const r = parseGrubenv(
      block('saved_entry=abc-6.1\n# a comment\njunk line\n=nope\nkernelopts=root=/dev/sda1 ro quiet\n\n'),
      W,
    );
    expect([...r.vars]).toEqual([
      ['saved_entry', 'abc-6.1'],
      ['kernelopts', 'root=/dev/sda1 ro quiet'],
    ]);
    expect(r.diagnostics.map((d) => [d.severity, d.line])).toEqual([
      ['info', 4],
      ['info', 5],
    ]);
  });

  it('unescapes \\\\ and backslash-newline; counts escaped newlines as lines', () => {
    const r = parseGrubenv(block('a=x\\\\y\nb=line1\\\nline2\nc\n'), W);
    expect(r.vars.get('a')).toBe('x\\y');
    expect(r.vars.get('b')).toBe('line1\nline2');
    expect(r.diagnostics[0]).toMatchObject({ line: 5 });
  });

  it('later duplicates win (load_env semantics)', () => {
    expect(parseGrubenv(block('a=1\na=2\n')).vars.get('a')).toBe('2');
  });

  it('no signature: grub refuses the block, so do we', () => {
    const r = parseGrubenv(enc('kernelopts=x\n'), W);
    expect(r.vars.size).toBe(0);
    expect(r.diagnostics).toMatchObject([{ severity: 'warning', file: W.file, line: 1 }]);
  });

  it('a block that is not 1024 bytes is read with a note', () => {
    const r = parseGrubenv(block('a=1\n', 512));
    expect(r.vars.get('a')).toBe('1');
    expect(r.diagnostics).toMatchObject([{ severity: 'info' }]);
  });

  it('a truncated last line is ignored with a warning', () => {
    const r = parseGrubenv(enc('# GRUB Environment Block\na=1\nb=2'), W);
    expect([...r.vars]).toEqual([['a', '1']]);
    expect(r.diagnostics[0]).toMatchObject({ severity: 'warning', line: 3 });
  });

  it('never throws on random bytes; diagnostics carry lines', () => {
    const sig = enc('# GRUB Environment Block\n');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1100 }), fc.boolean(), (b, withSig) => {
        const input = withSig ? new Uint8Array([...sig, ...b]) : b;
        const r = parseGrubenv(input, W);
        for (const d of r.diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
        const rw = rewriteGrubenv(input, new Map([['next_entry', null]]));
        if (rw.ok) expect(rw.block.length).toBe(input.length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('rewriteGrubenv (spec)', () => {
  it('clears next_entry in place, keeps size and pads with #', () => {
    const before = block('saved_entry=a\nnext_entry=b\nboot_once=true\n');
    const r = rewriteGrubenv(before, new Map([['next_entry', null]]));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.block.length).toBe(GRUBENV_SIZE);
    expect(new TextDecoder().decode(r.block)).toBe(
      '# GRUB Environment Block\nsaved_entry=a\nboot_once=true\n'.padEnd(GRUBENV_SIZE, '#'),
    );
  });

  it('refuses what does not fit, non-grubenv input and bad names', () => {
    expect(rewriteGrubenv(block(''), new Map([['x', 'y'.repeat(2000)]]))).toMatchObject({ ok: false });
    expect(rewriteGrubenv(enc('hello'), new Map([['x', null]]))).toMatchObject({ ok: false });
    expect(rewriteGrubenv(block(''), new Map([['a=b', 'c']]))).toMatchObject({ ok: false });
    expect(rewriteGrubenv(block(''), new Map([['', 'c']]))).toMatchObject({ ok: false });
  });

  it('removes later duplicates of a changed name so the change sticks', () => {
    const r = rewriteGrubenv(block('a=1\nb=2\na=3\n'), new Map([['a', '9']]));
    expect(r.ok && [...parseGrubenv(r.block).vars]).toEqual([
      ['a', '9'],
      ['b', '2'],
    ]);
  });
});

describe('against grub-editenv', () => {
  const tool = '/usr/bin/grub-editenv';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-grubenv-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('grub-editenv is installed (apt-get install grub-common; .ci/run does this)', () => {
    expect(fs.existsSync(tool)).toBe(true);
  });

  const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/);
  const value = fc
    .array(fc.constantFrom('a', 'Z', '0', ' ', '=', '\\', '\n', '#', 'é', '$', '"'), { maxLength: 40 })
    .map((a) => a.join(''));
  let n = 0;

  it('what it writes parses to what it lists; our rewrite equals its set/unset byte for byte', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, value), { selector: (t) => t[0], maxLength: 8 }),
        fc.uniqueArray(fc.tuple(name, fc.option(value, { nil: null })), { selector: (t) => t[0], maxLength: 5 }),
        (initial, changes) => {
          const f = path.join(dir, `env${n++}`);
          execFileSync(tool, [f, 'create']);
          if (initial.length) execFileSync(tool, [f, 'set', ...initial.map(([k, v]) => `${k}=${v}`)]);
          const before = new Uint8Array(fs.readFileSync(f));
          const parsed = parseGrubenv(before);
          expect(parsed.diagnostics).toEqual([]);
          expect([...parsed.vars]).toEqual(initial);

          const ours = rewriteGrubenv(before, new Map(changes));
          let fits = true;
          try {
            for (const [k, v] of changes) {
              if (v === null) execFileSync(tool, [f, 'unset', k]);
              else execFileSync(tool, [f, 'set', `${k}=${v}`], { stdio: 'pipe' });
            }
          } catch {
            fits = false;
          }
          expect(ours.ok).toBe(fits);
          if (ours.ok) expect(Buffer.from(ours.block).equals(fs.readFileSync(f))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('overflow: grub-editenv and rewriteGrubenv agree that 1024 bytes are full', () => {
    const f = path.join(dir, 'full');
    execFileSync(tool, [f, 'create']);
    const before = new Uint8Array(fs.readFileSync(f));
    let fits = true;
    try {
      execFileSync(tool, [f, 'set', `x=${'y'.repeat(1000)}`], { stdio: 'pipe' });
    } catch {
      fits = false;
    }
    expect(fits).toBe(false);
    expect(rewriteGrubenv(before, new Map([['x', 'y'.repeat(1000)]])).ok).toBe(false);
  });
});
