// Trimming the ICU data built into node. A full-ICU node carries every CLDR locale in one
// ICU "common data" package (the exported symbol icudtNN_dat, ~33 MB for ICU 78); tendril
// uses no Intl, so the initramfs keeps what node and ICU need to run (converters,
// normalisation, properties, time zones, break rules, supplemental data) plus the locale
// bundles of root and English, and drops the rest. The package is rewritten in place (same
// file offset, the rest of the symbol zeroed so it compresses to nothing): node still finds a
// valid package at the same address and needs no relinking.
//
// Package layout (ICU's udata.cpp / ucmndata.cpp, written by icupkg/pkgdata):
//   MappedData header: uint16 headerSize, magic 0xda 0x27, UDataInfo {uint16 size,
//     uint16 reserved, uint8 isBigEndian, charsetFamily, sizeofUChar, reserved,
//     dataFormat "CmnD", formatVersion[4] (1.x), dataVersion[4]}, copyright, padding;
//   at headerSize, the TOC: uint32 count, count × {uint32 nameOffset, uint32 dataOffset}
//     (offsets from the TOC start), the NUL-terminated names ('icudt78l/coll/root.res',
//     sorted bytewise: ICU binary-searches them), 0xaa padding, then the items, each a data
//     file with its own header, 16-byte aligned. An item's length is up to the next item's
//     offset; the last one runs to the package end (ICU reads it as "unknown length").

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PT_LOAD, readElf64 } from './elf';

export interface IcuItem {
  /** Full TOC name, e.g. 'icudt78l/coll/root.res'. */
  readonly name: string;
  /** The item's bytes up to the next item (alignment padding included). */
  readonly data: Buffer;
}

export interface IcuPackage {
  /** The package's own header (MappedData + UDataInfo + copyright), kept verbatim. */
  readonly header: Buffer;
  readonly items: readonly IcuItem[];
}

const ALIGN = 16;
const PAD = 0xaa;
/** Longest item name accepted (ICU's own limit for a path-ish name is far below this). */
const MAX_NAME = 256;

function fail(msg: string): never {
  throw new Error(`ICU package: ${msg}`);
}

/** Check a data file header (the package's or an item's); returns its headerSize. */
function dataHeader(b: Buffer, what: string): number {
  if (b.length < 4 + 20) fail(`${what}: ${b.length} bytes is too short for a data header`);
  const headerSize = b.readUInt16LE(0);
  if (b[2] !== 0xda || b[3] !== 0x27) fail(`${what}: bad magic ${b.subarray(2, 4).toString('hex')} (want da27)`);
  const infoSize = b.readUInt16LE(4);
  if (infoSize < 20) fail(`${what}: UDataInfo size ${infoSize} < 20`);
  if (headerSize < 4 + infoSize || headerSize > b.length)
    fail(`${what}: header size ${headerSize} does not fit (info ${infoSize}, length ${b.length})`);
  return headerSize;
}

/**
 * Parse an ICU common-data package. `buf` is exactly the package (for the copy in a binary:
 * the symbol's bytes, so the last item includes whatever follows it up to the symbol end).
 * Only little-endian ASCII packages are accepted (what x86/arm64 ICU reads). Throws an Error
 * starting with 'ICU package:' on anything malformed; never allocates more than a small
 * multiple of `buf.length`.
 */
