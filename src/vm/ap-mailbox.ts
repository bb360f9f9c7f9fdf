// How an AP's thread hands an exit to vCPU 0's thread, which owns the devices (README.md
// "Threads"): a SharedArrayBuffer of Int32 slots. The AP marks its slot REQUEST, sets its bit in
// the pending mask, kicks vCPU 0 (KVM_RUN returns KVM_EXIT_INTR there) and sleeps in
// Atomics.wait; vCPU 0's thread handles the exit straight in the AP's kvm_run page (the addon's
// vCPU table is per process), marks the slot DONE and wakes it. Stopping marks every slot STOP.

const STOP_FLAG = 0;
const PENDING = 1;
const FORWARDED = 2;
const SLOTS = 3;
const IDLE = 0;
const REQUEST = 1;
const DONE = 2;
const STOPPED = 3;
/** Bits in the pending mask: vCPU indexes 0..31 (MAX_CPUS is far below). */
const MAX_SLOTS = 32;

export class ApMailbox {
  readonly sab: SharedArrayBuffer;
  private readonly a: Int32Array;

  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(4 * (SLOTS + MAX_SLOTS));
    this.a = new Int32Array(this.sab);
  }

  get stopping(): boolean {
    return Atomics.load(this.a, STOP_FLAG) !== 0;
  }

  /** Exits forwarded so far (for --stats). */
  get forwarded(): number {
    return Atomics.load(this.a, FORWARDED);
  }

  // ---- AP side ----

  /**
   * Posts vCPU `i`'s exit and blocks until it was handled (true) or the VM is stopping (false).
   * `kick` wakes vCPU 0's thread; it is called after the request is visible.
   */
  forward(i: number, kick: () => void): boolean {
    if (this.stopping) return false;
    Atomics.store(this.a, SLOTS + i, REQUEST);
    Atomics.or(this.a, PENDING, 1 << i);
    Atomics.add(this.a, FORWARDED, 1);
    kick();
    while (Atomics.load(this.a, SLOTS + i) === REQUEST) Atomics.wait(this.a, SLOTS + i, REQUEST);
    const done = Atomics.load(this.a, SLOTS + i) === DONE;
    if (done) Atomics.store(this.a, SLOTS + i, IDLE);
    return done;
  }

  // ---- vCPU 0 side ----

  hasPending(): boolean {
    return Atomics.load(this.a, PENDING) !== 0;
  }

  /** The vCPUs whose exits wait, clearing the mask. */
  takePending(): number[] {
    const bits = Atomics.exchange(this.a, PENDING, 0);
    const out: number[] = [];
    for (let i = 0; i < MAX_SLOTS; i++) if (bits & (1 << i)) out.push(i);
    return out;
  }

  complete(i: number): void {
    if (Atomics.compareExchange(this.a, SLOTS + i, REQUEST, DONE) === REQUEST) Atomics.notify(this.a, SLOTS + i);
  }

  /** Every AP is to leave its loop; one that waits for its exit is released without it. */
  stopAll(): void {
    Atomics.store(this.a, STOP_FLAG, 1);
    for (let i = 0; i < MAX_SLOTS; i++) {
      if (Atomics.compareExchange(this.a, SLOTS + i, REQUEST, STOPPED) === REQUEST) Atomics.notify(this.a, SLOTS + i);
    }
  }
}
