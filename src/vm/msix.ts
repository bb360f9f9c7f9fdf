// MSI-X for a PCI function (PCI 3.0 §6.8.2; docs/vmm-platform.md §12.1): the capability's
// Message Control (table size, function mask, enable), the vector table (16 bytes per entry:
// address low/high, data, vector control with the mask bit) and the pending-bit array, in a BAR.
//
// Who may raise an interrupt: the device's own thread, and also the I/O thread that completes its
// requests. So the state an interrupt needs (enabled, function mask, per-vector masks and pending
// bits, the INTx status) lives in a SharedArrayBuffer (InterruptState) that both read, and a
// vector is fired through its irqfd's eventfd, which any thread can write. A vector that is
// masked when it fires becomes pending; unmasking it fires it then.
import type { MmioDevice } from './bus';

export const MSIX_CAP_ID = 0x11;
export const MSIX_ENTRY_SIZE = 16;
export const MSIX_CTRL_ENABLE = 0x8000;
export const MSIX_CTRL_FUNCTION_MASK = 0x4000;
const VECTOR_CTRL_MASKED = 1;
export const MAX_VECTORS = 32;

const INTX_STATUS = 0;
const CONTROL = 1;
const MASKED = 2;
const PENDING = 3;
const FLAGS = 4;
const SLOTS = 8;
const CTL_ENABLED = 1;
const CTL_FUNCTION_MASK = 2;

/** How a thread delivers: fire MSI-X vector v, or assert the INTx line. */
export interface IrqOps {
  fireVector(v: number): void;
  raiseIntx(): void;
}

/** Interrupt state shared between the device's thread and the I/O thread. */
export class InterruptState {
  readonly sab: SharedArrayBuffer;
  private readonly a: Int32Array;

  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(4 * SLOTS);
    this.a = new Int32Array(this.sab);
  }

  get msixEnabled(): boolean {
    return (Atomics.load(this.a, CONTROL) & CTL_ENABLED) !== 0;
  }

  /**
   * Raise vector `v` (NO vector: ≥ MAX_VECTORS or 0xFFFF) when MSI-X is on, else `intxBits` in the
   * INTx status (virtio's ISR) and the INTx line. A masked vector becomes pending.
   */
  signal(v: number, intxBits: number, ops: IrqOps): void {
    const ctl = Atomics.load(this.a, CONTROL);
    if (!(ctl & CTL_ENABLED)) {
      Atomics.or(this.a, INTX_STATUS, intxBits);
      ops.raiseIntx();
      return;
    }
    if (v < 0 || v >= MAX_VECTORS) return; // no vector assigned: no interrupt (virtio 1.2 §4.1.5.1.2)
    if (ctl & CTL_FUNCTION_MASK || Atomics.load(this.a, MASKED) & (1 << v)) {
      Atomics.or(this.a, PENDING, 1 << v);
      return;
    }
    ops.fireVector(v);
  }

  /** Read-to-clear INTx status (virtio's ISR register). */
  takeIntxStatus(): number {
    return Atomics.exchange(this.a, INTX_STATUS, 0);
  }

  get intxStatus(): number {
    return Atomics.load(this.a, INTX_STATUS);
  }

  setControl(enabled: boolean, functionMask: boolean): void {
    Atomics.store(this.a, CONTROL, (enabled ? CTL_ENABLED : 0) | (functionMask ? CTL_FUNCTION_MASK : 0));
  }

  setMasked(v: number, masked: boolean): void {
    if (masked) Atomics.or(this.a, MASKED, 1 << v);
    else Atomics.and(this.a, MASKED, ~(1 << v));
  }

  pending(v: number): boolean {
    return (Atomics.load(this.a, PENDING) & (1 << v)) !== 0;
  }

  /** Clears and returns whether `v` was pending. */
  takePending(v: number): boolean {
    return (Atomics.and(this.a, PENDING, ~(1 << v)) & (1 << v)) !== 0;
  }

  /** Device-specific flags (virtio: "needs reset" from the I/O thread). */
  setFlag(bit: number): void {
    Atomics.or(this.a, FLAGS, bit);
  }
  get flags(): number {
    return Atomics.load(this.a, FLAGS);
  }
  clearFlags(): void {
    Atomics.store(this.a, FLAGS, 0);
    Atomics.store(this.a, INTX_STATUS, 0);
    Atomics.store(this.a, PENDING, 0);
  }
}

/** Where the vectors go: routes for the table's entries, and how to fire one from this thread. */
export interface MsiSink {
  /** Sets up `n` vectors; the eventfds that fire them from any thread (irqfd), or null. */
  vectors(n: number): { readonly fds: readonly number[] | null };
  /** Entry `v` now holds this message (called for unmasked entries when they change). */
  route(v: number, addressLo: number, addressHi: number, data: number): void;
  fire(v: number): void;
}

