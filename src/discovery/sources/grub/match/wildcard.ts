// Wildcard patterns for file names (`for f in /isos/*.iso`), docs/grub-syslinux.md §A12: `*`,
// `?` and `[...]` with fnmatch(3)'s meaning (POSIX.1-2017 XCU 2.13.1, "Patterns Matching a Single Character") without FNM_PERIOD,
// FNM_PATHNAME or backslash escapes (FNM_NOESCAPE), on bytes in the C locale.
//
// glibc's fnmatch reads a bracket expression while matching, byte by byte (fnmatch_loop.c), and
// its answers for malformed ones depend on the byte: an unterminated `[` is a literal `[` only
// if no element before the end matched the byte; an unknown class name, or a collating symbol
// longer than one byte, fails the byte that reaches it. So each bracket is read once per byte
// value here, at compile time, into a table: byte → where the pattern continues, or no match.
// Matching then runs the pattern as an NFA over pattern positions, all positions at once:
// O(pattern × name) steps, nothing backtracks.

import { classSet, hasByte } from './byteset';

/** Pattern bytes; longer patterns are refused (names are at most 255 bytes). */
export const MAX_WILDCARD_BYTES = 1024;

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const COLON = 0x3a;
const EQUALS = 0x3d;
const DOT = 0x2e;
const DASH = 0x2d;
/** glibc's fnmatch: longest character class name it reads. */
const CLASS_NAME_MAX = 256;

export interface Wildcard {
  readonly length: number;
  /** Per position: -1 `*`, -2 `?`, -3 bracket (see `tables`), else the literal byte. */
  readonly kind: Int16Array;
  /** Per bracket position: byte → next position, -1 no match. */
  readonly tables: ReadonlyMap<number, Int32Array>;
  /** Compile work, in steps (bracket tables). */
  readonly steps: number;
}

