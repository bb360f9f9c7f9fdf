// GUID decoding and the names of well-known partition types. Names follow util-linux's
// (`sfdisk --label gpt -T`, `sfdisk --label dos -T`) so what the menu shows matches fdisk.

import { u8 } from '../../util/bytes';

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/**
 * A GUID as stored on disk: the first three fields little-endian, the last two big-endian
 * ("mixed-endian"). Returns the lower-case dashed form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
 */
export function guidAt(buf: Uint8Array, off: number): string {
  const h = (i: number): string => hex2(u8(buf, off + i));
  return (
    h(3) +
    h(2) +
    h(1) +
    h(0) +
    '-' +
    h(5) +
    h(4) +
    '-' +
    h(7) +
    h(6) +
    '-' +
    h(8) +
    h(9) +
    '-' +
    h(10) +
    h(11) +
    h(12) +
    h(13) +
    h(14) +
    h(15)
  );
}

/** 16 bytes in order as a dashed UUID (ext, xfs, btrfs, swap, f2fs store UUIDs this way). */
export function uuidAt(buf: Uint8Array, off: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += hex2(u8(buf, off + i));
  }
  return s;
}

export function isZero(buf: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (buf[off + i] !== 0) return false;
  return true;
}

export const GUID_ESP = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
export const GUID_XBOOTLDR = 'bc13c2ff-59e6-4262-a352-b275fd6f7172';
export const GUID_LINUX_FS = '0fc63daf-8483-4772-8e79-3d69d8477de4';
export const GUID_ROOT_X86_64 = '4f68bce3-e8cd-4db1-96e7-fbcaf984b709';
export const GUID_SWAP = '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f';
export const GUID_LVM = 'e6d6d379-f507-44c2-a23c-238f2a3df928';
export const GUID_LUKS = 'ca7d7ccb-63ed-4c53-861c-1742536059cc';
export const GUID_MS_BASIC_DATA = 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7';
export const GUID_BIOS_BOOT = '21686148-6449-6e6f-744e-656564454649';

const GPT_NAMES: ReadonlyMap<string, string> = new Map([
  [GUID_ESP, 'EFI System'],
  ['024dee41-33e7-11d3-9d69-0008c781f39f', 'MBR partition scheme'],
  [GUID_BIOS_BOOT, 'BIOS boot'],
  ['e3c9e316-0b5c-4db8-817d-f92df00215ae', 'Microsoft reserved'],
  [GUID_MS_BASIC_DATA, 'Microsoft basic data'],
  ['de94bba4-06d1-4d40-a16a-bfd50179d6ac', 'Windows recovery environment'],
  [GUID_SWAP, 'Linux swap'],
  [GUID_LINUX_FS, 'Linux filesystem'],
  ['3b8f8425-20e0-4f3b-907f-1a25a76f98e8', 'Linux server data'],
  ['44479540-f297-41b2-9af7-d131d5f0458a', 'Linux root (x86)'],
  [GUID_ROOT_X86_64, 'Linux root (x86-64)'],
  ['69dad710-2ce4-4e3c-b16c-21a1d49abed3', 'Linux root (ARM)'],
  ['b921b045-1df0-41c3-af44-4c6f280d3fae', 'Linux root (ARM-64)'],
  ['72ec70a6-cf74-40e6-bd49-4bda08e8f224', 'Linux root (RISC-V-64)'],
  ['8da63339-0007-60c0-c436-083ac8230908', 'Linux reserved'],
  ['933ac7e1-2eb4-4f13-b844-0e14e2aef915', 'Linux home'],
  ['a19d880f-05fc-4d3b-a006-743f0f84911e', 'Linux RAID'],
  [GUID_LVM, 'Linux LVM'],
  ['4d21b016-b534-45c2-a9fb-5c16e091fd2d', 'Linux variable data'],
  ['7ec6f557-3bc5-4aca-b293-16ef5df639d1', 'Linux temporary data'],
  ['75250d76-8cc6-458e-bd66-bd47cc81a812', 'Linux /usr (x86)'],
  ['8484680c-9521-48c6-9c11-b0720656f69e', 'Linux /usr (x86-64)'],
  ['7d0359a3-02b3-4f0a-865c-654403e70625', 'Linux /usr (ARM)'],
  ['b0e01050-ee5f-4390-949a-9101b17104e9', 'Linux /usr (ARM-64)'],
  ['beaec34b-8442-439b-a40b-984381ed097d', 'Linux /usr (RISC-V-64)'],
  ['2c7357ed-ebd2-46d9-aec1-23d437ec2bf5', 'Linux root verity (x86-64)'],
  ['77ff5f63-e7b6-4633-acf4-1565b864c0e6', 'Linux /usr verity (x86-64)'],
  [GUID_XBOOTLDR, 'Linux extended boot'],
  // Not in util-linux 2.38's list; the Discoverable Partitions Specification's name.
  [GUID_LUKS, 'Linux LUKS'],
  ['83bd6b9d-7f41-11dc-be0b-001560b84f0f', 'FreeBSD boot'],
  ['48465300-0000-11aa-aa11-00306543ecac', 'Apple HFS/HFS+'],
  ['fe3a2a5d-4f32-41a7-b725-accc3285a309', 'ChromeOS kernel'],
]);

export function gptTypeName(guid: string): string | undefined {
  return GPT_NAMES.get(guid);
}

/** Every GPT type name we know (tests compare them with sfdisk's list). */
export function knownGptTypes(): ReadonlyMap<string, string> {
  return GPT_NAMES;
}

const MBR_NAMES: ReadonlyMap<number, string> = new Map([
  [0x01, 'FAT12'],
  [0x04, 'FAT16 <32M'],
  [0x05, 'Extended'],
  [0x06, 'FAT16'],
  [0x07, 'HPFS/NTFS/exFAT'],
  [0x0b, 'W95 FAT32'],
  [0x0c, 'W95 FAT32 (LBA)'],
  [0x0e, 'W95 FAT16 (LBA)'],
  [0x0f, "W95 Ext'd (LBA)"],
  [0x11, 'Hidden FAT12'],
  [0x14, 'Hidden FAT16 <32M'],
  [0x16, 'Hidden FAT16'],
  [0x17, 'Hidden HPFS/NTFS'],
  [0x1b, 'Hidden W95 FAT32'],
  [0x1c, 'Hidden W95 FAT32 (LBA)'],
  [0x1e, 'Hidden W95 FAT16 (LBA)'],
  [0x27, 'Hidden NTFS WinRE'],
  [0x82, 'Linux swap / Solaris'],
  [0x83, 'Linux'],
  [0x85, 'Linux extended'],
  [0x8e, 'Linux LVM'],
  [0xa5, 'FreeBSD'],
  [0xa6, 'OpenBSD'],
  [0xa9, 'NetBSD'],
  [0xaf, 'HFS / HFS+'],
  [0xda, 'Non-FS data'],
  [0xea, 'Linux extended boot'],
  [0xee, 'GPT'],
  [0xef, 'EFI (FAT-12/16/32)'],
  [0xfd, 'Linux raid autodetect'],
]);

export function mbrTypeName(type: number): string | undefined {
  return MBR_NAMES.get(type);
}

export function knownMbrTypes(): ReadonlyMap<number, string> {
  return MBR_NAMES;
}

/** Extended (container) partition types Linux walks for logical partitions. */
export function isExtendedType(type: number): boolean {
  return type === 0x05 || type === 0x0f || type === 0x85;
}
