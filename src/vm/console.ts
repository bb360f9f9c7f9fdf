// Console input from the main thread to the vCPU worker: a single-producer/single-consumer byte
// ring in a SharedArrayBuffer plus a stop flag. The producer kicks the vCPU after writing, the
// worker drains the ring when KVM_RUN returns KVM_EXIT_INTR.

const RING = 4096;
const HDR = 16; // Int32 stop, head, tail

export class ConsoleChannel {
  readonly sab: SharedArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(HDR + RING);
    this.ctl = new Int32Array(this.sab, 0, 4);
    this.data = new Uint8Array(this.sab, HDR, RING);
  }
  requestStop(): void {
    Atomics.store(this.ctl, 0, 1);
  }
  get stopRequested(): boolean {
    return Atomics.load(this.ctl, 0) !== 0;
  }
  /** Producer: returns the number of bytes accepted (the rest is dropped when full). */
  push(bytes: Uint8Array): number {
    let head = Atomics.load(this.ctl, 1);
    const tail = Atomics.load(this.ctl, 2);
    let n = 0;
    for (const b of bytes) {
      if (head - tail >= RING) break;
      this.data[head % RING] = b;
      head++;
      n++;
    }
    Atomics.store(this.ctl, 1, head);
    return n;
  }
  /** Consumer. */
  drain(): Uint8Array | null {
    const head = Atomics.load(this.ctl, 1);
    let tail = Atomics.load(this.ctl, 2);
    if (head === tail) return null;
    const out = new Uint8Array(head - tail);
    for (let i = 0; tail !== head; i++, tail++) out[i] = this.data[tail % RING]!;
    Atomics.store(this.ctl, 2, tail);
    return out;
  }
}
