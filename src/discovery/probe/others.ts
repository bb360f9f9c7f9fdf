// Signatures of filesystems and containers tendril does not read but must name: xfs, btrfs,
// LUKS, LVM2 PVs, swap (with hibernation images), squashfs, NTFS, exFAT and f2fs. UUIDs and
// labels are decoded exactly as `blkid -p -o export` prints them; the rules are libblkid's.

import { u16be, u32le, u8 } from '../../util/bytes';
import { optional } from '../../util/optional';
import type { FsProbe } from '../model';
import { crc32Update } from '../partitions/crc32';
import { isZero, uuidAt } from '../partitions/guids';
import type { ProbeContext } from './context';
import { fieldBytes, startsWith, utf16Label, utf8Label } from './text';

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;
const uuidOrNone = (b: Uint8Array, off: number): string | undefined =>
  isZero(b, off, 16) ? undefined : uuidAt(b, off);

export function probeXfs(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  if (h.length < 512 || !startsWith(h, 0, 'XFSB')) return null;
  const blockSize = h.readUInt32BE(4);
  const sectSize = h.readUInt16BE(102);
  const agCount = h.readUInt32BE(88);
  if (
    !isPow2(blockSize) ||
    blockSize < 512 ||
    blockSize > 65536 ||
    !isPow2(sectSize) ||
    sectSize < 512 ||
    sectSize > 32768 ||
    agCount === 0 ||
    h.readUInt32BE(84) === 0
  ) {
    ctx.note('warning', 'xfs', 'XFSB magic found but the superblock is implausible');
    return null;
  }
  const label = h[108] !== 0 ? utf8Label(h, 108, 12) : undefined;
  return { type: 'xfs', ...optional('uuid', uuidOrNone(h, 32)), ...optional('label', label), readable: false };
}

const BTRFS_SB = 0x10000;

export function probeBtrfs(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  if (h.length < BTRFS_SB + 4096 || !startsWith(h, BTRFS_SB + 0x40, '_BHRfS_M')) return null;
  const sb = h.subarray(BTRFS_SB, BTRFS_SB + 4096);
  return {
    type: 'btrfs',
    ...optional('uuid', uuidOrNone(sb, 32)),
    ...optional('label', utf8Label(sb, 299, 256)),
    readable: false,
  };
}

const LUKS_MAGIC = [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]; // "LUKS\xba\xbe"
const LUKS2_SECONDARY = [0x4000, 0x8000, 0x10000]; // those inside the head we already read

function luksAt(h: Uint8Array, off: number, secondary: boolean): boolean {
  if (off + 512 > h.length) return false;
  const m = secondary ? [0x53, 0x4b, 0x55, 0x4c, 0xba, 0xbe] : LUKS_MAGIC; // "SKUL\xba\xbe"
  for (let i = 0; i < 6; i++) if (h[off + i] !== m[i]) return false;
  const version = u16be(h, off + 6);
  if (version === 2) {
    const hdrOffset = Buffer.from(h.buffer, h.byteOffset, h.length).readBigUInt64BE(off + 256);
    if (hdrOffset !== BigInt(off)) return false;
  }
  return true;
}

export function probeLuks(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  let off = -1;
  if (luksAt(h, 0, false)) off = 0;
  else {
    for (const o of LUKS2_SECONDARY) {
      if (luksAt(h, o, true)) {
        off = o;
        ctx.note('warning', 'luks', `LUKS primary header missing; secondary LUKS2 header at ${o}`);
        break;
      }
    }
  }
  if (off < 0) return null;
  const version = u16be(h, off + 6);
  const uuidBytes = fieldBytes(h, off + 168, 40);
  const uuid = uuidBytes.length ? Buffer.from(uuidBytes).toString('latin1') : undefined;
  const label = version === 2 ? utf8Label(h, off + 24, 48) : undefined;
  return {
    type: 'crypto_LUKS',
    ...optional('uuid', uuid),
    ...optional('label', label),
    version: String(version),
    readable: false,
  };
}

/** LVM2 label checksum: CRC-32 register seeded 0xf597a6cf, no inversion (lvm2 lib/misc/crc.c). */
function lvmCrc(data: Uint8Array): number {
  return crc32Update(0xf597a6cf, data);
}

