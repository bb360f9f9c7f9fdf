// Port and MMIO dispatch. Unassigned ports and MMIO read all-ones and ignore writes
// (OVMF's CPU-hotplug, PS/2, COM2 and PCI presence probes rely on that).

import { log } from '../log';

export interface IoDevice {
  /** `port` is absolute; `size` is 1, 2 or 4. Returns the value (only `size` bytes used). */
  ioRead(port: number, size: number): number;
  ioWrite(port: number, size: number, value: number): void;
}

export interface MmioDevice {
  /** `offset` is relative to the start of the registered range; `size` is 1..8. */
  mmioRead(offset: number, size: number): bigint;
  mmioWrite(offset: number, size: number, value: bigint): void;
}

export function allOnes(size: number): number {
  return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
}

/** Counts unassigned accesses and logs the first few of each port, so probes stay quiet. */
class UnassignedLog {
  private readonly seen = new Map<number, number>();
  note(kind: string, addr: number): void {
    const n = (this.seen.get(addr) ?? 0) + 1;
    this.seen.set(addr, n);
    if (n <= 2 && this.seen.size <= 64) log('debug', 'vm', `unassigned ${kind} 0x${addr.toString(16)}`);
  }
}

export class IoBus {
  private readonly handlers = new Array<IoDevice | undefined>(0x10000);
  private readonly unassigned = new UnassignedLog();

  register(first: number, count: number, dev: IoDevice): void {
    for (let p = first; p < first + count; p++) this.handlers[p & 0xffff] = dev;
  }
  unregister(first: number, count: number, dev: IoDevice): void {
    for (let p = first; p < first + count; p++)
      if (this.handlers[p & 0xffff] === dev) this.handlers[p & 0xffff] = undefined;
  }
  handler(port: number): IoDevice | undefined {
    return this.handlers[port];
  }
  read(port: number, size: number): number {
    const h = this.handlers[port];
    if (!h) {
      this.unassigned.note('port read', port);
      return allOnes(size);
    }
    return h.ioRead(port, size) >>> 0;
  }
  write(port: number, size: number, value: number): void {
    const h = this.handlers[port];
    if (!h) return this.unassigned.note('port write', port);
    h.ioWrite(port, size, value);
  }
}

interface MmioRange {
  readonly base: number;
  readonly size: number;
  readonly dev: MmioDevice;
}

export class MmioBus {
  private ranges: MmioRange[] = [];
  private readonly unassigned = new UnassignedLog();

  register(base: number, size: number, dev: MmioDevice): void {
    this.ranges.push({ base, size, dev });
  }
  unregister(dev: MmioDevice): void {
    this.ranges = this.ranges.filter((r) => r.dev !== dev);
  }
  private find(addr: number): MmioRange | undefined {
    for (const r of this.ranges) if (addr >= r.base && addr < r.base + r.size) return r;
    return undefined;
  }
  read(addr: number, size: number): bigint {
    const r = this.find(addr);
    if (!r) {
      this.unassigned.note('mmio read', addr);
      return (1n << BigInt(size * 8)) - 1n;
    }
    return r.dev.mmioRead(addr - r.base, size);
  }
  write(addr: number, size: number, value: bigint): void {
    const r = this.find(addr);
    if (!r) return this.unassigned.note('mmio write', addr);
    r.dev.mmioWrite(addr - r.base, size, value);
  }
}
