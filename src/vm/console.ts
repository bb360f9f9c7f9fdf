// The console between the main thread and the VM worker. Input: a single-producer/single-consumer
// byte ring in a SharedArrayBuffer plus a stop flag; the producer kicks the vCPU after writing,
// the worker drains the ring when KVM_RUN returns KVM_EXIT_INTR. Output: ConsoleOutput below.

const RING = 4096;
const HDR = 32; // Int32 stop, head, tail, power-button presses, screenshot requests; 3 spare

export class ConsoleChannel {
  readonly sab: SharedArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(HDR + RING);
    this.ctl = new Int32Array(this.sab, 0, 8);
    this.data = new Uint8Array(this.sab, HDR, RING);
  }
  requestStop(): void {
    Atomics.store(this.ctl, 0, 1);
  }
  get stopRequested(): boolean {
    return Atomics.load(this.ctl, 0) !== 0;
  }
  /** Press the guest's power button (ACPI): the host's graceful stop. */
  pressPowerButton(): void {
    Atomics.add(this.ctl, 3, 1);
  }
  /** Consumer: whether a press is waiting (and take it). */
  takePowerButton(): boolean {
    return Atomics.exchange(this.ctl, 3, 0) !== 0;
  }
  /** Ask for a screenshot of the VM's display (the console's Ctrl-\ then s). */
  requestScreenshot(): void {
    Atomics.add(this.ctl, 4, 1);
  }
  /** Consumer: whether a screenshot was asked for (and take the request). */
  takeScreenshot(): boolean {
    return Atomics.exchange(this.ctl, 4, 0) !== 0;
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

const OUT_RING = 64 * 1024;
const OUT_HDR = 8; // Int32 head (bytes written), tail (bytes read), free-running

/**
 * Guest console output from the vCPU threads to the main thread: a single-producer byte ring in a
 * SharedArrayBuffer. The UART's transmit exit stores one byte (no syscall, no allocation per
 * byte); the main thread drains it on a short timer and writes whole chunks, so output never
 * waits for the next exit of a guest that has gone quiet. A full ring blocks the producer until
 * the main thread catches up, as a UART's flow control would.
 */
export class ConsoleOutput {
  readonly sab: SharedArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;

  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(OUT_HDR + OUT_RING);
    this.ctl = new Int32Array(this.sab, 0, 2);
    this.data = new Uint8Array(this.sab, OUT_HDR, OUT_RING);
  }

  /** Producer (one thread at a time: vCPU 0's, which handles every UART exit). */
  put(b: number): void {
    const head = Atomics.load(this.ctl, 0);
    for (;;) {
      const tail = Atomics.load(this.ctl, 1);
      if (((head - tail) | 0) < OUT_RING) break;
      Atomics.wait(this.ctl, 1, tail, 100);
    }
    this.data[head & (OUT_RING - 1)] = b;
    Atomics.store(this.ctl, 0, (head + 1) | 0);
  }

  /** Consumer: everything written since the last drain (empty when nothing was). */
  drain(): Uint8Array {
    const head = Atomics.load(this.ctl, 0);
    const tail = Atomics.load(this.ctl, 1);
    const n = (head - tail) | 0;
    if (n <= 0) return new Uint8Array(0);
    const out = new Uint8Array(n);
    const start = tail & (OUT_RING - 1);
    const first = Math.min(n, OUT_RING - start);
    out.set(this.data.subarray(start, start + first));
    if (first < n) out.set(this.data.subarray(0, n - first), first);
    Atomics.store(this.ctl, 1, head);
    Atomics.notify(this.ctl, 1);
    return out;
  }
}
