// A read-only FileSystem over files already in memory (the verified images), so the UKI reader
// can derive a boot's parts from exactly the bytes that were verified (docs/signatures.md §4).

import { type FileHandle, type FileStat, type FileSystem, FsError } from '../discovery/fs/types';

export class MemoryFileSystem implements FileSystem {
  readonly type = 'memory';
  readonly caseInsensitive = false;
  constructor(private readonly files: ReadonlyMap<string, Uint8Array>) {}

  private get(path: string): Uint8Array {
    const b = this.files.get(path);
    if (!b) throw new FsError('ENOENT', path, 'not among the verified files');
    return b;
  }
  stat(path: string): Promise<FileStat> {
    return Promise.resolve().then(() => ({ kind: 'file', size: this.get(path).length }));
  }
  lstat(path: string): Promise<FileStat> {
    return this.stat(path);
  }
  readdir(path: string): Promise<never> {
    return Promise.reject(new FsError('ENOTDIR', path, 'a memory filesystem has no directories'));
  }
  open(path: string): Promise<FileHandle> {
    return Promise.resolve().then(() => {
      const b = this.get(path);
      return {
        size: b.length,
        read: (pos: number, len: number) => Promise.resolve(b.subarray(pos, Math.min(b.length, pos + len))),
        close: () => Promise.resolve(),
      };
    });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