/** Whether a word has wildcard characters grub would expand. */
export function hasWildcard(s: string): boolean {
  return /[*?[]/.test(s);
}

/** Where a bracket whose element matched ends: the position after its `]`, or why it has none. */
type Skip = number | 'unterminated' | 'malformed';

/** fnmatch_loop.c's skip over the rest of a bracket that already matched, from `from`. */
function skipToEnd(p: Uint8Array, from: number): Skip {
  const at = (k: number): number => (k < p.length ? p[k]! : 0);
  let q = from;
  let c: number;
  do {
    c = at(q++);
    if (c === 0) return 'unterminated';
    if (c === OPEN && at(q) === COLON) {
      const startp = q;
      let n = 0;
      let plain = false;
      for (;;) {
        c = at(++q);
        if (++n === CLASS_NAME_MAX) return 'malformed';
        if (at(q) === COLON && at(q + 1) === CLOSE) break;
        if (c < 0x61 || c >= 0x7a) {
          q = startp;
          plain = true;
          break;
        }
      }
      if (plain) {
        c = 0; // not ']': read on from the byte after '['
        continue;
      }
      q += 2;
      c = at(q++);
    } else if (c === OPEN && at(q) === EQUALS) {
      c = at(++q);
      if (c === 0) return 'malformed';
      c = at(++q);
      if (c !== EQUALS || at(q + 1) !== CLOSE) return 'malformed';
      q += 2;
      c = at(q++);
    } else if (c === OPEN && at(q) === DOT) {
      ++q;
      for (;;) {
        c = at(++q);
        if (c === 0) return 'malformed';
        if (at(q) === DOT && at(q + 1) === CLOSE) break;
      }
      q += 2;
      c = at(q++);
    }
  } while (c !== CLOSE);
  return q;
}

/**
 * fnmatch_loop.c's bracket code in the C locale (no collation rules, identity collation order),
 * run for all 256 bytes at once: `open` is the index of the `[`.
 */
function bracketTable(p: Uint8Array, open: number): { table: Int32Array; steps: number } {
  const at = (k: number): number => (k < p.length ? p[k]! : 0);
  const table = new Int32Array(256).fill(-1);
  /** Bytes no element has decided yet. */
  const open1 = open + 1;
  const pending = new Set<number>(Array.from({ length: 256 }, (_, b) => b));
  let steps = 0;
  const not = at(open1) === 0x21 || at(open1) === 0x5e;
  let q = not ? open1 + 1 : open1;
  /**
   * The element just read matched these bytes: they continue after the bracket (none if it is
   * negated). If the bracket turns out unterminated, glibc 2.36 takes its `[` as an ordinary
   * character after all (observed against the oracle; older fnmatch_loop.c failed instead).
   */
  const matched = (bytes: Iterable<number>, after: number): void => {
    let end: Skip | undefined;
    for (const b of bytes) {
      if (!pending.has(b)) continue;
      pending.delete(b);
      end ??= skipToEnd(p, after);
      if (end === 'unterminated') table[b] = b === OPEN ? open1 : -1;
      else table[b] = end === 'malformed' || not ? -1 : end;
    }
  };
  const failRest = (): void => pending.clear();
  /** `[.x.]` with `q` at its '.': the one byte it names, `q` then past `.]`; undefined if malformed. */
  const collating = (): number | undefined => {
    const startp = q;
    let n = 0;
    for (;;) {
      const ch = at(++q);
      steps++;
      if (ch === DOT && at(q + 1) === CLOSE) {
        q += 2;
        return n === 1 ? p[startp + 1] : undefined;
      }
      if (ch === 0) return undefined;
      n++;
    }
  };
  let c = at(q++);
  for (;;) {
    steps++;
    let normal = false;
    if (c === OPEN && at(q) === COLON) {
      const startp = q;
      const name: number[] = [];
      for (;;) {
        if (name.length === CLASS_NAME_MAX) {
          failRest();
          return { table, steps };
        }
        c = at(++q);
        steps++;
        if (c === COLON && at(q + 1) === CLOSE) {
          q += 2;
          break;
        }
        if (c < 0x61 || c >= 0x7a) {
          q = startp;
          c = OPEN;
          normal = true;
          break;
        }
        name.push(c);
      }
      if (!normal) {
        const set = classSet(String.fromCharCode(...name));
        if (!set) {
          failRest();
          return { table, steps };
        }
        matched(
          [...pending].filter((b) => hasByte(set, b)),
          q,
        );
        c = at(q++);
      }
    } else if (c === OPEN && at(q) === EQUALS) {
      const startp = q;
      c = at(++q);
      const sym = c;
      if (c !== 0) c = at(++q);
      if (sym === 0 || c !== EQUALS || at(q + 1) !== CLOSE) {
        q = startp;
        c = OPEN;
        normal = true;
      } else {
        q += 2;
        matched([sym], q);
        c = at(q++);
      }
    } else if (c === 0) {
      // Unterminated: '[' is an ordinary character for the bytes still undecided.
      if (pending.has(OPEN)) table[OPEN] = open1;
      return { table, steps };
    } else normal = true;
    if (normal) {
      let cold: number;
      if (c === OPEN && at(q) === DOT) {
        const sym = collating();
        if (sym === undefined) {
          failRest();
          return { table, steps };
        }
        const isRange = at(q) === DASH && at(q + 1) !== 0;
        cold = sym;
        if (!isRange) matched([cold], q);
        c = at(q++);
      } else {
        const isRange = at(q) === DASH && at(q + 1) !== 0 && at(q + 1) !== CLOSE;
        if (!isRange) matched([c], q);
        cold = c;
        c = at(q++);
      }
      if (c === DASH && at(q) !== CLOSE) {
        let cend = at(q++);
        if (cend === OPEN && at(q) === DOT) {
          const sym = collating();
          if (sym === undefined) {
            failRest();
            return { table, steps };
          }
          cend = sym;
        } else if (cend === 0) {
          failRest();
          return { table, steps };
        }
        const inRange: number[] = [];
        for (let b = cold; b <= cend; b++) inRange.push(b);
        matched(inRange, q);
        c = at(q++);
      }
    }
    if (c === CLOSE) break;
  }
  // The closing ']' was read: bytes no element matched.
  for (const b of pending) table[b] = not ? q : -1;
  return { table, steps };
}

export type WildcardCompile =
  { readonly ok: true; readonly wildcard: Wildcard } | { readonly ok: false; readonly reason: string };

export function compileWildcard(pattern: string): WildcardCompile {
  const p = Buffer.from(pattern, 'utf8');
  if (p.length > MAX_WILDCARD_BYTES) return { ok: false, reason: `pattern longer than ${MAX_WILDCARD_BYTES} bytes` };
  const kind = new Int16Array(p.length);
  const tables = new Map<number, Int32Array>();
  let steps = 0;
  p.forEach((c, i) => {
    if (c === STAR) kind[i] = -1;
    else if (c === QUESTION) kind[i] = -2;
    else if (c === OPEN) {
      kind[i] = -3;
      const t = bracketTable(p, i);
      tables.set(i, t.table);
      steps += t.steps;
    } else kind[i] = c;
  });
  return { ok: true, wildcard: { length: p.length, kind, tables, steps } };
}

/** Whether `name` matches, and the NFA steps it took (at most (pattern + 1) × (name + 1) × 2). */
export function matchWildcard(w: Wildcard, name: string): { readonly matched: boolean; readonly steps: number } {
  const s = Buffer.from(name, 'utf8');
  const m = w.length;
  let cur = new Int32Array(m + 1);
  let next = new Int32Array(m + 1);
  const mark = new Uint32Array(m + 1);
  let gen = 1;
  let steps = 0;
  let nc = 0;
  let nn = 0;
  /** Add position i and, past stars, the positions after them. */
  const add = (list: Int32Array, count: number, i: number): number => {
    let n = count;
    for (let k = i; k <= m && mark[k] !== gen; k++) {
      mark[k] = gen;
      list[n++] = k;
      steps++;
      if (k === m || w.kind[k] !== -1) break;
    }
    return n;
  };
  nc = add(cur, 0, 0);
  for (const c of s) {
    gen++;
    nn = 0;
    for (let j = 0; j < nc; j++) {
      const i = cur[j]!;
      steps++;
      if (i === m) continue;
      const k = w.kind[i]!;
      if (k === -1) nn = add(next, nn, i);
      else if (k === -2 || k === c) nn = add(next, nn, i + 1);
      else if (k === -3) {
        const t = w.tables.get(i)![c]!;
        if (t >= 0) nn = add(next, nn, t);
      }
    }
    [cur, next] = [next, cur];
    nc = nn;
    if (nc === 0) break;
  }
  for (let j = 0; j < nc; j++) if (cur[j] === m) return { matched: true, steps };
  return { matched: false, steps };
}
