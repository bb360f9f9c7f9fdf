// FAT boot sector (BPB) parsing with validation (Microsoft "FAT: General Overview of On-Disk
// Format" 1.03). The FAT type is decided by the cluster count alone, as the spec says, not by
// the label string at 0x36/0x52.

import { u16le, u32le, u8 } from '../../util/bytes';
import { FsError } from './types';

export type FatBits = 12 | 16 | 32;

export interface FatGeometry {
  readonly bits: FatBits;
  readonly bytesPerSector: number;
  readonly clusterSize: number;
  /** Byte offset of the first FAT. */
  readonly fatOffset: number;
  /** Bytes in one FAT. */
  readonly fatBytes: number;
  /** FAT12/16: byte offset and length of the fixed root directory. */
  readonly rootDirOffset: number;
  readonly rootDirBytes: number;
  /** FAT32: first cluster of the root directory. */
  readonly rootCluster: number;
  /** Byte offset of cluster 2. */
  readonly dataOffset: number;
  /** Number of data clusters; valid cluster numbers are 2 .. clusterCount + 1. */
  readonly clusterCount: number;
  readonly label: string;
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/**
 * Parse and validate sector 0; `volumeSize` is the size of the byte source. Every field read
 * lies in the first 512 bytes, which the length check guarantees.
 */
export function parseBpb(b: Uint8Array, volumeSize: number, name: string): FatGeometry {
  const bad = (why: string): FsError => new FsError('EINVAL', name, `not a valid FAT volume: ${why}`);
  if (b.length < 512) throw bad('boot sector too short');
  const jump = u8(b, 0);
  if (jump !== 0xeb && jump !== 0xe9) throw bad(`no x86 jump at byte 0 (0x${jump.toString(16)})`);
  const bps = u16le(b, 11);
  if (![512, 1024, 2048, 4096].includes(bps)) throw bad(`bytes per sector ${bps}`);
  const spc = u8(b, 13);
  if (!isPow2(spc) || spc > 128) throw bad(`sectors per cluster ${spc}`);
  const clusterSize = bps * spc;
  if (clusterSize > 256 * 1024) throw bad(`cluster size ${clusterSize}`);
  const reserved = u16le(b, 14);
  if (reserved === 0) throw bad('no reserved sectors');
  const nFats = u8(b, 16);
  if (nFats < 1 || nFats > 4) throw bad(`${nFats} FATs`);
  const rootEntries = u16le(b, 17);
  const total16 = u16le(b, 19);
  const media = u8(b, 21);
  if (media !== 0xf0 && media < 0xf8) throw bad(`media byte 0x${media.toString(16)}`);
  const fat16Size = u16le(b, 22);
  const total = total16 !== 0 ? total16 : u32le(b, 32);
  const fatSectors = fat16Size !== 0 ? fat16Size : u32le(b, 36);
  if (total === 0) throw bad('zero total sectors');
  if (fatSectors === 0) throw bad('zero FAT size');
  const rootDirSectors = Math.ceil((rootEntries * 32) / bps);
  const firstData = reserved + nFats * fatSectors + rootDirSectors;
  if (firstData >= total) throw bad('metadata larger than the volume');
  const clusterCount = Math.floor((total - firstData) / spc);
  const bits: FatBits = clusterCount < 4085 ? 12 : clusterCount < 65525 ? 16 : 32;
  if (bits === 32 && (fat16Size !== 0 || rootEntries !== 0)) throw bad('FAT32 cluster count but FAT12/16 fields');
  if (bits !== 32 && rootEntries === 0) throw bad('FAT12/16 without root directory entries');
  // The FAT must hold an entry for every cluster.
  const needBytes = Math.ceil(((clusterCount + 2) * bits) / 8);
  if (fatSectors * bps < needBytes)
    throw bad(`FAT of ${fatSectors * bps} bytes too small for ${clusterCount} clusters`);
  // A truncated image is tolerated (reads past its end fail), but metadata must fit.
  if (firstData * bps > volumeSize) throw bad(`metadata ends at ${firstData * bps}, past the device end ${volumeSize}`);
  let rootCluster = 0;
  if (bits === 32) {
    if (u16le(b, 42) !== 0) throw bad(`FAT32 version ${u16le(b, 42)}`);
    rootCluster = u32le(b, 44);
    if (rootCluster < 2 || rootCluster > clusterCount + 1) throw bad(`root cluster ${rootCluster}`);
  }
  const labelOff = bits === 32 ? 71 : 43;
  const sig = u8(b, bits === 32 ? 66 : 38);
  const label =
    sig === 0x29
      ? Buffer.from(b.subarray(labelOff, labelOff + 11))
          .toString('latin1')
          .trimEnd()
      : '';
  return {
    bits,
    bytesPerSector: bps,
    clusterSize,
    fatOffset: reserved * bps,
    fatBytes: fatSectors * bps,
    rootDirOffset: (reserved + nFats * fatSectors) * bps,
    rootDirBytes: rootEntries * 32,
    rootCluster,
    dataOffset: firstData * bps,
    clusterCount,
    label,
  };
}
