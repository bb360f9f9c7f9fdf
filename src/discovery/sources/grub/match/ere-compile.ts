// The parsed ERE as a program for the Pike VM in ere-vm.ts (docs/grub-syslinux.md §A12).
// Counted repetitions are expanded the way gnulib's parse_dup_op expands them:
//   e{m,n} → e…e (m copies) then (((e?)e)?…e)? (n−m optional copies), e{m,} → e…e e*.
// When e is a group, the copy that becomes optional is marked "optional" (gnulib's opt_subexp,
// which changes how an empty iteration reports the group). gnulib's duplicate_tree copies no
// mark at all: every copy but the original element loses the marks inside it, and copies of
// copies (a repetition inside a repeated element) never have any. Every copy is real code, so
// the program size is capped: a pattern past the cap is refused before it runs.

import type { ByteSet } from './byteset';
import { EreError, type Assertion, type Ere, type ParsedEre } from './ere-parse';

/** Instruction codes (stored in a Uint8Array). */
export const Op = {
  /** Consume byte `a`. */
  Byte: 0,
  /** Consume a byte of `sets[a]`. */
  Set: 1,
  /** Try `a`, then `b`. */
  Split: 2,
  /** A `*` loop head (gnulib's OP_DUP_ASTERISK): body `a`, exit `b`; the body ends with a jump back. */
  Loop: 3,
  /** Go to `a` (not a gnulib node: gnulib links to the target directly). */
  Jmp: 4,
  /** Open group `a` (1-based). */
  Open: 5,
  /** Close group `a`; `b` 1 when the group is optional. */
  Close: 6,
  /** Zero-width test `a` (an ASSERTIONS index). */
  Assert: 7,
  Match: 8,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

export const ASSERTIONS: readonly Assertion[] = ['bol', 'eol', 'wordFirst', 'wordLast', 'insideWord', 'insideNotWord'];

export interface Program {
  /** Instruction i is op[i] with operands a[i], b[i]. */
  readonly op: Uint8Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly sets: readonly ByteSet[];
  readonly nsub: number;
  /** Group whose offsets each group reports (index 0 unused). */
  readonly alias: readonly number[];
  /** Instructions with an empty transition into j: revList[revStart[j] … revStart[j+1]). */
  readonly revStart: Int32Array;
  readonly revList: Int32Array;
}

/** Successors of instruction i that take no input (none for Byte, Set and Match). */
export function emptySuccessors(op: Uint8Array, a: Int32Array, b: Int32Array, i: number): number[] {
  switch (op[i]) {
    case Op.Split:
    case Op.Loop:
      return [a[i]!, b[i]!];
    case Op.Jmp:
      return [a[i]!];
    case Op.Open:
    case Op.Close:
    case Op.Assert:
      return [i + 1];
    default:
      return [];
  }
}

function reverseEdges(op: Uint8Array, a: Int32Array, b: Int32Array): { revStart: Int32Array; revList: Int32Array } {
  const n = op.length;
  const count = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) for (const j of emptySuccessors(op, a, b, i)) count[j + 1]!++;
  for (let j = 0; j < n; j++) count[j + 1]! += count[j]!;
  const revList = new Int32Array(count[n]!);
  const fill = count.slice(0, n);
  for (let i = 0; i < n; i++) for (const j of emptySuccessors(op, a, b, i)) revList[fill[j]!++] = i;
  return { revStart: count, revList };
}

/** Instructions one compiled pattern may have. */
export const MAX_PROGRAM = 20_000;

class Emitter {
  readonly op: number[] = [];
  readonly a: number[] = [];
  readonly b: number[] = [];
  readonly sets: ByteSet[] = [];

  constructor(private readonly max: number) {}

  emit(op: Op, a = 0, b = 0): number {
    if (this.op.length >= this.max)
      throw new EreError(null, `pattern expands to more than ${this.max} instructions (counted repetitions)`);
    this.op.push(op);
    this.a.push(a);
    this.b.push(b);
    return this.op.length - 1;
  }

  get here(): number {
    return this.op.length;
  }