export function readIcuPackage(buf: Uint8Array): IcuPackage {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const hs = dataHeader(b, 'package');
  if (b[8] !== 0) fail('big-endian package (only little-endian is supported)');
  if (b[9] !== 0) fail(`charset family ${b[9]} (only ASCII is supported)`);
  const format = b.toString('latin1', 12, 16);
  if (format !== 'CmnD') fail(`data format '${format}' is not 'CmnD'`);
  if (b[16] !== 1) fail(`CmnD format version ${b[16]} (want 1)`);
  if (hs + 4 > b.length) fail('no room for the table of contents');
  const toc = b.subarray(hs);
  const count = toc.readUInt32LE(0);
  // Each entry needs 8 TOC bytes, a name of at least 2 and an item of at least 24 bytes.
  if (count === 0) fail('empty table of contents');
  if (count > Math.floor((toc.length - 4) / (8 + 2 + 24))) fail(`${count} items cannot fit in ${toc.length} bytes`);
  const entriesEnd = 4 + 8 * count;
  const items: IcuItem[] = [];
  let prevName: Buffer | undefined;
  let prevData = 0;
  const offsets: number[] = [];
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const nameOff = toc.readUInt32LE(4 + 8 * i);
    const dataOff = toc.readUInt32LE(8 + 8 * i);
    if (nameOff < entriesEnd || nameOff >= toc.length) fail(`item ${i}: name offset ${nameOff} out of range`);
    const window = toc.subarray(nameOff, Math.min(toc.length, nameOff + MAX_NAME + 1));
    const nul = window.indexOf(0);
    if (nul < 1) fail(`item ${i}: name at ${nameOff} is ${nul === 0 ? 'empty' : 'unterminated or too long'}`);
    const nameBytes = window.subarray(0, nul);
    for (const c of nameBytes) if (c < 0x21 || c > 0x7e) fail(`item ${i}: name has byte 0x${c.toString(16)}`);
    if (prevName && Buffer.compare(prevName, nameBytes) >= 0)
      fail(`item ${i}: name '${nameBytes.toString('latin1')}' is not after '${prevName.toString('latin1')}'`);
    if (dataOff < entriesEnd || dataOff > toc.length - 24) fail(`item ${i}: data offset ${dataOff} out of range`);
    if (i > 0 && dataOff <= prevData) fail(`item ${i}: data offset ${dataOff} does not follow ${prevData}`);
    prevName = nameBytes;
    prevData = dataOff;
    names.push(nameBytes.toString('latin1'));
    offsets.push(dataOff);
  }
  for (let i = 0; i < count; i++) {
    const data = toc.subarray(offsets[i], i + 1 < count ? offsets[i + 1]! : toc.length);
    dataHeader(data, `item '${names[i]!}'`);
    items.push({ name: names[i]!, data });
  }
  return { header: b.subarray(0, hs), items };
}

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Write a package the way ICU's tools lay it out: header, TOC, names, 0xaa padding to 16,
 * then each item 16-byte aligned. Items are sorted bytewise by name (ICU's binary search).
 * For a package read from a pkgdata/icupkg build this reproduces the input byte for byte.
 */
export function writeIcuPackage(pkg: IcuPackage): Buffer {
  const hs = dataHeader(pkg.header, 'package header');
  if (hs !== pkg.header.length) fail(`header is ${pkg.header.length} bytes but says ${hs}`);
  if (hs % ALIGN) fail(`header size ${hs} is not ${ALIGN}-aligned`);
  const items = [...pkg.items].sort((a, b) =>
    Buffer.compare(Buffer.from(a.name, 'latin1'), Buffer.from(b.name, 'latin1')),
  );
  for (let i = 1; i < items.length; i++)
    if (items[i - 1]!.name === items[i]!.name) fail(`duplicate item ${items[i]!.name}`);
  if (items.length === 0) fail('no items');
  let namesEnd = 4 + 8 * items.length;
  const nameOffsets = items.map((it) => {
    const o = namesEnd;
    namesEnd += Buffer.byteLength(it.name, 'latin1') + 1;
    return o;
  });
  let end = align(namesEnd);
  const dataOffsets = items.map((it) => {
    const o = end;
    end += it.data.length;
    // All but the last are padded so the next starts aligned (ICU's tools pad the same way).
    end = align(end);
    return o;
  });
  const last = items[items.length - 1]!;
  const total = hs + dataOffsets[dataOffsets.length - 1]! + last.data.length;
  // Padding is 0xaa, as icupkg writes it.
  const out = Buffer.alloc(total, PAD);
  pkg.header.copy(out, 0);
  const toc = out.subarray(hs);
  toc.fill(0, 0, namesEnd);
  toc.writeUInt32LE(items.length, 0);
  items.forEach((it, i) => {
    toc.writeUInt32LE(nameOffsets[i]!, 4 + 8 * i);
    toc.writeUInt32LE(dataOffsets[i]!, 8 + 8 * i);
    toc.write(it.name, nameOffsets[i]!, 'latin1');
    it.data.copy(toc, dataOffsets[i]);
  });
  return out;
}

// ---- What to keep ------------------------------------------------------------------------

/** Locale bundles kept in every tree: root, English, and what `en` pulls in. en_US_POSIX is
 *  ICU's default locale under LANG=C/unset (the initramfs), with its own collation. */
export const KEPT_LOCALES: ReadonlySet<string> = new Set(['root', 'en', 'en_US', 'en_001', 'en_US_POSIX']);

/** Why an item goes, or undefined when it stays. `name` is a full TOC name. */
export function icuDropReason(name: string): string | undefined {
  const parts = name.split('/');
  const base = parts[parts.length - 1]!;
  const tree = parts.length > 2 ? parts.slice(1, -1).join('/') : '';
  // Transliteration rules (translit/root.res is 1.1 MB): only ICU's Transliterator reads them,
  // and neither V8 nor node exposes it.
  if (tree === 'translit') return 'translit';
  // Word dictionaries for Chinese/Japanese, Thai, Lao, Khmer, Burmese (3 MB, ~2 MB of xz:
  // they barely compress). Without them ICU's break iterators return whole runs of those
  // scripts as one segment instead of splitting words; nothing in tendril segments text.
  if (tree === 'brkitr' && base.endsWith('.dict')) return 'dictionary';
  if (!base.endsWith('.res')) return undefined;
  const id = base.slice(0, -4);
  // Locale bundles are named by locale ID (also the aliases: 'no_NO_NY', 'de__PHONEBOOK');
  // the non-locale resource files (supplementalData, zoneinfo64, pool, res_index, ...) never
  // start with a 2–3 letter language subtag.
  if (id === 'res_index' || !/^(root|[a-z]{2,3}(_[A-Za-z0-9]*)*)$/.test(id)) return undefined;
  return KEPT_LOCALES.has(id) ? undefined : 'locale';
}

export interface TrimResult {
  readonly pkg: IcuPackage;
  readonly kept: number;
  readonly dropped: Readonly<Record<string, number>>;
}

/** The package without the items `dropReason` names a reason for. */
export function trimIcuPackage(pkg: IcuPackage, dropReason = icuDropReason): TrimResult {
  const dropped: Record<string, number> = {};
  const items = pkg.items.filter((it) => {
    const why = dropReason(it.name);
    if (why !== undefined) dropped[why] = (dropped[why] ?? 0) + 1;
    return why === undefined;
  });
  // Without these ICU cannot open any bundle; refuse rather than ship a node that fails.
  const prefix = pkg.items[0]?.name.split('/')[0] ?? '';
  for (const must of ['root.res', 'en.res', 'pool.res', 'res_index.res', 'supplementalData.res']) {
    const want = `${prefix}/${must}`;
    if (pkg.items.some((it) => it.name === want) && !items.some((it) => it.name === want))
      fail(`the trim would drop ${want}`);
  }
  return { pkg: { header: pkg.header, items }, kept: items.length, dropped };
}

// ---- The package inside an ELF binary ----------------------------------------------------

export interface IcuSymbol {
  readonly name: string;
  /** File offset of the symbol's bytes. */
  readonly offset: number;
  readonly size: number;
}

/**
 * The ICU data symbol (/^icudt\d+_dat$/) of a 64-bit little-endian ELF, looked up in .dynsym
 * (node exports it, so it survives `strip`) or .symtab, and mapped to a file offset through
 * the PT_LOAD segment holding it. Undefined when the binary has none (a system-ICU node).
 */
export function findIcuSymbol(elf: Buffer): IcuSymbol | undefined {
  const bad = (m: string): never => {
    throw new Error(`ELF: ${m}`);
  };
  const { u64, programHeaders } = readElf64(elf, 'ELF');
  const shoff = u64(0x28);
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  if (shentsize < 64 || shoff + shnum * shentsize > elf.length) bad('section headers out of range');
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      type: elf.readUInt32LE(o + 4),
      offset: u64(o + 0x18),
      size: u64(o + 0x20),
      link: elf.readUInt32LE(o + 0x28),
    };
  };
  let found: { name: string; value: number; size: number } | undefined;
  for (let s = 0; s < shnum && !found; s++) {
    const sec = section(s);
    if (sec.type !== 11 /* SHT_DYNSYM */ && sec.type !== 2 /* SHT_SYMTAB */) continue;
    if (sec.link >= shnum) bad(`symbol table ${s} links to section ${sec.link}`);
    const str = section(sec.link);
    if (sec.offset + sec.size > elf.length || str.offset + str.size > elf.length) bad('symbol table out of range');
    const strtab = elf.subarray(str.offset, str.offset + str.size);
    for (let o = sec.offset; o + 24 <= sec.offset + sec.size; o += 24) {
      const nameOff = elf.readUInt32LE(o);
      if (nameOff >= strtab.length) continue;
      const end = strtab.indexOf(0, nameOff);
      const name = strtab.toString('latin1', nameOff, end < 0 ? strtab.length : end);
      if (/^icudt\d+_dat$/.test(name)) {
        found = { name, value: u64(o + 8), size: u64(o + 16) };
        break;
      }
    }
  }
  if (!found) return undefined;
  for (const h of programHeaders) {
    if (h.type !== PT_LOAD) continue;
    if (found.value >= h.vaddr && found.value + found.size <= h.vaddr + h.filesz) {
      const offset = h.offset + (found.value - h.vaddr);
      if (offset + found.size > elf.length) bad(`${found.name} runs past the end of the file`);
      return { name: found.name, offset, size: found.size };
    }
  }
  return bad(`${found.name} (0x${found.value.toString(16)}) is in no PT_LOAD segment's file image`);
}

