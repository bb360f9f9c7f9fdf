// Issue 16, findings 11 and 12 on disks made by sgdisk, mkfs.vfat + mcopy, mke2fs + debugfs
// and xorriso, damaged with dd: nothing vanishes without a word (each broken filesystem or
// table gets a diagnostic naming the device, the structure and the value), every message
// blames what is actually wrong, the healthy entry on the same disk still boots, and no byte
// of any image changes.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSource } from '../../../src/discovery/io/source';
import { readPartitionTable } from '../../../src/discovery/partitions/detect';
import { type GptDiskRecipe, buildGptDisk, patchedCopy, sha256File } from '../../fixtures/disks';
import { brokenReason, discoverImage } from '../fs/hostile-helpers';

const MiB = 1024 * 1024;
const ENTRY = { 'loader/entries/ok.conf': 'title Healthy\nlinux /vmlinuz\n', vmlinuz: 'kernel\n' };

/** p1: an ESP (FAT32, 512-byte clusters) holding nothing; p2: ext4 with the healthy entry. */
const FAT_DISK: GptDiskRecipe = {
  partitions: [
    {
      sizeMiB: 40,
      type: 'ef00',
      name: 'esp',
      fs: { kind: 'vfat', fatBits: 32, sizeMiB: 40, mkfsArgs: ['-s', '1'], files: {} },
    },
    { sizeMiB: 8, type: '8300', name: 'boot', fs: { kind: 'ext4', files: ENTRY } },
  ],
};

/**
 * p1: an ESP with the healthy entry; p2: ext4 whose group 0 inode table debugfs moves past
 * the volume; p3: an ISO 9660 image (dd then points its root record past the image).
 */
const BROKEN_FS_DISK: GptDiskRecipe = {
  partitions: [
    { sizeMiB: 16, type: 'ef00', name: 'esp', fs: { kind: 'vfat', files: ENTRY } },
    {
      sizeMiB: 8,
      type: '8300',
      name: 'itable',
      fs: { kind: 'ext4', files: { 'hello.txt': 'hi\n' }, debugfs: ['set_bg 0 inode_table 999999'] },
    },
    { sizeMiB: 4, type: '8300', name: 'iso', fs: { kind: 'iso9660', files: { 'hello.txt': 'hi\n' } } },
    {
      sizeMiB: 8,
      type: '8300',
      name: 'bpg0',
      fs: { kind: 'ext4', files: { 'hello.txt': 'hi\n' }, debugfs: ['ssv blocks_per_group 0'] },
    },
    {
      sizeMiB: 8,
      type: '8300',
      name: 'ipg0',
      fs: { kind: 'ext4', files: { 'hello.txt': 'hi\n' }, debugfs: ['ssv inodes_per_group 0'] },
    },
  ],
};

const le32 = (n: number): Uint8Array => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

describe('finding 11: a FAT ESP whose boot sector cannot be used is reported, not dropped', () => {
  const disk = buildGptDisk(FAT_DISK);
  // Offsets in the boot sector of p1 (Microsoft's FAT specification, BPB fields).
  const cases: ReadonlyArray<readonly [string, number, Uint8Array, string]> = [
    ['0 bytes per sector', 11, new Uint8Array([0, 0]), 'bytes per sector 0 (must be 512, 1024, 2048 or 4096)'],
    ['0 sectors per cluster', 13, new Uint8Array([0]), 'sectors per cluster 0 (must be a power of two)'],
    ['0 FATs', 16, new Uint8Array([0]), 'number of FATs 0'],
    [
      'a total of 0xFFFFFFFF sectors',
      32,
      le32(0xffffffff),
      'total sectors 4294967295 (2199023255040 bytes), larger than the 41943040-byte device',
    ],
    ['a FAT size of 0', 36, le32(0), 'FAT size 0 sectors'],
  ];

  it.each(cases)('%s', async (_what, offset, bytes, why) => {
    const img = patchedCopy(disk, [{ offset: MiB + offset, bytes }]);
    const d = await discoverImage(img);
    expect(d.lines).toContain(
      `warning fat: ${path.basename(img)}:1: FAT boot sector ("FAT32" at 0x52) with ${why}: not a usable FAT volume, not read`,
    );
    expect(brokenReason(d, '/loader/entries/ok.conf')).toBe('');
  });
});

