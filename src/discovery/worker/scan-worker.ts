// The worker side: scans devices on request and serves file operations on the
// filesystems it opened. Runs inside the bundle when started with WORKER_ROLE.

import { parentPort } from 'node:worker_threads';
import type { FileHandle, FileSystem } from '../fs/types';
import { mountsOf, runSourcesOver } from '../local';
import { scanDevice, type ScannedDevice } from '../scan-device';
import { localSources } from '../sources';
import type { FsMeta, Request, Response, ScanReply, WireError } from './protocol';

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
          const dev = await scanDevice(req.info);
          devices.push(dev);
          const filesystems: FsMeta[] = [];
          for (const [fsId, r] of dev.readers) {
            readers.set(fsId, r);
            filesystems.push({ fsId, type: r.type, caseInsensitive: r.caseInsensitive });
          }
          const local = req.local ? await runSourcesOver(localSources, mountsOf(dev), req.arch) : undefined;
          const value: ScanReply = { report: dev.report, filesystems, ...(local ? { local } : {}) };
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
