// fnmatch for loader.conf `default` (docs/bls.md §11.3), ported from sd-boot's efi_fnmatch():
// `*`, `?`, `[...]` sets with ranges, `\` escapes; no `!` negation, no special '/'.
// The pattern is split at each '*' into simple chunks that are matched in order, each at
// its leftmost position, so there is no backtracking: O(pattern × text) in the worst case.

interface PrefixResult {
  readonly match: boolean;
  /** When the chunk ended at a '*': where the rest of the pattern and text start. */
  readonly restP?: number;
  readonly restH?: number;
}

/** Match the chunk of `p` starting at `pi` against `h` at `hi` (sd-boot efi_fnmatch_prefix). */
function matchPrefix(
  p: readonly number[],
  pi: number,
  h: readonly number[],
  hi: number,
  count: { steps: number },
): PrefixResult {
  const P = (i: number): number => (i < p.length ? p[i]! : 0);
  const H = (i: number): number => (i < h.length ? h[i]! : 0);
  for (; ; pi++, hi++) {
    count.steps++;
    const c = P(pi);
    switch (c) {
      case 0:
        return { match: H(hi) === 0 };
      case 0x5c /* \ */:
        pi++;
        if (P(pi) === 0 || P(pi) !== H(hi)) return { match: false };
        break;
      case 0x3f /* ? */:
        if (H(hi) === 0) return { match: false };
        break;
      case 0x2a /* * */:
        while (P(pi) === 0x2a) pi++;
        return { match: true, restP: pi, restH: hi };
      case 0x5b /* [ */: {
        if (H(hi) === 0) return { match: false };
        let first = true;
        let canRange = true;
        let match = false;
        for (; ; first = false) {
          pi++;
          count.steps++;
          if (P(pi) === 0) return { match: false };
          if (P(pi) === 0x5c) {
            pi++;
            if (P(pi) === 0) return { match: false };
            if (P(pi) === H(hi)) match = true;
            canRange = true;
            continue;
          }
          if (P(pi) === 0x5d /* ] */ && !first) break;
          // A range when '-' is neither first nor last in the set; ranges do not chain.
          if (P(pi) === 0x2d && canRange && !first && P(pi + 1) !== 0x5d) {
            const low = P(pi - 1);
            pi++;
            if (P(pi) === 0x5c) pi++;
            if (P(pi) === 0) return { match: false };
            if (low <= H(hi) && H(hi) <= P(pi)) match = true;
            canRange = false;
            continue;
          }
          if (P(pi) === H(hi)) match = true;
          canRange = true;
        }
        if (!match) return { match: false };
        break;
      }
      default:
        if (c !== H(hi)) return { match: false };
    }
  }
}

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0) break; // C string semantics: NUL ends it
    out.push(cp);
  }
  return out;
}

/** Match and count the inner steps (for the complexity test). */
export function fnmatchCounted(pattern: string, text: string): { match: boolean; steps: number } {
  const p = codePoints(pattern);
  const h = codePoints(text);
  const count = { steps: 0 };
  let pi = 0;
  let hi = 0;
  for (let first = true; ;) {
    const r = matchPrefix(p, pi, h, hi, count);
    if (first) {
      if (!r.match) return { match: false, steps: count.steps };
      if (r.restP === undefined) return { match: true, steps: count.steps };
      first = false;
    }
    if (r.restP !== undefined) {
      pi = r.restP;
      hi = r.restH!;
    } else {
      // The last chunk must match at the very end; otherwise let the '*' eat one more char.
      if (r.match || hi >= h.length) return { match: r.match, steps: count.steps };
      hi++;
    }
  }
}

/** sd-boot's fnmatch: true when `text` matches `pattern` entirely. Case-sensitive. */
export function fnmatch(pattern: string, text: string): boolean {
  return fnmatchCounted(pattern, text).match;
}
