// `regexp [--set=[N:]VAR]… REGEXP STRING` (grub-core/commands/regexp.c), on tendril's linear-time
// matcher with gnulib's syntax and answers (docs/grub-syslinux.md §A12).

import type { Builtin, GrubHost } from './host';
import { compile, exec, MAX_MATCH_STEPS } from './match/ere';
import type { Exec } from './state';

interface SetSpec {
  readonly group: number;
  readonly name: string;
}

export const REGEXP_BUILTINS: Record<string, Builtin> = {
  regexp: { run: regexpCmd },
};

function regexpCmd(it: GrubHost, x: Exec, argv: readonly string[], line: number): number {
  const sets: SetSpec[] = [];
  const rest: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^(?:--set|-s)(?:=(.*))?$/.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const v = m[1] ?? argv[++i];
    if (v === undefined) return 1;
    const spec = setSpec(v);
    if (!spec) {
      it.report(x, 'warning', `regexp: invalid variable name format ${v.slice(0, 60)}`, line);
      return 1;
    }
    sets.push(spec);
  }
  if (rest.length !== 2) {
    it.report(x, 'warning', 'regexp: two arguments expected', line);
    return 1;
  }
  const [pattern, subject] = rest as [string, string];
  const re = compile(pattern);
  if (!re.ok) {
    const what = re.code === null ? 'pattern refused' : 'invalid pattern';
    it.report(x, 'warning', `regexp: ${what} ${pattern.slice(0, 60)}: ${re.message}`, line);
    return 1;
  }
  const r = exec(re.re, subject);
  switch (r.kind) {
    case 'nomatch':
      return 1;
    case 'exhausted':
      it.report(x, 'warning', `regexp: more than ${MAX_MATCH_STEPS} matcher steps; treated as no match`, line);
      return 1;
    case 'diverges':
      it.report(
        x,
        'warning',
        `regexp: ${pattern.slice(0, 60)}: gnulib's matcher never ends on this string (grub would hang); treated as no match`,
        line,
      );
      return 1;
    case 'fault':
      it.report(x, 'error', `regexp: matcher fault (${r.why}); treated as no match`, line);
      return 1;
    case 'match':
      break;
  }
  // set_matches: a group that took no part, or past the last one, unsets the variable.
  for (const s of sets) {
    const g = r.groups[s.group];
    if (g === undefined) x.env.unset(s.name);
    else if (!it.setVar(x, s.name, g, line)) return 1;
  }
  return 0;
}

/** `VAR` is group 1; `N:VAR` group N (grub_strtoul of what precedes the first ':'). */
function setSpec(v: string): SetSpec | null {
  const colon = v.indexOf(':');
  if (colon < 0) return { group: 1, name: v };
  const n = v.slice(0, colon);
  if (!/^\d*$/.test(n)) return null;
  return { group: n === '' ? 0 : Number(n), name: v.slice(colon + 1) };
}
