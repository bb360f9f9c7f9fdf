// GUID Partition Table (UEFI 2.10 §5.3). The primary header at LBA 1 is checked field by
// field (signature, revision, size, CRC32, MyLBA, usable range, entry geometry, entry-array
// CRC32); if anything is wrong the backup header is used instead and the reason reported.

import { diag, type Diagnostic } from '../diagnostics';
import { readClamped, type ByteSource } from '../io/source';
import type { Partition } from '../model';
import { crc32 } from './crc32';
import { gptTypeName, guidAt, isZero } from './guids';

/** Entry arrays larger than this are refused (128 entries × 128 bytes is 16 KiB). */
export const MAX_ENTRY_ARRAY_BYTES = 1024 * 1024;
/** At most this many per-entry diagnostics; the rest are counted. */
const MAX_ENTRY_DIAGNOSTICS = 16;
const HEADER_MIN = 92;

export interface GptHeader {
  readonly myLba: number;
  readonly alternateLba: number;
  readonly firstUsable: number;
  readonly lastUsable: number;
  readonly diskGuid: string;
  readonly entriesLba: number;
  readonly entryCount: number;
  readonly entrySize: number;
  readonly entriesCrc: number;
}

export type GptRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'bad'; readonly reason: string }
  | {
      readonly kind: 'ok';
      readonly sectorSize: number;
      readonly diskGuid: string;
      readonly partitions: Partition[];
      readonly usedBackup: boolean;
    };

/** A u64 LBA as a safe number, or -1 if it is too large to be one. */
function lba(b: Buffer, off: number): number {
  const v = b.readBigUInt64LE(off);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : -1;
}

export function hasGptSignature(sector: Uint8Array): boolean {
  return sector.length >= 8 && Buffer.from(sector.buffer, sector.byteOffset, 8).toString('latin1') === 'EFI PART';
}

/** Parse and validate one header sector; a string says what is wrong with it. */
export function parseGptHeader(
  sector: Buffer,
  expectedLba: number,
  sectorSize: number,
  diskSectors: number,
): GptHeader | string {
  if (sector.length < sectorSize) return 'header sector unreadable (disk too short)';
  if (!hasGptSignature(sector)) return 'no "EFI PART" signature';
  const revision = sector.readUInt32LE(8);
  if (revision >>> 16 !== 1) return `unsupported revision 0x${revision.toString(16).padStart(8, '0')}`;
  const headerSize = sector.readUInt32LE(12);
  if (headerSize < HEADER_MIN || headerSize > sectorSize) return `header size ${headerSize} out of range`;
  const stored = sector.readUInt32LE(16);
  const copy = Buffer.from(sector.subarray(0, headerSize));
  copy.writeUInt32LE(0, 16);
  const computed = crc32(copy);
  if (computed !== stored) {
    return `header CRC32 mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`;
  }
  const myLba = lba(sector, 24);
  if (myLba !== expectedLba) return `MyLBA is ${sector.readBigUInt64LE(24)}, expected ${expectedLba}`;
  const alternateLba = lba(sector, 32);
  const firstUsable = lba(sector, 40);
  const lastUsable = lba(sector, 48);
  const usable = `usable LBA range ${sector.readBigUInt64LE(40)}..${sector.readBigUInt64LE(48)}`;
  if (sector.readBigUInt64LE(40) > sector.readBigUInt64LE(48) + 1n) return `${usable}: first after last`;
  if (lastUsable < 0 || lastUsable >= diskSectors) return `${usable} ends beyond the disk's ${diskSectors} sectors`;
  const entriesLba = lba(sector, 72);
  const entryCount = sector.readUInt32LE(80);
  const entrySize = sector.readUInt32LE(84);
  if (entrySize < 128 || entrySize % 128 !== 0) return `partition entry size ${entrySize} is not a multiple of 128`;
  if (entryCount * entrySize > MAX_ENTRY_ARRAY_BYTES) {
    return `partition entry array ${entryCount}×${entrySize} bytes exceeds the ${MAX_ENTRY_ARRAY_BYTES}-byte limit`;
  }
  const arraySectors = Math.ceil((entryCount * entrySize) / sectorSize);
  if (entriesLba < 2 || entriesLba + arraySectors > diskSectors) {
    return `partition entry array at LBA ${sector.readBigUInt64LE(72)} (${arraySectors} sectors) lies outside the disk's ${diskSectors} sectors`;
  }
  return {
    myLba,
    alternateLba,
    firstUsable,
    lastUsable,
    diskGuid: guidAt(sector, 56),
    entriesLba,
    entryCount,
    entrySize,
    entriesCrc: sector.readUInt32LE(88),
  };
}

