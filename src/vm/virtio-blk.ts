// virtio-blk (virtio 1.2 §5.2; docs/vmm-platform.md §12) as a VirtioDevice behind the PCI
// transport: one request queue of up to 256 entries; IN, OUT, FLUSH and GET_ID; anything else
// UNSUPP, failures IOERR. The requests are served by a BlockBackend: LocalBlockBackend on the
// device's own thread (unit tests), or the I/O thread (io-client.ts) in a KVM machine, which takes
// the queue's notifies from an ioeventfd and interrupts through irqfd, so a request never stops a
// vCPU thread. Either way the backing store is a Disk (disk.ts: copy-on-write overlay by default).
import type { Disk } from './disk';
import type { VirtioActivation, VirtioDevice } from './virtio';
import { SplitQueue, type Chain } from './virtqueue';

export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;
export const QUEUE_MAX = 256;
const SEG_MAX = 126;
const CONFIG_SIZE = 0x24;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

export interface BlockStats {
  requests: number;
  readBytes: number;
  writeBytes: number;
  errors: number;
}

export function newBlockStats(): BlockStats {
  return { requests: 0, readBytes: 0, writeBytes: 0, errors: 0 };
}

export function blockFeatures(readOnly: boolean): bigint {
  let f =
    (1n << BigInt(VIRTIO_BLK_F_BLK_SIZE)) | (1n << BigInt(VIRTIO_BLK_F_SEG_MAX)) | (1n << BigInt(VIRTIO_BLK_F_FLUSH));
  if (readOnly) f |= 1n << BigInt(VIRTIO_BLK_F_RO);
  return f;
}

/** The device configuration space: capacity (512-byte sectors), seg_max, blk_size. */
export function blockConfig(diskSize: number): Uint8Array {
  const b = new Uint8Array(CONFIG_SIZE);
  const dc = new DataView(b.buffer);
  dc.setBigUint64(0, BigInt(Math.floor(diskSize / 512)), true);
  dc.setUint32(0x0c, SEG_MAX, true);
  dc.setUint32(0x14, 512, true);
  return b;
}

/** Who serves a virtio-blk device's queue. */
export interface BlockBackend {
  readonly kind: 'virtio-blk';
  readonly size: number;
  readonly readOnly: boolean;
  readonly stats: BlockStats;
  activate(a: VirtioActivation): void;
  /** A notify that reached the device's thread. */
  notify(q: number): void;
  reset(): void;
  /** The eventfd the kernel should signal for a notify of queue q (KVM_IOEVENTFD), if any. */
  notifyFd(q: number): number | null;
}

/** Serves the queue on the device's thread, synchronously, at the notify. */
export class LocalBlockBackend implements BlockBackend {
  readonly kind = 'virtio-blk';
  private queue: SplitQueue | null = null;
  private active: VirtioActivation | null = null;
  readonly stats = newBlockStats();

  constructor(private readonly disk: Disk) {}

  get size(): number {
    return this.disk.size;
  }
  get readOnly(): boolean {
    return this.disk.readOnly;
  }

  activate(a: VirtioActivation): void {
    this.active = a;
    const q = a.queues[0];
    this.queue = q ? new SplitQueue(q, a.mem) : null;
  }

  reset(): void {
    this.active = null;
    this.queue = null;
  }

  notify(q: number): void {
    if (q !== 0 || !this.queue || !this.active) return;
    const served = this.queue.drain((c) => serveBlockRequest(this.disk, c, this.stats));
    if (served < 0) this.active.needsReset();
    else if (served > 0) this.active.signal(0);
  }

  notifyFd(): null {
    return null;
  }
}

export class VirtioBlk implements VirtioDevice {
  readonly type = VIRTIO_ID_BLOCK;
  readonly classCode = 0x010000;
  readonly features: bigint;
  readonly queueMaxSizes = [QUEUE_MAX];
  readonly configSize = CONFIG_SIZE;
  private readonly cfg: Uint8Array;

