// The `regexp` command (docs/grub-syslinux.md §A12): issue 16 finding 6's pathological patterns
// finish in linear steps with glibc's answers, and `--set` behaves as grub's set_matches.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LinuxTarget } from '../../../src/discovery/model';
import { compile, execOffsets, MAX_MATCH_STEPS, MAX_PROGRAM } from '../../../src/discovery/sources/grub/match/ere';
import { targetOf } from '../../fixtures/status';
import { runCfg } from './helpers';
import { regexOracle } from './posix-oracle';

/** One entry whose cmdline shows the words after `linux /k`. */
const show = (words: string): string => `menuentry 't' {\n linux /k ${words}\n}\n`;
const cmdline = async (cfg: string): Promise<{ cmdline: string; messages: string[] }> => {
  const s = await runCfg(cfg);
  return {
    cmdline: (targetOf(s.entries[0]!) as LinuxTarget).cmdline,
    messages: s.diagnostics.filter((d) => d.severity !== 'info').map((d) => d.message),
  };
};

const SUBJECT = 'a'.repeat(120);
/** The shapes of finding 6: `a*` or `a{1,99}` twenty times, grouped or not, failing or anchored. */
const PATHOLOGICAL = [
  'a*'.repeat(20) + 'b',
  '(a*)'.repeat(20) + 'b',
  'a{1,99}'.repeat(20) + 'b',
  '(a{1,99})'.repeat(20) + 'b',
  '^' + '(a*)'.repeat(20) + '$',
  '^' + '(a{1,99})'.repeat(20) + '$',
];

describe('issue 16 finding 6: patterns that backtrack exponentially', () => {
  it("match 120 bytes with glibc's answer in steps linear in program × subject", () => {
    const subject = Buffer.from(SUBJECT);
    const want = regexOracle(PATHOLOGICAL.map((p) => ({ pattern: Buffer.from(p), subject })));
    PATHOLOGICAL.forEach((p, i) => {
      const c = compile(p);
      if (!c.ok) throw new Error(c.message);
      const r = execOffsets(c.re, subject);
      const w = want[i]!;
      expect(r.kind, p).toBe(w.kind === 'match' ? 'match' : 'nomatch');
      if (r.kind === 'match' && w.kind === 'match') expect([...r.offsets], p).toEqual(w.offsets);
      // Linear: a backtracking matcher needs ~C(120, 20) steps here, a quadratic one ~120× more.
      expect(r.steps, p).toBeLessThanOrEqual(10 * c.re.program.op.length * (subject.length + 1));
    });
  });
  it('in a grub.cfg: the command completes, sets its groups and reports nothing', async () => {
    const groups = Array.from({ length: 20 }, (_, i) => `--set=${i + 1}:g${i + 1}`).join(' ');
    const r = await cmdline(
      `set s=${SUBJECT}\nregexp ${groups} '^${'(a{1,99})'.repeat(20)}$' $s\nset ok=$?\n` +
        `regexp '${'a*'.repeat(20)}b' $s\nset no=$?\n${show('$ok $no $g1 $g2 $g20')}`,
    );
    expect(r.cmdline).toBe(`0 1 ${'a'.repeat(99)} aaa a`); // 99 + 3 + 18 × 1, as glibc splits it
    expect(r.messages).toEqual([]);
  });
  it('a counted repetition that would expand past the program limit is refused before it runs', async () => {
    const c = compile('(a{1,99}){1,1000}');
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.message).toMatch(new RegExp(`more than ${MAX_PROGRAM} instructions`));
    const r = await cmdline(`regexp '(a{1,99}){1,1000}' aaa\nset st=$?\n${show('$st')}`);
    expect(r.cmdline).toBe('1');
    expect(r.messages).toEqual([
      expect.stringMatching(/regexp: pattern refused \(a\{1,99\}\)\{1,1000\}: pattern expands to more than 20000/),
    ]);
  });
});

