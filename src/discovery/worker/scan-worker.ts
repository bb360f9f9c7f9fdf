// The worker side: scans devices on request and serves file operations on the
// filesystems it opened, each one as soon as it is found. Runs inside the bundle when
// started with WORKER_ROLE.

import { parentPort } from 'node:worker_threads';
import type { FileHandle, FileSystem } from '../fs/types';
import type { ScannedDevice } from '../scan-device';
import { runScanJob } from './job';
import { ScanProgress } from './progress';
import type { FsMeta, Request, Response, ScanPartial, ScanReply, WireError } from './protocol';

function metasOf(readers: ReadonlyMap<string, FileSystem>): FsMeta[] {
  return [...readers].map(([fsId, r]) => ({ fsId, type: r.type, caseInsensitive: r.caseInsensitive }));
}

export function startScanWorker(): void {
  const port = parentPort;
  if (!port) return;
  const devices: ScannedDevice[] = [];
  const readers = new Map<string, FileSystem>();
  const handles = new Map<number, FileHandle>();
  let nextHandle = 1;

  const reply = (r: Response, transfer: ArrayBuffer[] = []): void => port.postMessage(r, transfer);

  async function handle(req: Request): Promise<void> {
    try {
      switch (req.op) {
        case 'scan': {
          const progress = new ScanProgress(req.progress);
          const post = (partial: ScanPartial): void => reply({ id: req.id, partial });
          const job = await runScanJob(
            req.info,
            req,
            progress,
            {
              report: (report, found) => {
                // Found filesystems are served at once: kept if the deadline passes.
                for (const [fsId, r] of found) readers.set(fsId, r);
                post({ kind: 'report', report, filesystems: metasOf(found) });
              },
              local: (part) => post({ kind: 'local', part }),
            },
            () => progress.cancelled,
          );
          devices.push(job.dev);
          for (const [fsId, r] of job.dev.readers) readers.set(fsId, r);
          const value: ScanReply = {
            report: job.report,
            filesystems: metasOf(job.dev.readers),
            ...(job.local ? { local: job.local } : {}),
          };
          reply({ id: req.id, ok: true, value });
          return;
        }
        case 'stat':
        case 'lstat':
        case 'readdir': {
          const fs = fsOf(req.fsId);
          const value =
            req.op === 'readdir' && req.limit !== undefined
              ? await fs.readdir(req.path, { limit: req.limit })
              : await fs[req.op](req.path);
          reply({ id: req.id, ok: true, value });
          return;
        }
        case 'open': {
          const h = await fsOf(req.fsId).open(req.path);
          const id = nextHandle++;
          handles.set(id, h);
          reply({ id: req.id, ok: true, value: { handle: id, size: h.size } });
          return;
        }
        case 'read': {
          const h = handles.get(req.handle);
          if (!h) throw Object.assign(new Error(`bad handle ${req.handle}`), { code: 'EINVAL' });
          const data = await h.read(req.position, req.length);
          // Copy out: readers may return views into shared or WASM memory.
          const copy = new Uint8Array(data.length);
          copy.set(data);
          reply({ id: req.id, ok: true, value: copy }, [copy.buffer]);
          return;
        }
        case 'closeHandle': {
          const h = handles.get(req.handle);
          handles.delete(req.handle);
          if (h) await h.close();
          reply({ id: req.id, ok: true, value: null });
          return;
        }
        case 'closeAll': {
          for (const h of handles.values()) await h.close().catch(() => undefined);
          handles.clear();
          for (const d of devices) await d.close();
          devices.length = 0;
          readers.clear();
          reply({ id: req.id, ok: true, value: null });
          return;
        }
      }
    } catch (e) {
      reply({ id: req.id, ok: false, error: toWire(e) });
    }
  }

  function fsOf(fsId: string): FileSystem {
    const r = readers.get(fsId);
    if (!r) throw Object.assign(new Error(`no filesystem ${fsId}`), { code: 'ENOENT' });
    return r;
  }

  port.on('message', (req: Request) => void handle(req));
  port.postMessage({ ready: true });
}

function toWire(e: unknown): WireError {
  if (e instanceof Error) {
    const x = e as Error & { code?: unknown; path?: unknown };
    return {
      name: e.name,
      message: e.message,
      ...(typeof x.code === 'string' ? { code: x.code } : {}),
      ...(typeof x.path === 'string' ? { path: x.path } : {}),
    };
  }
  return { name: 'Error', message: String(e) };
}