/** The vector table and PBA (both in a BAR, each in its own 4 KiB page) and Message Control. */
export class MsixTable {
  private readonly table: Uint8Array;
  private control = 0;
  readonly fds: readonly number[] | null;

  constructor(
    readonly size: number,
    private readonly state: InterruptState,
    private readonly sink: MsiSink,
  ) {
    if (size < 1 || size > MAX_VECTORS) throw new RangeError(`MSI-X table of ${size} vectors`);
    this.table = new Uint8Array(size * MSIX_ENTRY_SIZE);
    for (let v = 0; v < size; v++) {
      this.table[v * MSIX_ENTRY_SIZE + 12] = VECTOR_CTRL_MASKED; // masked after reset
      state.setMasked(v, true);
    }
    this.fds = sink.vectors(size).fds;
  }

  /** Message Control as the capability reads it: table size − 1, function mask, enable. */
  get messageControl(): number {
    return (this.size - 1) | this.control;
  }

  /** A write to Message Control (only the enable and function-mask bits are writable). */
  writeMessageControl(v: number): void {
    this.control = v & (MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCTION_MASK);
    const enabled = (this.control & MSIX_CTRL_ENABLE) !== 0;
    const fnMask = (this.control & MSIX_CTRL_FUNCTION_MASK) !== 0;
    this.state.setControl(enabled, fnMask);
    if (enabled && !fnMask) for (let v2 = 0; v2 < this.size; v2++) this.deliverPending(v2);
  }

  private entry(v: number): DataView {
    return new DataView(this.table.buffer, v * MSIX_ENTRY_SIZE, MSIX_ENTRY_SIZE);
  }

  private masked(v: number): boolean {
    return (this.entry(v).getUint32(12, true) & VECTOR_CTRL_MASKED) !== 0;
  }

  private deliverPending(v: number): void {
    if (this.masked(v) || (this.control & MSIX_CTRL_FUNCTION_MASK) !== 0) return;
    if (this.state.takePending(v)) this.sink.fire(v);
  }

  /** The table, `offset` into it. */
  readonly tableRegion: MmioDevice = {
    mmioRead: (offset, size) => {
      if (offset + size > this.table.length) return 0;
      let r = 0;
      for (let i = size - 1; i >= 0; i--) r = (r << 8) | this.table[offset + i]!;
      return r >>> 0;
    },
    mmioWrite: (offset, size, value) => {
      if (offset + size > this.table.length) return;
      const v = Math.floor(offset / MSIX_ENTRY_SIZE);
      const wasMasked = this.masked(v);
      for (let i = 0; i < size; i++) this.table[offset + i] = (value >>> (8 * i)) & 0xff;
      const e = this.entry(v);
      const masked = this.masked(v);
      if (!masked) this.sink.route(v, e.getUint32(0, true), e.getUint32(4, true), e.getUint32(8, true));
      if (masked !== wasMasked) {
        this.state.setMasked(v, masked);
        if (!masked) this.deliverPending(v);
      }
    },
  };

  /** The pending-bit array. */
  readonly pbaRegion: MmioDevice = {
    mmioRead: (offset, size) => {
      let bits = 0;
      for (let v = 0; v < this.size; v++) if (this.state.pending(v)) bits |= 1 << v;
      if (offset >= 4) return 0;
      return size >= 4 ? bits >>> 0 : (bits >>> (8 * offset)) & ((1 << (8 * size)) - 1);
    },
    mmioWrite: () => {},
  };
}

/**
 * The MSI-X capability (PCI 3.0 §6.8.2.1) at config offset `at`: ID, `next`, Message Control
 * (table size − 1; enable and function mask writable), then the table's and the PBA's offsets in
 * BAR 0.
 */
export function writeMsixCapability(
  config: Uint8Array,
  wmask: Uint8Array,
  at: number,
  next: number,
  table: MsixTable,
  offsets: { readonly table: number; readonly pba: number },
): void {
  const v = new DataView(config.buffer);
  config[at] = MSIX_CAP_ID;
  config[at + 1] = next;
  v.setUint16(at + 2, table.messageControl, true);
  v.setUint32(at + 4, offsets.table, true);
  v.setUint32(at + 8, offsets.pba, true);
  wmask[at + 3] = 0xc0;
}

/** After a config write to the capability's first dword: Message Control reaches the table, and
 *  reads back as the table has it. */
export function msixCapabilityWritten(config: Uint8Array, at: number, table: MsixTable): void {
  const v = new DataView(config.buffer);
  table.writeMessageControl(v.getUint16(at + 2, true));
  v.setUint16(at + 2, table.messageControl, true);
}
