// ISO 9660 directory records (ECMA-119 9.1) and the System Use Sharing Protocol / Rock Ridge
// fields in them (SUSP 1.12: SP, CE, ST; RRIP 1.12: NM, PX, SL, TF, CL, RE). Every length and
// pointer is checked against the record or the image before use.

import { u32le, u8 } from '../../util/bytes';

export const SECTOR = 2048;

export interface IsoRecord {
  readonly extent: number;
  readonly dataLength: number;
  readonly flags: number;
  readonly rawName: Uint8Array;
  readonly mtimeMs?: number;
  readonly interleaved: boolean;
  /** System use area (Rock Ridge), after skipping `suspSkip` bytes. */
  readonly systemUse: Uint8Array;
}

export const FLAG_DIR = 0x02;
export const FLAG_ASSOCIATED = 0x04;
export const FLAG_MULTI_EXTENT = 0x80;

/** ECMA-119 9.1.5 recording date: 7 bytes, offset from GMT in 15-minute units. */
function recDate(b: Uint8Array, o: number): number | undefined {
  const month = u8(b, o + 1);
  const day = u8(b, o + 2);
  if (month < 1 || month > 12 || day < 1) return undefined;
  const gmtOff = (u8(b, o + 6) << 24) >> 24;
  return Date.UTC(1900 + u8(b, o), month - 1, day, u8(b, o + 3), u8(b, o + 4), u8(b, o + 5)) - gmtOff * 15 * 60_000;
}

/** Parse one record at `off` in `b`; null when it does not fit or is malformed. */
export function parseRecord(b: Uint8Array, off: number): IsoRecord | null {
  const len = b[off];
  if (len === undefined || len < 34 || off + len > b.length) return null;
  const nameLen = u8(b, off + 32);
  if (33 + nameLen > len) return null;
  const suStart = 33 + nameLen + (nameLen % 2 === 0 ? 1 : 0);
  const rec = b.subarray(off, off + len);
  const mtimeMs = recDate(rec, 18);
  return {
    extent: u32le(rec, 2),
    dataLength: u32le(rec, 10),
    flags: u8(rec, 25),
    interleaved: u8(rec, 26) !== 0 || u8(rec, 27) !== 0,
    rawName: rec.subarray(33, 33 + nameLen),
    systemUse: suStart < len ? rec.subarray(suStart) : new Uint8Array(0),
    ...(mtimeMs !== undefined ? { mtimeMs } : {}),
  };
}

/**
 * Split a directory extent into records. Records never cross a sector boundary; a zero
 * length byte means "the rest of this sector is padding".
 */
export function splitRecords(data: Uint8Array, maxRecords: number): IsoRecord[] {
  const out: IsoRecord[] = [];
  let off = 0;
  while (off < data.length && out.length < maxRecords) {
    const len = u8(data, off);
    if (len === 0) {
      off = (Math.floor(off / SECTOR) + 1) * SECTOR;
      continue;
    }
    const sectorEnd = (Math.floor(off / SECTOR) + 1) * SECTOR;
    const rec = off + len <= sectorEnd ? parseRecord(data, off) : null;
    if (!rec) {
      // Malformed: skip to the next sector, as Linux does.
      off = sectorEnd;
      continue;
    }
    out.push(rec);
    off += len;
  }
  return out;
}

/** One SUSP entry: signature, version, data (after the 4-byte header). */
export interface SuspEntry {
  readonly sig: string;
  readonly data: Uint8Array;
}

/** Reads a continuation area (CE) given block, offset, length; null when out of bounds. */
export type CeReader = (block: number, offset: number, length: number) => Uint8Array | null;

const MAX_CE = 16;
const MAX_SUSP_BYTES = 64 * 1024;

