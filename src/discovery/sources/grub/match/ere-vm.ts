// The span of a match (docs/grub-syslinux.md §A12): a Pike VM over the programs of ere-compile.ts.
// All threads advance together over the subject, one byte at a time; at each position at
// most one thread per instruction survives. Time is O(program × subject) whatever the pattern;
// nothing backtracks.
//
// The match is POSIX's (POSIX.1-2017 XBD 9.1, "matched") and gnulib's: the leftmost start, then the
// longest end from it. Threads carry only their start; they are kept in start order (a new
// start is added last at each position and a later start never displaces an earlier one at an
// instruction), so once a match is seen, later starts can be dropped. Which path produced the
// span does not matter here; ere-groups.ts chooses it.

import { hasByte, isWordByte } from './byteset';
import { Op, type Program } from './ere-compile';

/** Steps spent and the outcome; `exhausted`: the budget ran out first. */
export interface SpanResult {
  readonly span: readonly [number, number] | null;
  readonly steps: number;
  readonly exhausted: boolean;
}

/** Whether zero-width test `kind` (an ASSERTIONS index) holds before byte `pos` of `s`. */
export function assertionHolds(kind: number, s: Uint8Array, pos: number): boolean {
  const before = pos > 0 && isWordByte(s[pos - 1]!);
  const after = pos < s.length && isWordByte(s[pos]!);
  switch (kind) {
    case 0:
      return pos === 0;
    case 1:
      return pos === s.length;
    case 2:
      return !before && after;
    case 3:
      return before && !after;
    case 4:
      return before && after;
    default:
      return !before && !after;
  }
}

/** Whether consuming instruction `pc` (Byte or Set) accepts byte `c`. */
export function accepts(prog: Program, pc: number, c: number): boolean {
  return prog.op[pc] === Op.Byte ? prog.a[pc] === c : hasByte(prog.sets[prog.a[pc]!]!, c);
}

class ThreadList {
  readonly pc: Int32Array;
  readonly start: Int32Array;
  n = 0;
  /** Instructions already reached at this position: mark[pc] === gen. */
  readonly mark: Uint32Array;
  gen = 1;

  constructor(size: number) {
    this.pc = new Int32Array(size);
    this.start = new Int32Array(size);
    this.mark = new Uint32Array(size);
  }

  clear(): void {
    this.n = 0;
    this.gen++;
  }
}

/** The leftmost-longest match of `prog` in `s`, within `maxSteps` steps. */
export function findSpan(prog: Program, s: Uint8Array, maxSteps: number): SpanResult {
  const { op, a, b } = prog;
  const size = op.length;
  const n = s.length;
  let clist = new ThreadList(size);
  let nlist = new ThreadList(size);
  const stack = new Int32Array(size + 1);
  let steps = 0;

  /** Follow the empty transitions from `pc0` at `pos` into `list`, depth first in order of preference. */
  const add = (list: ThreadList, pc0: number, start: number, pos: number): void => {
    let sp = 0;
    stack[sp++] = pc0;
    const mark = list.mark;
    const gen = list.gen;
    while (sp > 0) {
      let pc = stack[--sp]!;
      for (;;) {
        if (mark[pc] === gen) break;
        mark[pc] = gen;
        steps++;
        const o = op[pc]!;
        if (o === Op.Jmp) pc = a[pc]!;
        else if (o === Op.Split || o === Op.Loop) {
          stack[sp++] = b[pc]!;
          pc = a[pc]!;
        } else if (o === Op.Open || o === Op.Close) pc++;
        else if (o === Op.Assert) {
          if (!assertionHolds(a[pc]!, s, pos)) break;
          pc++;
        } else {
          list.pc[list.n] = pc;
          list.start[list.n++] = start;
          break;
        }
      }
    }
  };

  let bestStart = -1;
  let bestEnd = -1;
  for (let pos = 0; pos <= n; pos++) {
    if (bestStart < 0) add(clist, 0, pos, pos);
    else if (clist.n === 0) break;
    nlist.clear();
    const byte = pos < n ? s[pos]! : -1;
    for (let i = 0; i < clist.n; i++) {
      const pc = clist.pc[i]!;
      const start = clist.start[i]!;
      if (bestStart >= 0 && start > bestStart) break; // threads are in start order
      if (++steps > maxSteps) return { span: null, steps, exhausted: true };
      if (op[pc] === Op.Match) {
        if (bestStart < 0 || start < bestStart || pos > bestEnd) {
          bestStart = start;
          bestEnd = pos;
        }
      } else if (byte >= 0 && accepts(prog, pc, byte)) add(nlist, pc + 1, start, pos + 1);
    }
    if (steps > maxSteps) return { span: null, steps, exhausted: true };
    const t = clist;
    clist = nlist;
    nlist = t;
  }
  return { span: bestStart < 0 ? null : [bestStart, bestEnd], steps, exhausted: false };
}
