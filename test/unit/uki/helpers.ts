// Shared test helpers: open real fixture files through the FileSystem interface.
import * as path from 'node:path';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import type { FileHandle } from '../../../src/discovery/fs/types';
import { type PeImage, parsePeHandle } from '../../../src/discovery/uki/pe';

/** Open a host file read-only as a FileHandle (its directory served by HostDirFileSystem). */
export async function openHost(file: string): Promise<FileHandle> {
  return new HostDirFileSystem(path.dirname(file)).open('/' + path.basename(file));
}

export async function withHostPe<T>(file: string, fn: (pe: PeImage, h: FileHandle) => Promise<T>): Promise<T> {
  const h = await openHost(file);
  try {
    return await fn(await parsePeHandle(h, path.basename(file)), h);
  } finally {
    await h.close();
  }
}

/** A FileHandle over bytes in memory (for fuzzing mutated images). */
export function memoryHandle(data: Uint8Array): FileHandle & { maxRead: number } {
  const h = {
    size: data.length,
    maxRead: 0,
    async read(position: number, length: number): Promise<Uint8Array> {
      h.maxRead = Math.max(h.maxRead, length);
      return data.subarray(position, Math.max(position, Math.min(data.length, position + length)));
    },
    async close(): Promise<void> {},
  };
  return h;
}
