// os-release(5) parsing. Shell-compatible files are checked against bash itself (the format
// is defined as shell-sourceable); the systemd-specific corners (';' comments, blanks around
// '=', unterminated quotes) follow systemd's parse_env_file() state machine.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { osrelGet, parseOsRelease } from '../../../src/discovery/uki/osrel';

const DATA = path.join(__dirname, '..', '..', 'data', 'uki');

/** Values of `keys` after `bash` sources `file` (NUL-separated to keep newlines). */
function bashValues(file: string, keys: readonly string[]): string[] {
  const script = `set -e; . "$1"; shift; for k in "$@"; do printf '%s\\0' "\${!k-}"; done`;
  const out = execFileSync('bash', ['-c', script, 'bash', file, ...keys]).toString('utf8');
  return out.split('\0').slice(0, keys.length);
}

function values(text: string): Record<string, string> {
  return Object.fromEntries(parseOsRelease(text).values);
}

describe('parseOsRelease agrees with bash on shell-compatible files', () => {
  for (const name of ['debian12.os-release', 'quoting.os-release']) {
    it(name, () => {
      const file = path.join(DATA, name);
      const parsed = parseOsRelease(fs.readFileSync(file, 'utf8')).values;
      const keys = [...parsed.keys()];
      expect(keys.length).toBeGreaterThan(5);
      expect(keys.map((k) => parsed.get(k))).toEqual(bashValues(file, keys));
    });
  }

  it('the quoting file has the keys a reader of it expects', () => {
    const v = parseOsRelease(fs.readFileSync(path.join(DATA, 'quoting.os-release'), 'utf8'));
    expect(osrelGet(v, 'NAME')).toBe('Fancy "Quoted" OS');
    expect(osrelGet(v, 'PRETTY_NAME')).toBe('Single $quoted `text` \\n kept');
    expect(osrelGet(v, 'CONT')).toBe('line one line two');
    expect(osrelGet(v, 'BARE_CONT')).toBe('part1part2');
    expect(osrelGet(v, 'EMPTY')).toBeUndefined();
    expect(osrelGet(v, 'EMPTY_QUOTED')).toBeUndefined();
    expect(osrelGet(v, 'IMAGE_ID')).toBeUndefined();
    expect(osrelGet(v, 'INDENTED')).toBe('yes');
  });
});

describe('parseOsRelease: systemd parse_env_file() corners', () => {
  it('comments with # and ;, blank lines, CRLF', () => {
    expect(values('# c\n; c\n\n\r\nA=1\r\nB=2\r\n')).toEqual({ A: '1', B: '2' });
  });
  it('blanks around = and trailing blanks of unquoted values are dropped', () => {
    expect(values('A = b  \nB=  c d \t\n')).toEqual({ A: 'b', B: 'c d' });
  });
  it('quoted trailing blanks are kept', () => {
    expect(values('A="b  "\nB=\'c \'\n')).toEqual({ A: 'b  ', B: 'c ' });
  });
  it('double-quote escapes: only " \\ ` $ and newline', () => {
    expect(values('A="\\"\\\\\\`\\$\\n\\z"')).toEqual({ A: '"\\`$\\n\\z' });
  });
  it('unquoted escapes drop the backslash', () => {
    expect(values('A=a\\ b\\"c')).toEqual({ A: 'a b"c' });
  });
  it('lines without = are ignored; last assignment wins', () => {
    expect(values('JUNK\nA=1\nA=2\n')).toEqual({ A: '2' });
  });
  it('unterminated quotes and missing final newline still yield the value', () => {
    expect(values('A="open\nB=x')).toEqual({ A: 'open\nB=x' });
    expect(values("A='open")).toEqual({ A: 'open' });
    expect(values('A=end')).toEqual({ A: 'end' });
  });
  it('a comment ending in a backslash does not swallow the next line', () => {
    expect(values('# comment \\\nA=1\n')).toEqual({ A: '1' });
  });
  it('stops at NUL like the C parser', () => {
    expect(values('A=1\nB=2\0C=3\n')).toEqual({ A: '1', B: '2' });
  });

  it('never throws and terminates on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('A', '=', '"', "'", '\\', '\n', '\r', ' ', '#', ';', 'x', '\0'),
          maxLength: 200,
        }),
        (s) => {
          const v = parseOsRelease(s).values;
          for (const [k, val] of v) {
            expect(typeof k).toBe('string');
            expect(typeof val).toBe('string');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
