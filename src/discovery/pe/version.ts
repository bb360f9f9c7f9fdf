// The VS_VERSIONINFO block of a PE version resource (RT_VERSION): the strings that say what a
// program is (ProductName, FileDescription, ProductVersion, ...). Layout, from Microsoft's
// "VS_VERSIONINFO structure" and "String structure" pages: every block is
//   WORD wLength; WORD wValueLength; WORD wType; WCHAR szKey[]; padding to 32 bits; Value;
//   padding to 32 bits; children (blocks);
// with VS_VERSIONINFO > StringFileInfo > StringTable (key = language + code page in hex) >
// String. The bytes come from a disk: every length is checked against its parent's end, the
// depth, block, string and character counts are bounded, and a malformation is a reason, never
// an exception.

import { u16le, u32le } from '../../util/bytes';

/** VS_VERSIONINFO > StringFileInfo > StringTable > String. */
export const MAX_VERSION_DEPTH = 4;
/** Blocks looked at in one resource (a real one has a few dozen). */
export const MAX_VERSION_BLOCKS = 512;
/** Strings kept from all string tables. */
export const MAX_VERSION_STRINGS = 128;
/** UTF-16 code units of a key or a value kept (longer values are cut). */
export const MAX_KEY_UNITS = 64;
export const MAX_VALUE_UNITS = 512;

const FIXED_SIGNATURE = 0xfeef04bd;

export interface VersionInfo {
  readonly productName?: string;
  readonly fileDescription?: string;
  readonly productVersion?: string;
  readonly fileVersion?: string;
  readonly companyName?: string;
  /** VS_FIXEDFILEINFO's product version as 'a.b.c.d', when the fixed part is there. */
  readonly fixedProductVersion?: string;
  /** The string table the strings came from ('040904b0'). */
  readonly table?: string;
}

export type VersionParse =
  { readonly ok: true; readonly info: VersionInfo } | { readonly ok: false; readonly reason: string };

interface Block {
  readonly key: string;
  readonly type: number;
  /** Value bytes [valueStart, valueEnd) and children [childStart, end) in the buffer. */
  readonly valueStart: number;
  readonly valueEnd: number;
  readonly childStart: number;
  readonly end: number;
}

class Malformed extends Error {}

const align4 = (n: number): number => (n + 3) & ~3;

/** UTF-16LE code units from `at` up to a NUL or `end`, at most `max` kept; returns the text and where the NUL ended. */
function utf16z(
  b: Uint8Array,
  at: number,
  end: number,
  max: number,
): { text: string; next: number; terminated: boolean } {
  const units: number[] = [];
  let p = at;
  while (p + 2 <= end) {
    const u = u16le(b, p);
    p += 2;
    if (u === 0) return { text: decode(units), next: p, terminated: true };
    if (units.length < max) units.push(u);
  }
  return { text: decode(units), next: p, terminated: false };
}

function decode(units: readonly number[]): string {
  // Unpaired surrogates become U+FFFD (TextDecoder), not broken strings.
  const bytes = new Uint8Array(units.length * 2);
  units.forEach((u, i) => {
    bytes[2 * i] = u & 0xff;
    bytes[2 * i + 1] = u >> 8;
  });
  return new TextDecoder('utf-16le').decode(bytes);
}

class Parser {
  blocks = 0;
  constructor(private readonly b: Uint8Array) {}

