// The device a write goes to (docs/writes.md §5): opened O_RDWR|O_EXCL, refused when any block
// device showing the filesystem's bytes is mounted, and every write confined to the
// filesystem's byte range, read back after fdatasync and compared.

import * as fs from 'node:fs';
import { type ByteSource, IoError, SliceSource, toIoError } from '../discovery/io/source';
import { mountOver } from './mountinfo';
import { SECTOR, type SectorWrite } from './sectors';
import { type FsLocation, Refusal, type WriteOptions, type WriteRange } from './types';

/** A positioned reader over an fd opened for writing (FileSource opens read-only). */
class FdSource implements ByteSource {
  constructor(
    readonly name: string,
    private readonly fd: number,
    readonly size: number,
  ) {}

  readAt(buf: Uint8Array, offset: number, length: number, position: number): number {
    if (position >= this.size) return 0;
    try {
      return fs.readSync(this.fd, buf, offset, Math.min(length, this.size - position), position);
    } catch (e) {
      throw toIoError(e as NodeJS.ErrnoException, 'pread', this.name);
    }
  }
}

function deviceSize(fd: number, device: string): number {
  const st = fs.fstatSync(fd);
  if (st.isFile()) return st.size;
  if (!st.isBlockDevice()) throw new Refusal(`${device} is neither a block device nor an image file`);
  const name = fs.realpathSync(device).split('/').pop() ?? '';
  const sectors = Number(fs.readFileSync(`/sys/class/block/${name}/size`, 'utf8').trim());
  if (!Number.isSafeInteger(sectors)) throw new Refusal(`cannot read the size of ${device} from sysfs`);
  return sectors * 512;
}

export class WritableDevice {
  /** The filesystem's bytes: reads through it see what the writes leave. */
  readonly src: ByteSource;
  readonly writes: WriteRange[] = [];

  private constructor(
    readonly loc: FsLocation,
    private readonly fd: number,
    deviceBytes: number,
    private readonly opts: WriteOptions,
  ) {
    this.src = new SliceSource(new FdSource(loc.device, fd, deviceBytes), loc.offset, loc.size, loc.device);
  }

  /** Open for writing, or throw a Refusal (mounted: with the mount directory when it is this filesystem). */
  static open(loc: FsLocation, opts: WriteOptions = {}): WritableDevice {
    const { device, offset, size } = loc;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % SECTOR !== 0)
      throw new Refusal(`filesystem offset ${offset} in ${device} is not a multiple of ${SECTOR}`);
    if (!Number.isSafeInteger(size) || size < 4096) throw new Refusal(`filesystem size ${size} is too small`);
    const m = mountOver(device, offset, size);
    if (m) throw new Refusal(`${device}: ${m.what}; write through the mount instead`, m.dir);
    let fd: number;
    try {
      // O_EXCL on a block device: Linux refuses (EBUSY) while a mount or another exclusive opener holds it.
      fd = fs.openSync(device, fs.constants.O_RDWR | fs.constants.O_EXCL);
    } catch (e) {
      const err = toIoError(e as NodeJS.ErrnoException, 'open(O_RDWR|O_EXCL)', device);
      const why = err.code === 'EBUSY' ? ': the kernel holds it (a mount, device-mapper, md or another writer)' : '';
      throw new Refusal(err.message + why);
    }
    try {
      const bytes = deviceSize(fd, device);
      if (offset + size > bytes)
        throw new Refusal(`filesystem ${offset}+${size} extends past the end of ${device} (${bytes} bytes)`);
      return new WritableDevice(loc, fd, bytes, opts);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /**
   * Write each change (offsets relative to the filesystem), fdatasync, then read every written
   * range back and compare. Throws IoError naming the syscall, or Refusal when the read-back differs.
   */
  apply(changes: readonly SectorWrite[]): void {
    const { device, offset, size } = this.loc;
    for (const c of changes) {
      if (c.offset < 0 || c.offset + c.length > size || c.data.length !== c.length)
        throw new RangeError(`write ${c.offset}+${c.length} outside the filesystem (${size} bytes)`);
    }
    for (const c of changes) {
      const at = offset + c.offset;
      this.opts.recorder?.(at, c.data);
      this.writes.push({ offset: at, length: c.length });
      let done = 0;
      try {
        while (done < c.length) done += fs.writeSync(this.fd, c.data, done, c.length - done, at + done);
      } catch (e) {
        throw toIoError(e as NodeJS.ErrnoException, `pwrite at ${at + done}`, device);
      }
    }
    if (changes.length === 0) return;
    try {
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      throw toIoError(e as NodeJS.ErrnoException, 'fdatasync', device);
    }
    for (const c of changes) {
      const back = Buffer.alloc(c.length);
      if (this.src.readAt(back, 0, c.length, c.offset) !== c.length || !back.equals(c.data))
        throw new IoError(
          `read-back of ${offset + c.offset}+${c.length} differs from what was written`,
          'pread',
          'EIO',
          device,
        );
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
