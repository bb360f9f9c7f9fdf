// A split virtqueue (virtio 1.2 §2.7): the descriptor table, the driver ("avail") ring and the
// device ("used") ring in guest memory, and the device's position in the avail ring. Guest data
// is untrusted: chains that leave RAM, loop or run past the table are returned as broken, never
// followed forever; a batch never serves more entries than the ring holds.
import type { GuestMemory } from './memory';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;

/** The driver-visible configuration of one queue (what the transport's registers set). */
export interface QueueConfig {
  size: number;
  enabled: boolean;
  desc: number;
  driver: number;
  device: number;
}

/** One available descriptor chain: device-readable buffers, then device-writable ones. */
export interface Chain {
  readonly head: number;
  /** null when the chain is malformed (out of RAM, a loop, an index past the table). */
  readonly buffers: { readonly readable: Uint8Array[]; readonly writable: Uint8Array[] } | null;
}

export function newQueueConfig(maxSize: number): QueueConfig {
  return { size: maxSize, enabled: false, desc: 0, driver: 0, device: 0 };
}

export class SplitQueue {
  /** Next avail-ring entry the device will take (free-running 16-bit). */
  lastAvail = 0;

  constructor(
    readonly cfg: QueueConfig,
    private readonly mem: GuestMemory,
  ) {}

  private availView(): DataView | null {
    const b = this.mem.slice(this.cfg.driver, 6 + 2 * this.cfg.size);
    return b ? new DataView(b.buffer, b.byteOffset, b.length) : null;
  }

  private usedView(): DataView | null {
    const b = this.mem.slice(this.cfg.device, 6 + 8 * this.cfg.size);
    return b ? new DataView(b.buffer, b.byteOffset, b.length) : null;
  }

  /** False when the rings are not in guest RAM (the transport then sets NEEDS_RESET). */
  get reachable(): boolean {
    return this.availView() !== null && this.usedView() !== null;
  }

  /**
   * Takes up to `size` available chains (one batch); `serve` returns the number of bytes it
   * wrote into the chain's writable buffers. Publishes the used ring once, after the batch.
   * Returns how many chains were served, or -1 if the rings are not in RAM.
   */
  drain(serve: (c: Chain) => number): number {
    const av = this.availView();
    const uv = this.usedView();
    if (!av || !uv) return -1;
    const size = this.cfg.size;
    // The ring indexes are what the other side polls (and this may run on the I/O thread while a
    // vCPU reads them): read the driver's with an atomic load, publish ours with an atomic store
    // after the used elements and the buffers they describe are written.
    const availIdx = idx(av, 'load');
    let usedIdx = uv.getUint16(2, true);
    let served = 0;
    while (this.lastAvail !== availIdx && served < size) {
      const head = av.getUint16(4 + 2 * (this.lastAvail % size), true);
      const len = serve({ head, buffers: this.chain(head) });
      const e = 4 + 8 * (usedIdx % size);
      uv.setUint32(e, head, true);
      uv.setUint32(e + 4, len, true);
      usedIdx = (usedIdx + 1) & 0xffff;
      this.lastAvail = (this.lastAvail + 1) & 0xffff;
      served++;
    }
    if (served) idx(uv, 'store', usedIdx);
    return served;
  }

  /** Buffers of the chain starting at `head`, following NEXT; null if malformed. */
  chain(head: number): Chain['buffers'] {
    const size = this.cfg.size;
    const table = this.mem.slice(this.cfg.desc, 16 * size);
    if (!table || head >= size) return null;
    const dv = new DataView(table.buffer, table.byteOffset, table.length);
    const readable: Uint8Array[] = [];
    const writable: Uint8Array[] = [];
    let i = head;
    for (let n = 0; n < size; n++) {
      const o = 16 * i;
      const addr = Number(dv.getBigUint64(o, true));
      const len = dv.getUint32(o + 8, true);
      const flags = dv.getUint16(o + 12, true);
      if (flags & VIRTQ_DESC_F_INDIRECT) return null; // not offered
      const view = this.mem.slice(addr, len);
      if (!view) return null;
      if (flags & VIRTQ_DESC_F_WRITE) writable.push(view);
      else if (writable.length)
        return null; // readable after writable (virtio 1.2 §2.7.4.2)
      else readable.push(view);
      if (!(flags & VIRTQ_DESC_F_NEXT)) return { readable, writable };
      i = dv.getUint16(o + 14, true);
      if (i >= size) return null;
    }
    return null; // a loop
  }
}

/** The 16-bit ring index at offset 2 of a ring, as an atomic access when it is 2-byte aligned
 *  (rings are; a guest that misaligns one gets plain accesses). x86 is little-endian, as virtio. */
function idx(ring: DataView, op: 'load' | 'store', value = 0): number {
  const at = ring.byteOffset + 2;
  if (at % 2) {
    if (op === 'load') return ring.getUint16(2, true);
    ring.setUint16(2, value, true);
    return value;
  }
  const a = new Uint16Array(ring.buffer, at, 1);
  return op === 'load' ? Atomics.load(a, 0) : Atomics.store(a, 0, value);
}
