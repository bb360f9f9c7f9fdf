// Scanners: run the scan of many devices at once, each under a deadline. WorkerPoolScanner
// spreads devices over worker threads (one device at a time per worker, as many workers as
// cores) so I/O on both cores overlaps and a hung disk only stalls its own worker.
// InProcessScanner is the same pipeline on the main thread for tests and for the unbundled
// sources. A scan streams what it finds (job.ts); when the deadline passes first, what was
// found is kept and the rest is reported unfinished (partial.ts): a device that stopped
// answering retires its worker, a slow one is called off and its worker keeps serving the
// filesystems it found.

import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { diag } from '../diagnostics';
import {
  type DirEntry,
  type FileHandle,
  type FileStat,
  type FileSystem,
  FsError,
  type FsErrorCode,
  type ReaddirOptions,
} from '../fs/types';
import type { DeviceInfo, DeviceReport } from '../model';
import type { LocalResult } from '../local';
import type { ScannedDevice } from '../scan-device';
import type { EfiArch } from '../sources/context';
import { runScanJob } from './job';
import { PartialScan } from './partial';
import { ScanProgress } from './progress';
import {
  WORKER_ROLE,
  type FsMeta,
  type RequestBody,
  type Response,
  type ScanPartial,
  type ScanReply,
  type WireError,
} from './protocol';

export interface ScanOutcome {
  readonly report: DeviceReport;
  readonly readers: Map<string, FileSystem>;
  /** Entries of the local sources, found next to the device's readers. */
  readonly local?: LocalResult;
}

export interface ScanRequest {
  readonly arch: EfiArch;
  /** Run the local entry sources where the device lives. */
  readonly local: boolean;
  /** The boot origin for `uki-url :name` entries. */
  readonly originUrl?: string;
}

export interface DeviceScanner {
  scan(info: DeviceInfo, deadlineMs: number, req: ScanRequest): Promise<ScanOutcome>;
  close(): Promise<void>;
  /** A device never answered: its thread is blocked in a syscall (see native/exit). */
  hasStuck(): boolean;
}

function kept(local: LocalResult): LocalResult | undefined {
  return local.entries.length + local.proposals.length + local.diagnostics.length > 0 ? local : undefined;
}

export class InProcessScanner implements DeviceScanner {
  private readonly scanned: ScannedDevice[] = [];
  private stuck = false;

  hasStuck(): boolean {
    return this.stuck;
  }

  async scan(info: DeviceInfo, deadlineMs: number, req: ScanRequest): Promise<ScanOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), deadlineMs);
    });
    const progress = new ScanProgress();
    const partial = new PartialScan(info);
    let readersSoFar: ReadonlyMap<string, FileSystem> = new Map();
    const work = runScanJob(
      info,
      req,
      progress,
      {
        report: (r, readers) => {
          partial.onReport(r);
          readersSoFar = new Map(readers);
        },
        local: (p) => partial.onLocal(p),
      },
      () => progress.cancelled,
    );
    const r = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (!r) {
      progress.cancel();
      const { report, verdict } = partial.timedOut(deadlineMs, progress.snapshot(), Date.now());
      const local = kept(partial.local());
      if (verdict !== 'slow') {
        this.stuck = true;
        void work.then(
          (d) => d.dev.close(),
          () => undefined,
        );
        return { report, readers: new Map(), ...(local ? { local } : {}) };
      }
      // Still answering: the filesystems found stay readable; the device closes with the rest.
      void work.then(
        (d) => this.scanned.push(d.dev),
        () => undefined,
      );
      const readers = new Map([...readersSoFar].filter(([id]) => partial.fsIds.includes(id)));
      return { report, readers, ...(local ? { local } : {}) };
    }
    this.scanned.push(r.dev);
    return { report: r.report, readers: r.dev.readers, ...(r.local ? { local: r.local } : {}) };
  }

  async close(): Promise<void> {
    for (const d of this.scanned) await d.close();
    this.scanned.length = 0;
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onPartial?: ((p: ScanPartial) => void) | undefined;
}

