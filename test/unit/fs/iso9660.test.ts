import { describe, expect, it } from 'vitest';
import { openIso9660 } from '../../../src/discovery/fs/iso9660';
import { openFileSystem } from '../../../src/discovery/fs/open';
import { FsError, readFileLimited } from '../../../src/discovery/fs/types';
import { BufferSource, FileSource } from '../../../src/discovery/io/source';
import { type IsoKind, fatImage, isoImage } from '../../fixtures/fsimages';
import { errorCode, expectMatchesHost, fileSha, sha256 } from './compare';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

const NAMES: Record<IsoKind, string> = {
  'rr-joliet': 'rockridge',
  rr: 'rockridge',
  'rr-reloc': 'rockridge',
  joliet: 'joliet',
  plain: 'iso9660',
};

describe.each(['rr-joliet', 'rr', 'rr-reloc', 'joliet', 'plain'] as IsoKind[])(
  'ISO 9660 image made by xorriso (%s)',
  (kind) => {
    const fx = isoImage(kind);

    it('picks Rock Ridge, then Joliet, then plain names', () => {
      const src = FileSource.open(fx.image);
      const fsys = openIso9660(src);
      expect(fsys.names).toBe(NAMES[kind]);
      expect(fsys.caseInsensitive).toBe(kind === 'plain');
      src.close();
    });

    it('matches the source tree: names, kinds, sizes, bytes and symlink resolution', async () => {
      const before = fileSha(fx.image);
      const src = FileSource.open(fx.image);
      const fsys = await openFileSystem(src, 'iso9660');
      await expectMatchesHost(fsys, fx.tree, { followed: true });
      await fsys.close();
      src.close();
      expect(fileSha(fx.image)).toBe(before);
    });

    it('reports POSIX errors and refuses escapes', async () => {
      const src = FileSource.open(fx.image);
      const fsys = openIso9660(src);
      const file = kind === 'plain' ? '/README.TXT' : '/hello.txt';
      expect(await errorCode(fsys.stat('/nonexistent'))).toBe('ENOENT');
      expect(await errorCode(fsys.stat(`${file}/x`))).toBe('ENOTDIR');
      expect(await errorCode(fsys.open('/EFI'))).toBe('EISDIR');
      expect(await errorCode(fsys.stat('../../etc/passwd'))).toBe('EACCES');
      src.close();
    });
  },
);

