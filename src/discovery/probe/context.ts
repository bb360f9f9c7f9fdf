// What every probe gets: the source, its first bytes read once, and a place for diagnostics.

import { diag, type Diagnostic, type Severity } from '../diagnostics';
import { readClamped, type ByteSource } from '../io/source';

/** 68 KiB: covers every superblock we look for (btrfs's at 64 KiB is the farthest). */
export const HEAD_BYTES = 68 * 1024;

/** Largest single extra read a probe may make (FAT/exFAT root directory, NTFS MFT record). */
export const MAX_EXTRA_READ = 256 * 1024;

export class ProbeContext {
  readonly head: Buffer;
  readonly diagnostics: Diagnostic[] = [];

  constructor(readonly src: ByteSource) {
    this.head = readClamped(src, 0, HEAD_BYTES);
  }

  /** Bytes at [pos, pos+len), clamped to the source; served from the head when inside it. */
  read(pos: number, len: number): Buffer {
    if (!Number.isSafeInteger(pos) || pos < 0 || len <= 0) return Buffer.alloc(0);
    const n = Math.min(len, MAX_EXTRA_READ);
    if (pos + n <= this.head.length) return this.head.subarray(pos, pos + n);
    return readClamped(this.src, pos, n);
  }

  note(severity: Severity, source: string, message: string): void {
    this.diagnostics.push(diag(severity, source, message, { device: this.src.name }));
  }
}
