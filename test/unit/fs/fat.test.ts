import { describe, expect, it } from 'vitest';
import { openFat } from '../../../src/discovery/fs/fat';
import { lfnChecksum, parseDirEntries, shortName } from '../../../src/discovery/fs/fat-dir';
import { openFileSystem } from '../../../src/discovery/fs/open';
import { FsError, readFileLimited } from '../../../src/discovery/fs/types';
import { BufferSource, FileSource } from '../../../src/discovery/io/source';
import { type FatBits, extImage, fatImage } from '../../fixtures/fsimages';
import { errorCode, expectMatchesHost, fileSha, sha256 } from './compare';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

describe.each([12, 16, 32] as FatBits[])('FAT%i image made by mkfs.vfat + mcopy', (bits) => {
  const fx = fatImage(bits);

  it('detects the FAT type mkfs.vfat was asked for, and the label', () => {
    const src = FileSource.open(fx.image);
    const fsys = openFat(src);
    expect(fsys.geometry.bits).toBe(bits);
    expect(fsys.geometry.label).toBe('TENDRIL');
    expect(fsys.caseInsensitive).toBe(true);
    src.close();
  });

  it('lists the same names (with case from LFN and NT flags), sizes and bytes as the source tree', async () => {
    const before = fileSha(fx.image);
    const src = FileSource.open(fx.image);
    const fsys = await openFileSystem(src, 'vfat');
    await expectMatchesHost(fsys, fx.tree, { followed: false });
    // mcopy stored these as 8.3 with the NT lower-case flags, not as long names.
    const root = (await fsys.readdir('/')).map((e) => e.name);
    expect(root).toEqual(expect.arrayContaining(['readme.txt', 'lower.TXT', 'UPPER.txt', 'big.bin', 'EFI']));
    await fsys.close();
    src.close();
    expect(fileSha(fx.image)).toBe(before);
  });

  it('looks names up case-insensitively', async () => {
    const src = FileSource.open(fx.image);
    const fsys = openFat(src);
    const a = await readFileLimited(fsys, '/EFI/BOOT/BOOTX64.EFI', 1 << 20);
    const b = await readFileLimited(fsys, '/efi/boot/bootx64.efi', 1 << 20);
    const c = await readFileLimited(fsys, '/Efi/Boot/BootX64.Efi', 1 << 20);
    expect(sha256(a)).toBe(fileSha(path.join(fx.tree, 'EFI/BOOT/BOOTX64.EFI')));
    expect(sha256(b)).toBe(sha256(a));
    expect(sha256(c)).toBe(sha256(a));
    expect((await fsys.stat('/MIXED CASE NAME.CONF')).size).toBe(12);
    src.close();
  });

  it('reports POSIX errors', async () => {
    const src = FileSource.open(fx.image);
    const fsys = openFat(src);
    expect(await errorCode(fsys.stat('/nonexistent'))).toBe('ENOENT');
    expect(await errorCode(fsys.stat('/hello.txt/x'))).toBe('ENOTDIR');
    expect(await errorCode(fsys.readdir('/hello.txt'))).toBe('ENOTDIR');
    expect(await errorCode(fsys.open('/EFI'))).toBe('EISDIR');
    expect(await errorCode(fsys.stat('../../etc/passwd'))).toBe('EACCES');
    expect(await errorCode(fsys.stat('/loader/../../etc/passwd'))).toBe('EACCES');
    expect((await fsys.stat('/loader/../hello.txt')).size).toBe(12);
    const h = await fsys.open('/empty');
    expect(h.size).toBe(0);
    expect((await h.read(0, 100)).length).toBe(0);
    await h.close();
    src.close();
  });

  it('reads at arbitrary offsets across cluster runs', async () => {
    const src = FileSource.open(fx.image);
    const fsys = openFat(src);
    const h = await fsys.open('/big.bin');
    const whole = await readFileLimited(fsys, '/big.bin', 16 << 20);
    for (const [pos, len] of [
      [0, 1],
      [511, 3],
      [4095, 8193],
      [h.size - 10, 100],
      [1234567, 3 << 20],
    ] as const) {
      const got = await h.read(pos, len);
      expect(Buffer.from(got).equals(Buffer.from(whole.subarray(pos, pos + len)))).toBe(true);
    }
    expect((await h.read(h.size, 10)).length).toBe(0);
    await h.close();
    src.close();
  });
});

