// UAPI.10 version comparison, a faithful port of systemd's strverscmp_improved() (docs/bls.md §8.3).
// Used for sorting BLS entries (version descending, id descending). Works on UTF-16 code
// units: every non-ASCII unit is >= 0x80, so it is a separator exactly as every byte of a
// multi-byte UTF-8 sequence is in the C original. A NUL ends a string, as in C.

export type Cmp = -1 | 0 | 1;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const TILDE = 0x7e;
const DASH = 0x2d;
const CARET = 0x5e;
const DOT = 0x2e;
const ZERO = 0x30;

const isValid = (c: number): boolean =>
  isDigit(c) || isAlpha(c) || c === TILDE || c === DASH || c === CARET || c === DOT;

const cmp = (x: number, y: number): Cmp => (x < y ? -1 : x > y ? 1 : 0);
const cmpBool = (x: boolean, y: boolean): Cmp => cmp(Number(x), Number(y));

/** strncmp over code units of a[ia..] and b[ib..] for n units (no NULs inside: runs are [A-Za-z0-9]). */
function strncmp(a: string, ia: number, b: string, ib: number, n: number): Cmp {
  for (let k = 0; k < n; k++) {
    const r = cmp(a.charCodeAt(ia + k), b.charCodeAt(ib + k));
    if (r !== 0) return r;
  }
  return 0;
}

/**
 * Compare two version strings: -1 if `a` is older, 1 if newer, 0 if equivalent.
 * Unset (undefined) behaves as "".
 */
export function verscmp(a?: string, b?: string): Cmp {
  const A = cstr(a ?? '');
  const B = cstr(b ?? '');
  // charCodeAt past the end yields NaN; at() semantics: treat as 0 (the C terminator).
  const at = (s: string, i: number): number => (i < s.length ? s.charCodeAt(i) : 0);
  let i = 0;
  let j = 0;
  for (;;) {
    // 1. Drop leading invalid characters.
    while (at(A, i) !== 0 && !isValid(at(A, i))) i++;
    while (at(B, j) !== 0 && !isValid(at(B, j))) j++;

    // 2. '~' (pre-release) sorts before everything, even before the end of the string.
    if (at(A, i) === TILDE || at(B, j) === TILDE) {
      const r = cmpBool(at(A, i) !== TILDE, at(B, j) !== TILDE);
      if (r !== 0) return r;
      i++;
      j++;
    }

    // 3. End of either string: the one with characters left is newer.
    if (at(A, i) === 0 || at(B, j) === 0) return cmp(at(A, i), at(B, j));

    // 4-6. '-', '^', '.' prefixes: the string carrying the prefix alone is older.
    for (const sep of [DASH, CARET, DOT]) {
      if (at(A, i) === sep || at(B, j) === sep) {
        const r = cmpBool(at(A, i) !== sep, at(B, j) !== sep);
        if (r !== 0) return r;
        i++;
        j++;
      }
    }

    let ii = i;
    let jj = j;
    if (isDigit(at(A, i)) || isDigit(at(B, j))) {
      // 7. Numeric segments; any number beats a non-number (systemd's rule, not the spec text's).
      while (isDigit(at(A, ii))) ii++;
      while (isDigit(at(B, jj))) jj++;
      let r = cmpBool(i !== ii, j !== jj);
      if (r !== 0) return r;
      while (at(A, i) === ZERO) i++;
      while (at(B, j) === ZERO) j++;
      // Compare by length first: numbers have no size limit.
      r = cmp(ii - i, jj - j);
      if (r !== 0) return r;
      r = strncmp(A, i, B, j, ii - i);
      if (r !== 0) return r;
    } else {
      // 8. Alphabetic segments: byte order on the common prefix (so 'B' < 'a'), then longer wins.
      while (isAlpha(at(A, ii))) ii++;
      while (isAlpha(at(B, jj))) jj++;
      let r = strncmp(A, i, B, j, Math.min(ii - i, jj - j));
      if (r !== 0) return r;
      r = cmp(ii - i, jj - j);
      if (r !== 0) return r;
    }
    i = ii;
    j = jj;
  }
}

function cstr(s: string): string {
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}
