// Who runs an NVMe controller's engine (engine.ts): the I/O thread in a KVM machine
// (io-client.ts WorkerNvmeBackend), or the controller's own thread (LocalNvmeBackend, unit tests
// and machines without ioeventfd).
import type { Disk } from '../disk';
import type { GuestMemory } from '../memory';
import type { InterruptState } from '../msix';
import type { BlockStats } from '../virtio-blk';
import type { NvmeDoorbellFds } from './doorbells';
import { NvmeEngine, type NvmeEnable } from './engine';

/** How the engine interrupts: the function's shared MSI-X state, and each vector's firing. */
export interface NvmeIrq {
  readonly state: InterruptState;
  /** Fires vector v from this thread. */
  readonly fire: (v: number) => void;
  /** The vectors' irqfds, for another thread to fire them (KVM machines). */
  readonly fds: readonly number[] | null;
}

export interface NvmeBackend {
  readonly kind: 'nvme';
  readonly size: number;
  readonly readOnly: boolean;
  /** Stable per disk: the controller's serial number and the namespace's UUID derive from it. */
  readonly id: string;
  readonly stats: BlockStats;
  /** CC.EN 0 → 1, after the controller checked `e` (checkEnable). */
  enable(mem: GuestMemory, e: NvmeEnable, irq: NvmeIrq): void;
  /** CC.EN 1 → 0, or the VM goes. */
  disable(): void;
  /** CC.SHN set: flush. */
  shutdown(): void;
  /** A tail doorbell value that reached the controller's thread. */
  sqTail(qid: number, value: number): void;
  /** The eventfds behind the doorbells (ioeventfd), or null when every doorbell comes to sqTail. */
  doorbellFds(): NvmeDoorbellFds | null;
}

/** The engine on the controller's thread, run at the doorbell write. */
export class LocalNvmeBackend implements NvmeBackend {
  readonly kind = 'nvme';
  private readonly engine: NvmeEngine;

  constructor(private readonly disk: Disk) {
    this.engine = new NvmeEngine(disk, { size: disk.size, readOnly: disk.readOnly, id: disk.spec.path });
  }

  get size(): number {
    return this.disk.size;
  }
  get readOnly(): boolean {
    return this.disk.readOnly;
  }
  get id(): string {
    return this.disk.spec.path;
  }
  get stats(): BlockStats {
    return this.engine.stats;
  }

  enable(mem: GuestMemory, e: NvmeEnable, irq: NvmeIrq): void {
    const ops = { fireVector: irq.fire, raiseIntx: () => {} };
    this.engine.enable(mem, e, (v) => irq.state.signal(v, 0, ops));
  }
  disable(): void {
    this.engine.disable();
  }
  shutdown(): void {
    this.engine.shutdown();
  }
  sqTail(qid: number, value: number): void {
    this.engine.sqTail(qid, value);
  }
  doorbellFds(): null {
    return null;
  }
}
