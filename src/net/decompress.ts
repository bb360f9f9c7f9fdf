// Compressed disk images (docs/net-bootfiles.md §9.2): the size a format declares, read before
// anything is decompressed, and decompression from one sealed memfd into another with a bound on
// the output, so a decompression bomb is a clear error instead of an OOM. gzip runs in node's
// zlib; xz and zstd stream through the `xz -dc` and `zstd -dcq` programs (argument arrays, the
// memfd as their stdin). Zero blocks of the output are left as holes (docs/net-bootfiles.md §9.2).

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { addSeals, F_SEAL, MFD_ALLOW_SEALING, MFD_CLOEXEC, memfdCreate } from '../native/sys';
import type { Compression } from './classify';
import { NetError } from './types';

/** The tail of an xz file read for its index: enough for thousands of blocks. */
export const XZ_TAIL_BYTES = 64 << 10;

/** Reads a multibyte integer of xz (7 bits per byte, at most 9 bytes); undefined when malformed. */
function xzVarint(b: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    const byte = b[at + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (i > 0 && byte === 0) return undefined;
      return Number.isSafeInteger(value) ? { value, next: at + i + 1 } : undefined;
    }
  }
  return undefined;
}

/**
 * The uncompressed size an xz file's index declares (the sum of its records), from the file's
 * last bytes (`tail`, ending at the end of a file of `total` bytes). Undefined when the footer or
 * index does not parse, lies outside `tail`, or the file holds more than one stream (the index
 * then covers only the last one). xz file format 1.1.0, sections 2.1.2.4 and 4.
 */
export function xzDeclaredSize(tail: Uint8Array, total: number): number | undefined {
  let end = tail.length;
  // Stream padding: zero bytes in groups of four after the footer.
  while (end >= 4 && tail[end - 1] === 0 && tail[end - 2] === 0 && tail[end - 3] === 0 && tail[end - 4] === 0) end -= 4;
  if (end < 12 || tail[end - 2] !== 0x59 || tail[end - 1] !== 0x5a) return undefined;
  const f = end - 12;
  const backward = ((tail[f + 4]! | (tail[f + 5]! << 8) | (tail[f + 6]! << 16)) >>> 0) + tail[f + 7]! * 2 ** 24;
  const indexSize = (backward + 1) * 4;
  const start = f - indexSize;
  if (start < 0 || tail[start] !== 0x00) return undefined;
  const n = xzVarint(tail, start + 1);
  if (!n || n.value > indexSize / 2) return undefined;
  let at = n.next;
  let size = 0;
  let blocks = 0;
  for (let i = 0; i < n.value; i++) {
    const unpadded = xzVarint(tail, at);
    if (!unpadded || unpadded.next > f) return undefined;
    const uncompressed = xzVarint(tail, unpadded.next);
    if (!uncompressed || uncompressed.next > f) return undefined;
    blocks += Math.ceil(unpadded.value / 4) * 4;
    size += uncompressed.value;
    at = uncompressed.next;
  }
  // One stream: header (12) + blocks + index + footer (12) is the whole file before padding.
  const padding = tail.length - end;
  if (12 + blocks + indexSize + 12 + padding !== total || !Number.isSafeInteger(size)) return undefined;
  return size;
}

/**
 * The Frame_Content_Size of a zstd file's first frame (RFC 8878 §3.1.1.1), or undefined when
 * the header does not say it or is not a zstd frame. A file may hold more frames: this is a
 * lower bound then, and the output limit still holds.
 */
export function zstdDeclaredSize(head: Uint8Array): number | undefined {
  if (head[0] !== 0x28 || head[1] !== 0xb5 || head[2] !== 0x2f || head[3] !== 0xfd) return undefined;
  const d = head[4];
  if (d === undefined || (d & 0x08) !== 0) return undefined; // reserved bit
  const fcsFlag = d >> 6;
  const single = (d & 0x20) !== 0;
  const dictBytes = [0, 1, 2, 4][d & 3]!;
  const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return undefined;
  const at = 5 + (single ? 0 : 1) + dictBytes;
  if (head.length < at + fcsBytes) return undefined;
  let v = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) v = v * 256 + head[at + i]!;
  if (fcsBytes === 2) v += 256;
  return Number.isSafeInteger(v) ? v : undefined;
}

/** The size the format declares from a file's first and last bytes; undefined when it does not (gzip). */
export function declaredSize(c: Compression, head: Uint8Array, tail: Uint8Array, total: number): number | undefined {
  if (c === 'xz') return xzDeclaredSize(tail, total);
  if (c === 'zstd') return zstdDeclaredSize(head);
  return undefined;
}

/** Why an image of `size` bytes is refused under `limit` (the setting) and `usable` (free memory), or undefined. */
export function sizeProblem(size: number, limit: number, usable: number | undefined): string | undefined {
  if (size > limit) return `${size} bytes are more than net.max-image allows (${limit} bytes)`;
  if (usable !== undefined && size > usable)
    return `${size} bytes do not fit in memory: ${Math.max(0, usable)} bytes are free beyond the reserve`;
  return undefined;
}

