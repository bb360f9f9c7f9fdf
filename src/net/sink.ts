// Where a transfer's bytes go: memory or a memfd, hashed as they arrive, with the size limit
// checked against the announced size and while receiving. Transports (tftp, http) only call
// expect/write/reset; HTTP's restart-from-zero after a refused resume is reset(). See
// docs/net-transfer.md §4.

import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import { FileHasher, offloadHash } from './file-hasher';
import { NetError, type TransferProgress } from './types';

export interface Sink {
  /** Bytes received so far. */
  readonly size: number;
  /** The size the server announced (Content-Length, tsize); throws NetError above the limit. */
  expect(total: number | undefined): void;
  /** Throws NetError when the limit is crossed. The chunk is the caller's again on return (plain
   *  http reuses one read buffer): a sink that keeps bytes copies them. */
  write(chunk: Uint8Array): void;
  /** Drop everything received: the transfer starts again from byte 0. */
  reset(): void;
}

export interface SinkOptions {
  readonly url: string;
  readonly maxBytes: number;
  readonly onProgress?: (p: TransferProgress) => void;
  /** Called with the announced size before the first byte (the MemAvailable check). */
  readonly onExpect?: (total: number) => void;
}

function sizeError(url: string, n: number, max: number, how: string): NetError {
  return new NetError(url, `${how} ${n} bytes, more than the limit of ${max} bytes`, true);
}

/** Common bookkeeping: limit, hash, progress (at most every 100 ms, and at the end). */
abstract class HashingSink implements Sink {
  /** Undefined while a FileHasher hashes what store() wrote (FdSink). */
  protected hash: Hash | undefined = createHash('sha256');
  private received = 0;
  private total: number | undefined;
  private readonly start = Date.now();
  private lastReport = 0;

  constructor(protected readonly o: SinkOptions) {}

  get size(): number {
    return this.received;
  }

  expect(total: number | undefined): void {
    if (total === undefined) return;
    if (total > this.o.maxBytes) throw sizeError(this.o.url, total, this.o.maxBytes, 'server announced');
    this.total = total;
    this.o.onExpect?.(total);
  }

  write(chunk: Uint8Array): void {
    if (this.received + chunk.length > this.o.maxBytes)
      throw sizeError(this.o.url, this.received + chunk.length, this.o.maxBytes, 'received');
    this.store(chunk);
    this.hash?.update(chunk);
    this.received += chunk.length;
    this.stored(this.received);
    const now = Date.now();
    if (now - this.lastReport >= 100) {
      this.lastReport = now;
      this.report();
    }
  }

  reset(): void {
    this.received = 0;
    this.clear();
    if (this.hash) this.hash = createHash('sha256');
  }

  report(): void {
    const elapsedMs = Date.now() - this.start;
    const p = { url: this.o.url, done: this.received, elapsedMs };
    this.o.onProgress?.(this.total === undefined ? p : { ...p, total: this.total });
  }

  /** The hex digest; call once, at the end. */
  digest(): string {
    this.report();
    if (!this.hash) throw new Error('the hash runs in a worker: finish() gives the digest');
    return this.hash.digest('hex');
  }

  /** The hex digest, once any hashing worker has caught up; call once, at the end. */
  finish(): Promise<string> {
    return Promise.resolve(this.digest());
  }

  protected abstract store(chunk: Uint8Array): void;
  protected abstract clear(): void;
  /** After each write, with the bytes held so far. */
  protected stored(_size: number): void {}
}

export class MemorySink extends HashingSink {
  /** Allocated once the size is announced (the limit and the memory check passed first). */
  private whole: Buffer | undefined;
  private used = 0;
  /** Copies of what did not fit in `whole` (no size announced, or more than announced). */
  private rest: Buffer[] = [];

  override expect(total: number | undefined): void {
    super.expect(total);
    // One buffer filled in place: a separate allocation per chunk, and a concatenation at the
    // end, cost more than the transfer on a fast link (bench/netboot.ts).
    if (total !== undefined && this.size === 0 && this.whole === undefined) this.whole = Buffer.allocUnsafe(total);
  }

  protected store(chunk: Uint8Array): void {
    if (this.whole && this.rest.length === 0 && this.used + chunk.length <= this.whole.length) {
      this.whole.set(chunk, this.used);
      this.used += chunk.length;
    } else this.rest.push(Buffer.from(chunk));
  }

  protected clear(): void {
    this.whole = undefined;
    this.used = 0;
    this.rest = [];
  }

  bytes(): Uint8Array {
    const head = this.whole ? this.whole.subarray(0, this.used) : Buffer.alloc(0);
    if (this.rest.length === 0) return head;
    const out = Buffer.concat([head, ...this.rest]);
    this.whole = out;
    this.used = out.length;
    this.rest = [];
    return out;
  }
}

/**
 * Appends to an open file (a memfd); reset truncates it. A large announced download is hashed
 * by a worker thread reading the file behind the writes (file-hasher.ts), on another core; the
 * bytes hashed are then the bytes the file holds. Call close() when done, whatever happened.
 */
export class FdSink extends HashingSink {
  private hasher: FileHasher | undefined;

  constructor(
    o: SinkOptions,
    private readonly fd: number,
  ) {
    super(o);
    // Started before the request: the worker's start (tens of ms) overlaps the connection and the
    // server's first bytes instead of delaying the hash's end (bench/netboot.ts). A download that
    // turns out small ends it again in expect().
    if (offloadHash(undefined, o.url)) this.startHasher();
  }

  override expect(total: number | undefined): void {
    super.expect(total);
    if (this.size > 0) return;
    const offload = offloadHash(total, this.o.url);
    if (offload && this.hasher === undefined) this.startHasher();
    else if (!offload && this.hasher !== undefined) {
      this.hasher.close();
      this.hasher = undefined;
      this.hash = createHash('sha256');
    }
  }

  private startHasher(): void {
    try {
      this.hasher = new FileHasher(this.fd, this.o.url);
      this.hash = undefined;
    } catch {
      // No /proc to give the worker its own descriptor: hashed inline, as a small file is.
    }
  }

  protected store(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off, this.size + off);
  }

  protected override stored(size: number): void {
    this.hasher?.written(size);
  }

  protected clear(): void {
    fs.ftruncateSync(this.fd, 0);
    this.hasher?.restart();
  }

  override finish(): Promise<string> {
    if (!this.hasher) return super.finish();
    this.report();
    return this.hasher.digest(this.size);
  }

  /** Ends the hashing worker (idempotent). */
  close(): void {
    this.hasher?.close();
  }
}
