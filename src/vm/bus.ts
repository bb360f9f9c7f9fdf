// The port-I/O and MMIO address spaces. Each range belongs to one device, which sees offsets
// relative to the range's start; a range that overlaps one already there is refused. Unassigned
// ports and MMIO read all-ones and ignore writes (OVMF's CPU-hotplug, PS/2, COM2 and PCI
// presence probes rely on that; docs/vmm-platform.md §5).

import { log } from '../log';

/** A device on the port bus. `offset` is relative to its range; `size` is 1, 2 or 4. */
export interface PortDevice {
  portRead(offset: number, size: number): number;
  portWrite(offset: number, size: number, value: number): void;
}

/** A device on the MMIO bus. `offset` is relative to its range; `size` is 1, 2 or 4 (the bus
 *  splits 8-byte accesses into two 4-byte ones, low half first). */
export interface MmioDevice {
  mmioRead(offset: number, size: number): number;
  mmioWrite(offset: number, size: number, value: number): void;
}

/** A write the kernel can turn into an eventfd signal (KVM_IOEVENTFD) instead of an exit. */
export interface Doorbell {
  /** Offset into the device's range. */
  readonly offset: number;
  readonly length: number;
  readonly fd: number;
  /** Only a write of this value signals `fd` (KVM_IOEVENTFD_FLAG_DATAMATCH). */
  readonly datamatch?: number;
}

/** A device whose range holds doorbells; whoever maps the range registers them. */
export interface DoorbellSource {
  doorbells(): Doorbell[];
}

export function hasDoorbells(dev: object): dev is DoorbellSource {
  return typeof (dev as Partial<DoorbellSource>).doorbells === 'function';
}

/** The low (`high` false) or high dword of a 64-bit register held as a number (≤ 2^53). */
export function dwordOf(v: number, high: boolean): number {
  return high ? Math.floor(v / 0x1_0000_0000) : v % 0x1_0000_0000;
}

/** A 64-bit register after a dword write of `v` to its low or high half (drivers write them in halves). */
export function withDword(cur: number, high: boolean, v: number): number {
  return high
    ? (cur % 0x1_0000_0000) + (v >>> 0) * 0x1_0000_0000
    : Math.floor(cur / 0x1_0000_0000) * 0x1_0000_0000 + (v >>> 0);
}

export function allOnes(size: number): number {
  return size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1;
}

export interface Range<D> {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly dev: D;
}

export class RangeConflictError extends Error {
  constructor(
    readonly space: string,
    readonly wanted: Range<unknown>,
    readonly holder: Range<unknown>,
  ) {
    super(`${space} ${hexRange(wanted)} for ${wanted.name} overlaps ${hexRange(holder)} of ${holder.name}; refused`);
    this.name = 'RangeConflictError';
  }
}

export function hexRange(r: { base: number; size: number }): string {
  return `0x${r.base.toString(16)}-0x${(r.base + r.size - 1).toString(16)}`;
}

/** Non-overlapping ranges sorted by base; lookups by binary search. */
export class AddressSpace<D> {
  private ranges: Array<Range<D>> = [];
  private readonly unassignedSeen = new Map<number, number>();

  constructor(readonly space: string) {}

  /** The range overlapping [base, base+size), if any. */
  conflict(base: number, size: number): Range<D> | undefined {
    return this.ranges.find((r) => base < r.base + r.size && r.base < base + size);
  }

  add(name: string, base: number, size: number, dev: D): Range<D> {
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(size) || base < 0 || size <= 0)
      throw new RangeError(`${this.space} range for ${name}: base ${base} size ${size} is invalid`);
    const r: Range<D> = { name, base, size, dev };
    const holder = this.conflict(base, size);
    if (holder) throw new RangeConflictError(this.space, r, holder);
    this.ranges.push(r);
    this.ranges.sort((a, b) => a.base - b.base);
    return r;
  }

  remove(r: Range<D>): void {
    this.ranges = this.ranges.filter((x) => x !== r);
  }

  find(addr: number): Range<D> | undefined {
    const rs = this.ranges;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid]!;
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.base + r.size) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  list(): ReadonlyArray<Range<D>> {
    return this.ranges;
  }

  /** Logs the first two accesses to each unassigned address (and at most 64 addresses). */
  noteUnassigned(kind: string, addr: number): void {
    const n = (this.unassignedSeen.get(addr) ?? 0) + 1;
    this.unassignedSeen.set(addr, n);
    if (n <= 2 && this.unassignedSeen.size <= 64)
      log('debug', 'vm', `unassigned ${this.space} ${kind} 0x${addr.toString(16)}`);
  }
}

export class PortBus {
  readonly space = new AddressSpace<PortDevice>('port');
  /** Port → range: exits are dispatched by a table lookup, not a search. */
  private readonly table = new Array<Range<PortDevice> | undefined>(0x10000);

  add(name: string, base: number, count: number, dev: PortDevice): Range<PortDevice> {
    if (base + count > 0x10000) throw new RangeError(`port range for ${name} ends past 0xFFFF`);
    const r = this.space.add(name, base, count, dev);
    for (let p = base; p < base + count; p++) this.table[p] = r;
    return r;
  }

  remove(r: Range<PortDevice>): void {
    this.space.remove(r);
    for (let p = r.base; p < r.base + r.size; p++) if (this.table[p] === r) this.table[p] = undefined;
  }

  range(port: number): Range<PortDevice> | undefined {
    return this.table[port];
  }

  read(port: number, size: number): number {
    const r = this.table[port];
    if (!r) {
      this.space.noteUnassigned('read', port);
      return allOnes(size);
    }
    return r.dev.portRead(port - r.base, size) >>> 0;
  }

  write(port: number, size: number, value: number): void {
    const r = this.table[port];
    if (!r) return this.space.noteUnassigned('write', port);
    r.dev.portWrite(port - r.base, size, value);
  }
}

export class MmioBus {
  readonly space = new AddressSpace<MmioDevice>('mmio');

  add(name: string, base: number, size: number, dev: MmioDevice): Range<MmioDevice> {
    return this.space.add(name, base, size, dev);
  }

  remove(r: Range<MmioDevice>): void {
    this.space.remove(r);
  }

  range(addr: number): Range<MmioDevice> | undefined {
    return this.space.find(addr);
  }

  read(addr: number, size: number): number {
    const r = this.space.find(addr);
    if (!r) {
      this.space.noteUnassigned('read', addr);
      return allOnes(size);
    }
    return r.dev.mmioRead(addr - r.base, size) >>> 0;
  }

  write(addr: number, size: number, value: number): void {
    const r = this.space.find(addr);
    if (!r) return this.space.noteUnassigned('write', addr);
    r.dev.mmioWrite(addr - r.base, size, value >>> 0);
  }

  /** An access of `len` bytes (1, 2, 4 or 8) from or into `data` (little-endian), as KVM reports it. */
  access(addr: number, len: number, isWrite: boolean, data: Uint8Array): void {
    if (len === 8) {
      this.access(addr, 4, isWrite, data.subarray(0, 4));
      this.access(addr + 4, 4, isWrite, data.subarray(4, 8));
      return;
    }
    if (len !== 1 && len !== 2 && len !== 4) {
      if (!isWrite) data.fill(0xff, 0, len);
      return;
    }
    if (isWrite) {
      let v = 0;
      for (let i = len - 1; i >= 0; i--) v = (v << 8) | data[i]!;
      this.write(addr, len, v >>> 0);
    } else {
      const v = this.read(addr, len);
      for (let i = 0; i < len; i++) data[i] = (v >>> (8 * i)) & 0xff;
    }
  }
}