/** All SUSP entries of a record, following CE continuation areas (bounded). */
export function suspEntries(area: Uint8Array, readCe: CeReader): SuspEntry[] {
  const out: SuspEntry[] = [];
  let cur: Uint8Array | null = area;
  let hops = 0;
  let total = 0;
  while (cur) {
    let next: Uint8Array | null = null;
    let off = 0;
    while (off + 4 <= cur.length) {
      const len = u8(cur, off + 2);
      if (len < 4 || off + len > cur.length) break;
      const sig = String.fromCharCode(u8(cur, off), u8(cur, off + 1));
      const data = cur.subarray(off + 4, off + len);
      if (sig === 'ST') break;
      if (sig === 'CE' && data.length >= 24 && hops < MAX_CE) {
        next = readCe(u32le(data, 0), u32le(data, 8), u32le(data, 16));
      } else if (sig !== 'PD') {
        out.push({ sig, data });
      }
      off += len;
    }
    total += cur.length;
    hops++;
    if (!next || hops > MAX_CE || total > MAX_SUSP_BYTES) break;
    cur = next;
  }
  return out;
}

export interface RockRidge {
  name?: string;
  mode?: number;
  symlink?: string;
  /** CL: the real location of a relocated directory. */
  childLink?: number;
  /** RE: this entry is the relocated directory itself; hide it. */
  relocated?: boolean;
  mtimeMs?: number;
}

const utf8 = new TextDecoder('utf-8');

/** Decode the Rock Ridge fields of one record. Names are bytes; we read them as UTF-8. */
export function rockRidge(entries: readonly SuspEntry[]): RockRidge {
  const rr: RockRidge = {};
  let name: number[] | null = null;
  let nameDone = false;
  let link: string[] | null = null;
  let comp = '';
  let compOpen = false;
  for (const { sig, data } of entries) {
    if (sig === 'NM' && data.length >= 1 && !nameDone) {
      const fl = u8(data, 0);
      if (fl & 0x06) {
        // CURRENT or PARENT: not a real name.
        nameDone = true;
        name = null;
        continue;
      }
      name ??= [];
      for (const c of data.subarray(1)) name.push(c);
      if (!(fl & 0x01)) nameDone = true;
    } else if (sig === 'PX' && data.length >= 8) {
      rr.mode = u32le(data, 0);
    } else if (sig === 'SL' && data.length >= 1) {
      link ??= [];
      let off = 1;
      while (off + 2 <= data.length) {
        const cf = u8(data, off);
        const clen = u8(data, off + 1);
        if (off + 2 + clen > data.length) break;
        const text = utf8.decode(data.subarray(off + 2, off + 2 + clen));
        if (cf & 0x08) {
          link.length = 0;
          link.push('');
        } else {
          const part = cf & 0x02 ? '.' : cf & 0x04 ? '..' : text;
          comp += part;
          compOpen = true;
          if (!(cf & 0x01)) {
            link.push(comp);
            comp = '';
            compOpen = false;
          }
        }
        off += 2 + clen;
      }
    } else if (sig === 'CL' && data.length >= 8) {
      rr.childLink = u32le(data, 0);
    } else if (sig === 'RE') {
      rr.relocated = true;
    } else if (sig === 'TF' && data.length >= 1) {
      const fl = u8(data, 0);
      // Order: creation, modify, access, ...; 7-byte form unless LONG_FORM (0x80).
      if (!(fl & 0x80) && fl & 0x02) {
        const off = 1 + (fl & 0x01 ? 7 : 0);
        if (off + 7 <= data.length) {
          const t = recDate(data, off);
          if (t !== undefined) rr.mtimeMs = t;
        }
      }
    }
  }
  if (name && name.length > 0) rr.name = utf8.decode(Uint8Array.from(name));
  if (link) {
    if (compOpen) link.push(comp);
    const s = link.length === 1 && link[0] === '' ? '/' : link.join('/');
    rr.symlink = s;
  }
  return rr;
}

/** SP at the start of the root '.' record's system use: Rock Ridge (SUSP) is in use. */
export function suspSkip(rootDot: IsoRecord): number | null {
  const su = rootDot.systemUse;
  if (su.length >= 7 && su[0] === 0x53 && su[1] === 0x50 && su[4] === 0xbe && su[5] === 0xef) return u8(su, 6);
  return null;
}