class WorkerClient {
  readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  busy = false;
  stuck = false;
  dead = false;
  /** Called off a scan that was slow: serves its filesystems, takes no more scans. */
  retired = false;
  /** The called-off scan has not ended yet (its disk may have stopped answering since). */
  draining = false;

  /** Resolves when the worker has loaded the bundle and listens (start-up is not the device's fault). */
  readonly ready: Promise<void>;

  constructor(script: string) {
    this.worker = new Worker(script, { workerData: { role: WORKER_ROLE }, stdout: false, stderr: false });
    let markReady: () => void = () => {};
    this.ready = new Promise((r) => (markReady = r));
    this.worker.on('message', (r: Response | { readonly ready: true }) => {
      if ('ready' in r) {
        markReady();
        return;
      }
      const p = this.pending.get(r.id);
      if (!p) return;
      if ('partial' in r) {
        p.onPartial?.(r.partial);
        return;
      }
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      else p.reject(fromWire(r.error));
    });
    const fail = (e: Error): void => {
      this.dead = true;
      markReady();
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`scan worker exited (${code})`)));
  }

  /** Send a request; `onPartial` hears what a scan streams before its reply. */
  start<T>(req: RequestBody, onPartial?: (p: ScanPartial) => void): { id: number; result: Promise<T> } {
    const id = this.nextId++;
    if (this.dead) return { id, result: Promise.reject(new Error('scan worker is gone')) };
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onPartial });
      this.worker.postMessage({ ...req, id });
    });
    return { id, result };
  }

  call<T>(req: RequestBody): Promise<T> {
    return this.start<T>(req).result;
  }
}

function fromWire(w: WireError): Error {
  if (w.name === 'FsError' && w.code && w.path !== undefined) {
    const e = new FsError(w.code as FsErrorCode, w.path);
    e.message = w.message;
    return e;
  }
  return Object.assign(new Error(w.message), { name: w.name, ...(w.code ? { code: w.code } : {}) });
}

/** A filesystem living in a scan worker. */
class RemoteFileSystem implements FileSystem {
  readonly type: string;
  readonly caseInsensitive: boolean;
  constructor(
    private readonly client: WorkerClient,
    private readonly fsId: string,
    meta: FsMeta,
  ) {
    this.type = meta.type;
    this.caseInsensitive = meta.caseInsensitive;
  }
  stat(path: string): Promise<FileStat> {
    return this.client.call({ op: 'stat', fsId: this.fsId, path });
  }
  lstat(path: string): Promise<FileStat> {
    return this.client.call({ op: 'lstat', fsId: this.fsId, path });
  }
  readdir(path: string, opts?: ReaddirOptions): Promise<DirEntry[]> {
    const limit = opts?.limit;
    return this.client.call({ op: 'readdir', fsId: this.fsId, path, ...(limit !== undefined ? { limit } : {}) });
  }
  async open(path: string): Promise<FileHandle> {
    const { handle, size } = await this.client.call<{ handle: number; size: number }>({
      op: 'open',
      fsId: this.fsId,
      path,
    });
    const client = this.client;
    return {
      size,
      read: (position: number, length: number) => client.call<Uint8Array>({ op: 'read', handle, position, length }),
      close: () => client.call<void>({ op: 'closeHandle', handle }),
    };
  }
  async close(): Promise<void> {}
}

export class WorkerPoolScanner implements DeviceScanner {
  private readonly clients: WorkerClient[] = [];
  private readonly waiters: Array<(c: WorkerClient) => void> = [];

  constructor(
    private readonly script: string,
    private readonly size = Math.max(2, os.availableParallelism?.() ?? os.cpus().length),
  ) {}

  private anyStuck = false;

  hasStuck(): boolean {
    return this.anyStuck;
  }

