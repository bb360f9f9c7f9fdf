// Plain-http body reads without Node's per-read costs. The socket reads into one reused 1 MiB
// buffer (net.connect's `onread`). Until the response head is parsed, each read is copied and
// pushed into the socket's stream, where Node's HTTP parser reads it as usual; once the head
// says the body is a plain Content-Length body the sink wants, reads go to the consumer as they
// are: no copy, no parser, no stream. A fresh 64 KiB buffer per read (page faults), the parser
// and the stream bookkeeping were most of a fast download's time (bench/netboot.ts).

import type * as net from 'node:net';

/** The body's consumer: returns false once it wants no more (the body is complete). */
export type BodyConsumer = (chunk: Buffer) => boolean;

export const BULK_READ_BYTES = 1 << 20;

export class BulkReads {
  readonly onread: net.OnReadOpts;
  private sock: net.Socket | undefined;
  private early: Buffer[] = [];
  private taken = false;
  private held: Buffer[] = [];
  private consumer: BodyConsumer | undefined;

  constructor(size = BULK_READ_BYTES) {
    const buffer = Buffer.allocUnsafe(size);
    this.onread = {
      buffer,
      callback: (n, buf) => this.deliver(Buffer.from(buf.buffer, buf.byteOffset, n)),
    };
  }

  /** The socket the reads belong to, once connected (reads before it are kept, copied). */
  attach(sock: net.Socket): void {
    this.sock = sock;
    for (const c of this.early) sock.push(c);
    this.early = [];
  }

  /**
   * From the 'response' listener, synchronously (the parser is still in the read that ended the
   * head): later reads are held for the consumer instead of parsed. The rest of that read is
   * parsed into the response (read it from there first).
   */
  takeBody(): void {
    this.taken = true;
  }

  get bodyTaken(): boolean {
    return this.taken;
  }

  /** Hands the held reads, then each new one, to `fn`. */
  consume(fn: BodyConsumer): void {
    const held = this.held;
    this.held = [];
    for (const c of held) if (!fn(c)) return;
    this.consumer = fn;
  }

  private deliver(chunk: Buffer): boolean {
    if (this.consumer) return this.consumer(chunk);
    // The buffer is reused by the next read: everything kept is a copy.
    const copy = Buffer.from(chunk);
    if (this.taken) this.held.push(copy);
    else if (this.sock) return this.sock.push(copy);
    else this.early.push(copy);
    return true;
  }
}
