// Sprout's `$name` substitution (docs/sprout.md §4.2) and finalisation (§4.3), exactly: keys
// longest first, plain substring replacement on the running result, no escapes; finalise
// re-stamps every value against the previous iteration's map until nothing changes.
// Unlike sprout, lengths are bounded so `x = "a$x"` (which doubles each round) ends in an
// error instead of exhausting memory.

export interface StampLimits {
  readonly iterations: number;
  readonly valueBytes: number;
  readonly totalBytes: number;
}

export const STAMP_LIMITS: StampLimits = {
  iterations: 100,
  valueBytes: 64 * 1024,
  totalBytes: 1024 * 1024,
};

export type ValueMap = ReadonlyMap<string, string>;

export class StampError extends Error {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message);
    this.name = 'StampError';
  }
}

/** Keys in stamping order: longest first, ties alphabetical (sprout iterates a BTreeMap). */
export function stampOrder(values: ValueMap): string[] {
  return [...values.keys()].filter((k) => k !== '').sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Replace every `$key` (in `order`) in `text`. Throws StampError when the result would be
 * longer than `limit` characters.
 */
export function stampWith(
  text: string,
  values: ValueMap,
  order: readonly string[],
  limit: number = STAMP_LIMITS.valueBytes,
): string {
  if (!text.includes('$')) return text;
  let out = text;
  for (const key of order) {
    const needle = '$' + key;
    let i = out.indexOf(needle);
    if (i < 0) continue;
    const value = values.get(key)!;
    const parts: string[] = [];
    let from = 0;
    let len = 0;
    while (i >= 0) {
      parts.push(out.slice(from, i), value);
      len += i - from + value.length;
      if (len > limit) throw new StampError(`value grows beyond ${limit} characters while substituting $${key}`, key);
      from = i + needle.length;
      i = out.indexOf(needle, from);
    }
    parts.push(out.slice(from));
    len += out.length - from;
    if (len > limit) throw new StampError(`value grows beyond ${limit} characters while substituting $${key}`, key);
    out = parts.join('');
    if (!out.includes('$')) break;
  }
  return out;
}

export function stamp(text: string, values: ValueMap): string {
  return stampWith(text, values, stampOrder(values));
}

/**
 * docs/sprout.md §4.3: flatten (done by the caller), then re-stamp every value against the previous map
 * until stable. Throws StampError on the iteration limit or a length limit.
 */
export function finalize(values: ValueMap, limits: StampLimits = STAMP_LIMITS): Map<string, string> {
  let cur = new Map(values);
  const order = stampOrder(cur);
  for (let iter = 0; ; iter++) {
    let changed = false;
    let total = 0;
    const next = new Map<string, string>();
    for (const [k, v] of cur) {
      let nv: string;
      try {
        nv = stampWith(v, cur, order, limits.valueBytes);
      } catch (e) {
        if (e instanceof StampError) throw new StampError(`value "${k}": ${e.message}`, k);
        throw e;
      }
      total += nv.length;
      if (total > limits.totalBytes) {
        throw new StampError(
          `values grow beyond ${limits.totalBytes} characters in total (self-reference at "${k}"?)`,
          k,
        );
      }
      if (nv !== v) changed = true;
      next.set(k, nv);
    }
    if (!changed) return next;
    if (iter + 1 >= limits.iterations) {
      throw new StampError('maximum number of replacement iterations reached');
    }
    cur = next;
  }
}

/** Sprout's combine_options: stamp each item, drop empty ones, join with single spaces. */
export function combineOptions(items: readonly string[], values: ValueMap, order = stampOrder(values)): string {
  return items
    .map((s) => stampWith(s, values, order))
    .filter((s) => s !== '')
    .join(' ');
}