  private acquire(): Promise<WorkerClient> {
    const idle = this.clients.find((c) => !c.busy && !c.stuck && !c.dead && !c.retired);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    const live = this.clients.filter((c) => !c.stuck && !c.dead && !c.retired).length;
    if (live < this.size) {
      const c = new WorkerClient(this.script);
      c.busy = true;
      this.clients.push(c);
      return Promise.resolve(c);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(c: WorkerClient): void {
    c.busy = false;
    const next = this.waiters.shift();
    if (!next) return;
    if (!c.stuck && !c.dead && !c.retired) {
      c.busy = true;
      next(c);
    } else {
      void this.acquire().then(next);
    }
  }

  async scan(info: DeviceInfo, deadlineMs: number, req: ScanRequest): Promise<ScanOutcome> {
    const c = await this.acquire();
    // The deadline is the device's: it starts once the worker is up (slow under emulation).
    await c.ready;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), deadlineMs);
    });
    const progress = new ScanProgress();
    const partial = new PartialScan(info);
    const metas = new Map<string, FsMeta>();
    try {
      const { result } = c.start<ScanReply>(
        {
          op: 'scan',
          info,
          arch: req.arch,
          local: req.local,
          ...(req.originUrl !== undefined ? { originUrl: req.originUrl } : {}),
          progress: progress.buffer,
        },
        (p) => {
          if (p.kind === 'local') partial.onLocal(p.part);
          else {
            partial.onReport(p.report);
            for (const m of p.filesystems) metas.set(m.fsId, m);
          }
        },
      );
      const r = await Promise.race([result, deadline]);
      if (!r) {
        const { report, verdict } = partial.timedOut(deadlineMs, progress.snapshot(), Date.now());
        const local = kept(partial.local());
        if (verdict !== 'slow') {
          // The worker is blocked in a read; retire it so nothing else queues behind it.
          c.stuck = true;
          this.anyStuck = true;
          c.worker.unref();
          return { report, readers: new Map(), ...(local ? { local } : {}) };
        }
        // Still answering: call the scan off; the worker keeps serving what it found.
        c.retired = true;
        c.draining = true;
        progress.cancel();
        void result.then(
          () => (c.draining = false),
          () => (c.draining = false),
        );
        const readers = new Map<string, FileSystem>();
        for (const fsId of partial.fsIds) {
          const m = metas.get(fsId);
          if (m) readers.set(fsId, new RemoteFileSystem(c, fsId, m));
        }
        return { report, readers, ...(local ? { local } : {}) };
      }
      const readers = new Map<string, FileSystem>();
      for (const m of r.filesystems) readers.set(m.fsId, new RemoteFileSystem(c, m.fsId, m));
      return { report: r.report, readers, ...(r.local ? { local: r.local } : {}) };
    } catch (e) {
      return {
        report: {
          device: info,
          filesystems: [],
          diagnostics: [diag('error', 'device', `scan failed: ${(e as Error).message}`, { device: info.path })],
          elapsedMs: 0,
        },
        readers: new Map(),
      };
    } finally {
      clearTimeout(timer);
      this.release(c);
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.clients.map(async (c) => {
        if (c.stuck || c.draining) {
          // Blocked in a syscall: terminate() would wait for it; let the process exit instead.
          if (c.draining) this.anyStuck = true;
          c.worker.unref();
          void c.worker.terminate();
          return;
        }
        if (!c.dead) await c.call({ op: 'closeAll' }).catch(() => undefined);
        await c.worker.terminate();
      }),
    );
    this.clients.length = 0;
  }
}

/** The bundle can start workers from itself; unbundled sources (tests) cannot. */
export function defaultScanner(): DeviceScanner {
  const self = typeof __filename === 'string' ? __filename : '';
  if (self.endsWith('.js') && process.env.TENDRIL_WORKERS !== '0') return new WorkerPoolScanner(self);
  return new InProcessScanner();
}
