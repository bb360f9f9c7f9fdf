// Byte sources: read-only, synchronous, positioned reads of a disk, an image file or a
// window of either (a partition). Synchronous because the ext2fs reader issues one call
// per block and an async round-trip per call costs 5-13x throughput (docs/packages.md §2);
// discovery runs these inside worker threads so a slow disk never blocks the menu.

import * as fs from 'node:fs';

export class IoError extends Error {
  constructor(
    message: string,
    readonly syscall: string,
    readonly code: string | undefined,
    readonly device: string,
  ) {
    super(message);
    this.name = 'IoError';
  }
}

export interface ByteSource {
  /** Human-readable name for messages: '/dev/vda', 'disk.img', 'disk.img:p2'. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /**
   * Read up to `length` bytes at `position` into `buf[offset..]`. Returns the number of
   * bytes read; fewer than asked only at the end of the source. Throws IoError.
   */
  readAt(buf: Uint8Array, offset: number, length: number, position: number): number;
}

/** Read exactly `length` bytes at `position`; throws IoError if the source is shorter. */
export function readExact(src: ByteSource, position: number, length: number): Buffer {
  if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new IoError(`bad read range ${position}+${length}`, 'pread', 'EINVAL', src.name);
  }
  if (position + length > src.size) {
    throw new IoError(`read past end: ${position}+${length} > size ${src.size}`, 'pread', 'ERANGE', src.name);
  }
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = src.readAt(buf, done, length - done, position + done);
    if (n <= 0) throw new IoError(`short read at ${position + done}`, 'pread', 'EIO', src.name);
    done += n;
  }
  return buf;
}

/** Read up to `length` bytes at `position`, clamped to the end of the source. */
export function readClamped(src: ByteSource, position: number, length: number): Buffer {
  if (position >= src.size) return Buffer.alloc(0);
  return readExact(src, position, Math.min(length, src.size - position));
}

const O_NOATIME = fs.constants.O_NOATIME ?? 0;

/**
 * A file or block device opened O_RDONLY|O_NOATIME (O_NOATIME is refused with EPERM when we
 * do not own the file and lack CAP_FOWNER; then plain O_RDONLY, which cannot write either).
 */
export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number;

  private constructor(
    readonly name: string,
    fd: number,
    size: number,
  ) {
    this.fd = fd;
    this.size = size;
  }

  static open(path: string, name = path): FileSource {
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY | O_NOATIME);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'EPERM') throw toIoError(err, 'open', name);
      try {
        fd = fs.openSync(path, fs.constants.O_RDONLY);
      } catch (e2) {
        throw toIoError(e2 as NodeJS.ErrnoException, 'open', name);
      }
    }
    try {
      const st = fs.fstatSync(fd);
      let size = st.size;
      if (st.isBlockDevice()) size = blockDeviceSize(fd, path);
      return new FileSource(name, fd, size);
    } catch (e) {
      fs.closeSync(fd);
      throw e instanceof IoError ? e : toIoError(e as NodeJS.ErrnoException, 'fstat', name);
    }
  }

  readAt(buf: Uint8Array, offset: number, length: number, position: number): number {
    if (this.fd < 0) throw new IoError('source closed', 'pread', 'EBADF', this.name);
    if (position >= this.size) return 0;
    const len = Math.min(length, this.size - position);
    try {
      return fs.readSync(this.fd, buf, offset, len, position);
    } catch (e) {
      throw toIoError(e as NodeJS.ErrnoException, 'pread', this.name);
    }
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** Size of a block device without an ioctl: seek to the end with a 1-byte probe via sysfs. */
function blockDeviceSize(_fd: number, path: string): number {
  // /sys/class/block/<name>/size is in 512-byte units for every block device.
  const real = fs.realpathSync(path);
  const base = real.split('/').pop() ?? '';
  try {
    const sectors = Number(fs.readFileSync(`/sys/class/block/${base}/size`, 'utf8').trim());
    if (Number.isSafeInteger(sectors)) return sectors * 512;
  } catch {
    /* fall through */
  }
  throw new IoError(`cannot determine size of ${path}`, 'stat', 'EINVAL', path);
}

/** A window [start, start+size) of another source, e.g. one partition of a disk. */
export class SliceSource implements ByteSource {
  constructor(
    private readonly parent: ByteSource,
    readonly start: number,
    readonly size: number,
    readonly name: string,
  ) {
    if (start < 0 || size < 0 || start + size > parent.size) {
      throw new IoError(
        `slice ${start}+${size} outside ${parent.name} (size ${parent.size})`,
        'slice',
        'ERANGE',
        parent.name,
      );
    }
  }

  readAt(buf: Uint8Array, offset: number, length: number, position: number): number {
    if (position >= this.size) return 0;
    const len = Math.min(length, this.size - position);
    return this.parent.readAt(buf, offset, len, this.start + position);
  }
}

/** An in-memory source (used for UKI sections, fuzzing mutated images, and netboot blobs). */
export class BufferSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly data: Uint8Array,
    readonly name = 'buffer',
  ) {
    this.size = data.length;
  }
  readAt(buf: Uint8Array, offset: number, length: number, position: number): number {
    if (position >= this.size) return 0;
    const n = Math.min(length, this.size - position);
    buf.set(this.data.subarray(position, position + n), offset);
    return n;
  }
}

/** `open /dev/vda: EPERM (operation not permitted)`: syscall, device, errno, meaning. */
export function toIoError(e: NodeJS.ErrnoException, syscall: string, device: string): IoError {
  const code = e.code ?? 'EIO';
  // Node's message is "EPERM: operation not permitted, open '/dev/vda'": keep the meaning.
  const meaning = /^[A-Z0-9]+: ([^,]+)/.exec(e.message)?.[1] ?? e.message;
  return new IoError(`${syscall} ${device}: ${code} (${meaning})`, syscall, code, device);
}