  constructor(readonly backend: BlockBackend) {
    this.features = blockFeatures(backend.readOnly);
    this.cfg = blockConfig(backend.size);
  }

  get stats(): BlockStats {
    return this.backend.stats;
  }

  readConfig(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (this.cfg[offset + i] ?? 0);
    return v >>> 0;
  }

  writeConfig(): void {} // read-only for blk (writeback not offered)

  activate(a: VirtioActivation): void {
    this.backend.activate(a);
  }

  reset(): void {
    this.backend.reset();
  }

  notify(q: number): void {
    this.backend.notify(q);
  }

  notifyFd(q: number): number | null {
    return this.backend.notifyFd(q);
  }
}

/**
 * One request: a 16-byte header `{le32 type; le32 reserved; le64 sector}` in the readable
 * buffers (then the data for OUT), data buffers and a 1-byte status at the end of the writable
 * ones. Returns the bytes written into writable buffers (data + status).
 */
export function serveBlockRequest(disk: Disk, c: Chain, stats: BlockStats): number {
  stats.requests++;
  const b = c.buffers;
  const last = b?.writable[b.writable.length - 1];
  const hdr = b ? gather(b.readable, 16) : null;
  if (!b || !hdr || !last || last.length < 1) {
    stats.errors++;
    return 0;
  }
  const statusByte = last.subarray(last.length - 1);
  const data = b.writable.slice(0, -1);
  if (last.length > 1) data.push(last.subarray(0, last.length - 1));
  const hv = new DataView(hdr.buffer, hdr.byteOffset, 16);
  const type = hv.getUint32(0, true);
  const sector = Number(hv.getBigUint64(8, true));
  let status = VIRTIO_BLK_S_OK;
  let written = 0;
  try {
    if (type === VIRTIO_BLK_T_IN) {
      let pos = sector * 512;
      const total = data.reduce((a, d) => a + d.length, 0);
      if (pos + total > disk.size) status = VIRTIO_BLK_S_IOERR;
      else
        for (const d of data) {
          disk.read(pos, d);
          pos += d.length;
          written += d.length;
        }
      stats.readBytes += written;
    } else if (type === VIRTIO_BLK_T_OUT) {
      const total = b.readable.reduce((a, d) => a + d.length, 0) - 16;
      let pos = sector * 512;
      if (disk.readOnly || pos + total > disk.size) status = VIRTIO_BLK_S_IOERR;
      else {
        let skip = 16;
        for (const s of b.readable) {
          const part = s.subarray(Math.min(skip, s.length));
          skip -= Math.min(skip, s.length);
          if (part.length && !disk.write(pos, part)) {
            status = VIRTIO_BLK_S_IOERR;
            break;
          }
          pos += part.length;
        }
        stats.writeBytes += total;
      }
    } else if (type === VIRTIO_BLK_T_FLUSH) {
      disk.flush();
    } else if (type === VIRTIO_BLK_T_GET_ID) {
      const id = Buffer.alloc(20);
      id.write('tendril-disk', 'ascii');
      let off = 0;
      for (const d of data) {
        const n = Math.min(d.length, 20 - off);
        d.set(id.subarray(off, off + n));
        off += n;
        written += n;
      }
    } else {
      status = VIRTIO_BLK_S_UNSUPP;
    }
  } catch {
    status = VIRTIO_BLK_S_IOERR;
  }
  if (status !== VIRTIO_BLK_S_OK) stats.errors++;
  statusByte[0] = status;
  return written + 1;
}

/** The first `len` bytes of a scatter list, copied only if they span segments. */
function gather(views: Uint8Array[], len: number): Uint8Array | null {
  const first = views[0];
  if (first && first.length >= len) return first.subarray(0, len);
  const out = new Uint8Array(len);
  let got = 0;
  for (const v of views) {
    const n = Math.min(v.length, len - got);
    out.set(v.subarray(0, n), got);
    got += n;
    if (got === len) return out;
  }
  return null;
}
