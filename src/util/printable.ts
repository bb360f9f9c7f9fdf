// Strings from a disk or the network, made safe to write to a terminal. A title, label or path
// is data: its control characters must be shown, never obeyed (an ESC [2J from a BLS title would
// clear the screen, an OSC retitle the terminal, ESC [1A ESC [K erase the line above it).
//
// The rule (README "What a terminal shows"), one code unit at a time:
//   - C0 controls U+0000–U+001F, DEL U+007F and the C1 controls U+0080–U+009F (ECMA-48's two
//     control sets; a UTF-8 terminal obeys C1 as well, e.g. U+009B as CSI) become `\xHH`;
//   - the line and paragraph separators U+2028/U+2029 and the bidirectional formatting
//     characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069: they reorder how the
//     rest of the line is drawn) become `\uHHHH`;
//   - the backslash itself becomes `\\`, so every escape is unambiguous and `unprintable()`
//     gives back the exact string;
//   - everything else (printable ASCII, other Unicode, invalid UTF-8 already decoded as U+FFFD)
//     is left alone.
//
// Printers keep the model raw and call printable() on each disk string as they build a line
// (or on a whole line whose own text has no backslash and no control character: then the two
// are the same, because the mapping is per code unit). Their own newlines stay newlines.
// `--json` output never goes through here: JSON's escaping is already exact and safe.

/** Everything printable() rewrites. */
const UNSAFE = /[\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const UNSAFE_ONE = new RegExp(UNSAFE.source);

/** Whether printable() would leave `s` unchanged. */
export function isPrintable(s: string): boolean {
  return !UNSAFE_ONE.test(s);
}

function escapeOne(c: string): string {
  if (c === '\\') return '\\\\';
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/** `s` with every control, separator, bidi control and backslash shown as an escape. */
export function printable(s: string): string {
  return s.replace(UNSAFE, escapeOne);
}

/** Each line of `lines` made printable (a line's own newlines become `\x0a`). */
export function printableLines(lines: readonly string[]): string[] {
  return lines.map(printable);
}

const ESCAPE = /\\(?:\\|x([0-9a-f]{2})|u([0-9a-f]{4}))/g;

/** The inverse of printable(): unprintable(printable(s)) === s for every string s. */
export function unprintable(s: string): string {
  return s.replace(ESCAPE, (m, x: string | undefined, u: string | undefined) => {
    const hex = x ?? u;
    return hex === undefined ? '\\' : String.fromCharCode(parseInt(hex, 16));
  });
}
