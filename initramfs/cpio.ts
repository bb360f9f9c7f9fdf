// A cpio "newc" (070701) writer, the format the kernel unpacks into its initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst). Deterministic: fixed mtime,
// uid/gid 0, inodes numbered in order, so equal inputs give equal bytes (and cache keys).

export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly kind: 'file'; readonly path: string; readonly data: Uint8Array; readonly mode?: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  | {
      readonly kind: 'char' | 'block';
      readonly path: string;
      readonly major: number;
      readonly minor: number;
      readonly mode?: number;
    };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
/** newc fields are 8 hex digits. */
const MAX_FIELD = 0xffffffff;
export const TRAILER = 'TRAILER!!!';

const hex8 = (n: number): string => {
  if (!Number.isInteger(n) || n < 0 || n > MAX_FIELD) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
};

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** Archive names are relative ('bin/sh'); a leading '/' or './' is dropped. */
export function archiveName(path: string): string {
  const n = path.replace(/^(\.\/|\/)+/, '');
  if (n === '' || n.split('/').some((c) => c === '..' || c === ''))
    throw new Error(`bad cpio path: ${JSON.stringify(path)}`);
  if (n.includes('\0')) throw new Error('NUL in cpio path');
  return n;
}

export class CpioWriter {
  private readonly chunks: Uint8Array[] = [];
  private ino = 1;
  private size = 0;
  private readonly seen = new Set<string>();
  private done = false;

  constructor(private readonly mtime = 0) {}

  private header(name: string, mode: number, fileSize: number, nlink: number, rdevMajor = 0, rdevMinor = 0): void {
    const nameBytes = Buffer.from(name + '\0', 'utf8');
    const fields = [
      this.ino++,
      mode,
      0,
      0,
      nlink,
      this.mtime,
      fileSize,
      0,
      0,
      rdevMajor,
      rdevMinor,
      nameBytes.length,
      0,
    ];
    const hdr = Buffer.from('070701' + fields.map(hex8).join(''), 'ascii');
    this.push(hdr);
    this.push(nameBytes);
    this.push(new Uint8Array(pad4(hdr.length + nameBytes.length)));
  }

  private push(b: Uint8Array): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.size += b.length;
  }

  /** Adds an entry. Duplicate paths are an error: the later one would silently win. */
  add(e: CpioEntry): this {
    if (this.done) throw new Error('cpio archive already finished');
    const name = archiveName(e.path);
    if (this.seen.has(name)) throw new Error(`duplicate cpio path: ${name}`);
    this.seen.add(name);
    switch (e.kind) {
      case 'dir':
        this.header(name, S_IFDIR | (e.mode ?? 0o755), 0, 2);
        break;
      case 'file':
        this.header(name, S_IFREG | (e.mode ?? 0o644), e.data.length, 1);
        this.push(e.data);
        this.push(new Uint8Array(pad4(e.data.length)));
        break;
      case 'symlink': {
        const t = Buffer.from(e.target, 'utf8');
        this.header(name, S_IFLNK | 0o777, t.length, 1);
        this.push(t);
        this.push(new Uint8Array(pad4(t.length)));
        break;
      }
      case 'char':
      case 'block':
        this.header(name, (e.kind === 'char' ? S_IFCHR : S_IFBLK) | (e.mode ?? 0o600), 0, 1, e.major, e.minor);
        break;
    }
    return this;
  }

  has(path: string): boolean {
    return this.seen.has(archiveName(path));
  }

  /** Writes the trailer and returns the chunks (concatenate or stream them). */
  finish(): Uint8Array[] {
    if (!this.done) {
      this.header(TRAILER, 0, 0, 1);
      this.done = true;
    }
    return this.chunks;
  }

  get byteLength(): number {
    return this.size;
  }
}

/** Convenience: a whole archive as one buffer. */
export function cpioArchive(entries: readonly CpioEntry[], mtime = 0): Buffer {
  const w = new CpioWriter(mtime);
  for (const e of entries) w.add(e);
  return Buffer.concat(w.finish());
}
