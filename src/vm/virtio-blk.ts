// virtio-blk, modern PCI transport only (1AF4:1042, virtio 1.2 §4.1 and §5.2). One 16 KiB
// 32-bit memory BAR: common cfg 0x0000, ISR 0x1000, device cfg 0x2000, notify 0x3000.
// Requests are served synchronously on the notify exit. Interrupts: INTx (level, dropped when
// ISR is read); OVMF polls, Linux falls back to INTx when no MSI-X capability is present.
import type { MmioBus, MmioDevice } from './bus';
import type { Disk } from './disk';
import type { GuestMemory } from './memory';
import { PCI_STATUS_CAP_LIST, PciFunction } from './pci';

export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;
export const BAR_SIZE = 0x4000;
const COMMON = 0x0000;
const ISR = 0x1000;
const DEVICE = 0x2000;
const NOTIFY = 0x3000;
const NOTIFY_MULT = 4;
const QUEUE_MAX = 256;
const SEG_MAX = 126;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

const DESC_F_NEXT = 1;
const DESC_F_WRITE = 2;

interface Queue {
  size: number;
  enable: number;
  msixVector: number;
  desc: number;
  driver: number;
  device: number;
  lastAvail: number;
}

interface Segment {
  view: Uint8Array;
  write: boolean;
}

function newQueue(): Queue {
  return { size: QUEUE_MAX, enable: 0, msixVector: 0xffff, desc: 0, driver: 0, device: 0, lastAvail: 0 };
}

export class VirtioBlk extends PciFunction implements MmioDevice {
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private driverFeatures = 0n;
  private status = 0;
  private queueSelect = 0;
  private queue = newQueue();
  private isr = 0;
  private configMsix = 0xffff;
  readonly features: bigint;
  private readonly deviceConfig = new Uint8Array(0x24);
  readonly stats = { requests: 0, readBytes: 0, writeBytes: 0, errors: 0, notifies: 0 };

  constructor(
    private readonly disk: Disk,
    private readonly mem: GuestMemory,
    private readonly mmio: MmioBus,
    private readonly setIrq: (level: boolean) => void,
  ) {
    super({
      vendor: 0x1af4,
      device: 0x1042,
      revision: 0x01,
      classCode: 0x010000,
      headerType: 0x00,
      subsystemVendor: 0x1af4,
      subsystemId: 0x0040,
      interruptPin: 1,
    });
    this.defineBar(0, { kind: 'mem32', size: BAR_SIZE });
    this.config[6] = PCI_STATUS_CAP_LIST;
    this.config[0x34] = 0x40;
    this.cap(0x40, 0x50, 16, 1, COMMON, 0x38);
    this.cap(0x50, 0x64, 20, 2, NOTIFY, 0x1000);
    new DataView(this.config.buffer).setUint32(0x50 + 16, NOTIFY_MULT, true);
    this.cap(0x64, 0x74, 16, 3, ISR, 0x1000);
    this.cap(0x74, 0x84, 16, 4, DEVICE, 0x1000);
    this.cap(0x84, 0x00, 20, 5, 0, 0); // VIRTIO_PCI_CAP_PCI_CFG (required by the spec, unused)
    for (let i = 0x84 + 4; i < 0x84 + 20; i++) this.wmask[i] = 0xff;
    let f =
      (1n << BigInt(VIRTIO_F_VERSION_1)) |
      (1n << BigInt(VIRTIO_BLK_F_BLK_SIZE)) |
      (1n << BigInt(VIRTIO_BLK_F_SEG_MAX)) |
      (1n << BigInt(VIRTIO_BLK_F_FLUSH));
    if (disk.readOnly) f |= 1n << BigInt(VIRTIO_BLK_F_RO);
    this.features = f;
    const dc = new DataView(this.deviceConfig.buffer);
    dc.setBigUint64(0, BigInt(Math.floor(disk.size / 512)), true);
    dc.setUint32(0x0c, SEG_MAX, true);
    dc.setUint32(0x14, 512, true);
  }

  private cap(at: number, next: number, len: number, type: number, offset: number, length: number): void {
    const v = new DataView(this.config.buffer);
    this.config[at] = 0x09;
    this.config[at + 1] = next;
    this.config[at + 2] = len;
    this.config[at + 3] = type;
    this.config[at + 4] = 0; // BAR 0
    v.setUint32(at + 8, offset, true);
    v.setUint32(at + 12, length, true);
  }

  protected override barMapped(_i: number, addr: number | null): void {
    this.mmio.unregister(this);
    if (addr !== null) this.mmio.register(addr, BAR_SIZE, this);
  }

  private reset(): void {
    this.status = 0;
    this.driverFeatures = 0n;
    this.queue = newQueue();
    this.queueSelect = 0;
    this.isr = 0;
    this.setIrq(false);
  }

