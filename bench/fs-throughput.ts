// Throughput of the userspace filesystem readers against the raw image file: a 64 MiB random
// file is read through each reader in 4 MiB chunks and, as the baseline, straight from the
// image with fs.readSync at the file's byte range (same process, same chunk size, warm page
// cache). Issue targets: ext >= 0.5, FAT >= 0.5, ISO >= 0.8 of the baseline.
// The baseline reads each chunk into a new 4 MiB Buffer, as FileHandle.read must return new
// memory; a second baseline into one reused buffer (no page faults) is printed for reference.
//   node scripts/run-ts.mjs bench/fs-throughput.ts [rounds]

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openExtLib } from '../src/discovery/fs/ext-lib';
import { openFileSystem } from '../src/discovery/fs/open';
import type { FileSystem } from '../src/discovery/fs/types';
import { FileSource } from '../src/discovery/io/source';
import { BENCH_FILE_BYTES, benchImages } from '../test/fixtures/fsimages';

const CHUNK = 4 << 20;
const ROUNDS = Number(process.argv[2] ?? 7);

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Where the file's bytes start in the image: found by content, independent of the readers. */
function locate(image: string, head: Buffer): number {
  const fd = fs.openSync(image, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(CHUNK + head.length);
    for (let pos = 0; pos < size; pos += CHUNK) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      const i = buf.subarray(0, n).indexOf(head);
      if (i >= 0) return pos + i;
    }
  } finally {
    fs.closeSync(fd);
  }
  throw new Error(`file data not found in ${image}`);
}

/** Baseline: fs.readSync of the same bytes from the image in CHUNK pieces, each into new memory. */
function rawRead(image: string, offset: number, bytes: number, reuse: Buffer | null, check?: Buffer): number {
  const fd = fs.openSync(image, 'r');
  gc();
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < bytes;) {
    const want = Math.min(CHUNK, bytes - done);
    const buf = reuse ?? Buffer.allocUnsafe(want);
    const n = fs.readSync(fd, buf, 0, want, offset + done);
    if (n !== want) throw new Error('short raw read');
    if (check) check.set(buf.subarray(0, n), done);
    done += n;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.closeSync(fd);
  return ms;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

async function readerRead(fsys: FileSystem, check?: Buffer): Promise<number> {
  gc();
  const t0 = process.hrtime.bigint();
  const h = await fsys.open('/big.bin');
  for (let done = 0; done < h.size;) {
    const chunk = await h.read(done, Math.min(CHUNK, h.size - done));
    if (chunk.length === 0) throw new Error('short read');
    if (check) check.set(chunk, done);
    done += chunk.length;
  }
  await h.close();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]): number => {
  const m = [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  if (m === undefined) throw new Error('median of no samples');
  return m;
};
const mbps = (ms: number): number => BENCH_FILE_BYTES / 1e6 / (ms / 1000);

async function main(): Promise<void> {
  const imgs = benchImages();
  const want = sha(fs.readFileSync(path.join(imgs.ext4.tree, 'big.bin')));
  const head = fs.readFileSync(path.join(imgs.ext4.tree, 'big.bin')).subarray(0, 64 * 1024);
  const cases: Array<{ name: string; image: string; open: (s: FileSource) => Promise<FileSystem>; target: number }> = [
    { name: 'ext4 (fast path)', image: imgs.ext4.image, open: (s) => openFileSystem(s, 'ext4'), target: 0.5 },
    {
      name: 'ext4 (libext2fs reference reader)',
      image: imgs.ext4.image,
      open: (s) => openExtLib(s, 'ext4'),
      target: 0,
    },
    { name: 'vfat FAT32', image: imgs.fat32.image, open: (s) => openFileSystem(s, 'vfat'), target: 0.5 },
    { name: 'iso9660', image: imgs.iso.image, open: (s) => openFileSystem(s, 'iso9660'), target: 0.8 },
  ];
  const check = Buffer.alloc(BENCH_FILE_BYTES);
  const reuse = Buffer.allocUnsafe(CHUNK);
  console.log(
    `fs-throughput: ${BENCH_FILE_BYTES >> 20} MiB file, ${CHUNK >> 20} MiB chunks, ${ROUNDS} interleaved rounds, median MB/s;` +
      ` ratio = median of paired (reader / raw readSync into new chunk buffers); ratio2: same against one reused buffer`,
  );
  let failed = false;
  for (const c of cases) {
    const offset = locate(c.image, head);
    const src = FileSource.open(c.image);
    const fsys = await c.open(src);
    // Warm-up rounds also check the bytes.
    await readerRead(fsys, check);
    if (sha(check) !== want) throw new Error(`${c.name}: data mismatch`);
    rawRead(c.image, offset, BENCH_FILE_BYTES, null, check);
    const contiguous = sha(check) === want;
    // Paired rounds (order alternating) so both sides of a ratio see the same machine load.
    const raw: number[] = [];
    const raw2: number[] = [];
    const rd: number[] = [];
    const ratios: number[] = [];
    const ratios2: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let a: number;
      let b: number;
      if (r % 2 === 0) {
        a = rawRead(c.image, offset, BENCH_FILE_BYTES, null);
        b = await readerRead(fsys);
      } else {
        b = await readerRead(fsys);
        a = rawRead(c.image, offset, BENCH_FILE_BYTES, null);
      }
      const a2 = rawRead(c.image, offset, BENCH_FILE_BYTES, reuse);
      raw.push(a);
      rd.push(b);
      raw2.push(a2);
      ratios.push(a / b);
      ratios2.push(a2 / b);
    }
    await fsys.close();
    src.close();
    const ratio = median(ratios);
    const ratio2 = median(ratios2);
    const verdict = c.target === 0 ? '(reference)' : ratio >= c.target ? `>= ${c.target} ok` : `< ${c.target} MISSED`;
    if (c.target > 0 && ratio < c.target) failed = true;
    const f = (ms: number): string => mbps(ms).toFixed(0).padStart(5);
    console.log(
      `${c.name.padEnd(22)} reader ${f(median(rd))}  raw ${f(median(raw))}  raw-reused ${f(median(raw2))}  ` +
        `ratio ${ratio.toFixed(2)} ${verdict}  ratio2 ${ratio2.toFixed(2)}` +
        (contiguous ? '' : '  (file not contiguous in the image: raw reads the same byte count)'),
    );
  }
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(2);
});