export function probeLvm2(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  for (let sector = 0; sector < 4; sector++) {
    const off = sector * 512;
    if (off + 512 > h.length) break;
    if (!startsWith(h, off, 'LABELONE') || !startsWith(h, off + 24, 'LVM2 001')) continue;
    const lbl = h.subarray(off, off + 512);
    if (lbl.readBigUInt64LE(8) !== BigInt(sector)) continue;
    if (lvmCrc(lbl.subarray(20)) !== lbl.readUInt32LE(16)) {
      ctx.note('warning', 'lvm2', `LVM2 label at sector ${sector} has a bad checksum`);
      continue;
    }
    // The PV UUID is 32 ASCII characters, printed 6-4-4-4-4-4-6.
    const id = lbl.subarray(32, 64).toString('latin1');
    const uuid = [
      id.slice(0, 6),
      id.slice(6, 10),
      id.slice(10, 14),
      id.slice(14, 18),
      id.slice(18, 22),
      id.slice(22, 26),
      id.slice(26),
    ].join('-');
    return { type: 'LVM2_member', uuid, version: 'LVM2 001', readable: false };
  }
  return null;
}

const SWAP_PAGE_SIZES = [4096, 8192, 16384, 32768, 65536];
const HIBERNATION = ['S1SUSPEND', 'S2SUSPEND', 'ULSUSPEND', 'LINHIB0001'];
const TOI_MAGIC = [0xed, 0xc3, 0x02, 0xe9, 0x98, 0x56, 0xe5, 0x0c]; // TuxOnIce image header

export function probeSwap(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  if (ctx.src.size < 10 * 4096 || h.length < 4096) return null;
  let version: string | undefined;
  let hibernation = TOI_MAGIC.every((b, i) => h[i] === b) ? 'tuxonice' : undefined;
  for (const ps of SWAP_PAGE_SIZES) {
    if (ps > h.length || hibernation) break;
    if (startsWith(h, ps - 10, 'SWAPSPACE2')) version = '1';
    else if (startsWith(h, ps - 10, 'SWAP-SPACE')) version = '0';
    else hibernation = HIBERNATION.find((m) => startsWith(h, ps - 10, m))?.toLowerCase();
    if (version || hibernation) break;
  }
  const shown = hibernation ?? version;
  if (!shown) return null;
  if (version === '0') return { type: 'swap', version, readable: false };
  const hv = h.readUInt32LE(1024);
  if (version === '1' && ((hv !== 1 && hv !== 0x01000000) || h.readUInt32LE(1028) === 0)) {
    ctx.note('warning', 'swap', 'SWAPSPACE2 signature with a bad header (version or last page)');
    return null;
  }
  let uuid: string | undefined;
  let label: string | undefined;
  // libblkid's sanity check: padding words 32 and 33 must be zero to trust UUID and label.
  if (h.readUInt32LE(1068 + 128) === 0 && h.readUInt32LE(1068 + 132) === 0) {
    uuid = uuidOrNone(h, 1036);
    label = h[1052] !== 0 ? utf8Label(h, 1052, 16) : undefined;
  }
  if (hibernation) {
    ctx.note(
      'warning',
      'swap',
      `hibernation image in swap (${hibernation}): its system's filesystems must not be written`,
    );
  }
  return {
    type: 'swap',
    ...optional('uuid', uuid),
    ...optional('label', label),
    version: shown,
    readable: false,
    ...(hibernation ? { dirty: true } : {}),
  };
}

export function probeSquashfs(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  if (h.length < 96 || !startsWith(h, 0, 'hsqs')) return null;
  const major = h.readUInt16LE(28);
  const minor = h.readUInt16LE(30);
  if (major > 4) return null;
  return { type: 'squashfs', version: `${major}.${minor}`, readable: false };
}

