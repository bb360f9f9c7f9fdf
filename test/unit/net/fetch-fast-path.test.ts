// The download fast path: plain-http bodies read past Node's parser into one reused buffer
// (src/net/http/bulk.ts), sinks that must copy what they keep, and the memfd sink's hashing
// worker (src/net/file-hasher.ts). The HTTP server is a raw TCP server on 127.0.0.1 that writes
// the response in the pieces each case chooses, so the head and the body land in reads of any
// shape; every downloaded byte is compared with what was sent.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MFD_CLOEXEC, memfdCreate } from '../../../src/native/sys';
import { createFetch, downloadToMemfd } from '../../../src/net/fetch';
import { OFFLOAD_MIN_BYTES, offloadHash } from '../../../src/net/file-hasher';
import { FdSink, MemorySink } from '../../../src/net/sink';
import { NetError } from '../../../src/net/types';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the server sends for the next connection: pieces written with a pause between them. */
let script: { pieces: Buffer[]; pauseMs: number; close?: boolean } = { pieces: [], pauseMs: 0 };
let server: net.Server;
let base = '';

beforeAll(async () => {
  server = net.createServer((c) => {
    const s = script;
    c.on('error', () => undefined);
    const send = async (): Promise<void> => {
      for (const p of s.pieces) {
        if (c.destroyed) return;
        c.write(p);
        if (s.pauseMs > 0) await sleep(s.pauseMs);
      }
      if (s.close) c.destroy();
      else c.end();
    };
    c.once('data', () => void send());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const head = (len: number | undefined, extra = ''): Buffer =>
  Buffer.from(
    `HTTP/1.1 200 OK\r\n${len !== undefined ? `Content-Length: ${len}\r\n` : ''}${extra}Connection: close\r\n\r\n`,
  );

/** Cuts `b` at the given offsets (sorted, deduplicated, inside it). */
function cutAt(b: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.filter((x) => x > 0 && x < b.length))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const x of [...at, b.length]) {
    out.push(b.subarray(prev, x));
    prev = x;
  }
  return out;
}

const fetchNoRetry = createFetch({ http: { retries: 0 }, memReserveBytes: 0 });

describe('plain http past the parser', () => {
  it('any split of head and body gives exactly the body (into memory and into a memfd)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 << 20 }),
        fc.array(fc.integer({ min: 1, max: (3 << 20) + 200 }), { maxLength: 6 }),
        async (size, cuts) => {
          const body = randomBytes(size);
          script = { pieces: cutAt(Buffer.concat([head(size), body]), cuts), pauseMs: 2 };
          const m = await fetchNoRetry(`${base}/f`, { maxBytes: 8 << 20 });
          expect(Buffer.from(m.bytes).equals(body)).toBe(true);
          expect(m.sha256).toBe(sha(body));
          const d = await downloadToMemfd(`${base}/f`, { maxBytes: 8 << 20 }, { memReserveBytes: 0 });
          try {
            const got = fs.readFileSync(`/proc/self/fd/${d.fd}`);
            expect(got.equals(body)).toBe(true);
            expect(d.sha256).toBe(sha(body));
          } finally {
            fs.closeSync(d.fd);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('bytes past Content-Length are not taken', async () => {
    const body = randomBytes((2 << 20) + 5);
    script = {
      pieces: [head(body.length), body.subarray(0, 1000), body.subarray(1000), randomBytes(3000)],
      pauseMs: 5,
    };
    const m = await fetchNoRetry(`${base}/f`, { maxBytes: 8 << 20 });
    expect(Buffer.from(m.bytes).equals(body)).toBe(true);
  });

  it('a body cut short is an error naming how much arrived of how much', async () => {
    const body = randomBytes(3 << 20);
    script = { pieces: [head(4 << 20), body], pauseMs: 5, close: true };
    const e = await fetchNoRetry(`${base}/f`, { maxBytes: 8 << 20 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetError);
    expect((e as NetError).message).toBe(
      `${base}/f: connection closed after ${3 << 20} of ${4 << 20} bytes (gave up after 1 attempt)`,
    );
  });

  it('a chunked body (the parser path) is still limited while it arrives', async () => {
    const chunk = randomBytes(1 << 20);
    const piece = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    script = { pieces: [head(undefined, 'Transfer-Encoding: chunked\r\n'), piece, piece, piece], pauseMs: 5 };
    const e = await fetchNoRetry(`${base}/f`, { maxBytes: (2 << 20) + 1 }).catch((x: unknown) => x);
    const m0 = /^(.*): received (\d+) bytes, more than the limit of (\d+) bytes$/.exec((e as NetError).message);
    expect(m0?.[1]).toBe(`${base}/f`);
    expect(Number(m0?.[2])).toBeGreaterThan((2 << 20) + 1);
    expect(Number(m0?.[3])).toBe((2 << 20) + 1);
    script = {
      pieces: [head(undefined, 'Transfer-Encoding: chunked\r\n'), piece, piece, Buffer.from('0\r\n\r\n')],
      pauseMs: 5,
    };
    const m = await fetchNoRetry(`${base}/f`, { maxBytes: 8 << 20 });
    expect(Buffer.from(m.bytes).equals(Buffer.concat([chunk, chunk]))).toBe(true);
  });
});

describe('sinks keep copies', () => {
  it('MemorySink: the caller may reuse its buffer after write, announced size right or wrong', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { maxLength: 12 }),
        fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
        (chunks, announced) => {
          const s = new MemorySink({ url: 'u', maxBytes: 1 << 20 });
          s.expect(announced);
          const reused = Buffer.alloc(200);
          for (const c of chunks) {
            reused.set(c);
            s.write(reused.subarray(0, c.length));
            reused.fill(0xee);
          }
          const want = Buffer.concat(chunks);
          expect(Buffer.from(s.bytes()).equals(want)).toBe(true);
          expect(Buffer.from(s.bytes()).equals(want)).toBe(true);
          expect(s.digest()).toBe(sha(want));
        },
      ),
    );
  });
});

describe('FdSink hashing in a worker', () => {
  const big = OFFLOAD_MIN_BYTES + 12345;
  /** A sink on a fresh memfd, both closed after `fn`. */
  const withSink = async (fn: (sink: FdSink, fd: number) => unknown): Promise<void> => {
    const fd = memfdCreate('tendril-hash-test', MFD_CLOEXEC);
    const sink = new FdSink({ url: 'http://192.0.2.1/k', maxBytes: big }, fd);
    try {
      await fn(sink, fd);
    } finally {
      sink.close();
      fs.closeSync(fd);
    }
  };
  it('this machine has a second core (otherwise the worker is never used and these tests prove nothing)', () => {
    expect(os.availableParallelism()).toBeGreaterThan(1);
  });

  it('is used for large http(s) downloads only, not for TFTP or small files', () => {
    expect(offloadHash(OFFLOAD_MIN_BYTES, 'http://192.0.2.1/k')).toBe(true);
    expect(offloadHash(OFFLOAD_MIN_BYTES, 'https://192.0.2.1/k')).toBe(true);
    expect(offloadHash(OFFLOAD_MIN_BYTES - 1, 'http://192.0.2.1/k')).toBe(false);
    expect(offloadHash(OFFLOAD_MIN_BYTES, 'tftp://192.0.2.1/k')).toBe(false);
    // Size not known (yet): the worker, so it starts before the request.
    expect(offloadHash(undefined, 'http://192.0.2.1/k')).toBe(true);
    expect(offloadHash(undefined, 'tftp://192.0.2.1/k')).toBe(false);
  });

  it('starts with the sink, before the size is announced; a small announced size hashes inline', () =>
    withSink(async (sink) => {
      expect(() => sink.digest()).toThrow('the hash runs in a worker');
      const data = randomBytes(OFFLOAD_MIN_BYTES - 1);
      sink.expect(data.length);
      sink.write(data);
      expect(sink.digest()).toBe(sha(data));
    }));

  it('a body of unknown length (no Content-Length) stays with the worker', () =>
    withSink(async (sink) => {
      sink.expect(undefined);
      const data = randomBytes(5 << 20);
      sink.write(data);
      expect(() => sink.digest()).toThrow('the hash runs in a worker');
      expect(await sink.finish()).toBe(sha(data));
    }));

  it('hashes exactly what the file holds, across a restart from byte 0, and enforces the limit', () =>
    withSink(async (sink) => {
      sink.expect(big);
      expect(() => sink.digest()).toThrow('the hash runs in a worker');
      const first = randomBytes(3 << 20);
      sink.write(first);
      sink.reset();
      const data = randomBytes(big);
      const reused = Buffer.alloc(100_000);
      for (let off = 0; off < data.length; off += reused.length) {
        const n = Math.min(reused.length, data.length - off);
        data.copy(reused, 0, off, off + n);
        sink.write(reused.subarray(0, n));
        reused.fill(0);
      }
      expect(() => sink.write(Buffer.alloc(1))).toThrow(
        `received ${big + 1} bytes, more than the limit of ${big} bytes`,
      );
      expect(await sink.finish()).toBe(sha(data));
    }));

  it('a file shortened behind the sink is a NetError naming the offset', () =>
    withSink(async (sink, fd) => {
      sink.expect(big);
      // Less than the worker is told about at once: it has read nothing when the file shrinks.
      sink.write(randomBytes(1000));
      fs.ftruncateSync(fd, 0);
      const e = await sink.finish().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetError);
      expect((e as NetError).message).toBe(
        'http://192.0.2.1/k: sha256 of the download: read at byte 0: the file ends there, short of byte 1000',
      );
    }));

  it('the caller may close its fd before the worker is gone (the worker reads its own descriptor)', async () => {
    const fd = memfdCreate('tendril-hash-test', MFD_CLOEXEC);
    const sink = new FdSink({ url: 'http://192.0.2.1/k', maxBytes: big }, fd);
    sink.expect(big);
    const data = randomBytes(3 << 20);
    sink.write(data);
    fs.closeSync(fd);
    try {
      expect(await sink.finish()).toBe(sha(data));
    } finally {
      sink.close();
    }
  });
});
