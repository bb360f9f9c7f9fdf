// What a device scan is doing, readable by the main thread even while the scanning thread is
// blocked in a read or busy in a long computation: a SharedArrayBuffer written synchronously
// (Atomics), not messages, which a blocked thread cannot send. When the deadline passes, this
// tells a disk that still answers, only slowly, from one that stopped answering, and names
// what was being read; and the main thread calls a slow scan off through it (the scanning
// thread may not turn to its message queue until the scan ends).

const I64_LAST_ANSWER = 0;
const I64_READING_SINCE = 1;
const I32_ANSWERS = 4;
const I32_SEQ = 5;
const I32_TEXT_LEN = 6;
const I32_CANCELLED = 7;
const TEXT_AT = 32;
const TEXT_MAX = 480;
const SIZE = TEXT_AT + TEXT_MAX;

export interface ProgressSnapshot {
  /** Reads the device answered so far. */
  readonly answers: number;
  /** Date.now() of the last answer; undefined before the first. */
  readonly lastAnswerAt?: number;
  /** What is being read now ('vda:2 /loader/entries/a.conf', 'partition table'). */
  readonly reading?: string;
  /** Date.now() when that started. */
  readonly readingSince?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class ScanProgress {
  private readonly i64: BigInt64Array;
  private readonly i32: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(SIZE)) {
    this.i64 = new BigInt64Array(buffer, 0, 2);
    this.i32 = new Int32Array(buffer, 0, 8);
    this.bytes = new Uint8Array(buffer, TEXT_AT, TEXT_MAX);
  }

  /** The device answered a read (or a filesystem operation completed). */
  answered(): void {
    Atomics.store(this.i64, I64_LAST_ANSWER, BigInt(Date.now()));
    Atomics.add(this.i32, I32_ANSWERS, 1);
  }

  /** Now reading `what` (cut to a few hundred bytes). */
  reading(what: string): void {
    const b = enc.encode(what.length > TEXT_MAX ? what.slice(0, TEXT_MAX) : what).subarray(0, TEXT_MAX);
    // A sequence lock: odd while the text changes, so a reader never sees half of it.
    Atomics.add(this.i32, I32_SEQ, 1);
    this.bytes.set(b);
    Atomics.store(this.i32, I32_TEXT_LEN, b.length);
    Atomics.store(this.i64, I64_READING_SINCE, BigInt(Date.now()));
    Atomics.add(this.i32, I32_SEQ, 1);
  }

  /** Whoever waits has given up (set from any thread). */
  cancel(): void {
    Atomics.store(this.i32, I32_CANCELLED, 1);
  }

  get cancelled(): boolean {
    return Atomics.load(this.i32, I32_CANCELLED) === 1;
  }

  snapshot(): ProgressSnapshot {
    const answers = Atomics.load(this.i32, I32_ANSWERS);
    const last = Number(Atomics.load(this.i64, I64_LAST_ANSWER));
    let reading: string | undefined;
    let since = 0;
    for (let tries = 0; tries < 100; tries++) {
      const seq = Atomics.load(this.i32, I32_SEQ);
      if (seq % 2 === 1) continue;
      const len = Atomics.load(this.i32, I32_TEXT_LEN);
      const text = dec.decode(this.bytes.slice(0, Math.min(len, TEXT_MAX)));
      since = Number(Atomics.load(this.i64, I64_READING_SINCE));
      if (Atomics.load(this.i32, I32_SEQ) !== seq) continue;
      reading = len > 0 ? text : undefined;
      break;
    }
    return {
      answers,
      ...(answers > 0 ? { lastAnswerAt: last } : {}),
      ...(reading !== undefined ? { reading, readingSince: since } : {}),
    };
  }
}