  /** `opt`: mark this group optional; `dup`: this subtree is a gnulib duplicate (no marks inside). */
  node(e: Ere | null, opt = false, dup = false): void {
    if (e === null) return;
    switch (e.k) {
      case 'byte':
        this.emit(Op.Byte, e.b);
        return;
      case 'set':
        this.sets.push(e.set);
        this.emit(Op.Set, this.sets.length - 1);
        return;
      case 'assert':
        this.emit(Op.Assert, ASSERTIONS.indexOf(e.a));
        return;
      case 'cat':
        for (const x of e.items) this.node(x, false, dup);
        return;
      case 'alt':
        this.alt(e.branches, dup);
        return;
      case 'group':
        this.emit(Op.Open, e.n);
        this.node(e.body, false, dup);
        this.emit(Op.Close, e.n, opt ? 1 : 0);
        return;
      case 'repeat':
        this.repeat(e.body, e.min, e.max, dup);
        return;
    }
  }

  /**
   * `b0|…|bk` as gnulib's left-nested ALT(…ALT(ALT(b0, b1), b2)…, bk): the k splits first,
   * outermost first, then the branches, each jumping to the end. A split tries its left
   * side first (the inner ALT, or b0), its right side (bi, or the end when bi is empty) second;
   * an ALT whose left side is empty tries its right side first (gnulib orders the two
   * destinations by node index, and "what follows" has the highest).
   */
  private alt(bs: readonly (Ere | null)[], dup: boolean): void {
    const k = bs.length - 1;
    const splits: number[] = [];
    for (let i = k; i >= 1; i--) splits[i] = this.emit(Op.Split, 0, 0);
    const starts: (number | null)[] = [];
    const jumps: number[] = [];
    bs.forEach((x, j) => {
      starts.push(x === null ? null : this.here);
      this.node(x, false, dup);
      if (j < k) jumps.push(this.emit(Op.Jmp));
    });
    const end = this.here;
    for (const j of jumps) this.a[j] = end;
    const at = (j: number): number => starts[j] ?? end;
    for (let i = 2; i <= k; i++) {
      this.a[splits[i]!] = splits[i - 1]!;
      this.b[splits[i]!] = at(i);
    }
    const s1 = splits[1]!;
    if (bs[0] !== null) [this.a[s1], this.b[s1]] = [at(0), at(1)];
    else [this.a[s1], this.b[s1]] = [at(1), end];
  }

  /** parse_dup_op's expansion; `dup` as in node(). */
  private repeat(body: Ere, min: number, max: number, dup: boolean): void {
    // Copy 1 is the element itself; the others are duplicates.
    for (let i = 0; i < min; i++) this.node(body, false, dup || i > 0);
    if (max === min) return;
    const opt = body.k === 'group' && !dup;
    const firstDup = dup || min > 0;
    if (max === -1) {
      const head = this.emit(Op.Loop, 0, 0);
      this.a[head] = this.here;
      this.node(body, opt, firstDup);
      this.emit(Op.Jmp, head);
      this.b[head] = this.here;
      return;
    }
    // (((e?)e)?…e)?: all the splits first, the k-th one skipping to after the k-th copy.
    const k = max - min;
    const splits: number[] = [];
    for (let i = 0; i < k; i++) {
      const sp = this.emit(Op.Split, 0, 0);
      this.a[sp] = sp + 1;
      splits.push(sp);
    }
    for (let i = 0; i < k; i++) {
      this.node(body, opt && i === 0, i === 0 ? firstDup : true);
      this.b[splits[k - 1 - i]!] = this.here;
    }
  }
}

/** Compile a parsed pattern; throws EreError when the program would exceed `maxProgram`. */
export function compileEre(parsed: ParsedEre, maxProgram = MAX_PROGRAM): Program {
  const e = new Emitter(maxProgram);
  e.node(parsed.root);
  e.emit(Op.Match);
  const op = Uint8Array.from(e.op);
  const a = Int32Array.from(e.a);
  const b = Int32Array.from(e.b);
  return { op, a, b, sets: e.sets, nsub: parsed.nsub, alias: parsed.alias, ...reverseEdges(op, a, b) };
}