export interface PatchResult {
  /** The patched binary (a new buffer). */
  readonly binary: Buffer;
  readonly symbol: IcuSymbol;
  /** Package bytes before (the whole symbol) and after. */
  readonly before: number;
  readonly after: number;
  readonly items: number;
  readonly kept: number;
  readonly dropped: Readonly<Record<string, number>>;
}

/**
 * A copy of `elf` whose ICU package is passed through `transform` (default: the trim) and
 * written back at the same offset, the rest of the symbol zeroed. Undefined without a package.
 */
export function patchNodeIcu(
  elf: Buffer,
  transform: (pkg: IcuPackage) => TrimResult = (p) => trimIcuPackage(p),
): PatchResult | undefined {
  const symbol = findIcuSymbol(elf);
  if (!symbol) return undefined;
  const region = elf.subarray(symbol.offset, symbol.offset + symbol.size);
  const pkg = readIcuPackage(region);
  const result = transform(pkg);
  const bytes = writeIcuPackage(result.pkg);
  if (bytes.length > symbol.size)
    fail(`rewritten package (${bytes.length} bytes) exceeds ${symbol.name} (${symbol.size})`);
  const binary = Buffer.from(elf);
  const out = binary.subarray(symbol.offset, symbol.offset + symbol.size);
  out.fill(0);
  bytes.copy(out, 0);
  return {
    binary,
    symbol,
    before: symbol.size,
    after: bytes.length,
    items: pkg.items.length,
    kept: result.kept,
    dropped: result.dropped,
  };
}

