// Readers as a device scan sees them: every read of the disk and every file operation is
// noted in the scan's progress (progress.ts), so the main thread can say what was being
// read when the deadline passed; and once the scan is called off, file operations fail at
// once, so the sources wind down instead of reading on. Only the scan's own sources go
// through these; the readers the main thread reaches later (to boot) are the plain ones.

import type { ByteSource } from '../io/source';
import { type DirEntry, type FileHandle, type FileStat, type FileSystem, FsError } from '../fs/types';
import type { ScanProgress } from './progress';

/** The disk itself: each answered read is progress. */
export class WatchedSource implements ByteSource {
  constructor(
    private readonly inner: ByteSource,
    private readonly progress: ScanProgress,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get size(): number {
    return this.inner.size;
  }

  readAt(buf: Uint8Array, offset: number, length: number, position: number): number {
    const n = this.inner.readAt(buf, offset, length, position);
    this.progress.answered();
    return n;
  }
}

/** A filesystem of the scanned device, as the scan's entry sources use it. */
export class WatchedFileSystem implements FileSystem {
  constructor(
    private readonly inner: FileSystem,
    private readonly fsId: string,
    private readonly progress: ScanProgress,
    private readonly cancelled: () => boolean,
  ) {}

  get type(): string {
    return this.inner.type;
  }

  get caseInsensitive(): boolean {
    return this.inner.caseInsensitive;
  }

  private async op<T>(path: string, run: () => Promise<T>): Promise<T> {
    if (this.cancelled()) throw new FsError('EIO', path, 'the device deadline passed; scan called off');
    this.progress.reading(`${this.fsId} ${path}`);
    const r = await run();
    this.progress.answered();
    return r;
  }

  stat(path: string): Promise<FileStat> {
    return this.op(path, () => this.inner.stat(path));
  }

  lstat(path: string): Promise<FileStat> {
    return this.op(path, () => this.inner.lstat(path));
  }

  readdir(path: string): Promise<DirEntry[]> {
    return this.op(path, () => this.inner.readdir(path));
  }

  async open(path: string): Promise<FileHandle> {
    const h = await this.op(path, () => this.inner.open(path));
    return {
      size: h.size,
      read: (position, length) => this.op(path, () => h.read(position, length)),
      close: () => h.close(),
    };
  }

  /** The scan does not own the reader: closing is the device's business. */
  async close(): Promise<void> {}
}
