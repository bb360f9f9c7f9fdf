// FAT12/16/32 boot sector (BPB) validation and probing, after libblkid's vfat prober: the
// same sanity checks decide whether sector 0 of a disk is a FAT volume (superfloppy) or an
// MBR, and the same rules pick label and serial. The FAT type comes from the cluster count
// (Microsoft's FAT specification: < 4085 FAT12, < 65525 FAT16), except that a BPB with a
// 16-bit FAT size of 0 is laid out as FAT32 whatever its count (as Linux reads it).

import { u16le, u32le, u8 } from '../../util/bytes';
import type { FsProbe } from '../model';
import type { ProbeContext } from './context';
import { fieldBytes, oemLabel, startsWith } from './text';

export interface FatGeometry {
  readonly bytesPerSector: number;
  readonly sectorsPerCluster: number;
  readonly reservedSectors: number;
  readonly numFats: number;
  readonly rootEntries: number;
  readonly totalSectors: number;
  readonly fatSectors: number;
  readonly clusterCount: number;
  /** FAT32 layout: root directory in a cluster chain, extended BPB at 0x40. */
  readonly fat32Layout: boolean;
  readonly version: 'FAT12' | 'FAT16' | 'FAT32';
}

const FAT12_MAX = 4084; // largest FAT12 cluster count (Microsoft: count < 4085)
const FAT16_MAX = 65524;
const FAT32_MAX = 0x0ffffff6;

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** The FAT identification string libblkid trusts (at 0x52 for FAT32, 0x36 otherwise), if any. */
function fatId(s: Uint8Array): string | null {
  for (const m of ['MSWIN', 'FAT32   ']) if (startsWith(s, 0x52, m)) return `"${m.trimEnd()}" at 0x52`;
  for (const m of ['MSDOS', 'FAT16   ', 'FAT12   ', 'FAT     '])
    if (startsWith(s, 0x36, m)) return `"${m.trimEnd()}" at 0x36`;
  return null;
}

/** Has a FAT identification string, or a jump opcode plus the 0x55AA signature. */
function hasFatMagic(s: Uint8Array): boolean {
  if (fatId(s) !== null) return true;
  if (s[0] !== 0xeb && s[0] !== 0xe9) return false;
  if (s[0x1fe] !== 0x55 || s[0x1ff] !== 0xaa) return false;
  // OS/2 puts FAT-like pseudo-BPBs in front of JFS and HPFS.
  return !startsWith(s, 0x36, 'JFS     ') && !startsWith(s, 0x36, 'HPFS    ');
}

/** The BPB's geometry if sector 0 is a plausible FAT boot sector, else null. */
export function fatGeometry(s: Uint8Array): FatGeometry | null {
  if (s.length < 512 || !hasFatMagic(s)) return null;
  const dv = new DataView(s.buffer, s.byteOffset, 512);
  const bytesPerSector = dv.getUint16(0x0b, true);
  const sectorsPerCluster = u8(s, 0x0d);
  const reservedSectors = dv.getUint16(0x0e, true);
  const numFats = u8(s, 0x10);
  const rootEntries = dv.getUint16(0x11, true);
  const media = u8(s, 0x15);
  if (numFats === 0 || reservedSectors === 0) return null;
  if (!(media >= 0xf8 || media === 0xf0)) return null;
  if (!isPow2(sectorsPerCluster)) return null;
  if (!isPow2(bytesPerSector) || bytesPerSector < 512 || bytesPerSector > 4096) return null;
  const total16 = dv.getUint16(0x13, true);
  const totalSectors = total16 !== 0 ? total16 : dv.getUint32(0x20, true);
  const fat16Len = dv.getUint16(0x16, true);
  const fat32Len = dv.getUint32(0x24, true);
  const fatLen = fat16Len !== 0 ? fat16Len : fat32Len;
  const fatSectors = fatLen * numFats;
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const dataSectors = totalSectors - (reservedSectors + fatSectors + rootSectors);
  if (dataSectors < 0 || fatLen === 0) return null;
  const clusterCount = Math.floor(dataSectors / sectorsPerCluster);
  const fat32Layout = fat16Len === 0 && fat32Len !== 0;
  if (clusterCount > (fat32Layout ? FAT32_MAX : FAT16_MAX)) return null;
  const version = fat32Layout ? 'FAT32' : clusterCount <= FAT12_MAX ? 'FAT12' : 'FAT16';
  return {
    bytesPerSector,
    sectorsPerCluster,
    reservedSectors,
    numFats,
    rootEntries,
    totalSectors,
    fatSectors,
    clusterCount,
    fat32Layout,
    version,
  };
}

/**
 * Why a sector that calls itself FAT (an identification string, so not merely boot code ending
 * in 0x55AA) has no usable BPB: the field and its value, in the order fatGeometry checks them.
 * Null when the sector does not call itself FAT or its BPB is fine.
 */
