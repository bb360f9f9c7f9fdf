// Group offsets for a match span, chosen as gnulib's regexec chooses them, in O(program × span)
// (docs/grub-syslinux.md §A12):
//
// 1. Backward (gnulib's sift_states_backward): for each position of the span, the set of
//    instructions from which the match can still end exactly at the span's end. gnulib first
//    picks its halt node (check_halt_state_context): the end node itself when some path reaches
//    it with no assertion after the last byte, else a copy of it carrying the assertions; only
//    paths to the picked node count. So the first pass ends its last closure at assertions, and
//    only when the start cannot reach the end that way does a second pass allow them.
// 2. Forward (gnulib's set_regs/proceed_next_node): walk from the first instruction; at a fork
//    take the first destination in that set, except that when the first one was already passed
//    at this position and the second one is also possible, take the second (gnulib's rule
//    against looping forever in `(a*)*`); a byte moves to the next position.
// 3. Along the walk, groups are recorded as gnulib's update_regs records them: opening sets the
//    start and clears the end; a non-empty close sets the end and snapshots every group; an empty
//    close of an optional group that matched before restores the snapshot; any other empty
//    close sets the end.
//
// The walk never backtracks (every step stays inside the set of 1.). Its next step depends only
// on the instruction and on the set of instructions passed at this position, which only grows;
// arriving at an instruction again with that set unchanged means gnulib's walk loops forever
// (it does on `((||b)|)*` against "b": regexec never returns). That is reported as `diverges`.

import { Op, type Program } from './ere-compile';
import { accepts, assertionHolds } from './ere-vm';

export type GroupsResult =
  /** [so, eo] per group, 0 being the whole match; -1 for a group that took no part. */
  | { readonly kind: 'ok'; readonly offsets: Int32Array; readonly steps: number }
  | { readonly kind: 'exhausted'; readonly steps: number }
  /** gnulib's walk would never end (see above). */
  | { readonly kind: 'diverges'; readonly steps: number }
  /** The walk contradicted the backward pass: a defect here, reported rather than thrown. */
  | { readonly kind: 'fault'; readonly why: string; readonly steps: number };

/** Follow jumps: gnulib's nodes link to their targets directly. */
function land(prog: Program, pc: number): number {
  let p = pc;
  while (prog.op[p] === Op.Jmp) p = prog.a[p]!;
  return p;
}

export function groupOffsets(prog: Program, s: Uint8Array, start: number, end: number, maxSteps: number): GroupsResult {
  const { op, a, b, nsub, revStart, revList } = prog;
  const size = op.length;
  const words = (size + 31) >>> 5;
  const rows = end - start + 1;
  let steps = rows * words;
  if (rows * size > maxSteps) return { kind: 'exhausted', steps };

  // 1. viable[p] (row p - start): instructions that can reach Match at `end` from position p.
  const viable = new Uint32Array(rows * words);
  const has = (p: number, pc: number): boolean => (viable[(p - start) * words + (pc >>> 5)]! & (1 << (pc & 31))) !== 0;
  const queue = new Int32Array(size);
  const consuming: number[] = [];
  for (let pc = 0; pc < size; pc++) if (op[pc] === Op.Byte || op[pc] === Op.Set) consuming.push(pc);
  /** False as soon as a position has no instruction left: the start cannot reach the end. */
  const sift = (assertionsAtEnd: boolean): boolean => {
    viable.fill(0);
    for (let p = end; p >= start; p--) {
      const row = (p - start) * words;
      let qn = 0;
      const put = (pc: number): void => {
        viable[row + (pc >>> 5)]! |= 1 << (pc & 31);
        queue[qn++] = pc;
      };
      if (p === end) put(size - 1);
      else {
        const c = s[p]!;
        const next = row + words;
        for (const pc of consuming) {
          const after = pc + 1;
          if ((viable[next + (after >>> 5)]! & (1 << (after & 31))) !== 0 && accepts(prog, pc, c)) put(pc);
        }
        steps += consuming.length;
      }
      const assertions = p < end || assertionsAtEnd;
      for (let qi = 0; qi < qn; qi++) {
        const j = queue[qi]!;
        for (let r = revStart[j]!; r < revStart[j + 1]!; r++) {
          const i = revList[r]!;
          steps++;
          if (has(p, i)) continue;
          if (op[i] === Op.Assert && !(assertions && assertionHolds(a[i]!, s, p))) continue;
          put(i);
        }
      }
      if (qn === 0) return false;
    }
    return has(start, land(prog, 0));
  };
  const asserts = op.includes(Op.Assert);
  if (!sift(!asserts) && asserts) {
    if (2 * rows * size > maxSteps) return { kind: 'exhausted', steps };
    sift(true);
  }

  // 2 and 3. The walk, recording groups.
  const regs = new Int32Array(2 * (nsub + 1)).fill(-1);
  regs[0] = start;
  regs[1] = end;
  const prev = regs.slice();
  const passed = new Uint32Array(size);
  let gen = 1;
  /** Instructions passed at this position so far, and that count when each was last visited. */
  let grown = 0;
  const seenAt = new Int32Array(size);
  const seenGen = new Uint32Array(size);
  let pc = land(prog, 0);
  let pos = start;
  const budget = maxSteps - steps;
  for (let walked = 0; ; walked++) {
    if (walked > budget) return { kind: 'exhausted', steps: steps + walked };
    const o = op[pc]!;
    if (o === Op.Open) {
      regs[2 * a[pc]!] = pos;
      regs[2 * a[pc]! + 1] = -1;
    } else if (o === Op.Close) {
      const g = 2 * a[pc]!;
      if (regs[g]! < pos) {
        regs[g + 1] = pos;
        prev.set(regs);
      } else if (b[pc] === 1 && prev[g] !== -1) regs.set(prev);
      else regs[g + 1] = pos;
    }
    if (o === Op.Match) {
      if (pos === end) {
        steps += walked;
        break;
      }
      return { kind: 'fault', why: 'the group walk reached the end early', steps };
    }
    if (o === Op.Byte || o === Op.Set) {
      if (pos >= end || !accepts(prog, pc, s[pos]!))
        return { kind: 'fault', why: 'the group walk left the match', steps };
      pc = land(prog, pc + 1);
      pos++;
      gen++;
      grown = 0;
      continue;
    }
    if (passed[pc] !== gen) {
      passed[pc] = gen;
      grown++;
    } else if (seenGen[pc] === gen && seenAt[pc] === grown) return { kind: 'diverges', steps: steps + walked };
    seenGen[pc] = gen;
    seenAt[pc] = grown;
    const first = land(prog, o === Op.Split || o === Op.Loop ? a[pc]! : pc + 1);
    const second = o === Op.Split || o === Op.Loop ? land(prog, b[pc]!) : -1;
    const ok1 = has(pos, first);
    const ok2 = second >= 0 && has(pos, second);
    if (ok1 && ok2) pc = passed[first] === gen ? second : first;
    else if (ok1) pc = first;
    else if (ok2) pc = second;
    else return { kind: 'fault', why: 'the group walk found no way on', steps };
  }

  const out = new Int32Array(2 * (nsub + 1));
  out[0] = start;
  out[1] = end;
  for (let g = 1; g <= nsub; g++) {
    const src = prog.alias[g] ?? g;
    out[2 * g] = regs[2 * src]!;
    out[2 * g + 1] = regs[2 * src + 1]!;
  }
  return { kind: 'ok', offsets: out, steps };
}
