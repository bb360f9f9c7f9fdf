// PCI functions with a 256-byte configuration space, per-byte write masks, standard BAR sizing
// and command-register decode, and the configuration mechanism #1 that reaches them (0xCF8
// address latch, 0xCFC data window); docs/vmm-platform.md §5.1, §5.2. A function declares each BAR
// with the device that answers it; where the BAR is decoded is the device manager's business
// (device-manager.ts), so the device only ever sees offsets into its BAR.

import type { MmioDevice, PortDevice } from './bus';
import { allOnes } from './bus';

export const PCI_COMMAND_IO = 1;
export const PCI_COMMAND_MEMORY = 2;
export const PCI_COMMAND_MASTER = 4;
export const PCI_STATUS_CAP_LIST = 0x10;

export type BarSpec =
  | { readonly kind: 'mem32'; /** power of two, ≥ 16 */ readonly size: number; readonly dev: MmioDevice }
  | { readonly kind: 'io'; /** power of two, ≥ 4 */ readonly size: number; readonly dev: PortDevice }
  /** Memory the guest reads and writes directly (a framebuffer): whoever decodes the BAR maps it
   *  as RAM at the address (a KVM memory slot) through `map`, so accesses never exit. */
  | {
      readonly kind: 'ram';
      /** power of two */
      readonly size: number;
      readonly map: (addr: number | null) => void;
      readonly prefetchable?: boolean;
    };

export interface PciIds {
  readonly vendor: number;
  readonly device: number;
  readonly revision: number;
  readonly classCode: number; // base << 16 | sub << 8 | prog-if
  readonly headerType: number;
  readonly subsystemVendor?: number;
  readonly subsystemId?: number;
  readonly interruptPin?: number;
}

/** Told when a BAR starts or stops decoding (addr null), by the function's owner. */
export type BarListener = (index: number, spec: BarSpec, addr: number | null) => void;

export class PciFunction {
  readonly config = new Uint8Array(256);
  protected readonly wmask = new Uint8Array(256);
  readonly bars = new Array<BarSpec | undefined>(6);
  /** The decoded address of each BAR while its decode is enabled, else null. */
  private readonly mapped: Array<number | null> = [null, null, null, null, null, null];
  private barListener: BarListener = () => {};

  constructor(ids: PciIds) {
    const v = new DataView(this.config.buffer);
    v.setUint16(0, ids.vendor, true);
    v.setUint16(2, ids.device, true);
    this.config[8] = ids.revision;
    this.config[9] = ids.classCode & 0xff;
    this.config[10] = (ids.classCode >> 8) & 0xff;
    this.config[11] = (ids.classCode >> 16) & 0xff;
    this.config[0x0e] = ids.headerType;
    v.setUint16(0x2c, ids.subsystemVendor ?? 0, true);
    v.setUint16(0x2e, ids.subsystemId ?? 0, true);
    this.config[0x3d] = ids.interruptPin ?? 0;
    // Command: I/O, memory, bus master writable; Interrupt Line writable; cache line, latency.
    this.wmask[4] = 0x07;
    this.wmask[5] = 0x04; // INTx disable
    this.wmask[0x0c] = 0xff;
    this.wmask[0x0d] = 0xff;
    this.wmask[0x3c] = 0xff;
  }

  /** Declare BAR `i`. The address is assigned by the firmware through config writes. */
  protected defineBar(i: number, spec: BarSpec): void {
    this.bars[i] = spec;
    this.config[0x10 + i * 4] = spec.kind === 'io' ? 1 : spec.kind === 'ram' && spec.prefetchable ? 0x08 : 0;
  }

  /** Set by whoever decodes this function's BARs (the device manager). */
  listenBars(l: BarListener): void {
    this.barListener = l;
  }

  /** Called after any config write, with the dword-aligned register. */
  protected configWritten(_reg: number): void {}

  get command(): number {
    return this.config[4]! | (this.config[5]! << 8);
  }

  readConfig(offset: number, size: number): number {
    if (offset + size > 256) return allOnes(size);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.config[offset + i]!;
    return v >>> 0;
  }