/** Read a header and its entry array; `head` serves reads inside the first bytes of the disk. */
function readTable(
  disk: ByteSource,
  head: Buffer,
  at: number,
  sectorSize: number,
  diskSectors: number,
): { header: GptHeader; entries: Buffer } | string {
  const read = (pos: number, len: number): Buffer =>
    pos + len <= head.length ? head.subarray(pos, pos + len) : readClamped(disk, pos, len);
  const parsed = parseGptHeader(read(at * sectorSize, sectorSize), at, sectorSize, diskSectors);
  if (typeof parsed === 'string') return parsed;
  const len = parsed.entryCount * parsed.entrySize;
  const entries = read(parsed.entriesLba * sectorSize, len);
  if (entries.length < len) return 'partition entry array is truncated';
  const c = crc32(entries);
  if (c !== parsed.entriesCrc) {
    return `partition entry array CRC32 mismatch (stored 0x${parsed.entriesCrc.toString(16)}, computed 0x${c.toString(16)})`;
  }
  return { header: parsed, entries };
}

function decodeName(e: Buffer): string | undefined {
  let end = 56;
  while (end + 1 < 128 && (e[end] !== 0 || e[end + 1] !== 0)) end += 2;
  if (end === 56) return undefined;
  return Buffer.from(e.subarray(56, end)).toString('utf16le');
}

function parseEntries(
  h: GptHeader,
  entries: Buffer,
  sectorSize: number,
  diskSectors: number,
  diags: Diagnostic[],
  device: string,
): Partition[] {
  const parts: Partition[] = [];
  let problems = 0;
  const problem = (msg: string): void => {
    if (++problems <= MAX_ENTRY_DIAGNOSTICS) diags.push(diag('warning', 'gpt', msg, { device }));
  };
  for (let i = 0; i < h.entryCount; i++) {
    const e = entries.subarray(i * h.entrySize, i * h.entrySize + 128);
    if (isZero(e, 0, 16)) continue;
    const number = i + 1;
    const first = lba(e, 32);
    const last = lba(e, 40);
    // Compared as the u64s they are: an LBA too large for a number is beyond the disk, not "negative".
    if (e.readBigUInt64LE(32) > e.readBigUInt64LE(40)) {
      problem(
        `partition ${number}: first LBA ${e.readBigUInt64LE(32)} after last LBA ${e.readBigUInt64LE(40)}; skipped`,
      );
      continue;
    }
    if (last < 0 || last >= diskSectors) {
      problem(
        `partition ${number}: ends at LBA ${e.readBigUInt64LE(40)}, beyond the disk's last LBA ${diskSectors - 1}; skipped`,
      );
      continue;
    }
    if (first < h.firstUsable || last > h.lastUsable) {
      problem(`partition ${number}: LBA ${first}..${last} outside the usable range ${h.firstUsable}..${h.lastUsable}`);
    }
    const type = guidAt(e, 0);
    const typeName = gptTypeName(type);
    const name = decodeName(e);
    parts.push({
      number,
      scheme: 'gpt',
      start: first * sectorSize,
      size: (last - first + 1) * sectorSize,
      type,
      ...(typeName !== undefined ? { typeName } : {}),
      partUuid: guidAt(e, 16),
      ...(name !== undefined ? { name } : {}),
      attributes: e.readBigUInt64LE(48).toString(16).padStart(16, '0'),
    });
  }
  for (const o of overlaps(parts, sectorSize)) problem(o);
  if (problems > MAX_ENTRY_DIAGNOSTICS) {
    diags.push(diag('warning', 'gpt', `${problems - MAX_ENTRY_DIAGNOSTICS} more partition entry problems`, { device }));
  }
  return parts;
}

function shownPartition(p: Partition, sectorSize: number): string {
  const first = p.start / sectorSize;
  const name = p.name !== undefined ? ` (${JSON.stringify(p.name)})` : '';
  return `partition ${p.number}${name} at LBA ${first}..${first + p.size / sectorSize - 1}`;
}

/**
 * Pairs of partitions sharing sectors (UEFI 2.10 §5.3.3: partitions must not overlap):
 * one message per overlapping pair, naming both and their ranges. Both stay listed, as Linux
 * keeps both; what is on them is for their probes to say. Sorted by start, each partition is
 * compared with those still open, so the work is the number of partitions and overlaps.
 */