  /** The block at `at`, inside its parent's [at, limit). */
  block(at: number, limit: number, depth: number): Block {
    if (depth > MAX_VERSION_DEPTH) throw new Malformed(`blocks nested deeper than ${MAX_VERSION_DEPTH}`);
    if (++this.blocks > MAX_VERSION_BLOCKS) throw new Malformed(`more than ${MAX_VERSION_BLOCKS} blocks`);
    if (limit - at < 6) throw new Malformed(`block at ${at}: ${limit - at} bytes left, a header needs 6`);
    const length = u16le(this.b, at);
    const valueLength = u16le(this.b, at + 2);
    const type = u16le(this.b, at + 4);
    if (length < 6) throw new Malformed(`block at ${at}: wLength ${length} is smaller than its header`);
    const end = at + length;
    if (end > limit) throw new Malformed(`block at ${at}: wLength ${length} runs past its parent (end ${limit})`);
    const key = utf16z(this.b, at + 6, end, MAX_KEY_UNITS);
    if (!key.terminated) throw new Malformed(`block at ${at}: key is not NUL-terminated inside the block`);
    const valueStart = Math.min(align4(key.next), end);
    // Text values count UTF-16 units, binary ones bytes; some tools count text in bytes too, so a
    // text value is taken up to its NUL or the block's end (never past it).
    const bytes = type === 1 ? valueLength * 2 : valueLength;
    if (type !== 1 && valueStart + bytes > end) {
      throw new Malformed(`block '${key.text}' at ${at}: wValueLength ${valueLength} runs past the block`);
    }
    const valueEnd = Math.min(valueStart + bytes, end);
    return { key: key.text, type, valueStart, valueEnd, childStart: Math.min(align4(valueEnd), end), end };
  }

  children(parent: Block, depth: number): Block[] {
    const out: Block[] = [];
    let at = parent.childStart;
    while (at + 6 <= parent.end) {
      // Some writers pad with zero words between blocks: skip them.
      if (u16le(this.b, at) === 0) {
        at += 2;
        continue;
      }
      const c = this.block(at, parent.end, depth);
      out.push(c);
      at = align4(c.end);
    }
    return out;
  }

  text(blk: Block): string {
    if (blk.valueEnd === blk.valueStart && blk.type === 1) return '';
    return utf16z(this.b, blk.valueStart, blk.end, MAX_VALUE_UNITS).text.trim();
  }
}

const WANTED: Record<string, keyof VersionInfo> = {
  productname: 'productName',
  filedescription: 'fileDescription',
  productversion: 'productVersion',
  fileversion: 'fileVersion',
  companyname: 'companyName',
};

/** Parse the bytes of an RT_VERSION resource. Never throws. */
export function parseVersionInfo(bytes: Uint8Array): VersionParse {
  try {
    const p = new Parser(bytes);
    const root = p.block(0, bytes.length, 1);
    if (root.key !== 'VS_VERSION_INFO')
      return { ok: false, reason: `root key is '${root.key.slice(0, 40)}', not 'VS_VERSION_INFO'` };
    const info: { -readonly [K in keyof VersionInfo]: VersionInfo[K] } = {};
    if (root.valueEnd - root.valueStart >= 52 && u32le(bytes, root.valueStart) === FIXED_SIGNATURE) {
      const ms = u32le(bytes, root.valueStart + 16);
      const ls = u32le(bytes, root.valueStart + 20);
      info.fixedProductVersion = `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`;
    }
    // String tables in file order; an en-US one (0409) wins, else the first that has strings.
    const tables: { key: string; strings: Map<keyof VersionInfo, string> }[] = [];
    let strings = 0;
    for (const sfi of p.children(root, 2)) {
      if (sfi.key !== 'StringFileInfo') continue;
      for (const table of p.children(sfi, 3)) {
        const found = new Map<keyof VersionInfo, string>();
        for (const s of p.children(table, 4)) {
          if (++strings > MAX_VERSION_STRINGS) return { ok: false, reason: `more than ${MAX_VERSION_STRINGS} strings` };
          const field = WANTED[s.key.toLowerCase()];
          const value = p.text(s);
          if (field && value !== '' && !found.has(field)) found.set(field, value);
        }
        tables.push({ key: table.key.toLowerCase(), strings: found });
      }
    }
    const chosen =
      tables.find((t) => t.key.startsWith('0409') && t.strings.size > 0) ?? tables.find((t) => t.strings.size > 0);
    if (chosen) {
      info.table = chosen.key;
      for (const [k, v] of chosen.strings) (info as Record<string, string>)[k] = v;
    }
    return { ok: true, info };
  } catch (e) {
    if (e instanceof Malformed || e instanceof RangeError) return { ok: false, reason: e.message };
    return { ok: false, reason: `unexpected: ${String(e)}` };
  }
}
