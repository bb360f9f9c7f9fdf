// MBR (DOS) partition tables: four primary entries at 0x1BE, extended partitions walked as
// Linux's block/partitions/msdos.c does (logical partitions numbered from 5, EBR links
// relative to the extended partition's start), with a cycle guard and a count limit.

import { u8 } from '../../util/bytes';
import { diag, type Diagnostic } from '../diagnostics';
import { readClamped, type ByteSource } from '../io/source';
import type { Partition } from '../model';
import { isExtendedType, mbrTypeName } from './guids';

/** Linux gives up after this many EBRs too (msdos.c loopct / DISK_MAX_PARTS). */
export const MAX_LOGICAL = 128;
const SECTOR = 512;

export interface MbrEntry {
  readonly index: number; // 0..3
  readonly bootFlag: number;
  readonly type: number;
  readonly startLba: number;
  readonly sectors: number;
}

export function hasBootSignature(sector: Uint8Array): boolean {
  return sector.length >= 512 && sector[510] === 0x55 && sector[511] === 0xaa;
}

export function mbrEntries(sector: Uint8Array): MbrEntry[] {
  const b = Buffer.from(sector.buffer, sector.byteOffset, 512);
  const out: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const o = 0x1be + 16 * i;
    out.push({
      index: i,
      bootFlag: u8(b, o),
      type: u8(b, o + 4),
      startLba: b.readUInt32LE(o + 8),
      sectors: b.readUInt32LE(o + 12),
    });
  }
  return out;
}

/** 0x55AA plus boot indicators of 0x00/0x80 only: Linux's test for a DOS partition table. */
export function isPlausibleMbr(sector: Uint8Array): boolean {
  return hasBootSignature(sector) && mbrEntries(sector).every((e) => e.bootFlag === 0 || e.bootFlag === 0x80);
}

export interface MbrRead {
  readonly signature: string;
  readonly partitions: Partition[];
  readonly protective: boolean;
  /** A 0xEE entry next to other entries (hybrid MBR, as on Intel Macs or isohybrid images). */
  readonly hybrid: boolean;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

export function readMbr(disk: ByteSource, sector0: Uint8Array, diags: Diagnostic[]): MbrRead {
  const device = disk.name;
  const signature = Buffer.from(sector0.subarray(440, 444)).readUInt32LE(0).toString(16).padStart(8, '0');
  const diskSectors = Math.floor(disk.size / SECTOR);
  const parts: Partition[] = [];
  const entries = mbrEntries(sector0).filter((e) => e.sectors !== 0);
  const protective = entries.some((e) => e.type === 0xee);
  const hybrid = protective && entries.some((e) => e.type !== 0xee);

  const make = (
    number: number,
    startLba: number,
    sectors: number,
    e: MbrEntry,
    logical: boolean,
  ): Partition | undefined => {
    if (startLba >= diskSectors) {
      diags.push(
        diag(
          'warning',
          'mbr',
          `partition ${number} starts at sector ${startLba}, beyond the disk (${diskSectors} sectors); skipped`,
          { device },
        ),
      );
      return undefined;
    }
    let n = sectors;
    if (startLba + n > diskSectors) {
      // Linux truncates such partitions at the end of the disk ("extends beyond EOD").
      diags.push(
        diag('warning', 'mbr', `partition ${number} extends beyond the end of the disk; truncated`, { device }),
      );
      n = diskSectors - startLba;
    }
    const typeName = mbrTypeName(e.type);
    return {
      number,
      scheme: 'mbr',
      start: startLba * SECTOR,
      size: n * SECTOR,
      type: `0x${hex2(e.type)}`,
      ...(typeName !== undefined ? { typeName } : {}),
      partUuid: `${signature}-${hex2(number)}`,
      bootable: e.bootFlag === 0x80,
      ...(logical ? { logical: true } : {}),
    };
  };

  for (const e of entries) {
    if (e.type === 0xee) continue;
    const p = make(e.index + 1, e.startLba, e.sectors, e, false);
    if (p) parts.push(p);
  }
  let next = 5;
  for (const e of entries) {
    if (!isExtendedType(e.type)) continue;
    next = walkExtended(disk, e, next, diskSectors, parts, diags, make);
  }
  return { signature, partitions: parts, protective, hybrid };
}

type Make = (number: number, startLba: number, sectors: number, e: MbrEntry, logical: boolean) => Partition | undefined;

function walkExtended(
  disk: ByteSource,
  ext: MbrEntry,
  firstNumber: number,
  diskSectors: number,
  parts: Partition[],
  diags: Diagnostic[],
  make: Make,
): number {
  const device = disk.name;
  const extStart = ext.startLba;
  const extEnd = Math.min(extStart + ext.sectors, diskSectors);
  const seen = new Set<number>();
  let number = firstNumber;
  let ebr = extStart;
  let ebrSize = ext.sectors;
  for (let hops = 0; ; hops++) {
    if (hops >= MAX_LOGICAL || number - 5 >= MAX_LOGICAL) {
      diags.push(
        diag('warning', 'mbr', `more than ${MAX_LOGICAL} logical partitions; the rest are ignored`, { device }),
      );
      return number;
    }
    if (seen.has(ebr)) {
      diags.push(diag('warning', 'mbr', `extended partition chain loops back to sector ${ebr}; stopped`, { device }));
      return number;
    }
    seen.add(ebr);
    const sector = readClamped(disk, ebr * SECTOR, SECTOR);
    if (!hasBootSignature(sector)) {
      if (hops > 0 || sector.some((b) => b !== 0)) {
        diags.push(
          diag('warning', 'mbr', `extended boot record at sector ${ebr} has no 0x55AA signature; chain ends`, {
            device,
          }),
        );
      }
      return number;
    }
    const es = mbrEntries(sector);
    for (const e of es) {
      if (e.sectors === 0 || isExtendedType(e.type)) continue;
      const start = ebr + e.startLba;
      // Entries 3 and 4 of an EBR are often garbage: keep them only if they fit (msdos.c).
      if (
        e.index >= 2 &&
        (e.startLba + e.sectors > ebrSize || start < extStart || start + e.sectors > extStart + ext.sectors)
      )
        continue;
      const p = make(number, start, e.sectors, e, true);
      if (p) parts.push(p);
      number++;
    }
    const link = es.find((e) => e.sectors !== 0 && isExtendedType(e.type));
    if (!link) return number;
    const nextEbr = extStart + link.startLba;
    if (nextEbr < extStart || nextEbr >= extEnd) {
      diags.push(
        diag(
          'warning',
          'mbr',
          `extended partition link to sector ${nextEbr} leaves the extended partition; chain ends`,
          { device },
        ),
      );
      return number;
    }
    ebr = nextEbr;
    ebrSize = link.sectors;
  }
}
