// Shared by the hostile-disk tests (issue 16): the whole discovery pipeline over one image,
// in process, with the image's checksum compared before and after; and a byte source that
// counts what a reader asks of it.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { expect } from 'vitest';
import { discover } from '../../../src/discovery/discover';
import { type Diagnostic, formatDiagnostic } from '../../../src/discovery/diagnostics';
import type { ByteSource } from '../../../src/discovery/io/source';
import type { MenuEntry } from '../../../src/discovery/model';
import { InProcessScanner } from '../../../src/discovery/worker/pool';
import { sha256File } from '../../fixtures/disks';

export interface Discovered {
  readonly entries: readonly MenuEntry[];
  /** Every diagnostic (discovery's and each device's), formatted as `tendril list` prints them. */
  readonly lines: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
}

/** Discover `image` as a disk; fails the test if any byte of it changed. */
export async function discoverImage(image: string): Promise<Discovered> {
  const before = sha256File(image);
  const s = await discover({ disks: [image], sysBlock: false, scanner: new InProcessScanner(), deadlineMs: 60_000 });
  try {
    const diagnostics = [...s.result.diagnostics, ...s.result.devices.flatMap((d) => d.diagnostics)];
    return { entries: s.result.entries, diagnostics, lines: diagnostics.map(formatDiagnostic) };
  } finally {
    await s.close();
    expect(sha256File(image)).toBe(before);
  }
}

/** The entry read from `file` (its origin), or undefined. */
export function entryFrom(d: Discovered, file: string): MenuEntry | undefined {
  return d.entries.find((e) => e.origin.file === file);
}

/** Why the entry from `file` cannot boot ('' when it can). */
export function brokenReason(d: Discovered, file: string): string {
  const e = entryFrom(d, file);
  if (!e) throw new Error(`no entry from ${file}; entries: ${d.entries.map((x) => x.origin.file).join(', ')}`);
  return e.status.ok ? '' : e.status.reason;
}

/** A source that counts reads and bytes, and the bytes read inside [from, to). */
export class CountingSource implements ByteSource {
  reads = 0;
  bytes = 0;
  constructor(private readonly base: ByteSource) {}
  get name(): string {
    return this.base.name;
  }
  get size(): number {
    return this.base.size;
  }
  readAt(buf: Uint8Array, offset: number, length: number, position: number): number {
    this.reads++;
    const n = this.base.readAt(buf, offset, length, position);
    this.bytes += n;
    return n;
  }
}

export function debugfs(image: string, request: string): string {
  return execFileSync('debugfs', ['-R', request, image], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 })
    .toString()
    .trim();
}

/** The names of a directory in on-disk order, as `debugfs ls -p` prints them ('.' and '..' left out). */
export function debugfsNames(image: string, dir: string): string[] {
  return debugfs(image, `ls -p ${dir}`)
    .split('\n')
    .map((l) => l.split('/')[5] ?? '')
    .filter((n) => n !== '' && n !== '.' && n !== '..');
}

/** Names in each block of a directory (4 KiB blocks), by a parse of our own of the blocks debugfs lists. */
export function namesPerBlock(image: string, dir: string): number[] {
  const bs = 4096;
  const img = fs.readFileSync(image);
  return debugfs(image, `blocks ${dir}`)
    .split(/\s+/)
    .filter(Boolean)
    .map((b) => {
      const block = img.subarray(Number(b) * bs, (Number(b) + 1) * bs);
      let n = 0;
      for (let off = 0; off + 8 <= bs;) {
        const recLen = block.readUInt16LE(off + 4);
        const name = block.subarray(off + 8, off + 8 + block[off + 6]!).toString();
        if (recLen < 8) break;
        if (block.readUInt32LE(off) !== 0 && name !== '.' && name !== '..') n++;
        off += recLen;
      }
      return n;
    });
}

/** Blocks a reader must read to hold `want` names: the first k blocks whose names add up to it. */
export function blocksFor(perBlock: readonly number[], want: number): number {
  let names = 0;
  let k = 0;
  while (names < want && k < perBlock.length) names += perBlock[k++]!;
  return want === 0 ? 0 : k;
}
