// QEMU fw_cfg (docs/specs/fw_cfg.rst): selector 0x510 (LE16), data 0x511 (bytes, rep insb),
// DMA address 0x514 (high) / 0x518 (low, starts the transfer), both big-endian.
// Items are little-endian numbers; the file directory and DMA descriptors are big-endian.
import type { PortDevice } from './bus';
import { allOnes } from './bus';
import type { GuestMemory } from './memory';

export const FW_CFG_SIGNATURE = 0x00;
export const FW_CFG_ID = 0x01;
export const FW_CFG_NB_CPUS = 0x05;
export const FW_CFG_KERNEL_SIZE = 0x08;
export const FW_CFG_INITRD_SIZE = 0x0b;
export const FW_CFG_BOOT_MENU = 0x0e;
export const FW_CFG_MAX_CPUS = 0x0f;
export const FW_CFG_CMDLINE_SIZE = 0x14;
export const FW_CFG_SETUP_SIZE = 0x17;
export const FW_CFG_FILE_DIR = 0x19;
export const FW_CFG_FILE_FIRST = 0x20;
export const FW_CFG_MAX_FILES = 0x100;
export const FW_CFG_NAME_LEN = 56;

export const DMA_ERROR = 0x01;
export const DMA_READ = 0x02;
export const DMA_SKIP = 0x04;
export const DMA_SELECT = 0x08;
export const DMA_WRITE = 0x10;
/** Largest single DMA transfer we accept (the biggest item is the ACPI blob, a few KiB). */
const DMA_MAX = 64 * 1024 * 1024;

const le16 = (v: number) => Uint8Array.of(v & 0xff, v >> 8);
const le32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

/** Ports 0x510–0x51B as one range: offset 0 selector, 1 data, 4–11 the DMA address. */
export class FwCfg implements PortDevice {
  static readonly BASE = 0x510;
  static readonly PORTS = 12;

  private readonly items = new Map<number, Uint8Array>();
  private readonly files: Array<{ name: string; key: number }> = [];
  private directory: Uint8Array = new Uint8Array(4);
  private selected = 0;
  private offset = 0;
  private dmaHigh = 0;
  /** Counters for the bench: DMA operations and selector writes. */
  readonly stats = { selects: 0, dma: 0, dataReads: 0 };

  constructor(
    private readonly mem: GuestMemory | null,
    cpus: number,
  ) {
    this.items.set(FW_CFG_SIGNATURE, new TextEncoder().encode('QEMU'));
    this.items.set(FW_CFG_ID, le32(3)); // traditional + DMA
    this.items.set(FW_CFG_NB_CPUS, le16(cpus));
    this.items.set(FW_CFG_MAX_CPUS, le16(cpus));
    for (const k of [FW_CFG_KERNEL_SIZE, FW_CFG_INITRD_SIZE, FW_CFG_CMDLINE_SIZE, FW_CFG_SETUP_SIZE])
      this.items.set(k, le32(0));
    this.items.set(FW_CFG_BOOT_MENU, le16(0));
    this.rebuildDirectory();
  }

  setItem(key: number, data: Uint8Array): void {
    this.items.set(key, data);
  }

  addFile(name: string, data: Uint8Array): number {
    if (Buffer.byteLength(name) >= FW_CFG_NAME_LEN) throw new Error(`fw_cfg file name too long: ${name}`);
    const existing = this.files.find((f) => f.name === name);
    const key = existing?.key ?? FW_CFG_FILE_FIRST + this.files.length;
    if (!existing) {
      if (this.files.length >= FW_CFG_MAX_FILES) throw new Error('too many fw_cfg files');
      this.files.push({ name, key });
    }
    this.items.set(key, data);
    this.rebuildDirectory();
    return key;
  }

  /** BE32 count, then {BE32 size; BE16 select; BE16 reserved; char name[56]} sorted by name. */
  private rebuildDirectory(): void {
    const sorted = [...this.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const b = Buffer.alloc(4 + 64 * sorted.length);
    b.writeUInt32BE(sorted.length, 0);
    sorted.forEach((f, i) => {
      const o = 4 + i * 64;
      b.writeUInt32BE(this.items.get(f.key)!.length, o);
      b.writeUInt16BE(f.key, o + 4);
      b.write(f.name, o + 8, 'utf8');
    });
    this.directory = b;
  }

  private item(key: number): Uint8Array | undefined {
    return key === FW_CFG_FILE_DIR ? this.directory : this.items.get(key);
  }

  select(key: number): void {
    this.selected = key & 0xffff;
    this.offset = 0;
    this.stats.selects++;
  }

  readByte(): number {
    const it = this.item(this.selected);
    this.stats.dataReads++;
    if (!it || this.offset >= it.length) return 0;
    return it[this.offset++]!;
  }

  portRead(off: number, size: number): number {
    if (off === 1 && size === 1) return this.readByte();
    if (off >= 4 && off < 12) {
      // "QEMU CFG" signature for Linux's probe, big-endian byte order as on the wire.
      const sig = Buffer.from('QEMU CFG');
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = (v << 8) | (sig[off - 4 + i] ?? 0);
      return v >>> 0;
    }
    return allOnes(size);
  }

  portWrite(off: number, size: number, value: number): void {
    if (off === 0 && size === 2) return this.select(value);
    if (off === 4 && size === 4) {
      this.dmaHigh = bswap32(value);
      return;
    }
    if (off === 8 && size === 4) {
      const addr = this.dmaHigh * 0x1_0000_0000 + bswap32(value);
      this.dmaHigh = 0;
      this.dma(addr);
    }
  }

  /** Run one DMA descriptor at guest address `addr`; returns the control word written back. */
  dma(addr: number): number {
    this.stats.dma++;
    const desc = this.mem?.slice(addr, 16);
    if (!desc) return DMA_ERROR;
    const dv = new DataView(desc.buffer, desc.byteOffset, 16);
    const control = dv.getUint32(0, false);
    const length = dv.getUint32(4, false);
    const target = Number(dv.getBigUint64(8, false));
    let result = 0;
    if (control & DMA_SELECT) this.select(control >>> 16);
    if (control & (DMA_READ | DMA_SKIP | DMA_WRITE)) {
      const it = this.item(this.selected);
      if (length > DMA_MAX) result = DMA_ERROR;
      else if (control & DMA_READ) {
        const dst = this.mem!.slice(target, length);
        if (!dst) result = DMA_ERROR;
        else {
          const avail = it ? Math.max(0, Math.min(length, it.length - this.offset)) : 0;
          if (avail > 0) dst.set(it!.subarray(this.offset, this.offset + avail));
          dst.fill(0, avail); // past the end reads zeros
          this.offset += length;
        }
      } else if (control & DMA_WRITE) {
        result = DMA_ERROR; // no writable items
      } else {
        this.offset += length;
      }
    }
    dv.setUint32(0, result, false); // after the copy: OVMF polls this word
    return result;
  }
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}