describe('regexp command', () => {
  it("picks groups as gnulib does (leftmost-longest overall, gnulib's order inside)", async () => {
    const r = await cmdline(
      `regexp --set=1:x --set=2:y '(a|ab)(bc|c)' abc\nregexp --set=0:w --set=v 'b+' aabbbc\n${show('$x $y $w $v')}`,
    );
    expect(r.cmdline).toBe('a bc bbb');
  });
  it('a group that took no part, or past the last one, unsets the variable', async () => {
    const r = await cmdline(
      `set x=old\nset y=old\nregexp --set=1:x --set=3:y '(a)|b' b\nset st=$?\n${show('$st [$x] [$y]')}`,
    );
    expect(r.cmdline).toBe('0 [] []');
  });
  it('no match leaves variables alone and returns 1', async () => {
    const r = await cmdline(`set x=old\nregexp --set=x '^(q)' abc\nset st=$?\n${show('$st $x')}`);
    expect(r.cmdline).toBe('1 old');
  });
  it('matches bytes of UTF-8, as grub does: `.` is one byte', async () => {
    const r = await cmdline(
      `regexp --set=x '^(..)' 'éa'\nset st=$?\nregexp '^.$' 'é'\nset one=$?\n${show('$st $x $one')}`,
    );
    expect(r.cmdline).toBe('0 é 1');
  });
  it('invalid patterns, back-references, a bad --set and a wrong argument count: status 1 and a warning', async () => {
    const r = await cmdline(
      [
        "regexp 'a{2,1}' aa",
        'set a=$?',
        "regexp '(a)\\1' aa",
        'set b=$?',
        "regexp --set=x:v 'a' a",
        'set c=$?',
        'regexp onlyone',
        'set d=$?',
        show('$a $b $c $d'),
      ].join('\n'),
    );
    expect(r.cmdline).toBe('1 1 1 1');
    expect(r.messages).toEqual([
      'regexp: invalid pattern a{2,1}: Invalid content of \\{\\}',
      'regexp: pattern refused (a)\\1: back-references (\\1…\\9) are not supported',
      'regexp: invalid variable name format x:v',
      'regexp: two arguments expected',
    ]);
  });
  it("reports a pattern on which gnulib's matcher never returns, instead of hanging", async () => {
    const r = await cmdline(`regexp --set=x '((||b)|)*' b\nset st=$?\n${show('$st [$x]')}`);
    expect(r.cmdline).toBe('1 []');
    expect(r.messages).toEqual([expect.stringMatching(/never ends on this string \(grub would hang\)/)]);
  });
});

describe('regexp limits and arbitrary input', () => {
  it('any bytes as pattern and subject: an answer or an error, never an exception, within the budget', () => {
    const bytes = fc.uint8Array({ maxLength: 40 });
    const special = fc
      .array(fc.constantFrom(...'()[]{}|*+?^$\\.,-:=!0129ab'.split('')), { maxLength: 40 })
      .map((xs) => Buffer.from(xs.join('')));
    fc.assert(
      fc.property(fc.oneof(bytes, special), fc.uint8Array({ maxLength: 60 }), (p, subj) => {
        const c = compile(Buffer.from(p).toString('latin1'));
        if (!c.ok) {
          expect(c.message.length).toBeGreaterThan(0);
          return;
        }
        const r = execOffsets(c.re, subj, 200_000);
        expect(['match', 'nomatch', 'exhausted', 'diverges']).toContain(r.kind);
        expect(r.steps).toBeLessThanOrEqual(200_000 + 2 * c.re.program.op.length);
        if (r.kind === 'match') {
          expect(r.offsets[0]).toBeLessThanOrEqual(r.offsets[1]!);
          expect(r.offsets[1]).toBeLessThanOrEqual(subj.length);
        }
      }),
      { numRuns: 3000 },
    );
  });
  it('deep nesting is refused with a reason, not a stack overflow', () => {
    for (const p of ['('.repeat(10_000) + 'a' + ')'.repeat(10_000), 'a' + '*'.repeat(10_000)]) {
      const c = compile(p);
      expect(c.ok).toBe(false);
      if (!c.ok) expect(c.message).toBe('nested deeper than 200');
    }
  });
  it('a match past the step budget is abandoned with a warning', async () => {
    const c = compile('(a{1,99}){1,99}b');
    if (!c.ok) throw new Error(c.message);
    expect(execOffsets(c.re, Buffer.from('a'.repeat(300))).kind).toBe('exhausted');
    const r = await cmdline(`set s=${'a'.repeat(300)}\nregexp '(a{1,99}){1,99}b' $s\nset st=$?\n${show('$st')}`);
    expect(r.cmdline).toBe('1');
    expect(r.messages).toEqual([`regexp: more than ${MAX_MATCH_STEPS} matcher steps; treated as no match`]);
  });
});
