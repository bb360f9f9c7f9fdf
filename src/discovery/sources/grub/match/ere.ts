// grub's `regexp` matcher (docs/grub-syslinux.md §A12): POSIX extended regular expressions with
// gnulib's syntax and gnulib's choice of match and group offsets, in time linear in the subject.
// Patterns and subjects are UTF-8 bytes, as grub's C strings are; offsets are byte
// offsets.

import { compileEre, MAX_PROGRAM, type Program } from './ere-compile';
import { groupOffsets } from './ere-groups';
import { EreError, parseEre, type RegErrorCode } from './ere-parse';
import { findSpan } from './ere-vm';

export { MAX_PROGRAM } from './ere-compile';
export type { RegErrorCode } from './ere-parse';

/** Steps one match may take (a few tens of milliseconds); past it the match is abandoned. */
export const MAX_MATCH_STEPS = 4_000_000;

export interface Ere {
  readonly program: Program;
  /** regex_t.re_nsub. */
  readonly nsub: number;
}

export type CompileResult =
  | { readonly ok: true; readonly re: Ere }
  /** `code` null: a valid pattern this sandbox refuses (back-references, size, nesting). */
  | { readonly ok: false; readonly code: RegErrorCode | null; readonly message: string };

export function compile(pattern: string, maxProgram = MAX_PROGRAM): CompileResult {
  try {
    const parsed = parseEre(Buffer.from(pattern, 'utf8'));
    const program = compileEre(parsed, maxProgram);
    return { ok: true, re: { program, nsub: parsed.nsub } };
  } catch (e) {
    if (e instanceof EreError) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

export type OffsetsResult =
  /** [so0, eo0, so1, eo1, …] in bytes, -1 where a group took no part. */
  | { readonly kind: 'match'; readonly offsets: Int32Array; readonly steps: number }
  | { readonly kind: 'nomatch'; readonly steps: number }
  | { readonly kind: 'exhausted'; readonly steps: number }
  /** gnulib's regexec would never return for this pattern and subject. */
  | { readonly kind: 'diverges'; readonly steps: number }
  | { readonly kind: 'fault'; readonly why: string; readonly steps: number };

/** regexec() of `re` on `subject` bytes; group offsets only when `groups` (they cost a second pass). */
export function execOffsets(re: Ere, subject: Uint8Array, maxSteps = MAX_MATCH_STEPS, groups = true): OffsetsResult {
  const span = findSpan(re.program, subject, maxSteps);
  if (span.exhausted) return { kind: 'exhausted', steps: span.steps };
  if (!span.span) return { kind: 'nomatch', steps: span.steps };
  const [start, end] = span.span;
  if (!groups || re.nsub === 0) {
    const offsets = new Int32Array(2 * (re.nsub + 1)).fill(-1);
    offsets[0] = start;
    offsets[1] = end;
    return { kind: 'match', offsets, steps: span.steps };
  }
  const g = groupOffsets(re.program, subject, start, end, maxSteps - span.steps);
  const steps = span.steps + g.steps;
  if (g.kind === 'ok') return { kind: 'match', offsets: g.offsets, steps };
  if (g.kind === 'fault') return { kind: 'fault', why: g.why, steps };
  return { kind: g.kind, steps };
}

export type ExecResult =
  /** groups[0] is the whole match; undefined for a group that took no part. */
  | { readonly kind: 'match'; readonly groups: readonly (string | undefined)[]; readonly steps: number }
  | Exclude<OffsetsResult, { kind: 'match' }>;

/** Match `subject` (as UTF-8) and return the groups as strings. */
export function exec(re: Ere, subject: string, maxSteps = MAX_MATCH_STEPS): ExecResult {
  const bytes = Buffer.from(subject, 'utf8');
  const r = execOffsets(re, bytes, maxSteps);
  if (r.kind !== 'match') return r;
  const groups: (string | undefined)[] = [];
  for (let g = 0; g <= re.nsub; g++) {
    const so = r.offsets[2 * g]!;
    const eo = r.offsets[2 * g + 1]!;
    groups.push(so < 0 || eo < so ? undefined : bytes.subarray(so, eo).toString('utf8'));
  }
  return { kind: 'match', groups, steps: r.steps };
}
