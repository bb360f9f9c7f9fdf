// ext2/3/4 volumes are read by our own reader (ext-native.ts over ext-layout.ts and
// ext-dir.ts) for names, stat, symlinks and data alike.
//
// Why not libext2fs (the `ext2fs` WASM package, docs/packages.md §2), which this reader used
// for lookups and as a fallback: a mixed reader turned the own reader's corruption report into
// data (an extent index block that indexes itself: we said EIO, the fallback returned block 0
// as the file), it cost one libext2fs lstat per directory entry (a 40,000-name /boot took 93 s
// to probe and 82 s to list; now under half a second each, bench/fs-paths.ts), one whole-path
// namei per component (a path 300 directories deep cost 50 times what it costs now, and grew
// with the square of the depth), and its fixed 16 MiB heap could not mount large volumes
// anyway, so the own reader had to be complete regardless.
// One engine means one answer: a corruption it finds is the error of that file, never a
// second opinion's bytes. libext2fs stays as the independent reference in the tests
// (ext-lib.ts, test/unit/fs/ext-crosscheck.test.ts): over images made by mke2fs and debugfs
// both engines must agree, and where the volume is corrupt ours may only be the stricter one.

import type { ByteSource } from '../io/source';
import { readExact } from '../io/source';
import { type ExtSuper, parseSuper } from './ext-layout';
import { type ExtNativeOps, type ExtNode, nativeExtFileSystem } from './ext-native';
import type { FileSystem } from './types';
import { FsError } from './types';
import { type TreeFileSystem, ioGuard } from './walk';

export interface ExtFileSystem extends FileSystem {
  readonly superblock: ExtSuper;
  /** 'native' in tendril; 'libext2fs' only for the reference reader of the tests (ext-lib.ts). */
  readonly engine: 'native' | 'libext2fs';
  /** Things worth a diagnostic when the volume is opened (a journal that is not replayed). */
  readonly notes: readonly string[];
}

/** The native reader with its parts exposed for tests and benchmarks. */
export interface NativeExt {
  readonly fsys: ExtFileSystem;
  readonly tree: TreeFileSystem<ExtNode>;
  readonly ops: ExtNativeOps;
}

/** Read and check the superblock of `src`. Throws FsError (EINVAL for something that is not ext). */
export function readExtSuper(src: ByteSource): ExtSuper {
  if (src.size < 2048) throw new FsError('EINVAL', src.name, 'too small for an ext superblock');
  return parseSuper(
    ioGuard(src.name, () => readExact(src, 1024, 1024)),
    src.size,
    src.name,
  );
}

export function openExtNative(src: ByteSource, type: string): NativeExt {
  const sb = readExtSuper(src);
  const notes: string[] = [];
  if (sb.needsRecovery) notes.push('the journal needs recovery and is not replayed: recent changes may be missing');
  const { fsys: tree, ops } = nativeExtFileSystem(type, src, sb);
  // The root is read now, so a volume whose root cannot be reached (an inode table beyond the
  // volume, a corrupt root inode) is reported when it is opened, with what is wrong, instead
  // of vanishing at the first lookup.
  try {
    ops.root();
  } catch (e) {
    if (e instanceof FsError)
      throw new FsError('EIO', src.name, `cannot read the root directory: ${e.detail ?? e.code}`);
    throw e;
  }
  Object.defineProperty(tree, 'superblock', { value: sb, enumerable: true });
  Object.defineProperty(tree, 'engine', { value: 'native', enumerable: true });
  Object.defineProperty(tree, 'notes', { value: notes, enumerable: true });
  return { fsys: tree as unknown as ExtFileSystem, tree, ops };
}

/** Open an ext2/3/4 volume. Throws FsError (EINVAL for something that is not ext, EIO for an unreadable root). */
export async function openExt(src: ByteSource, type: string): Promise<ExtFileSystem> {
  return openExtNative(src, type).fsys;
}