/** The block size of the zero check: a page, so a skipped block is a page never allocated. */
const ZERO_BLOCK = 4096;
const ZEROS = Buffer.alloc(ZERO_BLOCK);

/**
 * Counts what passes and writes it to `fd`; fails once more than `limit` bytes arrive. Zero
 * blocks (aligned to the output offset) are not written but seeked past, so the free space
 * of a file system in the image costs no memory in the memfd (a hole reads back as zeros);
 * `finish()` sets the size, which covers a zero tail.
 */
class BoundedFdWriter extends Writable {
  written = 0;
  constructor(
    private readonly fd: number,
    private readonly limit: number,
    private readonly url: string,
    private readonly why: string,
  ) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    if (this.written + chunk.length > this.limit) {
      done(new NetError(this.url, `decompresses to more than ${this.limit} bytes (${this.why}): refused`, true));
      return;
    }
    try {
      // [from, to): a run of blocks to write; zero blocks end a run and are skipped.
      let from = 0;
      let at = 0;
      while (at < chunk.length) {
        const pos = this.written + at;
        const end = Math.min(chunk.length, at + ZERO_BLOCK - (pos % ZERO_BLOCK));
        // A piece of a block at a chunk's edge counts too: the pipe cuts chunks anywhere.
        if (chunk.subarray(at, end).equals(ZEROS.subarray(0, end - at))) {
          this.writeRun(chunk, from, at);
          from = end;
        }
        at = end;
      }
      this.writeRun(chunk, from, chunk.length);
      this.written += chunk.length;
      done();
    } catch (e) {
      done(e as Error);
    }
  }
  private writeRun(chunk: Buffer, from: number, to: number): void {
    let off = from;
    while (off < to) off += fs.writeSync(this.fd, chunk, off, to - off, this.written + off);
  }
  /** Gives the file its whole size (a zero tail was never written). */
  finish(): void {
    fs.ftruncateSync(this.fd, this.written);
  }
}

/** xz and zstd programs: the same arguments for busybox's xz applet and the real ones. */
const PROGRAMS = { xz: ['xz', '-dc'], zstd: ['zstd', '-dcq'] } as const;

function runProgram(c: 'xz' | 'zstd', src: number, out: BoundedFdWriter, url: string): Promise<void> {
  const [cmd, ...args] = PROGRAMS[c];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [src, 'pipe', 'pipe'] });
    const { stdout, stderr } = child as { stdout: NodeJS.ReadableStream; stderr: NodeJS.ReadableStream };
    let err = '';
    let failure: Error | undefined;
    stderr.on('data', (d: Buffer) => {
      if (err.length < 2048) err += d.toString('utf8');
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      failure = new NetError(
        url,
        e.code === 'ENOENT'
          ? `${c} images need the ${cmd} program, which is not here: serve the image plain, .gz${c === 'zstd' ? ' or .xz' : ''}`
          : `${cmd}: ${e.message}`,
        true,
      );
    });
    stdout.pipe(out, { end: false });
    out.on('error', (e) => {
      failure ??= e;
      stdout.unpipe(out);
      child.kill('SIGKILL');
    });
    child.on('close', (code, signal) => {
      if (failure) return reject(failure);
      if (code !== 0)
        return reject(
          new NetError(url, `${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${err.trim()}`, true),
        );
      out.end();
      finished(out).then(resolve, (e: Error) => reject(failure ?? e));
    });
  });
}

/**
 * Decompresses the sealed memfd `src` (its content `c`) into a new memfd, sealed and reopened
 * read-only as downloadToMemfd leaves a download. More than `limit` output bytes fail with a
 * NetError naming `url` and `why` (the limit's origin). Returns the read-only fd and the size; the
 * caller closes it and `src`.
 */
export async function decompressToMemfd(
  url: string,
  src: number,
  c: Exclude<Compression, 'none'>,
  limit: number,
  why: string,
): Promise<{ fd: number; size: number }> {
  const fd = memfdCreate(`tendril-netdisk`, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  try {
    const out = new BoundedFdWriter(fd, limit, url, why);
    if (c === 'gzip') {
      try {
        // A stream destroyed by an error closes its fd whatever autoClose says: it gets its own.
        const own = fs.openSync(`/proc/self/fd/${src}`, fs.constants.O_RDONLY);
        await pipeline(fs.createReadStream('', { fd: own, start: 0 }), zlib.createGunzip(), out);
      } catch (e) {
        if (e instanceof NetError) throw e;
        throw new NetError(url, `gzip: ${(e as Error).message}`, true);
      }
    } else await runProgram(c, src, out, url);
    out.finish();
    addSeals(fd, F_SEAL.WRITE | F_SEAL.GROW | F_SEAL.SHRINK | F_SEAL.SEAL);
    const ro = fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_RDONLY);
    return { fd: ro, size: out.written };
  } finally {
    fs.closeSync(fd);
  }
}
