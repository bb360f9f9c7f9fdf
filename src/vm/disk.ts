// Backing store for the virtual disk: a host block device or image file, opened read-only
// unless the user asked for write-through (",rw"). In the default mode guest writes land in
// an in-memory copy-on-write overlay (4 KiB chunks, bounded) and never reach the host.
import * as fs from 'node:fs';
import { ArgError } from '../util/args';

export type DiskMode = 'cow' | 'rw' | 'ro';
const CHUNK = 4096;
export const OVERLAY_LIMIT_DEFAULT = 512 * 1024 * 1024;

/** The controller the guest sees the disk on: virtio-blk, or NVMe or AHCI (SATA) for guests
 *  without virtio drivers (Windows; docs/vmm-platform.md §14, §16). */
export type DiskInterface = 'virtio' | 'nvme' | 'ahci';

export interface DiskSpec {
  readonly path: string;
  readonly mode: DiskMode;
  /** Default virtio. */
  readonly iface?: DiskInterface;
  /** Listed in the fw_cfg bootorder (default). `,noboot` leaves it out, see platform.ts. */
  readonly boot?: boolean;
}

/** `DEV[,rw|,ro][,noboot][,if=virtio|nvme|ahci]`: the default (no suffix) is the copy-on-write overlay
 *  on virtio-blk. Throws ArgError phrased to follow `--disk`. */
export function parseDiskSpec(arg: string): DiskSpec {
  const parts = arg.split(',');
  const path = parts.shift() ?? '';
  if (!path) throw new ArgError(`needs a path, got '${arg}'`);
  let mode: DiskMode = 'cow';
  let boot = true;
  let iface: DiskInterface = 'virtio';
  for (const p of parts) {
    if (p === 'rw') mode = 'rw';
    else if (p === 'ro') mode = 'ro';
    else if (p === 'noboot') boot = false;
    else if (p === 'if=virtio' || p === 'if=nvme' || p === 'if=ahci') iface = p.slice(3) as DiskInterface;
    else if (p.startsWith('if='))
      throw new ArgError(`${arg}: unknown interface '${p.slice(3)}' (use if=virtio, if=nvme or if=ahci)`);
    else throw new ArgError(`${arg}: unknown option '${p}' (use ,rw ,ro ,noboot, ,if=nvme or ,if=ahci)`);
  }
  return { path, mode, ...(boot ? {} : { boot }), ...(iface !== 'virtio' ? { iface } : {}) };
}

function deviceSize(fd: number, path: string): number {
  const st = fs.fstatSync(fd);
  if (st.isFile()) return st.size;
  if (st.isBlockDevice()) {
    const major = Math.floor(st.rdev / 256) & 0xfff;
    const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
    const sectors = Number(fs.readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim());
    if (!Number.isFinite(sectors)) throw new Error(`${path}: cannot read size from sysfs`);
    return sectors * 512;
  }
  throw new Error(`${path}: not a regular file or block device`);
}

export class Disk {
  readonly size: number;
  private readonly overlay = new Map<number, Uint8Array>();
  private overlayBytes = 0;

  private constructor(
    private readonly fd: number,
    readonly spec: DiskSpec,
    private readonly overlayLimit: number,
  ) {
    this.size = deviceSize(fd, spec.path);
  }

  static open(spec: DiskSpec, overlayLimit = OVERLAY_LIMIT_DEFAULT): Disk {
    let fd: number;
    try {
      fd = fs.openSync(spec.path, spec.mode === 'rw' ? fs.constants.O_RDWR : fs.constants.O_RDONLY);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(`open ${spec.path}: ${err.code ?? ''} ${err.message}`);
    }
    return new Disk(fd, spec, overlayLimit);
  }

  get readOnly(): boolean {
    return this.spec.mode === 'ro';
  }

  get overlaySize(): number {
    return this.overlayBytes;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** Read `dst.length` bytes at `offset`; bytes past the end read as zeros. Throws on I/O errors. */
  read(offset: number, dst: Uint8Array): void {
    let done = 0;
    while (done < dst.length) {
      const pos = offset + done;
      const chunk = Math.floor(pos / CHUNK);
      const within = pos % CHUNK;
      const n = Math.min(dst.length - done, CHUNK - within);
      const ov = this.overlay.get(chunk);
      if (ov) dst.set(ov.subarray(within, within + n), done);
      else this.readHost(pos, dst.subarray(done, done + n));
      done += n;
    }
  }

  private readHost(pos: number, dst: Uint8Array): void {
    let got = 0;
    while (got < dst.length) {
      const r = fs.readSync(this.fd, dst, got, dst.length - got, pos + got);
      if (r === 0) break;
      got += r;
    }
    dst.fill(0, got);
  }

  /** Returns false when the write is refused (read-only disk or overlay full). */
  write(offset: number, src: Uint8Array): boolean {
    if (this.spec.mode === 'ro') return false;
    if (this.spec.mode === 'rw') {
      let put = 0;
      while (put < src.length) put += fs.writeSync(this.fd, src, put, src.length - put, offset + put);
      return true;
    }
    let done = 0;
    while (done < src.length) {
      const pos = offset + done;
      const chunk = Math.floor(pos / CHUNK);
      const within = pos % CHUNK;
      const n = Math.min(src.length - done, CHUNK - within);
      let ov = this.overlay.get(chunk);
      if (!ov) {
        if (this.overlayBytes + CHUNK > this.overlayLimit) return false;
        ov = new Uint8Array(CHUNK);
        this.readHost(chunk * CHUNK, ov);
        this.overlay.set(chunk, ov);
        this.overlayBytes += CHUNK;
      }
      ov.set(src.subarray(done, done + n), within);
      done += n;
    }
    return true;
  }

  flush(): void {
    if (this.spec.mode === 'rw') fs.fdatasyncSync(this.fd);
  }
}
