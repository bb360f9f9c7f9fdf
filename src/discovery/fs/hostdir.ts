// A host directory served through the FileSystem interface: `tendril list --root DIR`
// reads an unpacked /boot or ESP tree (a chroot, a mounted disk) with exactly the same
// rules as a disk. Symlinks are resolved by us, inside DIR, never by the host.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import {
  type DirEntry,
  type FileHandle,
  type FileKind,
  type FileStat,
  type FileSystem,
  FsError,
  MAX_SYMLINKS,
  type ReaddirOptions,
  normalizePath,
  readdirLimit,
} from './types';

function kindOf(st: fs.Stats): FileKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function mapErr(e: unknown, path: string): FsError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP' || code === 'EACCES') {
    return new FsError(code, path);
  }
  return new FsError('EIO', path, String(code ?? e));
}

export class HostDirFileSystem implements FileSystem {
  readonly type = 'hostdir';
  constructor(
    private readonly root: string,
    readonly caseInsensitive = false,
  ) {}

  /** Resolve symlinks component by component, clamped inside root. Returns a clean path. */
  private resolve(path: string, followLast: boolean): string {
    let pending = normalizePath(path).split('/').filter(Boolean);
    const done: string[] = [];
    let links = 0;
    while (pending.length) {
      const name = pending.shift()!;
      const real = this.lookupName(done, name, path);
      const host = nodePath.join(this.root, ...done, real);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(host);
      } catch (e) {
        throw mapErr(e, path);
      }
      if (st.isSymbolicLink() && (pending.length > 0 || followLast)) {
        if (++links > MAX_SYMLINKS)
          throw new FsError('ELOOP', path, `more than ${MAX_SYMLINKS} symlinks, the kernel's MAXSYMLINKS`);
        const target = fs.readlinkSync(host);
        const base = target.startsWith('/') ? [] : done.slice();
        const joined = normalizePath('/' + [...base, target].join('/'))
          .split('/')
          .filter(Boolean);
        done.length = 0;
        pending = [...joined, ...pending];
        continue;
      }
      if (pending.length > 0 && !st.isDirectory()) throw new FsError('ENOTDIR', path);
      done.push(real);
    }
    return '/' + done.join('/');
  }

  private lookupName(dir: string[], name: string, path: string): string {
    if (!this.caseInsensitive) return name;
    const host = nodePath.join(this.root, ...dir);
    let names: string[];
    try {
      names = fs.readdirSync(host);
    } catch (e) {
      throw mapErr(e, path);
    }
    if (names.includes(name)) return name;
    const lower = name.toLowerCase();
    return names.find((n) => n.toLowerCase() === lower) ?? name;
  }

  private hostPath(clean: string): string {
    return nodePath.join(this.root, clean);
  }

  async stat(path: string): Promise<FileStat> {
    const p = this.hostPath(this.resolve(path, true));
    try {
      const st = fs.statSync(p);
      return { kind: kindOf(st), size: st.size, mtimeMs: st.mtimeMs };
    } catch (e) {
      throw mapErr(e, path);
    }
  }

  async lstat(path: string): Promise<FileStat> {
    const p = this.hostPath(this.resolve(path, false));
    try {
      const st = fs.lstatSync(p);
      return { kind: kindOf(st), size: st.size, mtimeMs: st.mtimeMs };
    } catch (e) {
      throw mapErr(e, path);
    }
  }

  async readdir(path: string, opts?: ReaddirOptions): Promise<DirEntry[]> {
    const limit = readdirLimit(opts, path);
    const p = this.hostPath(this.resolve(path, true));
    const out: DirEntry[] = [];
    let dir: fs.Dir | undefined;
    try {
      // Entry by entry, so a limit stops the reading.
      dir = fs.opendirSync(p);
      for (let d = out.length < limit ? dir.readSync() : null; d; d = out.length < limit ? dir.readSync() : null) {
        out.push({
          name: d.name,
          kind: d.isFile() ? 'file' : d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : 'other',
        });
      }
      return out;
    } catch (e) {
      throw mapErr(e, path);
    } finally {
      dir?.closeSync();
    }
  }

  async open(path: string): Promise<FileHandle> {
    const p = this.hostPath(this.resolve(path, true));
    let fd: number;
    try {
      const st = fs.statSync(p);
      if (st.isDirectory()) throw new FsError('EISDIR', path);
      if (!st.isFile()) throw new FsError('EINVAL', path, 'not a regular file');
      fd = fs.openSync(p, fs.constants.O_RDONLY | (fs.constants.O_NOATIME ?? 0));
    } catch (e) {
      if (e instanceof FsError) throw e;
      throw mapErr(e, path);
    }
    const size = fs.fstatSync(fd).size;
    return {
      size,
      async read(position: number, length: number): Promise<Uint8Array> {
        const n = Math.max(0, Math.min(length, size - position));
        const buf = Buffer.alloc(n);
        let done = 0;
        while (done < n) {
          const r = fs.readSync(fd, buf, done, n - done, position + done);
          if (r <= 0) break;
          done += r;
        }
        return buf.subarray(0, done);
      },
      async close(): Promise<void> {
        fs.closeSync(fd);
      },
    };
  }

  async close(): Promise<void> {}
}
