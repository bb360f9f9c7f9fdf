// A single-vector MSI capability (PCI 3.0 §6.8.1; docs/vmm-platform.md §16) for functions that
// offer MSI rather than MSI-X, like the AHCI HBA: Message Control (enable; one vector; 64-bit
// addresses), Message Address and Message Data. The message goes to the same MsiSink as MSI-X's
// vectors (a GSI with an MSI route and an irqfd), and the enable bit lives in the function's
// shared InterruptState, so whichever thread completes a command sends the message or, with MSI
// off, asserts INTx (msix.ts InterruptState.signal, vector 0).
import type { InterruptState, MsiSink } from './msix';

export const MSI_CAP_ID = 0x05;
const CTRL_ENABLE = 1;
const CTRL_64BIT = 0x80;
/** The capability's size: ID, next, control, address low, address high, data. */
export const MSI_CAP_SIZE = 0x0e;

export class MsiCapability {
  /** The vector's irqfd, for another thread to fire it (KVM machines), or null. */
  readonly fd: number | null;

  constructor(
    private readonly config: Uint8Array,
    wmask: Uint8Array,
    private readonly at: number,
    next: number,
    private readonly state: InterruptState,
    private readonly sink: MsiSink,
  ) {
    config[at] = MSI_CAP_ID;
    config[at + 1] = next;
    config[at + 2] = CTRL_64BIT;
    wmask[at + 2] = CTRL_ENABLE;
    wmask.fill(0xff, at + 4, at + 14);
    wmask[at + 4] = 0xfc; // the address is dword-aligned
    this.fd = sink.vectors(1).fds?.[0] ?? null;
  }

  /** Whether config register `reg` (a dword offset) belongs to the capability. */
  covers(reg: number): boolean {
    return reg >= (this.at & ~3) && reg < this.at + MSI_CAP_SIZE;
  }

  /** After a config write to the capability: the route follows address and data, and the
   *  shared state the enable bit. */
  written(): void {
    const v = new DataView(this.config.buffer, this.config.byteOffset);
    const on = (this.config[this.at + 2]! & CTRL_ENABLE) !== 0;
    if (on)
      this.sink.route(
        0,
        v.getUint32(this.at + 4, true),
        v.getUint32(this.at + 8, true),
        v.getUint16(this.at + 12, true),
      );
    this.state.setControl(on, false);
  }

  /** Sends the message from this thread. */
  fire(): void {
    this.sink.fire(0);
  }
}
