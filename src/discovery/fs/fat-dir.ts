// FAT directory entries: 8.3 names with the Windows NT lower-case flags (byte 12: 0x08 base,
// 0x10 extension; mtools sets them for names like 'readme.txt'), and VFAT long names (UTF-16LE
// in 13-unit slices, validated by sequence number and the 8.3 checksum).

import { u16le, u32le, u8 } from '../../util/bytes';

export interface FatDirEntry {
  readonly name: string;
  readonly dir: boolean;
  readonly firstCluster: number;
  readonly size: number;
  readonly mtimeMs?: number;
  /** Index of the 8.3 record (32-byte units from the directory's start): the in-place writer finds it by this. */
  readonly slot: number;
}

const ATTR_VOLUME = 0x08;
const ATTR_DIR = 0x10;
const ATTR_LFN = 0x0f;

// Code page 437 for 8.3 bytes >= 0x80 (the DOS default that mtools and Linux assume).
const CP437_HIGH =
  '\u00c7\u00fc\u00e9\u00e2\u00e4\u00e0\u00e5\u00e7\u00ea\u00eb\u00e8\u00ef\u00ee\u00ec\u00c4\u00c5' +
  '\u00c9\u00e6\u00c6\u00f4\u00f6\u00f2\u00fb\u00f9\u00ff\u00d6\u00dc\u00a2\u00a3\u00a5\u20a7\u0192' +
  '\u00e1\u00ed\u00f3\u00fa\u00f1\u00d1\u00aa\u00ba\u00bf\u2310\u00ac\u00bd\u00bc\u00a1\u00ab\u00bb' +
  '\u2591\u2592\u2593\u2502\u2524\u2561\u2562\u2556\u2555\u2563\u2551\u2557\u255d\u255c\u255b\u2510' +
  '\u2514\u2534\u252c\u251c\u2500\u253c\u255e\u255f\u255a\u2554\u2569\u2566\u2560\u2550\u256c\u2567' +
  '\u2568\u2564\u2565\u2559\u2558\u2552\u2553\u256b\u256a\u2518\u250c\u2588\u2584\u258c\u2590\u2580' +
  '\u03b1\u00df\u0393\u03c0\u03a3\u03c3\u00b5\u03c4\u03a6\u0398\u03a9\u03b4\u221e\u03c6\u03b5\u2229' +
  '\u2261\u00b1\u2265\u2264\u2320\u2321\u00f7\u2248\u00b0\u2219\u00b7\u221a\u207f\u00b2\u25a0\u00a0';

function oemChars(b: Uint8Array, lower: boolean): string {
  let s = '';
  for (const c of b) {
    let ch = c < 0x80 ? String.fromCharCode(c) : CP437_HIGH.charAt(c - 0x80);
    if (lower && c >= 0x41 && c <= 0x5a) ch = ch.toLowerCase();
    s += ch;
  }
  return s.replace(/ +$/, '');
}

/** The 8.3 name as Windows shows it, honouring the NT lower-case flags. */
export function shortName(e: Uint8Array): string {
  const raw = Uint8Array.from(e.subarray(0, 8));
  if (raw[0] === 0x05) raw[0] = 0xe5; // 0x05 stands for a real leading 0xE5 (KANJI lead byte)
  const nt = u8(e, 12);
  const base = oemChars(raw, (nt & 0x08) !== 0);
  const ext = oemChars(e.subarray(8, 11), (nt & 0x10) !== 0);
  return ext ? `${base}.${ext}` : base;
}

/** Checksum of the 11 name bytes, stored in every LFN slot of that entry. */
export function lfnChecksum(e: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + u8(e, i)) & 0xff;
  return sum;
}

/** Byte offsets of the 13 UTF-16 units in a long-name slot. */
export const LFN_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

/** Decode UTF-16 units; a lone surrogate becomes U+FFFD rather than a broken string. */
function utf16(units: readonly number[]): string {
  let s = '';
  let high: number | null = null; // a high surrogate waiting for its low half
  for (const u of units) {
    const isLow = u >= 0xdc00 && u <= 0xdfff;
    if (high !== null) {
      s += isLow ? String.fromCharCode(high, u) : '\ufffd';
      high = null;
      if (isLow) continue;
    }
    if (u >= 0xd800 && u <= 0xdbff) high = u;
    else s += isLow ? '\ufffd' : String.fromCharCode(u);
  }
  return high !== null ? s + '\ufffd' : s;
}

/** FAT date/time (local time of the writer; we read it as UTC since the zone is unknown). */
function fatTime(date: number, time: number): number | undefined {
  if (date === 0) return undefined;
  const day = date & 31;
  const month = (date >> 5) & 15;
  const year = 1980 + (date >> 9);
  if (day < 1 || month < 1 || month > 12) return undefined;
  return Date.UTC(year, month - 1, day, time >> 11, (time >> 5) & 63, (time & 31) * 2);
}

function validName(n: string): boolean {
  return n.length > 0 && n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0');
}

/**
 * Parse a directory's raw bytes. Stops at the 0x00 end marker. Orphaned or inconsistent LFN
 * slots are dropped and the 8.3 name used, as Windows and Linux do.
 */
export function parseDirEntries(data: Uint8Array, maxEntries: number): FatDirEntry[] {
  const out: FatDirEntry[] = [];
  const seen = new Set<string>();
  let lfnUnits: number[][] = [];
  let lfnExpect = 0;
  let lfnSum = -1;
  for (let off = 0; off + 32 <= data.length && out.length < maxEntries; off += 32) {
    const e = data.subarray(off, off + 32);
    const ord = u8(e, 0);
    if (ord === 0x00) break;
    if (ord === 0xe5) {
      lfnExpect = 0;
      continue;
    }
    const attr = u8(e, 11);
    if ((attr & 0x3f) === ATTR_LFN) {
      const seq = ord & 0x1f;
      if (ord & 0x40) {
        lfnUnits = [];
        lfnExpect = seq;
        lfnSum = u8(e, 13);
      } else if (seq !== lfnExpect || u8(e, 13) !== lfnSum) {
        lfnExpect = 0;
        continue;
      }
      if (seq === 0 || seq > 20 || lfnExpect === 0) {
        lfnExpect = 0;
        continue;
      }
      const units: number[] = [];
      for (const o of LFN_OFFSETS) units.push(u16le(e, o));
      lfnUnits.unshift(units);
      lfnExpect = seq - 1;
      continue;
    }
    const haveLfn = lfnUnits.length > 0 && lfnExpect === 0 && lfnSum === lfnChecksum(e);
    const units = haveLfn ? lfnUnits.flat() : [];
    lfnUnits = [];
    lfnExpect = 0;
    if (attr & ATTR_VOLUME) continue;
    const isDotEntry = ord === 0x2e && (e[1] === 0x20 || (e[1] === 0x2e && e[2] === 0x20));
    if (isDotEntry) continue;
    let name = '';
    if (haveLfn) {
      const end = units.indexOf(0);
      name = utf16(end >= 0 ? units.slice(0, end) : units);
    }
    if (!validName(name)) name = shortName(e);
    if (!validName(name) || seen.has(name)) continue;
    seen.add(name);
    const cluster = u16le(e, 20) * 0x10000 + u16le(e, 26);
    const size = u32le(e, 28);
    const dir = (attr & ATTR_DIR) !== 0;
    const mtimeMs = fatTime(u16le(e, 24), u16le(e, 22));
    out.push({
      name,
      dir,
      firstCluster: cluster,
      size: dir ? 0 : size,
      ...(mtimeMs !== undefined ? { mtimeMs } : {}),
      slot: off / 32,
    });
  }
  return out;
}
