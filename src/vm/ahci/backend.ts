// Who runs an AHCI port's command engine (engine.ts): the I/O thread in a KVM machine
// (io-client.ts WorkerAhciBackend), or the controller's own thread (LocalAhciBackend, unit tests).
import type { Disk } from '../disk';
import type { GuestMemory } from '../memory';
import type { InterruptState, IrqOps } from '../msix';
import type { BlockStats } from '../virtio-blk';
import { AhciEngine, type AhciStart } from './engine';
import type { AhciShared } from './regs';

/** How the engine interrupts: the function's MSI state (vector 0 when MSI is on, else INTx). */
export interface AhciIrq {
  readonly state: InterruptState;
  /** Fire MSI, or assert the INTx line, from this thread. */
  readonly ops: IrqOps;
  /** For another thread: MSI's irqfd (null without one), and the INTx line it may assert. */
  readonly msiFd: number | null;
  readonly intx: { readonly vmFd: number; readonly gsi: number } | null;
}

export interface AhciBackend {
  readonly kind: 'ahci';
  readonly size: number;
  readonly readOnly: boolean;
  /** Stable per disk: the serial number derives from it. */
  readonly id: string;
  readonly stats: BlockStats;
  /** PxCMD.ST 0 → 1. */
  start(mem: GuestMemory, at: AhciStart, shared: AhciShared, irq: AhciIrq): void;
  /** PxCMD.ST 1 → 0, a reset, or the VM goes. */
  stop(): void;
  /** COMRESET or HBA reset: the device's settings go back to their defaults. */
  resetDevice(): void;
  /** New PxCI bits, already set in the shared PxCI by the controller's thread: run them. */
  kick(): void;
}

/** The engine on the controller's thread, run at the PxCI write. */
export class LocalAhciBackend implements AhciBackend {
  readonly kind = 'ahci';
  readonly size: number;
  readonly readOnly: boolean;
  readonly id: string;
  private readonly engine: AhciEngine;

  constructor(disk: Disk) {
    this.size = disk.size;
    this.readOnly = disk.readOnly;
    this.id = disk.spec.path;
    this.engine = new AhciEngine(disk, this);
  }

  get stats(): BlockStats {
    return this.engine.stats;
  }

  start(mem: GuestMemory, at: AhciStart, shared: AhciShared, irq: AhciIrq): void {
    this.engine.start(mem, at, shared, () => irq.state.signal(0, 0, irq.ops));
  }
  stop(): void {
    this.engine.stop();
  }
  resetDevice(): void {
    this.engine.resetDevice();
  }
  kick(): void {
    this.engine.run();
  }
}
