// Host input (evdev key strokes and mouse reports) from the main thread to the VM worker
// (docs/vmm-platform.md §9.1.1): a single-producer/single-consumer ring of
// fixed records in a SharedArrayBuffer, like the console's (console.ts). The producer kicks vCPU 0
// after writing; the worker drains the ring when KVM_RUN returns KVM_EXIT_INTR and applies it to
// the i8042 through HostInputSink, which remembers which keys it pressed in this VM instance.
import { isKeyCode, type I8042, type KeyCode } from './i8042';

/** Records the ring holds; more are dropped, and the consumer then releases every key. */
export const HOST_INPUT_RECORDS = 512;
const WORDS = 5; // kind, a, b, c, d
const HDR_WORDS = 4; // head, tail, overflowed, spare
const KIND_KEY = 1;
const KIND_MOUSE = 2;

/** What the ring carries. */
export type HostInputRecord =
  /** A key of the PS/2 keyboard: 1 press, 0 release, 2 typematic repeat. */
  | { readonly kind: 'key'; readonly code: KeyCode; readonly value: 0 | 1 | 2 }
  /** Relative motion in evdev's sense and the buttons held (MouseButton bits). */
  | {
      readonly kind: 'mouse';
      readonly dx: number;
      readonly dy: number;
      readonly wheel: number;
      readonly buttons: number;
    };

/** One drain of the ring. */
export interface HostInputBatch {
  readonly records: readonly HostInputRecord[];
  /** Records were dropped since the last drain: the consumer releases every key. */
  readonly overflowed: boolean;
}

export class HostInputRing {
  readonly sab: SharedArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly data: Int32Array;
  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(4 * (HDR_WORDS + HOST_INPUT_RECORDS * WORDS));
    this.ctl = new Int32Array(this.sab, 0, HDR_WORDS);
    this.data = new Int32Array(this.sab, 4 * HDR_WORDS, HOST_INPUT_RECORDS * WORDS);
  }

  /** Producer: false when the ring was full (the record is dropped and the overflow flagged). */
  push(r: HostInputRecord): boolean {
    const head = Atomics.load(this.ctl, 0);
    const tail = Atomics.load(this.ctl, 1);
    if (((head - tail) | 0) >= HOST_INPUT_RECORDS) {
      Atomics.store(this.ctl, 2, 1);
      return false;
    }
    const at = (head % HOST_INPUT_RECORDS) * WORDS;
    const d = this.data;
    if (r.kind === 'key') {
      d[at] = KIND_KEY;
      d[at + 1] = r.code;
      d[at + 2] = r.value;
    } else {
      d[at] = KIND_MOUSE;
      d[at + 1] = r.dx;
      d[at + 2] = r.dy;
      d[at + 3] = r.wheel;
      d[at + 4] = r.buttons;
    }
    Atomics.store(this.ctl, 0, (head + 1) | 0);
    return true;
  }

  /** Consumer: the records since the last drain, and whether some were dropped meanwhile. */
  drain(): HostInputBatch | null {
    const head = Atomics.load(this.ctl, 0);
    let tail = Atomics.load(this.ctl, 1);
    const records: HostInputRecord[] = [];
    const d = this.data;
    for (; tail !== head; tail = (tail + 1) | 0) {
      const at = (((tail % HOST_INPUT_RECORDS) + HOST_INPUT_RECORDS) % HOST_INPUT_RECORDS) * WORDS;
      const code = d[at + 1]!;
      const value = d[at + 2]!;
      if (d[at] === KIND_KEY) {
        if (isKeyCode(code) && (value === 0 || value === 1 || value === 2)) records.push({ kind: 'key', code, value });
      } else if (d[at] === KIND_MOUSE)
        records.push({ kind: 'mouse', dx: code, dy: value, wheel: d[at + 3]!, buttons: d[at + 4]! });
    }
    Atomics.store(this.ctl, 1, tail);
    const overflowed = Atomics.exchange(this.ctl, 2, 0) !== 0;
    return records.length || overflowed ? { records, overflowed } : null;
  }
}

/**
 * Applies host input to one VM instance's i8042. It presses a key only once and releases only keys
 * it pressed, so a release for a key pressed before a guest reset, or a lost record, never leaves
 * the guest with a key stuck down: releaseAll() lets go of everything it holds.
 */
export class HostInputSink {
  private readonly held = new Set<KeyCode>();
  private buttons = 0;

  constructor(private readonly kbc: Pick<I8042, 'keyDown' | 'keyUp' | 'mouseMove'>) {}

  get keysDown(): number {
    return this.held.size;
  }

  apply(batch: HostInputBatch): void {
    for (const r of batch.records) {
      if (r.kind === 'mouse') {
        this.buttons = r.buttons & 0x1f;
        this.kbc.mouseMove(r.dx, r.dy, this.buttons, r.wheel);
      } else if (r.value === 0) {
        if (this.held.delete(r.code)) this.kbc.keyUp(r.code);
      } else if (r.value === 1 || this.held.has(r.code)) {
        this.held.add(r.code);
        this.kbc.keyDown(r.code);
      }
    }
    if (batch.overflowed) this.releaseAll();
  }

  /** Releases every key and button this sink pressed. */
  releaseAll(): void {
    for (const code of this.held) this.kbc.keyUp(code);
    this.held.clear();
    if (this.buttons) this.kbc.mouseMove(0, 0, 0, 0);
    this.buttons = 0;
  }
}
