// Network kernels and initrds are kexec'd straight from their sealed download memfds
// (docs/net-transfer.md §10). A real http server (Node's, on loopback, streaming a 64 MiB initrd
// from a file) serves the host's kernel; a NetFileSystem with and without a memfd downloader
// plans and loads the entry with a recording kexec_file_load. With the downloader the fds kexec
// gets are the downloads themselves (sealed: a write is refused), there is one memfd per file
// and no in-memory copy, and the measured-boot hook's digests are those of the served bytes.
// Without it, the bytes are held in memory and copied into new memfds. Both runs print the
// memory held when kexec_file_load is called (distinct memfd bytes + the bytes the filesystem
// keeps in memory; and the MemAvailable drop, which is noisy on a shared machine) for the
// report; the assertions are on the copies, not on timing or free memory.

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { type MenuEntry, statusOf } from '../../../src/discovery/model';
import { loadPlan, type WrittenDigests } from '../../../src/kexec/load';
import { planBoot } from '../../../src/kexec/plan';
import { createFetch, downloadToMemfd, memAvailable } from '../../../src/net/fetch';
import { NetFileSystem } from '../../../src/net/netfs';
import { netRef } from '../../../src/net/netentry';

const INITRD_BYTES = 64 << 20;
let dir: string;
let server: http.Server;
let base: string;
let kernelSha: string;
let initrdSha: string;

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every memfd this process has open, counted once per inode: name and size. */
function memfds(): Map<number, { name: string; size: number }> {
  const out = new Map<number, { name: string; size: number }>();
  for (const n of fs.readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = fs.readlinkSync(`/proc/self/fd/${n}`);
    } catch {
      continue;
    }
    if (!link.startsWith('/memfd:')) continue;
    const st = fs.fstatSync(Number(n));
    out.set(st.ino, { name: link, size: st.size });
  }
  return out;
}