  writeConfig(offset: number, size: number, value: number): void {
    if (offset + size > 256) return;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const byte = (value >>> (i * 8)) & 0xff;
      if (o >= 0x10 && o < 0x28) {
        this.writeBarByte(o, byte);
        continue;
      }
      if (o === 6 || o === 7) {
        this.config[o] = this.config[o]! & ~(byte & (o === 7 ? 0xf9 : 0x00)); // status: write-1-to-clear error bits
        continue;
      }
      const m = this.wmask[o]!;
      this.config[o] = (this.config[o]! & ~m) | (byte & m);
    }
    this.configWritten(offset & ~3);
    this.updateMappings();
  }

  private writeBarByte(o: number, byte: number): void {
    const i = (o - 0x10) >> 2;
    const spec = this.bars[i];
    if (!spec) return; // unimplemented BAR: reads 0 after an all-ones write
    const shift = (o & 3) * 8;
    const mask = (~(spec.size - 1) >>> 0) & (spec.kind === 'io' ? 0xfffc : 0xfffffff0);
    const byteMask = (mask >>> shift) & 0xff;
    this.config[o] = (this.config[o]! & ~byteMask) | (byte & byteMask);
  }

  barAddress(i: number): number {
    const spec = this.bars[i];
    if (!spec) return 0;
    const raw = new DataView(this.config.buffer).getUint32(0x10 + i * 4, true);
    return spec.kind === 'io' ? raw & 0xfffc : (raw & 0xfffffff0) >>> 0;
  }

  /** The address BAR `i` decodes at now, or null. */
  barDecoded(i: number): number | null {
    return this.mapped[i] ?? null;
  }

  /** Recompute decode after BAR or command writes; only decoded, non-zero BARs are mapped. */
  private updateMappings(): void {
    for (let i = 0; i < 6; i++) {
      const spec = this.bars[i];
      if (!spec) continue;
      const enabled = (this.command & (spec.kind === 'io' ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) !== 0;
      const addr = this.barAddress(i);
      const sizingProbe = addr === ((~(spec.size - 1) >>> 0) & (spec.kind === 'io' ? 0xfffc : 0xfffffff0));
      const next = enabled && addr !== 0 && !sizingProbe ? addr : null;
      if (next !== this.mapped[i]) {
        this.mapped[i] = next;
        this.barListener(i, spec, next);
      }
    }
  }
}

/** Bus 0 behind configuration mechanism #1: the address latch and the data window. */
export class PciHost {
  private address = 0;
  private readonly functions = new Map<number, PciFunction>();

  /** 0xCF8: latches only on 32-bit writes (Linux probes 0xCFB by byte); a 32-bit read returns it. */
  readonly addressPort: PortDevice = {
    portRead: (_off, size) => (size === 4 ? this.address >>> 0 : allOnes(size)),
    portWrite: (_off, size, value) => {
      if (size === 4) this.address = value >>> 0;
    },
  };

  /** 0xCFC–0xCFF: byte, word and dword accesses at `0xCFC + (reg & 3)`. */
  readonly dataPort: PortDevice = {
    portRead: (off, size) => {
      const f = this.target();
      return f ? f.readConfig((this.address & 0xfc) + off, size) : allOnes(size);
    },
    portWrite: (off, size, value) => this.target()?.writeConfig((this.address & 0xfc) + off, size, value),
  };

  /** devfn = device << 3 | function. */
  add(device: number, fn: number, f: PciFunction): void {
    const devfn = (device << 3) | fn;
    if (device < 0 || device > 31 || fn < 0 || fn > 7) throw new RangeError(`PCI 00:${device}.${fn} is invalid`);
    if (this.functions.has(devfn)) throw new Error(`PCI 00:${device.toString(16)}.${fn} is taken`);
    this.functions.set(devfn, f);
  }

  function(device: number, fn: number): PciFunction | undefined {
    return this.functions.get((device << 3) | fn);
  }

  private target(): PciFunction | undefined {
    if (!(this.address & 0x8000_0000)) return undefined;
    if ((this.address >>> 16) & 0xff) return undefined; // only bus 0
    return this.functions.get((this.address >>> 8) & 0xff);
  }
}