export function probeNtfs(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  if (h.length < 512 || !startsWith(h, 3, 'NTFS    ')) return null;
  const sectorSize = h.readUInt16LE(11);
  const spc = u8(h, 13);
  if (sectorSize < 256 || sectorSize > 4096 || !isPow2(spc) || sectorSize * spc > 65536) return null;
  if (
    h.readUInt16LE(14) ||
    h.readUInt16LE(17) ||
    h.readUInt16LE(19) ||
    h.readUInt16LE(22) ||
    h.readUInt32LE(32) ||
    h[16]
  )
    return null;
  const cpr = h.readInt8(64);
  if (!(cpr >= -31 && cpr <= -9) && ![1, 2, 4, 8, 16, 32, 64].includes(cpr)) return null;
  const recordSize = cpr > 0 ? cpr * spc * sectorSize : 2 ** -cpr;
  const clusters = h.readBigUInt64LE(40) / BigInt(spc);
  const mft = h.readBigUInt64LE(48);
  if (mft > clusters || h.readBigUInt64LE(56) > clusters) return null;
  const mftOff = Number(mft) * spc * sectorSize;
  if (!Number.isSafeInteger(mftOff) || recordSize > 65536) return null;
  if (!startsWith(ctx.read(mftOff, 4), 0, 'FILE')) return null;
  const rec = ctx.read(mftOff + 3 * recordSize, recordSize);
  let label: string | undefined;
  let dirty = false;
  if (startsWith(rec, 0, 'FILE') && rec.length >= 48) {
    const allocated = rec.readUInt32LE(28);
    let at = rec.readUInt16LE(20);
    for (let n = 0; n < 64 && at + 24 <= rec.length && at <= allocated; n++) {
      const type = rec.readUInt32LE(at);
      const len = rec.readUInt32LE(at + 4);
      if (len === 0 || type === 0xffffffff) break;
      const valLen = rec.readUInt32LE(at + 16);
      const valOff = at + rec.readUInt16LE(at + 20);
      if (type === 0x60) label = utf16Label(rec, valOff, Math.min(valLen, rec.length - valOff), false);
      // $VOLUME_INFORMATION flags: 0x0001 = dirty (Windows hibernation, Fast Startup, crash).
      if (type === 0x70 && valOff + 12 <= rec.length) dirty = (rec.readUInt16LE(valOff + 10) & 1) !== 0;
      at += len;
    }
  }
  if (dirty) ctx.note('warning', 'ntfs', 'NTFS volume is marked dirty (hibernated or not shut down): never write');
  const serial = h.readBigUInt64LE(72).toString(16).toUpperCase().padStart(16, '0');
  return { type: 'ntfs', uuid: serial, ...optional('label', label), readable: false, ...(dirty ? { dirty } : {}) };
}

function exfatChecksum(boot: Uint8Array, sectorSize: number): number {
  let sum = 0;
  for (let i = 0; i < sectorSize * 11; i++) {
    if (i === 106 || i === 107 || i === 112) continue;
    sum = ((sum & 1 ? 0x80000000 : 0) + (sum >>> 1) + u8(boot, i)) >>> 0;
  }
  return sum;
}

export function probeExfat(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  if (h.length < 512 || !startsWith(h, 3, 'EXFAT   ')) return null;
  const bpsShift = u8(h, 108);
  const spcShift = u8(h, 109);
  if (h[0] !== 0xeb || h[1] !== 0x76 || h[2] !== 0x90 || h.readUInt16LE(510) !== 0xaa55) return null;
  if (bpsShift < 9 || bpsShift > 12 || spcShift > 25 - bpsShift || !isZero(h, 11, 53)) return null;
  const sector = 1 << bpsShift;
  const boot = ctx.read(0, sector * 12);
  if (boot.length < sector * 12) return null;
  const sum = exfatChecksum(boot, sector);
  for (let i = 0; i < sector / 4; i++) {
    if (boot.readUInt32LE(sector * 11 + i * 4) !== sum) {
      ctx.note('warning', 'exfat', 'exFAT boot region checksum mismatch');
      return null;
    }
  }
  const clusterSize = sector << spcShift;
  const heap = h.readUInt32LE(88) * sector;
  const fat = h.readUInt32LE(80) * sector;
  let cluster = h.readUInt32LE(96);
  let label: string | undefined;
  const seen = new Set<number>();
  search: for (let c = 0; c < 8 && cluster >= 2 && cluster <= 0xffffff6 && !seen.has(cluster); c++) {
    seen.add(cluster);
    const dir = ctx.read(heap + (cluster - 2) * clusterSize, clusterSize);
    for (let off = 0; off + 32 <= dir.length; off += 32) {
      if (dir[off] === 0x00) break search;
      if (dir[off] === 0x83) {
        label = utf16Label(dir, off + 2, Math.min(u8(dir, off + 1) * 2, 22), false);
        break search;
      }
    }
    const next = ctx.read(fat + cluster * 4, 4);
    if (next.length < 4) break;
    cluster = next.readUInt32LE(0);
  }
  const serial = u32le(h, 100).toString(16).toUpperCase().padStart(8, '0');
  const dirty = (h.readUInt16LE(106) & 2) !== 0;
  return {
    type: 'exfat',
    uuid: `${serial.slice(0, 4)}-${serial.slice(4)}`,
    ...optional('label', label),
    version: `${h[105]}.${h[104]}`,
    readable: false,
    ...(dirty ? { dirty } : {}),
  };
}

const F2FS_SB = 1024;

export function probeF2fs(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  if (h.length < F2FS_SB + 1024 + 124 || h.readUInt32LE(F2FS_SB) !== 0xf2f52010) return null;
  const sb = h.subarray(F2FS_SB);
  return {
    type: 'f2fs',
    ...optional('uuid', uuidOrNone(sb, 108)),
    ...optional('label', utf16Label(sb, 124, 1024, false)),
    version: `${sb.readUInt16LE(4)}.${sb.readUInt16LE(6)}`,
    readable: false,
  };
}
