// The sha256 of a file computed by a worker thread that reads it behind its writer (FdSink): on
// a machine with a second core, hashing (about a third of a fast download's work) overlaps the
// receiving and writing instead of following each chunk. The worker reads what the file holds,
// so the digest is of the bytes kexec will read. See docs/net-transfer.md §4.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { NetError } from './types';

/** Below this, starting the worker (tens of ms of another core) saves nothing. */
export const OFFLOAD_MIN_BYTES = 8 << 20;
/** The worker is told about new bytes at most once per this many (TFTP writes 1.4 KiB blocks). */
const NOTIFY_BYTES = 1 << 20;

/**
 * Whether a download of `total` bytes from `url` is hashed by a worker (`total` undefined: the
 * size is not known, or not yet). Not TFTP's: lock-step, it moves a few tens of MB/s at best,
 * where hashing inline costs a few percent, and a busy worker would only delay the next ACK.
 */
export function offloadHash(total: number | undefined, url: string): boolean {
  return (total ?? Infinity) >= OFFLOAD_MIN_BYTES && !url.startsWith('tftp:') && os.availableParallelism() > 1;
}

// Plain CommonJS, evaluated by the worker: no bundle to load, nothing but node's own modules.
// Messages: {upTo} hash the file up to that offset; {restart} the file was truncated, start over;
// {upTo, end} also reply with the digest. Failures reply {error} naming the call and the offset.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { readSync } = require('node:fs');
const buf = Buffer.allocUnsafe(${NOTIFY_BYTES});
let hash = createHash('sha256');
let done = 0;
parentPort.on('message', (m) => {
  try {
    if (m.restart) { hash = createHash('sha256'); done = 0; return; }
    while (done < m.upTo) {
      const n = readSync(workerData.fd, buf, 0, Math.min(buf.length, m.upTo - done), done);
      if (n <= 0) throw new Error('the file ends there, short of byte ' + m.upTo);
      hash.update(buf.subarray(0, n));
      done += n;
    }
    if (m.end) parentPort.postMessage({ digest: hash.digest('hex') });
  } catch (e) {
    parentPort.postMessage({ error: 'read at byte ' + done + ': ' + (e.code || e.message) });
  }
});
`;

type Reply = { readonly digest: string } | { readonly error: string };

export class FileHasher {
  private readonly worker: Worker;
  /** The worker's own descriptor of the file, closed once the worker is gone: the caller may
   *  close its fd at any time without the worker ever reading a reused fd number. */
  private readonly fd: number;
  private notified = 0;
  private failure: string | undefined;
  private waiting: ((r: Reply) => void) | undefined;
  private closed = false;

  /** Throws when the file cannot be opened again through /proc (then hash inline). */
  constructor(
    fd: number,
    private readonly url: string,
  ) {
    this.fd = fs.openSync(`/proc/self/fd/${fd}`, 'r');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd: this.fd } });
    // Only a pending digest keeps the process alive for it.
    this.worker.unref();
    const answer = (r: Reply): void => {
      if ('error' in r) this.failure ??= r.error;
      const w = this.waiting;
      this.waiting = undefined;
      w?.(r);
    };
    this.worker.on('message', answer);
    this.worker.on('error', (e) => answer({ error: e.message }));
    this.worker.on('exit', (code) => {
      fs.closeSync(this.fd);
      if (!this.closed) answer({ error: `the hashing worker exited (status ${code})` });
    });
  }

  /** The file now holds `size` bytes. */
  written(size: number): void {
    if (size - this.notified < NOTIFY_BYTES) return;
    this.notified = size;
    this.worker.postMessage({ upTo: size });
  }

  /** The file was truncated to 0: hash it again from the start. */
  restart(): void {
    this.notified = 0;
    this.worker.postMessage({ restart: true });
  }

  /** The digest of the first `size` bytes, once the worker has read them; ends the worker. */
  digest(size: number): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const fail = (why: string): void => {
        this.close();
        reject(new NetError(this.url, `sha256 of the download: ${why}`));
      };
      if (this.failure !== undefined) return fail(this.failure);
      this.waiting = (r) => {
        if ('error' in r) return fail(r.error);
        this.close();
        resolve(r.digest);
      };
      this.worker.ref();
      this.worker.postMessage({ upTo: size, end: true });
    });
  }

  /** Ends the worker (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.worker.terminate();
  }
}