describe('ISO 9660 specifics', () => {
  it('Rock Ridge symlinks: relative, absolute (inside the image), loops, escapes', async () => {
    const fx = isoImage('rr-joliet');
    const src = FileSource.open(fx.image);
    const fsys = openIso9660(src);
    expect((await fsys.lstat('/link-abs')).kind).toBe('symlink');
    const viaLink = await readFileLimited(fsys, '/link-abs', 1 << 20);
    expect(sha256(viaLink)).toBe(fileSha(path.join(fx.tree, 'EFI/BOOT/BOOTX64.EFI')));
    expect(new TextDecoder().decode(await readFileLimited(fsys, '/loader/entries/up', 100))).toBe('hello world\n');
    expect((await fsys.stat('/long-link')).size).toBe(26);
    expect((await fsys.stat('/dirlink/c/d')).kind).toBe('dir');
    expect(await errorCode(fsys.stat('/loop1'))).toBe('ELOOP');
    expect(await errorCode(fsys.stat('/escape'))).toBe('EACCES');
    expect(await errorCode(fsys.stat('/dangling'))).toBe('ENOENT');
    src.close();
  });

  it('Rock Ridge relocated deep directories are shown where they belong (CL), not where they sit (RE)', async () => {
    const fx = isoImage('rr-reloc');
    // The image really relocates: the plain ISO names show /RR_MOVED and a shallow /A tree.
    const plain = execFileSync('isoinfo', ['-l', '-i', fx.image]).toString();
    expect(plain).toMatch(/Directory listing of \/RR_MOVED\//);
    const src = FileSource.open(fx.image);
    const fsys = openIso9660(src);
    expect((await fsys.readdir('/a/b/c/d/e/f/g/h/i')).map((e) => e.name)).toEqual(['deep.txt']);
    expect(new TextDecoder().decode(await readFileLimited(fsys, '/a/b/c/d/e/f/g/h/i/deep.txt', 100))).toBe('deep\n');
    src.close();
  });

  it('plain ISO: version suffix stripped, case-insensitive lookup', async () => {
    const fx = isoImage('plain');
    const src = FileSource.open(fx.image);
    const fsys = openIso9660(src);
    expect((await fsys.readdir('/')).map((e) => e.name).sort()).toEqual([
      'A',
      'BOOT',
      'DATA',
      'EFI',
      'EMPTY',
      'README.TXT',
    ]);
    const a = await readFileLimited(fsys, '/efi/boot/bootx64.efi', 1 << 20);
    expect(sha256(a)).toBe(fileSha(path.join(fx.tree, 'EFI/BOOT/BOOTX64.EFI')));
    src.close();
  });

  it('Joliet keeps case and long names, and is case-sensitive', async () => {
    const fx = isoImage('joliet');
    const src = FileSource.open(fx.image);
    const fsys = openIso9660(src);
    expect((await fsys.stat('/Mixed Case Name.conf')).size).toBe(12);
    expect(await errorCode(fsys.stat('/mixed case name.conf'))).toBe('ENOENT');
    src.close();
  });

  it('refuses what is not ISO 9660', () => {
    const src = FileSource.open(fatImage(12).image);
    expect(() => openIso9660(src)).toThrow(/not an ISO 9660 image/);
    src.close();
    expect(() => openIso9660(new BufferSource(new Uint8Array(100), 'tiny'))).toThrow(FsError);
  });
});

describe('ISO 9660 multi-extent files (ECMA-119 9.1.6 flag bit 7)', () => {
  it('joins the sections of a file recorded as several directory records', async () => {
    // xorriso only splits files of 4 GiB and more; so take the real plain image and record
    // /DATA/BIG.BIN as three sections (flag 0x80 on all but the last), as such a file is
    // written. The bytes must not change.
    const fx = isoImage('plain');
    const listing = execFileSync('isoinfo', ['-l', '-i', fx.image]).toString();
    const dirLba = Number(/\[\s*(\d+) 02\]\s+DATA\s*$/m.exec(listing)![1]);
    const img = Buffer.from(fs.readFileSync(fx.image));
    const sector = img.subarray(dirLba * 2048, dirLba * 2048 + 2048);
    const at = sector.indexOf(Buffer.from('BIG.BIN;1'));
    const recStart = at - 33;
    const rec = Buffer.from(sector.subarray(recStart, recStart + sector.readUInt8(recStart)));
    const lba = rec.readUInt32LE(2);
    const size = rec.readUInt32LE(10);
    const parts = [2 * 1024 * 1024, 1024 * 1024, size - 3 * 1024 * 1024];
    const out: Buffer[] = [];
    let off = 0;
    parts.forEach((len, i) => {
      const r = Buffer.from(rec);
      const block = lba + off / 2048;
      r.writeUInt32LE(block, 2);
      r.writeUInt32BE(block, 6);
      r.writeUInt32LE(len, 10);
      r.writeUInt32BE(len, 14);
      const flags = r.readUInt8(25);
      r[25] = i < parts.length - 1 ? flags | 0x80 : flags & ~0x80;
      out.push(r);
      off += len;
    });
    const joined = Buffer.concat(out);
    expect(recStart + joined.length).toBeLessThanOrEqual(2048);
    joined.copy(sector, recStart);
    const fsys = openIso9660(new BufferSource(img, 'multi-extent.iso'));
    expect((await fsys.readdir('/DATA')).map((e) => e.name)).toEqual(['BIG.BIN']);
    expect((await fsys.stat('/DATA/BIG.BIN')).size).toBe(size);
    const data = await readFileLimited(fsys, '/DATA/BIG.BIN', 16 << 20);
    expect(sha256(data)).toBe(fileSha(path.join(fx.tree, 'DATA/BIG.BIN')));
    const h = await fsys.open('/DATA/BIG.BIN');
    const across = await h.read(2 * 1024 * 1024 - 5, 10);
    expect(Buffer.from(across).equals(Buffer.from(data.subarray(2 * 1024 * 1024 - 5, 2 * 1024 * 1024 + 5)))).toBe(true);
    await h.close();
  });
});