describe('FAT directory entries (Microsoft FAT spec layout)', () => {
  /** Build the 32-byte slots of a long name followed by its 8.3 entry, as Windows writes them. */
  function lfnEntries(name: string, short: string, corruptSum = false): Uint8Array {
    const sfn = Buffer.alloc(32);
    sfn.write(short.padEnd(11, ' '), 0, 'latin1');
    sfn[11] = 0x20;
    sfn.writeUInt32LE(5, 28);
    const sum = lfnChecksum(sfn) ^ (corruptSum ? 1 : 0);
    const units: number[] = [];
    for (let i = 0; i < name.length; i++) units.push(name.charCodeAt(i));
    units.push(0);
    while (units.length % 13) units.push(0xffff);
    const n = units.length / 13;
    const slots: Buffer[] = [];
    const offs = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
    for (let s = 1; s <= n; s++) {
      const e = Buffer.alloc(32);
      e[0] = s | (s === n ? 0x40 : 0);
      e[11] = 0x0f;
      e[13] = sum;
      offs.forEach((o, i) => {
        const u = units[(s - 1) * 13 + i];
        if (u === undefined) throw new Error('long name not padded to whole 13-unit slots');
        e.writeUInt16LE(u, o);
      });
      slots.unshift(e);
    }
    return Buffer.concat([...slots, sfn, Buffer.alloc(32)]);
  }

  it('decodes UTF-16 long names including surrogate pairs', () => {
    const name = 'Caf\u00e9 \u{1F600} long name.conf';
    const e = parseDirEntries(lfnEntries(name, 'CAFE~1  CON'), 100);
    expect(e.map((x) => x.name)).toEqual([name]);
    expect(e[0]?.size).toBe(5);
  });

  it('drops long names whose checksum does not match the 8.3 entry', () => {
    const e = parseDirEntries(lfnEntries('Some Long Name.txt', 'SOMELO~1TXT', true), 100);
    expect(e.map((x) => x.name)).toEqual(['SOMELO~1.TXT']);
  });

  it('applies the NT lower-case flags to 8.3 names', () => {
    const e = Buffer.alloc(32);
    e.write('README  TXT', 0, 'latin1');
    expect(shortName(e)).toBe('README.TXT');
    e[12] = 0x08;
    expect(shortName(e)).toBe('readme.TXT');
    e[12] = 0x18;
    expect(shortName(e)).toBe('readme.txt');
  });
});

describe('FAT rejects what is not FAT', () => {
  it('refuses an ext4 image with EINVAL and a reason', () => {
    const src = FileSource.open(extImage('ext4').image);
    expect(() => openFat(src)).toThrow(/not a valid FAT volume/);
    src.close();
  });

  it('refuses an all-zero device', () => {
    expect(() => openFat(new BufferSource(new Uint8Array(1 << 20), 'zero'))).toThrow(FsError);
  });
});

describe('FAT chains that loop (clusters from mshowfat, FAT patched in a copy)', () => {
  const fx = fatImage(16);
  const chains = execFileSync('mshowfat', ['-i', fx.image, '::/many', '::/big.bin'], {
    env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
  }).toString();
  /** Clusters of a file as mshowfat prints them: <a-b> <c> ... */
  const clusters = (name: string): number[] => {
    const line = chains.split('\n').find((l) => l.startsWith(`::/${name} `))!;
    return [...line.matchAll(/<(\d+)(?:-(\d+))?>/g)].flatMap((m) => {
      const a = Number(m[1]);
      const b = m[2] ? Number(m[2]) : a;
      return Array.from({ length: b - a + 1 }, (_, i) => a + i);
    });
  };
  /** Cluster `i` of a chain (negative: from the end); a chain too short for the test fails it. */
  const nth = (chain: readonly number[], i: number): number => {
    const c = chain.at(i);
    if (c === undefined) throw new Error(`mshowfat listed ${chain.length} clusters, the test needs index ${i}`);
    return c;
  };
  /** The image with FAT16 entry `cluster` (both FAT copies) set to `value`. */
  function patched(cluster: number, value: number): BufferSource {
    const img = Buffer.from(fs.readFileSync(fx.image));
    const bps = img.readUInt16LE(11);
    const fatOff = img.readUInt16LE(14) * bps;
    const fatBytes = img.readUInt16LE(22) * bps;
    for (let f = 0; f < img.readUInt8(16); f++) img.writeUInt16LE(value, fatOff + f * fatBytes + cluster * 2);
    return new BufferSource(img, 'looped.img');
  }

  it('a directory whose chain returns to its start is refused, the rest still reads', async () => {
    const c = clusters('many');
    expect(c.length).toBeGreaterThan(1);
    const fsys = openFat(patched(nth(c, -1), nth(c, 0)));
    const e = await fsys.readdir('/many').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FsError);
    expect(['ELOOP', 'EFBIG']).toContain((e as FsError).code);
    expect((await fsys.stat('/hello.txt')).size).toBe(12);
  });

  it('a file whose chain loops back is refused at open', async () => {
    const c = clusters('big.bin');
    const fsys = openFat(patched(nth(c, 100), nth(c, 10)));
    expect(await errorCode(fsys.open('/big.bin'))).toBe('ELOOP');
  });

  it('a chain that ends early fails reads past its end with EIO', async () => {
    const c = clusters('big.bin');
    const fsys = openFat(patched(nth(c, 100), 0xffff));
    const h = await fsys.open('/big.bin');
    expect((await h.read(0, 4096)).length).toBe(4096);
    expect(await errorCode(h.read(h.size - 10, 10))).toBe('EIO');
  });
});