  mmioRead(offset: number, size: number): bigint {
    if (offset >= DEVICE && offset < DEVICE + 0x1000) {
      const o = offset - DEVICE;
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.deviceConfig[o + i] ?? 0);
      return v;
    }
    if (offset >= ISR && offset < ISR + 0x1000) {
      const v = this.isr;
      this.isr = 0;
      this.setIrq(false);
      return BigInt(v);
    }
    if (offset < 0x38) return BigInt(this.commonRead(offset, size));
    return 0n;
  }

  private commonRead(o: number, size: number): number {
    const q = this.queueSelect === 0 ? this.queue : null;
    switch (o) {
      case 0x00:
        return this.deviceFeatureSelect;
      case 0x04:
        return this.deviceFeatureSelect < 2
          ? Number((this.features >> BigInt(32 * this.deviceFeatureSelect)) & 0xffffffffn)
          : 0;
      case 0x08:
        return this.driverFeatureSelect;
      case 0x0c:
        return this.driverFeatureSelect < 2
          ? Number((this.driverFeatures >> BigInt(32 * this.driverFeatureSelect)) & 0xffffffffn)
          : 0;
      case 0x10:
        return this.configMsix;
      case 0x12:
        return 1;
      case 0x14:
        return size === 1 ? this.status : this.status; // config_generation (0x15) = 0
      case 0x15:
        return 0;
      case 0x16:
        return this.queueSelect;
      case 0x18:
        return q ? q.size : 0;
      case 0x1a:
        return q ? q.msixVector : 0xffff;
      case 0x1c:
        return q ? q.enable : 0;
      case 0x1e:
        return 0; // queue_notify_off
      case 0x20:
        return q ? q.desc % 0x1_0000_0000 : 0;
      case 0x24:
        return q ? Math.floor(q.desc / 0x1_0000_0000) : 0;
      case 0x28:
        return q ? q.driver % 0x1_0000_0000 : 0;
      case 0x2c:
        return q ? Math.floor(q.driver / 0x1_0000_0000) : 0;
      case 0x30:
        return q ? q.device % 0x1_0000_0000 : 0;
      case 0x34:
        return q ? Math.floor(q.device / 0x1_0000_0000) : 0;
      default:
        return 0;
    }
  }

  mmioWrite(offset: number, size: number, value: bigint): void {
    if (offset >= NOTIFY && offset < NOTIFY + 0x1000) {
      this.stats.notifies++;
      if ((offset - NOTIFY) / NOTIFY_MULT === 0) this.processQueue();
      return;
    }
    if (offset >= DEVICE) return; // device config is read-only for blk (writeback not offered)
    if (offset < 0x38) this.commonWrite(offset, size, Number(value & 0xffffffffn));
  }

  private commonWrite(o: number, _size: number, v: number): void {
    const q = this.queueSelect === 0 ? this.queue : null;
    const setHalf = (cur: number, high: boolean) =>
      high ? (cur % 0x1_0000_0000) + v * 0x1_0000_0000 : Math.floor(cur / 0x1_0000_0000) * 0x1_0000_0000 + v;
    switch (o) {
      case 0x00:
        this.deviceFeatureSelect = v;
        break;
      case 0x08:
        this.driverFeatureSelect = v;
        break;
      case 0x0c:
        if (this.driverFeatureSelect < 2) {
          const shift = BigInt(32 * this.driverFeatureSelect);
          this.driverFeatures =
            (this.driverFeatures & ~(0xffffffffn << shift)) | ((BigInt(v) << shift) & this.features);
        }
        break;
      case 0x10:
        this.configMsix = v & 0xffff;
        break;
      case 0x14:
        if ((v & 0xff) === 0) this.reset();
        else this.status = v & 0xff;
        break;
      case 0x16:
        this.queueSelect = v & 0xffff;
        break;
      case 0x18:
        if (q && v >= 1 && v <= QUEUE_MAX && (v & (v - 1)) === 0) q.size = v;
        break;
      case 0x1a:
        if (q) q.msixVector = v & 0xffff;
        break;
      case 0x1c:
        if (q) {
          q.enable = v & 1;
          q.lastAvail = 0;
        }
        break;
      case 0x20:
        if (q) q.desc = setHalf(q.desc, false);
        break;
      case 0x24:
        if (q) q.desc = setHalf(q.desc, true);
        break;
      case 0x28:
        if (q) q.driver = setHalf(q.driver, false);
        break;
      case 0x2c:
        if (q) q.driver = setHalf(q.driver, true);
        break;
      case 0x30:
        if (q) q.device = setHalf(q.device, false);
        break;
      case 0x34:
        if (q) q.device = setHalf(q.device, true);
        break;
      default:
        break;
    }
  }

  /** Serve every new avail entry, then publish the used index and raise the interrupt. */
  processQueue(): void {
    const q = this.queue;
    if (!q.enable || !(this.status & 4)) return;
    const avail = this.mem.slice(q.driver, 6 + 2 * q.size);
    const used = this.mem.slice(q.device, 6 + 8 * q.size);
    if (!avail || !used) {
      this.status |= 0x40; // NEEDS_RESET
      return;
    }
    const av = new DataView(avail.buffer, avail.byteOffset, avail.length);
    const uv = new DataView(used.buffer, used.byteOffset, used.length);
    const availIdx = av.getUint16(2, true);
    let usedIdx = uv.getUint16(2, true);
    let served = 0;
    while (q.lastAvail !== availIdx && served < q.size) {
      const head = av.getUint16(4 + 2 * (q.lastAvail % q.size), true);
      const len = this.serve(head);
      const e = 4 + 8 * (usedIdx % q.size);
      uv.setUint32(e, head, true);
      uv.setUint32(e + 4, len, true);
      usedIdx = (usedIdx + 1) & 0xffff;
      q.lastAvail = (q.lastAvail + 1) & 0xffff;
      served++;
    }
    uv.setUint16(2, usedIdx, true);
    if (served > 0) {
      this.isr |= 1;
      this.setIrq(true);
    }
  }

  private chain(head: number): Segment[] | null {
    const q = this.queue;
    const table = this.mem.slice(q.desc, 16 * q.size);
    if (!table || head >= q.size) return null;
    const dv = new DataView(table.buffer, table.byteOffset, table.length);
    const segs: Segment[] = [];
    let i = head;
    for (let n = 0; n < q.size; n++) {
      const o = 16 * i;
      const addr = Number(dv.getBigUint64(o, true));
      const len = dv.getUint32(o + 8, true);
      const flags = dv.getUint16(o + 12, true);
      const view = this.mem.slice(addr, len);
      if (!view) return null;
      segs.push({ view, write: (flags & DESC_F_WRITE) !== 0 });
      if (!(flags & DESC_F_NEXT)) return segs;
      i = dv.getUint16(o + 14, true);
      if (i >= q.size) return null;
    }
    return null; // loop
  }

  /** Returns the number of bytes written into device-writable buffers. */
  private serve(head: number): number {
    this.stats.requests++;
    const segs = this.chain(head);
    if (!segs) {
      this.stats.errors++;
      return 0;
    }
    const readable = segs.filter((s) => !s.write).map((s) => s.view);
    const writable = segs.filter((s) => s.write).map((s) => s.view);
    const hdr = gather(readable, 0, 16);
    const last = writable[writable.length - 1];
    if (!hdr || !last || last.length < 1) {
      this.stats.errors++;
      return 0;
    }
    const statusByte = last.subarray(last.length - 1);
    const data = writable.slice(0, -1);
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
        if (pos + total > this.disk.size) status = VIRTIO_BLK_S_IOERR;
        else
          for (const d of data) {
            this.disk.read(pos, d);
            pos += d.length;
            written += d.length;
          }
        this.stats.readBytes += written;
      } else if (type === VIRTIO_BLK_T_OUT) {
        const src = readable.slice();
        const total = src.reduce((a, d) => a + d.length, 0) - 16;
        let pos = sector * 512;
        if (this.disk.readOnly || pos + total > this.disk.size) status = VIRTIO_BLK_S_IOERR;
        else {
          let skip = 16;
          for (const s of src) {
            const part = s.subarray(Math.min(skip, s.length));
            skip -= Math.min(skip, s.length);
            if (part.length && !this.disk.write(pos, part)) {
              status = VIRTIO_BLK_S_IOERR;
              break;
            }
            pos += part.length;
          }
          this.stats.writeBytes += total;
        }
      } else if (type === VIRTIO_BLK_T_FLUSH) {
        this.disk.flush();
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
    if (status !== VIRTIO_BLK_S_OK) this.stats.errors++;
    statusByte[0] = status;
    return written + 1;
  }
}

/** The first `len` bytes of a scatter list, copied only if they span segments. */
function gather(views: Uint8Array[], start: number, len: number): Uint8Array | null {
  const first = views[0];
  if (first && first.length >= start + len) return first.subarray(start, start + len);
  const out = new Uint8Array(len);
  let got = 0;
  let skip = start;
  for (const v of views) {
    const s = v.subarray(Math.min(skip, v.length));
    skip -= Math.min(skip, v.length);
    const n = Math.min(s.length, len - got);
    out.set(s.subarray(0, n), got);
    got += n;
    if (got === len) return out;
  }
  return null;
}
