// Guest physical memory map (docs/vmm-platform.md §3) and guest-RAM access for DMA-style devices.
import * as fs from 'node:fs';

export const GiB = 0x4000_0000;
export const MiB = 0x10_0000;
export const FOUR_GIB = 0x1_0000_0000;
/** Low RAM ends at min(RAM, 2 GiB): OVMF's 32-bit PCI window then starts at 0x8000_0000. */
export const LOW_RAM_MAX = 0x8000_0000;
export const PCI_MMIO32_BASE = 0x8000_0000;
export const PCI_MMIO32_END = 0xfc00_0000;
export const IOAPIC_BASE = 0xfec0_0000;
export const LAPIC_BASE = 0xfee0_0000;
export const IDENTITY_MAP_ADDR = 0xfeff_c000;
export const TSS_ADDR = 0xfeff_d000;
export const KVM_RESERVED_SIZE = 0x4000;

export const RAM_MIN = 128 * MiB;
export const RAM_MAX = 64 * GiB;
/** What tendril itself and the host keep when the default is sized (the VMM, page cache). */
const HOST_RESERVE = 512 * MiB;

/**
 * Guest RAM when --memory is not given (docs/vmm-platform.md §3): half of what the host has
 * available, at least 2 GiB when the host can spare it, at most 8 GiB, never more than available
 * minus a reserve for the host; 2 MiB multiples. `available` is MemAvailable in bytes.
 */
export function defaultRam(available: number): number {
  const spare = Math.max(0, available - HOST_RESERVE);
  const want = Math.min(8 * GiB, Math.max(2 * GiB, Math.floor(available / 2)));
  const bytes = Math.max(RAM_MIN, Math.min(want, spare));
  return bytes - (bytes % (2 * MiB));
}

/** MemAvailable from /proc/meminfo, in bytes (null when unreadable). */
export function hostAvailableMemory(meminfo = '/proc/meminfo'): number | null {
  try {
    const m = /^MemAvailable:\s+(\d+) kB$/m.exec(fs.readFileSync(meminfo, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** This host's default guest RAM (defaultRam of MemAvailable; 2.5 GiB assumed when unreadable). */
export function defaultGuestRam(): number {
  return defaultRam(hostAvailableMemory() ?? 2 * GiB + 512 * MiB);
}

export interface MemoryLayout {
  readonly ramBytes: number;
  readonly lowBytes: number;
  readonly highBytes: number;
}

export function memoryLayout(ramBytes: number): MemoryLayout {
  if (!Number.isSafeInteger(ramBytes) || ramBytes < 128 * MiB || ramBytes % 4096) {
    throw new Error(`memory size ${ramBytes} is invalid (need ≥ 128 MiB, page multiple)`);
  }
  const lowBytes = Math.min(ramBytes, LOW_RAM_MAX);
  return { ramBytes, lowBytes, highBytes: ramBytes - lowBytes };
}

export const E820_RAM = 1;
export const E820_RESERVED = 2;

/** The `etc/e820` fw_cfg file: packed LE {u64 base; u64 length; u32 type}. */
export function e820Table(l: MemoryLayout): Uint8Array {
  const entries: Array<[number, number, number]> = [[0, l.lowBytes, E820_RAM]];
  if (l.highBytes > 0) entries.push([FOUR_GIB, l.highBytes, E820_RAM]);
  entries.push([IDENTITY_MAP_ADDR, KVM_RESERVED_SIZE, E820_RESERVED]);
  const b = Buffer.alloc(entries.length * 20);
  entries.forEach(([base, len, type], i) => {
    b.writeBigUInt64LE(BigInt(base), i * 20);
    b.writeBigUInt64LE(BigInt(len), i * 20 + 8);
    b.writeUInt32LE(type, i * 20 + 16);
  });
  return b;
}

/** Guest RAM backed by the mmap'd slots; views are zero-copy. */
export class GuestMemory {
  readonly low: Uint8Array;
  readonly high: Uint8Array | null;
  constructor(low: ArrayBuffer, high: ArrayBuffer | null) {
    this.low = new Uint8Array(low);
    this.high = high ? new Uint8Array(high) : null;
  }
  /** A view of [gpa, gpa+len) if it lies entirely in RAM, else null (device reports an error). */
  slice(gpa: number, len: number): Uint8Array | null {
    if (!Number.isSafeInteger(gpa) || len < 0 || gpa < 0) return null;
    if (gpa + len <= this.low.length) return this.low.subarray(gpa, gpa + len);
    if (this.high && gpa >= FOUR_GIB && gpa - FOUR_GIB + len <= this.high.length) {
      return this.high.subarray(gpa - FOUR_GIB, gpa - FOUR_GIB + len);
    }
    return null;
  }
}