function overlaps(parts: readonly Partition[], sectorSize: number): string[] {
  const byStart = [...parts].sort((a, b) => a.start - b.start || a.number - b.number);
  const open: Partition[] = [];
  const out: string[] = [];
  for (const p of byStart) {
    for (let i = open.length - 1; i >= 0; i--) if (open[i]!.start + open[i]!.size <= p.start) open.splice(i, 1);
    for (const q of open) {
      out.push(`${shownPartition(q, sectorSize)} and ${shownPartition(p, sectorSize)} overlap`);
      if (out.length > MAX_ENTRY_DIAGNOSTICS) return out;
    }
    open.push(p);
  }
  return out;
}

/**
 * Read the GPT of `disk` assuming `sectorSize`. `head` is the disk's first bytes (read once by
 * the caller). 'none' = no GPT signature at LBA 1 nor at the last LBA; 'bad' = signatures
 * found but neither header is usable.
 */
export function readGpt(disk: ByteSource, head: Buffer, sectorSize: number, diags: Diagnostic[]): GptRead {
  const device = disk.name;
  const diskSectors = Math.floor(disk.size / sectorSize);
  if (diskSectors < 3) {
    // A header that is there but has no room is "too small", not "no GPT header".
    const sig = head.length >= sectorSize + 8 && hasGptSignature(head.subarray(sectorSize, sectorSize + 8));
    if (!sig) return { kind: 'none' };
    return {
      kind: 'bad',
      reason: `"EFI PART" header at LBA 1, but the disk has only ${diskSectors} sectors of ${sectorSize} bytes: a GPT needs its header, its partition entries from LBA 2 and a backup header at the last LBA`,
    };
  }
  const lastLba = diskSectors - 1;
  const primary = readTable(disk, head, 1, sectorSize, diskSectors);
  if (typeof primary !== 'string') {
    const { header } = primary;
    checkBackupHeader(disk, header, sectorSize, diskSectors, diags);
    return {
      kind: 'ok',
      sectorSize,
      diskGuid: header.diskGuid,
      usedBackup: false,
      partitions: parseEntries(header, primary.entries, sectorSize, diskSectors, diags, device),
    };
  }
  const primarySig = head.length >= 2 * sectorSize && hasGptSignature(head.subarray(sectorSize, sectorSize + 8));
  // Where the backup is: the primary header says (when its own fields are readable), else
  // the last LBA, which is where it belongs on a disk that was not resized.
  const candidates = [lastLba];
  if (primarySig) {
    const s = head.subarray(sectorSize, 2 * sectorSize);
    const alt = s.length >= 40 ? lba(s, 32) : -1;
    if (alt > 1 && alt < lastLba) candidates.unshift(alt);
  }
  let backupReason = '';
  for (const at of candidates) {
    const backup = readTable(disk, head, at, sectorSize, diskSectors);
    if (typeof backup === 'string') {
      if (!backupReason || at === lastLba) backupReason = backup;
      continue;
    }
    const why = primarySig ? primary : 'primary header missing (no "EFI PART" at LBA 1)';
    diags.push(diag('warning', 'gpt', `primary GPT damaged: ${why}; using the backup GPT at LBA ${at}`, { device }));
    const parts = parseEntries(backup.header, backup.entries, sectorSize, diskSectors, diags, device);
    return { kind: 'ok', sectorSize, diskGuid: backup.header.diskGuid, usedBackup: true, partitions: parts };
  }
  const backupSig = hasGptSignature(readClamped(disk, lastLba * sectorSize, 8));
  if (!primarySig && !backupSig) return { kind: 'none' };
  return { kind: 'bad', reason: `primary GPT: ${primary}; backup GPT: ${backupReason}` };
}

/** One extra sector read: is the backup header where the primary says, and intact? */
function checkBackupHeader(
  disk: ByteSource,
  h: GptHeader,
  sectorSize: number,
  diskSectors: number,
  diags: Diagnostic[],
): void {
  const device = disk.name;
  const lastLba = diskSectors - 1;
  if (h.alternateLba !== lastLba) {
    diags.push(
      diag(
        'info',
        'gpt',
        `backup GPT header expected at LBA ${h.alternateLba}, the disk's last LBA is ${lastLba} (image copied to a disk of another size?)`,
        { device },
      ),
    );
  }
  if (h.alternateLba <= 1 || h.alternateLba > lastLba) return;
  const b = parseGptHeader(
    readClamped(disk, h.alternateLba * sectorSize, sectorSize),
    h.alternateLba,
    sectorSize,
    diskSectors,
  );
  if (typeof b === 'string') {
    diags.push(diag('warning', 'gpt', `backup GPT header damaged: ${b}`, { device }));
  } else if (b.entriesCrc !== h.entriesCrc || b.diskGuid !== h.diskGuid) {
    diags.push(diag('warning', 'gpt', 'backup GPT differs from the primary', { device }));
  }
}