export function fatBootProblem(s: Uint8Array, deviceBytes: number): string | null {
  if (s.length < 512) return null;
  const id = fatId(s);
  if (id === null) return null;
  const bps = u16le(s, 0x0b);
  const spc = u8(s, 0x0d);
  const reserved = u16le(s, 0x0e);
  const nFats = u8(s, 0x10);
  const rootEntries = u16le(s, 0x11);
  const media = u8(s, 0x15);
  const total = u16le(s, 0x13) || u32le(s, 0x20);
  const fatLen = u16le(s, 0x16) || u32le(s, 0x24);
  const problem = ((): string | null => {
    if (!isPow2(bps) || bps < 512 || bps > 4096) return `bytes per sector ${bps} (must be 512, 1024, 2048 or 4096)`;
    if (!isPow2(spc)) return `sectors per cluster ${spc} (must be a power of two)`;
    if (reserved === 0) return 'reserved sectors 0 (the boot sector itself is one)';
    if (nFats === 0) return 'number of FATs 0';
    if (!(media >= 0xf8 || media === 0xf0)) return `media byte 0x${media.toString(16)} (must be 0xf0 or 0xf8..0xff)`;
    if (fatLen === 0) return 'FAT size 0 sectors';
    if (total === 0) return 'total sectors 0';
    if (total * bps > deviceBytes)
      return `total sectors ${total} (${total * bps} bytes), larger than the ${deviceBytes}-byte device`;
    const meta = reserved + fatLen * nFats + Math.ceil((rootEntries * 32) / bps);
    if (meta > total) return `reserved sectors, FATs and root directory (${meta} sectors) exceed the total of ${total}`;
    const clusters = Math.floor((total - meta) / spc);
    if (clusters > FAT32_MAX) return `${clusters} clusters, more than FAT32 can address (${FAT32_MAX})`;
    return null;
  })();
  return problem === null ? null : `FAT boot sector (${id}) with ${problem}`;
}

const NO_NAME = 'NO NAME    ';
const MAX_ROOT_CLUSTERS = 8;

/** The volume-label entry of a directory buffer (libblkid's rules), or undefined. */
function findLabelEntry(dir: Uint8Array): { found: Uint8Array | undefined; end: boolean } {
  for (let off = 0; off + 32 <= dir.length; off += 32) {
    const first = dir[off];
    if (first === 0x00) return { found: undefined, end: true };
    const attr = u8(dir, off + 11);
    const clusterHi = u16le(dir, off + 20);
    const clusterLo = u16le(dir, off + 26);
    if (first === 0xe5 || clusterHi !== 0 || clusterLo !== 0 || (attr & 0x3f) === 0x0f) continue;
    if ((attr & (0x08 | 0x10)) === 0x08) return { found: dir.subarray(off, off + 11), end: true };
  }
  return { found: undefined, end: false };
}

function rootDirLabel(ctx: ProbeContext, g: FatGeometry, s: Uint8Array): Uint8Array | undefined {
  const bps = g.bytesPerSector;
  if (!g.fat32Layout) {
    const start = (g.reservedSectors + g.fatSectors) * bps;
    return findLabelEntry(ctx.read(start, g.rootEntries * 32)).found;
  }
  // FAT32: follow the root directory's cluster chain a few clusters (the label is first).
  const dv = new DataView(s.buffer, s.byteOffset, 512);
  const clusterBytes = g.sectorsPerCluster * bps;
  const dataStart = (g.reservedSectors + g.fatSectors) * bps;
  const fatEntries = Math.floor((dv.getUint32(0x24, true) * bps) / 4);
  let next = dv.getUint32(0x2c, true);
  const seen = new Set<number>();
  for (let i = 0; i < MAX_ROOT_CLUSTERS && next >= 2 && next < fatEntries && !seen.has(next); i++) {
    seen.add(next);
    const r = findLabelEntry(ctx.read(dataStart + (next - 2) * clusterBytes, clusterBytes));
    if (r.found || r.end) return r.found;
    const fe = ctx.read(g.reservedSectors * bps + next * 4, 4);
    if (fe.length < 4) return undefined;
    next = fe.readUInt32LE(0) & 0x0fffffff;
  }
  return undefined;
}

export function probeFat(ctx: ProbeContext): FsProbe | null {
  const s = ctx.head.subarray(0, 512);
  const g = fatGeometry(s);
  if (!g) {
    // A volume that says it is FAT but cannot be read must not vanish without a word.
    const why = fatBootProblem(s, ctx.src.size);
    if (why) ctx.note('warning', 'fat', `${why}: not a usable FAT volume, not read`);
    return null;
  }
  if (g.fat32Layout && g.clusterCount <= FAT16_MAX) {
    ctx.note('info', 'fat', `FAT32 layout with only ${g.clusterCount} clusters (below the FAT32 minimum 65525)`);
  }
  const serialOff = g.fat32Layout ? 0x43 : 0x27;
  // libblkid (2.38) takes LABEL from the root directory's volume-label entry only; the boot
  // sector's copy (0x2B/0x47) is its LABEL_FATBOOT. mkfs.fat, mlabel, fatlabel and Windows
  // write both, so following blkid keeps /dev/disk/by-label and LABEL= in agreement.
  const raw = rootDirLabel(ctx, g, s);
  const isNoName = (b: Uint8Array): boolean => Buffer.from(b).toString('latin1') === NO_NAME;
  const label = raw === undefined || isNoName(raw) ? undefined : oemLabel(fieldBytes(raw, 0, 11));
  const serial = u32le(s, serialOff).toString(16).toUpperCase().padStart(8, '0');
  const uuid = `${serial.slice(0, 4)}-${serial.slice(4)}`;
  return { type: 'vfat', uuid, ...(label !== undefined ? { label } : {}), version: g.version, readable: true };
}