describe('finding 11: an ext4 inode table and an ISO root beyond their volumes; finding 12: the field to blame', () => {
  const disk = buildGptDisk(BROKEN_FS_DISK);
  // p3 starts after 1 MiB of GPT, 16 MiB and 8 MiB; its root record is at 32 KiB + 156 (ECMA-119 8.4.18).
  const isoRoot = (1 + 16 + 8) * MiB + 32768 + 156;
  const beyond = 0x00f00000;
  const img = patchedCopy(disk, [
    { offset: isoRoot + 2, bytes: le32(beyond) },
    { offset: isoRoot + 6, bytes: Buffer.from(le32(beyond)).reverse() },
  ]);

  it('each gets a diagnostic naming the device, the structure and the value; the ESP entry boots', async () => {
    const d = await discoverImage(img);
    const name = path.basename(img);
    expect(brokenReason(d, '/loader/entries/ok.conf')).toBe('');
    expect(d.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^error fs: ${name}:2: cannot read ext4 filesystem: .*${name}:2: EIO \\(cannot read the root directory: ` +
            `inode table of group 0 at block 999999 \\(\\d+ blocks\\) lies beyond the filesystem's 8192 blocks\\)$`,
        ),
      ),
    );
    expect(d.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^error fs: ${name}:3: cannot read iso9660 filesystem: .*: EINVAL \\(ISO 9660 root directory record ` +
            `\\(primary descriptor\\) points at sector ${beyond} \\(2048 bytes\\), past the end of the 4194304-byte image\\)$`,
        ),
      ),
    );
    expect(d.lines).toContain(
      `warning ext: ${name}:4: ext magic found but the superblock is implausible: s_blocks_per_group 0`,
    );
    expect(d.lines).toContain(
      `warning ext: ${name}:5: ext magic found but the superblock is implausible: s_inodes_per_group 0`,
    );
  });
});

/** A copy of `disk` with GPT entry `index` changed by `edit`, both copies, CRCs recomputed (zlib's CRC-32). */
function editedGpt(disk: string, index: number, edit: (entry: Buffer) => void): string {
  const buf = fs.readFileSync(disk);
  const patches: { offset: number; bytes: Uint8Array }[] = [];
  const last = buf.length / 512 - 1;
  for (const headerLba of [1, last]) {
    const header = Buffer.from(buf.subarray(headerLba * 512, headerLba * 512 + 512));
    const entriesAt = Number(header.readBigUInt64LE(72)) * 512;
    const n = header.readUInt32LE(80) * header.readUInt32LE(84);
    const entries = Buffer.from(buf.subarray(entriesAt, entriesAt + n));
    edit(entries.subarray(index * 128, index * 128 + 128));
    header.writeUInt32LE(zlibCrc32(entries), 88);
    header.writeUInt32LE(0, 16);
    header.writeUInt32LE(zlibCrc32(header.subarray(0, header.readUInt32LE(12))), 16);
    patches.push({ offset: entriesAt + index * 128, bytes: entries.subarray(index * 128, index * 128 + 128) });
    patches.push({ offset: headerLba * 512, bytes: header.subarray(0, 92) });
  }
  return patchedCopy(disk, patches);
}

describe('GPT: overlaps are reported; LBAs are blamed for what is wrong with them', () => {
  const disk = buildGptDisk({
    partitions: [
      { sizeMiB: 16, type: 'ef00', name: 'esp', fs: { kind: 'vfat', files: ENTRY } },
      { sizeMiB: 4, type: '8300', name: 'two' },
      { sizeMiB: 4, type: '8300', name: 'three' },
    ],
  });
  // p2 is LBA 34816..43007, p3 43008..51199 (1 MiB alignment).

  it('finding 11: two partitions sharing sectors are both named, with their ranges', async () => {
    const img = editedGpt(disk, 2, (e) => e.writeBigUInt64LE(40000n, 32));
    const d = await discoverImage(img);
    expect(d.lines).toContain(
      `warning gpt: ${img}: partition 2 ("two") at LBA 34816..43007 and partition 3 ("three") at LBA 40000..51199 overlap`,
    );
    expect(brokenReason(d, '/loader/entries/ok.conf')).toBe('');
  });

  it('finding 12: a last LBA too large for a number is "beyond the disk", not "first after last"', async () => {
    const img = editedGpt(disk, 2, (e) => e.writeBigUInt64LE(1n << 63n, 40));
    const d = await discoverImage(img);
    const last = fs.statSync(img).size / 512 - 1;
    expect(d.lines).toContain(
      `warning gpt: ${img}: partition 3: ends at LBA 9223372036854775808, beyond the disk's last LBA ${last}; skipped`,
    );
    expect(d.lines.some((l) => l.includes('after last LBA'))).toBe(false);
    expect(brokenReason(d, '/loader/entries/ok.conf')).toBe('');
  });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-gpt2-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('finding 12: a 2-sector disk with a valid header is "too small", not "no GPT header"', () => {
    // The first two sectors of the sgdisk disk: protective MBR and a header whose CRC holds.
    const img = path.join(tmp, 'two-sectors.img');
    fs.writeFileSync(img, fs.readFileSync(disk).subarray(0, 1024));
    const before = sha256File(img);
    const src = FileSource.open(img);
    const r = readPartitionTable(src);
    src.close();
    expect(r.table.partitions).toEqual([]);
    expect(r.diagnostics.map((x) => `${x.severity} ${x.message}`)).toEqual([
      'error GPT unusable: "EFI PART" header at LBA 1, but the disk has only 2 sectors of 512 bytes: a GPT needs its header, its partition entries from LBA 2 and a backup header at the last LBA',
    ]);
    expect(sha256File(img)).toBe(before);
  });
});
