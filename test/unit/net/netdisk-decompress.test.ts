// Disk images from the network (docs/net-bootfiles.md §9): classification by name and by
// content, the sizes xz and zstd files declare (from files the real xz and zstd programs wrote),
// and decompression into a memfd bounded by a limit: a bomb of zeros fails with a clear error,
// a truncated or corrupt file names what failed. fast-check: the classifier and the size readers
// never throw and never claim a size a random file does not have.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyBootFile, compressionOf, diskImageByName, looksLikeDisk } from '../../../src/net/classify';
import {
  decompressToMemfd,
  declaredSize,
  sizeProblem,
  xzDeclaredSize,
  zstdDeclaredSize,
} from '../../../src/net/decompress';
import { buildGptDisk } from '../../fixtures/images';

const U = 'http://192.0.2.1/img/';
let dir: string;
/** 8 MiB of a repeating pattern (compressible but not all zeros), and its compressed forms. */
let plain: Buffer;
const files: Record<string, string> = {};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-netdisk-'));
  plain = Buffer.alloc(8 << 20);
  for (let i = 0; i < plain.length; i += 4096) plain.writeUInt32LE(i, i);
  files.raw = path.join(dir, 'd.raw');
  fs.writeFileSync(files.raw, plain);
  files.gz = path.join(dir, 'd.raw.gz');
  fs.writeFileSync(files.gz, zlib.gzipSync(plain));
  files.xz = path.join(dir, 'd.raw.xz');
  fs.writeFileSync(files.xz, execFileSync('xz', ['-c', '-T1', files.raw], { maxBuffer: 64 << 20 }));
  files.xzmt = path.join(dir, 'd.mt.raw.xz');
  // Several blocks: the index has one record per block.
  fs.writeFileSync(files.xzmt, execFileSync('xz', ['-c', '--block-size=1MiB', files.raw], { maxBuffer: 64 << 20 }));
  files.zst = path.join(dir, 'd.raw.zst');
  fs.writeFileSync(files.zst, execFileSync('zstd', ['-q', '-c', files.raw], { maxBuffer: 64 << 20 }));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Whether memfds may get transparent huge pages here (shmem_enabled other than never/deny). */