/** Bump when the trim policy or the writer changes (part of the cache key). */
const TRIM_VERSION = 1;

/**
 * `bin` (node, usually already stripped) with its ICU data trimmed, cached in `cacheDir` by
 * the input's identity. Returns `bin` itself when TENDRIL_INITRAMFS_FULL_ICU=1 or the binary
 * has no embedded ICU package.
 */
export function icuTrimmedNode(bin: string, cacheDir: string, log: (s: string) => void = () => {}): string {
  if (process.env.TENDRIL_INITRAMFS_FULL_ICU === '1') return bin;
  const st = fs.statSync(bin);
  const key = `${fs.realpathSync(bin)}:${st.size}:${st.mtimeMs}:${TRIM_VERSION}`;
  const out = path.join(cacheDir, `node-icu-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`);
  const none = `${out}.none`;
  if (fs.existsSync(out)) return out;
  if (fs.existsSync(none)) return bin;
  fs.mkdirSync(cacheDir, { recursive: true });
  const r = patchNodeIcu(fs.readFileSync(bin));
  if (!r) {
    log(`${bin}: no embedded ICU data (icudtNN_dat), shipped as is`);
    fs.writeFileSync(none, '');
    return bin;
  }
  log(
    `${r.symbol.name}: ${r.before} -> ${r.after} bytes, kept ${r.kept} of ${r.items} items ` +
      `(dropped ${Object.entries(r.dropped)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')})`,
  );
  const tmp = `${out}.tmp${process.pid}`;
  fs.writeFileSync(tmp, r.binary, { mode: 0o755 });
  fs.renameSync(tmp, out);
  return out;
}
