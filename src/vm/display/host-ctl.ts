// The control block between the VM worker and the display thread (host-thread.ts): which VM and
// framebuffer mapping to watch, whether its KVM slot is mapped, and the copy statistics. The VM
// worker changes the fields and bumps GEN; the display thread applies a generation and stores it
// in ACK, after which it no longer uses the previous VM's file descriptor.
export const GEN = 0;
export const ACK = 1;
/** The VM's fd, -1 while there is none. */
export const VM_FD = 2;
/** The framebuffer's KVM slot number, and 1 while the guest maps it (it may move). */
export const SLOT = 3;
export const MAPPED = 4;
export const QUIT = 5;
const INTS = 8;
/** Float64 fields after the Int32 ones. */
export const MEM_ID = 0;
export const STAT_FRAMES = 1;
export const STAT_FULL = 2;
export const STAT_PAGES = 3;
export const STAT_ROWS = 4;
export const STAT_COPY_MS = 5;
export const STAT_MAX_PAGES = 6;
const FLOATS = 8;

export const STAT_NAMES: ReadonlyArray<[number, string]> = [
  [STAT_FRAMES, 'display:frames copied'],
  [STAT_FULL, 'display:full redraws'],
  [STAT_PAGES, 'display:dirty pages'],
  [STAT_MAX_PAGES, 'display:most dirty pages in a frame'],
  [STAT_ROWS, 'display:rows copied'],
  [STAT_COPY_MS, 'display:copy ms'],
];

export class DisplayCtl {
  readonly sab: SharedArrayBuffer;
  readonly i: Int32Array;
  readonly f: Float64Array;
  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(INTS * 4 + FLOATS * 8);
    this.i = new Int32Array(this.sab, 0, INTS);
    this.f = new Float64Array(this.sab, INTS * 4, FLOATS);
    if (!sab) {
      this.i[VM_FD] = -1;
      this.f[MEM_ID] = -1;
    }
  }

  /** VM worker: publishes a change and wakes the display thread. */
  bump(): number {
    const g = Atomics.add(this.i, GEN, 1) + 1;
    Atomics.notify(this.i, GEN);
    return g;
  }

  /** VM worker: waits (at most `ms`) until the display thread applied generation `g`. */
  waitAck(g: number, ms = 2000): boolean {
    const until = Date.now() + ms;
    for (;;) {
      const a = Atomics.load(this.i, ACK);
      if (a - g >= 0) return true;
      const left = until - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.i, ACK, a, Math.min(left, 50));
    }
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [i, name] of STAT_NAMES) out[name] = Math.round(this.f[i]! * 100) / 100;
    return out;
  }
}
