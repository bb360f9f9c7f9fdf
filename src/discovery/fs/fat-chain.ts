// FAT cluster chains: entry lookup through a small cache of FAT windows, chain walking with
// loop/length limits, and coalescing of consecutive clusters into byte runs so file data is
// read with few large readAt calls.

import { u8 } from '../../util/bytes';
import type { ByteSource } from '../io/source';
import { readExact } from '../io/source';
import type { FatGeometry } from './fat-bpb';
import { FsError } from './types';
import type { Run } from './walk';

const WINDOW = 64 * 1024;
/** A file in more pieces than this is refused (memory for the run list stays bounded). */
const MAX_RUNS = 500_000;
const MAX_WINDOWS = 16;

export class FatTable {
  private readonly windows = new Map<number, Buffer>();

  constructor(
    private readonly src: ByteSource,
    readonly geo: FatGeometry,
  ) {}

  private window(w: number): Buffer {
    let buf = this.windows.get(w);
    if (!buf) {
      const start = w * WINDOW;
      const len = Math.min(WINDOW, this.geo.fatBytes - start);
      if (len <= 0) throw new FsError('EIO', '', `FAT access past its end (window ${w})`);
      buf = readExact(this.src, this.geo.fatOffset + start, len);
      if (this.windows.size >= MAX_WINDOWS) this.windows.delete(this.windows.keys().next().value as number);
      this.windows.set(w, buf);
    }
    return buf;
  }

  /** Byte `i` of the FAT; the BPB check sized the FAT for every valid cluster's entry. */
  private byteAt(i: number): number {
    const w = Math.floor(i / WINDOW);
    return u8(this.window(w), i - w * WINDOW);
  }

  /** The FAT entry of cluster `c` (masked to its width). */
  entry(c: number): number {
    const { bits } = this.geo;
    if (bits === 12) {
      const o = c + (c >> 1);
      const v = this.byteAt(o) | (this.byteAt(o + 1) << 8);
      return c & 1 ? v >> 4 : v & 0xfff;
    }
    // FAT16/32 entries are aligned, so they never straddle a window.
    const o = c * (bits === 16 ? 2 : 4);
    const w = Math.floor(o / WINDOW);
    const buf = this.window(w);
    const i = o - w * WINDOW;
    return bits === 16 ? buf.readUInt16LE(i) : buf.readUInt32LE(i) & 0x0fffffff;
  }

  /**
   * How many clusters from `c` on simply chain to their neighbour (entry(c+i) === c+i+1),
   * up to `max`: the common contiguous case, scanned straight from the cached FAT window.
   */
  private contiguousFrom(c: number, max: number): number {
    const { bits } = this.geo;
    let k = 0;
    if (bits === 12) {
      while (k < max && this.entry(c + k) === c + k + 1) k++;
      return k;
    }
    const width = bits === 16 ? 2 : 4;
    while (k < max) {
      const o = (c + k) * width;
      const w = Math.floor(o / WINDOW);
      const buf = this.window(w);
      let i = o - w * WINDOW;
      const start = k;
      const stop = Math.min(buf.length, i + (max - k) * width);
      if (bits === 16) {
        for (; i + 2 <= stop && buf.readUInt16LE(i) === c + k + 1; k++) i += 2;
      } else {
        for (; i + 4 <= stop && (buf.readUInt32LE(i) & 0x0fffffff) === c + k + 1; k++) i += 4;
      }
      // Stopped before `stop`: the chain leaves its neighbour here. Else go on in the next window.
      if (i + width <= stop || k === start) break;
    }
    return k;
  }

  isEnd(v: number): boolean {
    const { bits } = this.geo;
    return v >= (bits === 12 ? 0xff8 : bits === 16 ? 0xfff8 : 0x0ffffff8);
  }

  validCluster(c: number): boolean {
    return c >= 2 && c <= this.geo.clusterCount + 1;
  }

  clusterOffset(c: number): number {
    return this.geo.dataOffset + (c - 2) * this.geo.clusterSize;
  }

  /**
   * Follow the chain from `first` for at most `maxClusters` clusters, merging neighbours
   * into runs. Files pass the cluster count their size needs (a longer chain is cut, as Linux
   * does); directories pass their size limit and `mustEnd`, so an endless chain is an error.
   * A chain that uses a cluster twice (a loop) or hits a free, bad or out-of-range entry
   * is an error.
   */
  runs(first: number, maxClusters: number, path: string, mustEnd: boolean): Run[] {
    const out: Run[] = [];
    const limit = Math.min(maxClusters, this.geo.clusterCount);
    let c = first;
    let n = 0;
    let runStart = first;
    let runLen = 0;
    let ended = false;
    while (n < limit) {
      if (!this.validCluster(c)) throw new FsError('EIO', path, `FAT chain reaches invalid cluster ${c}`);
      if (runLen > 0 && c === runStart + runLen) runLen++;
      else {
        if (runLen > 0) out.push(this.run(runStart, runLen, out));
        if (out.length >= MAX_RUNS) throw new FsError('EFBIG', path, `more than ${MAX_RUNS} fragments`);
        runStart = c;
        runLen = 1;
      }
      n++;
      // Skip over the contiguous stretch in one scan (validity: contiguous clusters stay valid
      // as long as the last one is, which the next iteration checks).
      const k = n < limit ? this.contiguousFrom(c, Math.min(limit - n, this.geo.clusterCount + 1 - c)) : 0;
      if (k > 0) {
        runLen += k;
        n += k;
        c += k;
        if (n >= limit) break;
      }
      const next = this.entry(c);
      if (this.isEnd(next)) {
        ended = true;
        break;
      }
      c = next;
    }
    if (runLen > 0) out.push(this.run(runStart, runLen, out));
    if (mustEnd && !ended) throw new FsError('EFBIG', path, `cluster chain longer than ${limit} clusters (loop?)`);
    checkNoOverlap(out, path);
    return out;
  }

  private run(start: number, count: number, prev: Run[]): Run {
    const last = prev[prev.length - 1];
    const fileOffset = last ? last.fileOffset + last.length : 0;
    return { fileOffset, diskOffset: this.clusterOffset(start), length: count * this.geo.clusterSize };
  }
}

/** A cluster used twice means the chain loops (or two files share it): refuse it. */
function checkNoOverlap(runs: readonly Run[], path: string): void {
  if (runs.length < 2) return;
  const sorted = [...runs].sort((a, b) => a.diskOffset - b.diskOffset);
  let prev: Run | undefined;
  for (const r of sorted) {
    if (prev && prev.diskOffset + prev.length > r.diskOffset)
      throw new FsError('ELOOP', path, 'FAT chain uses a cluster twice (loop)');
    prev = r;
  }
}
