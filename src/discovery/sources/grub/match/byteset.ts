// Sets of bytes for the regexp and wildcard matchers (docs/grub-syslinux.md §A12). Both work on
// bytes, as grub does: its regexp module is gnulib's regex in the C locale, so `.` and `?` take
// one byte and the classes are the ASCII ones of the POSIX locale's LC_CTYPE (POSIX.1-2017 XBD
// chapter 7, "LC_CTYPE").

/** 256 bits, one per byte value. */
export type ByteSet = Uint32Array;

export function emptySet(): ByteSet {
  return new Uint32Array(8);
}

export function addByte(s: ByteSet, b: number): void {
  s[b >>> 5]! |= 1 << (b & 31);
}

export function addRange(s: ByteSet, lo: number, hi: number): void {
  for (let b = lo; b <= hi; b++) addByte(s, b);
}

export function hasByte(s: ByteSet, b: number): boolean {
  return (s[b >>> 5]! & (1 << (b & 31))) !== 0;
}

export function union(into: ByteSet, from: ByteSet): void {
  for (let i = 0; i < 8; i++) into[i]! |= from[i]!;
}

export function invert(s: ByteSet): void {
  for (let i = 0; i < 8; i++) s[i] = ~s[i]!;
}

export function setOf(pred: (b: number) => boolean): ByteSet {
  const s = emptySet();
  for (let b = 0; b < 256; b++) if (pred(b)) addByte(s, b);
  return s;
}

const isUpper = (b: number): boolean => b >= 0x41 && b <= 0x5a;
const isLower = (b: number): boolean => b >= 0x61 && b <= 0x7a;
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isAlpha = (b: number): boolean => isUpper(b) || isLower(b);
const isAlnum = (b: number): boolean => isAlpha(b) || isDigit(b);
const isSpace = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d);
const isGraph = (b: number): boolean => b >= 0x21 && b <= 0x7e;

/** The POSIX locale's character classes, by the name used in `[[:name:]]`. */
const CLASSES: ReadonlyMap<string, (b: number) => boolean> = new Map([
  ['alpha', isAlpha],
  ['upper', isUpper],
  ['lower', isLower],
  ['digit', isDigit],
  ['xdigit', (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)],
  ['alnum', isAlnum],
  ['space', isSpace],
  ['blank', (b: number) => b === 0x20 || b === 0x09],
  ['punct', (b: number) => isGraph(b) && !isAlnum(b)],
  ['print', (b: number) => b >= 0x20 && b <= 0x7e],
  ['graph', isGraph],
  ['cntrl', (b: number) => b < 0x20 || b === 0x7f],
]);

const CLASS_SETS = new Map<string, ByteSet>([...CLASSES].map(([n, p]) => [n, setOf(p)]));

/** The set of a POSIX class name, or undefined for an unknown name. */
export function classSet(name: string): ByteSet | undefined {
  return CLASS_SETS.get(name);
}

/** gnulib's word characters (`\w`, `\b`, `\<`, `\>`): alphanumerics and `_`. */
export function isWordByte(b: number): boolean {
  return isAlnum(b) || b === 0x5f;
}