function fileSha(fd: number): string {
  const h = createHash('sha256');
  const b = Buffer.alloc(4 << 20);
  for (let off = 0; ;) {
    const n = fs.readSync(fd, b, 0, b.length, off);
    if (n === 0) return h.digest('hex');
    h.update(b.subarray(0, n));
    off += n;
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-memfd-'));
  fs.copyFileSync(hostKernel().vmlinuz, path.join(dir, 'vmlinuz'));
  kernelSha = sha(fs.readFileSync(path.join(dir, 'vmlinuz')));
  // Written in pieces, so the server's process never holds the whole initrd either.
  const h = createHash('sha256');
  const fd = fs.openSync(path.join(dir, 'initrd.img'), 'w');
  for (let i = 0; i < INITRD_BYTES / (1 << 20); i++) {
    const c = randomBytes(1 << 20);
    h.update(c);
    fs.writeSync(fd, c);
  }
  fs.closeSync(fd);
  initrdSha = h.digest('hex');
  server = http.createServer((req, res) => {
    const f = path.join(dir, path.basename(req.url ?? ''));
    if (!fs.existsSync(f)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': fs.statSync(f).size });
    fs.createReadStream(f).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly kernelLink: string;
  readonly initrdLink: string;
  readonly kernelSha: string;
  readonly initrdSha: string;
  readonly memfds: Map<number, { name: string; size: number }>;
  readonly digests: WrittenDigests;
  /** Distinct memfd bytes when kexec_file_load is called. */
  readonly memfdBytes: number;
  /** Bytes the NetFileSystem holds in memory (the old path's downloads). */
  readonly heldBytes: number;
  readonly memAvailableDrop?: number;
  readonly writeRefused: string;
}

async function run(memfd: boolean, eventLog?: Uint8Array): Promise<Run> {
  const cfg = { memReserveBytes: 0 };
  const nfs = new NetFileSystem('net:lo', createFetch(cfg), {
    maxBytes: 1 << 30,
    ...(memfd ? { download: (u: string, o: Parameters<typeof downloadToMemfd>[1]) => downloadToMemfd(u, o, cfg) } : {}),
  });
  const target = {
    kind: 'linux' as const,
    kernel: netRef('lo', `${base}vmlinuz`),
    initrds: [netRef('lo', `${base}initrd.img`)],
    cmdline: 'console=ttyS0',
  };
  const entry: MenuEntry = {
    sourceId: 'net',
    id: 'net',
    title: 'net',
    displayTitle: 'net',
    index: 0,
    default: true,
    origin: { source: 'net', fsId: 'net:lo', device: 'lo', partition: 0, file: base },
    status: statusOf(target, undefined),
    diagnostics: [],
  };
  const lookup = (id: string) => (id === 'net:lo' ? nfs : undefined);
  const avail0 = memAvailable();
  let seen: Omit<Run, 'digests' | 'heldBytes'> | undefined;
  let heldBytes = 0;
  let digests: WrittenDigests | undefined;
  try {
    const plan = await planBoot(entry, lookup, { memAvailable: () => undefined });
    await loadPlan(plan, lookup, undefined, {
      readLoaded: () => '1',
      measure: {
        algs: ['sha256'],
        measured: async (d) => {
          digests = d;
          return eventLog;
        },
      },
      kexecFileLoad: (kfd, ifd) => {
        const m = memfds();
        const mem = [...m.values()].reduce((a, x) => a + x.size, 0);
        const avail1 = memAvailable();
        const kernelSum = fileSha(kfd);
        const initrdSum = fileSha(ifd);
        // After hashing: the old path's memfd is not sealed, and this write would change it.
        let writeRefused = 'written';
        try {
          const w = fs.openSync(`/proc/self/fd/${ifd}`, 'r+');
          try {
            fs.writeSync(w, Buffer.from('x'), 0, 1, 0);
          } finally {
            fs.closeSync(w);
          }
        } catch (e) {
          writeRefused = (e as NodeJS.ErrnoException).code ?? String(e);
        }
        seen = {
          kernelLink: fs.readlinkSync(`/proc/self/fd/${kfd}`),
          initrdLink: fs.readlinkSync(`/proc/self/fd/${ifd}`),
          kernelSha: kernelSum,
          initrdSha: initrdSum,
          memfds: m,
          memfdBytes: mem,
          ...(avail0 !== undefined && avail1 !== undefined ? { memAvailableDrop: avail0 - avail1 } : {}),
          writeRefused,
        };
      },
    });
    for (const r of [target.kernel, ...target.initrds]) heldBytes += (await nfs.fetched(r.path))?.bytes.length ?? 0;
  } finally {
    await nfs.close();
  }
  const mib = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;
  console.log(
    `${memfd ? 'sealed download memfds' : 'memory + copy'}${eventLog ? ' + event log' : ''}: ` +
      `at kexec_file_load ${mib(seen!.memfdBytes + heldBytes)} (memfds ${mib(seen!.memfdBytes)} + held in memory ${mib(heldBytes)}), ` +
      `MemAvailable drop ${seen!.memAvailableDrop !== undefined ? mib(seen!.memAvailableDrop) : '?'} for a ${mib(INITRD_BYTES)} initrd`,
  );
  return { ...seen!, heldBytes, digests: digests! };
}

const hex = (d: WrittenDigests['kernel']): string => Buffer.from(d.get('sha256')!).toString('hex');

describe('kexec from the sealed download memfds', () => {
  it('with a downloader: kexec gets the download memfds themselves, sealed, one per file; the hooks saw the served bytes', async () => {
    const r = await run(true);
    expect(r.kernelLink).toMatch(/^\/memfd:tendril-net-vmlinuz/);
    expect(r.initrdLink).toMatch(/^\/memfd:tendril-net-initrd\.img/);
    expect(r.writeRefused).toBe('EPERM');
    expect([...r.memfds.values()].map((m) => m.name).sort()).toEqual([
      expect.stringMatching(/^\/memfd:tendril-net-initrd\.img/),
      expect.stringMatching(/^\/memfd:tendril-net-vmlinuz/),
    ]);
    expect([r.kernelSha, r.initrdSha]).toEqual([kernelSha, initrdSha]);
    expect(hex(r.digests.kernel)).toBe(kernelSha);
    expect(r.digests.initrds.map(hex)).toEqual([initrdSha]);
    // One copy of each file: the download.
    expect(r.heldBytes).toBe(0);
    expect(r.memfdBytes).toBe(fs.statSync(path.join(dir, 'vmlinuz')).size + INITRD_BYTES);
  });

  it('without one (the old path): the bytes are held in memory and copied into new memfds', async () => {
    const r = await run(false);
    expect(r.kernelLink).toMatch(/^\/memfd:tendril-kernel/);
    expect(r.initrdLink).toMatch(/^\/memfd:tendril-initrd/);
    expect([r.kernelSha, r.initrdSha]).toEqual([kernelSha, initrdSha]);
    expect(r.digests.initrds.map(hex)).toEqual([initrdSha]);
    // The fetched bytes stay in memory beside their copies.
    expect(r.heldBytes).toBe(fs.statSync(path.join(dir, 'vmlinuz')).size + INITRD_BYTES);
    expect(r.memfdBytes).toBe(r.heldBytes);
  });

  it('an event log to append: the sealed initrd cannot grow, so it alone is copied, and the log follows it', async () => {
    const log = Buffer.from('event log piece');
    const r = await run(true, log);
    expect(r.kernelLink).toMatch(/^\/memfd:tendril-net-vmlinuz/);
    expect(r.initrdLink).toMatch(/^\/memfd:tendril-initrd/);
    // 64 MiB is a multiple of 4: no padding before the log.
    const h = createHash('sha256');
    const fd = fs.openSync(path.join(dir, 'initrd.img'), 'r');
    const b = Buffer.alloc(4 << 20);
    for (let n; (n = fs.readSync(fd, b, 0, b.length, null)) > 0;) h.update(b.subarray(0, n));
    fs.closeSync(fd);
    expect(r.initrdSha).toBe(h.update(log).digest('hex'));
    // The download, and one copy of it with the log.
    expect(r.memfdBytes).toBe(fs.statSync(path.join(dir, 'vmlinuz')).size + 2 * INITRD_BYTES + log.length);
    expect(r.digests.initrds.map(hex)).toEqual([initrdSha]);
  });
});