function shmemHugePages(): boolean {
  try {
    const v = /\[(\w+)\]/.exec(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/shmem_enabled', 'utf8'))?.[1];
    return v !== undefined && v !== 'never' && v !== 'deny';
  } catch {
    return false;
  }
}

const bytes = (p: string) => new Uint8Array(fs.readFileSync(p));
const head = (p: string) => bytes(p).subarray(0, 64);
const tail = (p: string) => {
  const b = bytes(p);
  return b.subarray(Math.max(0, b.length - (64 << 10)));
};

describe('disk images: classification', () => {
  it('by name: .raw, .img, .iso, each optionally .xz, .zst or .gz; case-insensitive; the query does not count', () => {
    expect(diskImageByName(`${U}debian.raw`)).toEqual({ kind: 'disk-image', compression: 'none', by: 'name' });
    expect(diskImageByName(`${U}debian.IMG.XZ`)).toEqual({ kind: 'disk-image', compression: 'xz', by: 'name' });
    expect(diskImageByName(`${U}live.iso.zst?x=1`)).toEqual({ kind: 'disk-image', compression: 'zstd', by: 'name' });
    expect(diskImageByName(`${U}a.raw.gz`)).toEqual({ kind: 'disk-image', compression: 'gzip', by: 'name' });
    for (const n of ['vmlinuz', 'initrd.gz', 'a.raw.bz2', 'a.tar.xz', 'raw', 'img.efi', 'x.iso/'])
      expect(diskImageByName(`${U}${n}`)).toBeUndefined();
  });
  it('by content: a GPT disk made by sgdisk, an ISO 9660 image made by xorriso, an MBR', () => {
    const gpt = bytes(buildGptDisk([{ type: 'linux', sizeMiB: 1 }]));
    expect(looksLikeDisk(gpt)).toBe(true);
    expect(classifyBootFile(`${U}bootfile`, gpt)).toEqual({ kind: 'disk-image', compression: 'none', by: 'content' });
    const src = path.join(dir, 'isosrc');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'hello.txt'), 'hi\n');
    const iso = path.join(dir, 'x.bin');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', iso, src], { stdio: 'pipe' });
    expect(classifyBootFile(`${U}nbp`, bytes(iso)).kind).toBe('disk-image');
    const mbr = new Uint8Array(4096);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    expect(classifyBootFile(`${U}nbp`, mbr)).toEqual({ kind: 'disk-image', compression: 'none', by: 'content' });
  });
  it('compressed content is an image only by its name; the magic says which compression', () => {
    expect(compressionOf(bytes(files.gz!))).toBe('gzip');
    expect(compressionOf(bytes(files.xz!))).toBe('xz');
    expect(compressionOf(bytes(files.zst!))).toBe('zstd');
    // A .raw name over xz bytes: the bytes win.
    expect(classifyBootFile(`${U}d.raw`, bytes(files.xz!))).toEqual({
      kind: 'disk-image',
      compression: 'xz',
      by: 'name',
    });
    expect(classifyBootFile(`${U}kernel.gz`, bytes(files.gz!)).kind).toBe('unknown');
  });
  it('fast-check: the classifier never throws, and an image by content has a disk signature', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 0x8100 }), fc.constantFrom('nbp', 'a.img', 'x.iso.xz'), (b, n) => {
        const c = classifyBootFile(`${U}${n}`, b);
        if (c.kind === 'disk-image' && c.by === 'content') expect(looksLikeDisk(b)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('disk images: declared sizes', () => {
  it('xz (one block and many blocks) and zstd declare the uncompressed size; gzip does not', () => {
    expect(xzDeclaredSize(tail(files.xz!), fs.statSync(files.xz!).size)).toBe(plain.length);
    expect(xzDeclaredSize(tail(files.xzmt!), fs.statSync(files.xzmt!).size)).toBe(plain.length);
    expect(zstdDeclaredSize(head(files.zst!))).toBe(plain.length);
    expect(declaredSize('gzip', head(files.gz!), tail(files.gz!), fs.statSync(files.gz!).size)).toBeUndefined();
  });
  it('two xz streams concatenated: the index covers only the last, so no size is claimed', () => {
    const two = Buffer.concat([fs.readFileSync(files.xz!), fs.readFileSync(files.xz!)]);
    expect(xzDeclaredSize(two.subarray(two.length - (64 << 10)), two.length)).toBeUndefined();
  });
  it('zstd written from a pipe has no content size', () => {
    const z = execFileSync('sh', ['-c', `cat ${files.raw} | zstd -q -c`], { maxBuffer: 64 << 20 });
    expect(zstdDeclaredSize(new Uint8Array(z.subarray(0, 64)))).toBeUndefined();
  });
  it('fast-check: random tails and heads never throw and never give a size that is not a safe integer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.nat(1 << 30), (b, extra) => {
        const x = xzDeclaredSize(b, b.length + extra);
        const z = zstdDeclaredSize(b);
        for (const v of [x, z]) if (v !== undefined) expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
      }),
      { numRuns: 500 },
    );
    // A real footer and index with random record bytes in between: bounded, never throws.
    const real = tail(files.xzmt!);
    fc.assert(
      fc.property(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 }), (at, v) => {
        const b = new Uint8Array(real);
        b[at] = v;
        const x = xzDeclaredSize(b, fs.statSync(files.xzmt!).size);
        if (x !== undefined) expect(Number.isSafeInteger(x)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
  it('sizeProblem names the setting or the memory', () => {
    expect(sizeProblem(10, 100, 50)).toBeUndefined();
    expect(sizeProblem(200, 100, 500)).toMatch(/200 bytes are more than net.max-image allows \(100 bytes\)/);
    expect(sizeProblem(60, 100, 50)).toMatch(/do not fit in memory: 50 bytes are free/);
  });
});

/** Opens a file read-only (as a sealed download is) and decompresses it. */
async function inflate(file: string, c: 'gzip' | 'xz' | 'zstd', limit: number) {
  const src = fs.openSync(file, 'r');
  try {
    const out = await decompressToMemfd(`${U}${path.basename(file)}`, src, c, limit, 'test limit');
    const got = Buffer.alloc(out.size);
    fs.readSync(out.fd, got, 0, out.size, 0);
    fs.closeSync(out.fd);
    return got;
  } finally {
    fs.closeSync(src);
  }
}

/** Decompresses `file` and returns the bytes with the memfd's allocated size (st_blocks * 512). */
async function inflateSparse(file: string, c: 'gzip' | 'xz' | 'zstd') {
  const src = fs.openSync(file, 'r');
  try {
    const out = await decompressToMemfd(`${U}${path.basename(file)}`, src, c, 1 << 30, 'test limit');
    try {
      const st = fs.fstatSync(out.fd);
      const got = Buffer.alloc(out.size);
      fs.readSync(out.fd, got, 0, out.size, 0);
      return { got, size: out.size, fileSize: st.size, allocated: st.blocks * 512 };
    } finally {
      fs.closeSync(out.fd);
    }
  } finally {
    fs.closeSync(src);
  }
}

describe('disk images: zero blocks stay holes in the memfd', () => {
  /** 64 MiB: data at unaligned places, 48 MiB of zeros between them and a zero tail. */
  const image = () => {
    const b = Buffer.alloc(64 << 20);
    b.fill(0x5a, 0, 1 << 20);
    b.fill(0xa5, (8 << 20) + 123, (8 << 20) + 5000); // straddles page boundaries
    b[(40 << 20) + 4095] = 1; // one byte at the end of a page
    b.fill(0x33, 56 << 20, (60 << 20) + 7); // ends 7 bytes into a page; 4 MiB of zeros follow
    return b;
  };
  it.each([
    ['gzip', 'gz'],
    ['xz', 'xz'],
    ['zstd', 'zst'],
  ] as const)('%s: the content is identical, and only the pages holding data are allocated', async (c, ext) => {
    const b = image();
    const raw = path.join(dir, 'sparse.raw');
    fs.writeFileSync(raw, b);
    const file = `${raw}.${ext}`;
    if (c === 'gzip') fs.writeFileSync(file, zlib.gzipSync(b));
    else if (c === 'xz') execFileSync('xz', ['-q', '-f', '-k', '-T1', raw]);
    else execFileSync('zstd', ['-q', '-f', '-o', file, raw]);
    const r = await inflateSparse(file, c);
    expect(r.size).toBe(b.length);
    expect(r.fileSize).toBe(b.length);
    expect(r.got.equals(b)).toBe(true);
    // The pages holding data: 256 + 2 + 1 + 1025; not one page of the zeros. A host that gives
    // shmem huge pages allocates 2 MiB at a time: there, at most the 2 MiB pages the data touch.
    const dataPages = 256 + 2 + 1 + 1025;
    if (shmemHugePages()) expect(r.allocated).toBeLessThanOrEqual(r.fileSize / 2);
    else expect(r.allocated).toBe(dataPages * 4096);
  });
  it('fast-check: any layout of zero and data runs comes back byte for byte (gzip)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            zero: fc.boolean(),
            len: fc.integer({ min: 1, max: 20_000 }),
            v: fc.integer({ min: 1, max: 255 }),
          }),
          {
            maxLength: 24,
          },
        ),
        async (runs) => {
          const b = Buffer.concat(runs.map((r) => Buffer.alloc(r.len, r.zero ? 0 : r.v)));
          const file = path.join(dir, 'prop.raw.gz');
          fs.writeFileSync(file, zlib.gzipSync(b));
          const r = await inflateSparse(file, 'gzip');
          expect(r.size).toBe(b.length);
          expect(r.fileSize).toBe(b.length);
          expect(r.got.equals(b)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('disk images: decompression into a memfd', () => {
  it.each([
    ['gzip', 'gz'],
    ['xz', 'xz'],
    ['zstd', 'zst'],
  ] as const)('%s: the bytes come back whole', async (c, ext) => {
    const got = await inflate(files[ext]!, c, 16 << 20);
    expect(got.equals(plain)).toBe(true);
  });
  it.each([
    ['gzip', 'gz'],
    ['xz', 'xz'],
    ['zstd', 'zst'],
  ] as const)('%s: more output than the limit is refused, naming the limit', async (c, ext) => {
    await expect(inflate(files[ext]!, c, 1 << 20)).rejects.toThrow(
      /d\.raw\.(gz|xz|zst): decompresses to more than 1048576 bytes \(test limit\): refused/,
    );
  });
  it('a gzip bomb (1 GiB of zeros in about 1 MiB) stops at the limit without holding the output', async () => {
    const bomb = path.join(dir, 'bomb.raw.gz');
    const z = zlib.createGzip({ level: 9 });
    const out = fs.createWriteStream(bomb);
    z.pipe(out);
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < 1024; i++) if (!z.write(chunk)) await new Promise<void>((r) => z.once('drain', () => r()));
    z.end();
    await new Promise<void>((r) => out.on('close', () => r()));
    expect(fs.statSync(bomb).size).toBeLessThan(2 << 20);
    const before = process.memoryUsage().rss;
    await expect(inflate(bomb, 'gzip', 32 << 20)).rejects.toThrow(/decompresses to more than 33554432 bytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
  });
  it('zstd without a zstd program (as in the initramfs): refused naming the program and the formats that work', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(dir, 'no-such-bin');
    try {
      await expect(inflate(files.zst!, 'zstd', 16 << 20)).rejects.toThrow(
        /d\.raw\.zst: zstd images need the zstd program, which is not here: serve the image plain, \.gz or \.xz/,
      );
    } finally {
      process.env.PATH = saved;
    }
  });
  it('a truncated gzip and a corrupt xz name what failed', async () => {
    const cut = path.join(dir, 'cut.raw.gz');
    const gz = fs.readFileSync(files.gz!);
    fs.writeFileSync(cut, gz.subarray(0, gz.length >> 1));
    await expect(inflate(cut, 'gzip', 16 << 20)).rejects.toThrow(/cut\.raw\.gz: gzip: unexpected end of file/);
    const bad = path.join(dir, 'bad.raw.xz');
    const xz = Buffer.from(fs.readFileSync(files.xz!));
    xz.fill(0x55, 200, 400);
    fs.writeFileSync(bad, xz);
    await expect(inflate(bad, 'xz', 16 << 20)).rejects.toThrow(/bad\.raw\.xz: xz -dc failed \(exit 1\): .*xz:/);
  });
});
