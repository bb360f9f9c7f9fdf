// Pre-fetched `rd.systemd.pull=` images (docs/net-bootfiles.md §8.3). A real http server (Node's, on
// loopback) serves the host's kernel, an initrd, a pull image and the checksum files systemd-pull
// asks for; a NetFileSystem with the memfd downloader fetches them. The plan of a network kernel
// whose command line holds a `bootorigin` pull gets an extra initrd cpio and a file:// REMOTE; the
// initrd kexec_file_load receives (a recording stub) is cut where the extra cpio starts and read
// with GNU cpio, which must find the image and the checksum files with the served bytes. The
// rules (systemd's order of checksum and signature names, the fallbacks) run against the same server.

import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { type MenuEntry, statusOf } from '../../../src/discovery/model';
import { loadPlan } from '../../../src/kexec/load';
import { describePlan, planBoot, type PlanOptions } from '../../../src/kexec/plan';
import { createFetch, downloadToMemfd } from '../../../src/net/fetch';
import { netRef } from '../../../src/net/netentry';
import { NetFileSystem } from '../../../src/net/netfs';
import { changeLastComponent } from '../../../src/net/origin';
import {
  auxCandidates,
  cpioPieces,
  imageName,
  netPullFiles,
  parsePullWord,
  prefetchOption,
  prefetchPulls,
  verifyOf,
} from '../../../src/net/pull-prefetch';
import { layoutInitrd } from '../../../src/kexec/initrd';
import { loadSettings } from '../../../src/settings/load';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
let dir: string;
let server: http.Server;
let base: string;
let requests: string[] = [];
// An odd size: the layout's padding after the image is newc's padding.
const IMAGE = randomBytes((3 << 20) + 3);
const SUMS = Buffer.from(`${sha(IMAGE)}  image.raw.xz\n`);
const SIG = randomBytes(566);
const SERVED_INITRD = Buffer.from('070701'.padEnd(1024, '0'));

function put(rel: string, data: Uint8Array): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), data);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-pull-'));
  put('os/vmlinuz', fs.readFileSync(hostKernel().vmlinuz));
  put('os/initrd.img', SERVED_INITRD);
  put('os/image.raw.xz', IMAGE);
  put('os/SHA256SUMS', SUMS);
  put('os/SHA256SUMS.gpg', SIG);
  // SUSE style: per-file checksum and signature, no SHA256SUMS.
  put('suse/img.raw', IMAGE.subarray(0, 1000));
  put('suse/img.raw.sha256', Buffer.from(`${sha(IMAGE.subarray(0, 1000))}  img.raw\n`));
  put('suse/img.raw.sha256.asc', SIG);
  // Checksums but no signature.
  put('nosig/x.tar', IMAGE.subarray(0, 100));
  put('nosig/SHA256SUMS', Buffer.from('0\n'));
  server = http.createServer((req, res) => {
    const rel = path.normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '');
    requests.push(`/${rel}`);
    const f = path.join(dir, rel);
    if (!f.startsWith(dir) || !fs.existsSync(f) || !fs.statSync(f).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': fs.statSync(f).size });
    fs.createReadStream(f).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

function netFs(): NetFileSystem {
  const cfg = { memReserveBytes: 0 };
  return new NetFileSystem('net:lo', createFetch(cfg), {
    maxBytes: 1 << 30,
    download: (u, o) => downloadToMemfd(u, o, cfg),
  });
}

const files = (nfs: NetFileSystem) =>
  netPullFiles(
    async (url) => netRef('lo', url),
    (id) => (id === 'net:lo' ? nfs : undefined),
  );

function entry(cmdline: string): MenuEntry {
  const target = {
    kind: 'linux' as const,
    kernel: netRef('lo', `${base}/os/vmlinuz`),
    initrds: [netRef('lo', `${base}/os/initrd.img`)],
    cmdline,
  };
  return {
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
}

/** Extract `cpio` with GNU cpio into a new directory: each file's sha256 by its path. */
function extract(cpio: Uint8Array): Record<string, string> {
  const out = fs.mkdtempSync(path.join(dir, 'x-'));
  execFileSync('cpio', ['-id', '--quiet', '--no-absolute-filenames'], { cwd: out, input: cpio });
  const got: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(out, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else got[r] = sha(fs.readFileSync(path.join(out, r)));
    }
  };
  walk('');
  return got;
}

describe('the pull expression and the names systemd-pull asks for', () => {
  it('splits rd.systemd.pull= at its first two colons, and reads verify= as the import generator does', () => {
    expect(parsePullWord('rd.systemd.pull=raw,machine:img:http://h/a:b')).toEqual({
      key: 'rd.systemd.pull=',
      options: 'raw,machine',
      local: 'img',
      url: 'http://h/a:b',
    });
    expect(parsePullWord('systemd.pull=raw,machine:img:http://h/a')).toBeUndefined();
    expect(parsePullWord('rd.systemd.pull=raw,machine')).toBeUndefined();
    expect(verifyOf('raw,machine')).toBe('signature');
    expect(verifyOf('raw,verify=no,machine')).toBe('no');
    expect(verifyOf('verify=no,verify=checksum')).toBe('checksum');
    expect(verifyOf('verify=no,verify=bogus')).toBe('no');
  });

  it("asks for checksum and signature files in systemd-pull's order", () => {
    expect(auxCandidates('a.raw', 'no')).toEqual([]);
    expect(auxCandidates('a.raw', 'checksum')).toEqual([['a.raw.sha256', 'SHA256SUMS']]);
    expect(auxCandidates('a.raw', 'signature')).toEqual([
      ['a.raw.sha256', 'SHA256SUMS'],
      ['a.raw.sha256.asc', 'a.raw.sha256.gpg', 'SHA256SUMS.gpg', 'SHA256SUMS.asc'],
    ]);
  });

  it("takes plain names only; systemd finds SHA256SUMS of the file:// URL in the image's own directory", () => {
    expect(imageName('http://h/os/image.raw.xz?x=1')).toBe('image.raw.xz');
    expect(imageName('http://h/os/')).toBeUndefined();
    expect(imageName('http://h/os/a%20b.raw')).toBeUndefined();
    expect(imageName('http://h/os/..')).toBeUndefined();
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.nat(9), (url, n) => {
        const name = imageName(url);
        if (name === undefined) return;
        expect(name).not.toContain('/');
        const file = `file:///.extra/tendril-pull/${n}/${name}`;
        expect(changeLastComponent(file, 'SHA256SUMS')).toBe(`file:///.extra/tendril-pull/${n}/SHA256SUMS`);
      }),
    );
  });

  it('the settings turn it on with a limit; off by default', () => {
    const f = path.join(dir, 'settings.toml');
    fs.writeFileSync(f, '[net]\npull-prefetch = true\npull-prefetch-max = 64\n');
    const on = loadSettings({ file: f, cmdline: '' });
    expect(on.problems).toEqual([]);
    expect(prefetchOption(on.settings.net)).toEqual({ pullPrefetch: { maxBytes: 64 << 20 } });
    const arg = loadSettings({ file: path.join(dir, 'none.toml'), cmdline: 'quiet tendril.pull-prefetch=1' });
    expect(prefetchOption(arg.settings.net)).toEqual({ pullPrefetch: { maxBytes: 1024 << 20 } });
    expect(prefetchOption(loadSettings({ file: path.join(dir, 'none.toml'), cmdline: '' }).settings.net)).toEqual({});
    fs.writeFileSync(f, '[net]\npull-prefetch-max = 4096\n');
    expect(loadSettings({ file: f, cmdline: '' }).problems.join()).toMatch(/pull-prefetch-max/);
  });
});

describe('prefetchPulls against a real http server', () => {
  it('verify=signature: the image, SHA256SUMS and SHA256SUMS.gpg, asked for in order; the word points at the copy', async () => {
    const nfs = netFs();
    try {
      requests = [];
      const word = `rd.systemd.pull=raw,machine:image:${base}/os/image.raw.xz`;
      const r = await prefetchPulls(`quiet ${word}  x`, [word], files(nfs), { maxBytes: 64 << 20 });
      expect(r.notes).toEqual([]);
      expect(r.cmdline).toBe('quiet rd.systemd.pull=raw,machine:image:file:///.extra/tendril-pull/0/image.raw.xz  x');
      expect(r.prefetched).toEqual([
        {
          url: `${base}/os/image.raw.xz`,
          fileUrl: 'file:///.extra/tendril-pull/0/image.raw.xz',
          size: IMAGE.length,
          sha256: sha(IMAGE),
          aux: ['SHA256SUMS', 'SHA256SUMS.gpg'],
        },
      ]);
      expect(requests).toEqual([
        '/os/image.raw.xz.sha256',
        '/os/SHA256SUMS',
        '/os/image.raw.xz.sha256.asc',
        '/os/image.raw.xz.sha256.gpg',
        '/os/SHA256SUMS.gpg',
        '/os/image.raw.xz',
      ]);
    } finally {
      await nfs.close();
    }
  });

  it('SUSE-style per-file checksum and signature are used when the server has them', async () => {
    const nfs = netFs();
    try {
      requests = [];
      const word = `rd.systemd.pull=raw,sysext::${base}/suse/img.raw`;
      const r = await prefetchPulls(word, [word], files(nfs), { maxBytes: 1 << 20 });
      expect(r.prefetched[0]!.aux).toEqual(['img.raw.sha256', 'img.raw.sha256.asc']);
      expect(requests).toEqual(['/suse/img.raw.sha256', '/suse/img.raw.sha256.asc', '/suse/img.raw']);
      expect(r.cmdline).toBe('rd.systemd.pull=raw,sysext::file:///.extra/tendril-pull/0/img.raw');
    } finally {
      await nfs.close();
    }
  });

  it('keeps the http URL, with the reason, when a needed signature, the image or the room is missing', async () => {
    const nfs = netFs();
    try {
      const noSig = `rd.systemd.pull=tar,machine::${base}/nosig/x.tar`;
      const gone = `rd.systemd.pull=raw,machine,verify=no::${base}/os/missing.raw`;
      const big = `rd.systemd.pull=raw,machine,verify=checksum::${base}/os/image.raw.xz`;
      const cmdline = `${noSig} ${gone} ${big}`;
      requests = [];
      const r = await prefetchPulls(cmdline, [noSig, gone, big], files(nfs), { maxBytes: 1 << 20 });
      expect(r.cmdline).toBe(cmdline);
      expect(r.pieces).toEqual([]);
      expect(r.notes).toEqual([
        expect.stringMatching(
          /nosig\/x\.tar: not prefetched \(the OS downloads it\): .*none of x\.tar\.sha256\.asc, x\.tar\.sha256\.gpg, SHA256SUMS\.gpg, SHA256SUMS\.asc .*verify=signature/,
        ),
        expect.stringMatching(/os\/missing\.raw: not prefetched \(the OS downloads it\): .*404/),
        expect.stringMatching(/os\/image\.raw\.xz: not prefetched \(the OS downloads it\): .*limit of 1048576 bytes/),
      ]);
      // The signature was never fetched for nothing: the image after its checksum files.
      expect(requests).not.toContain('/nosig/x.tar');
    } finally {
      await nfs.close();
    }
  });

  it('verify=no: only the image; the same URL twice is fetched once, two URLs get two directories', async () => {
    const nfs = netFs();
    try {
      requests = [];
      const a = `rd.systemd.pull=raw,machine,verify=no:a:${base}/os/image.raw.xz`;
      const b = `rd.systemd.pull=raw,sysext,verify=no::${base}/suse/img.raw`;
      const r = await prefetchPulls(`${a} ${b} ${a}`, [a, b, a], files(nfs), { maxBytes: 64 << 20 });
      expect(requests).toEqual(['/os/image.raw.xz', '/suse/img.raw']);
      expect(r.cmdline).toBe(
        [
          'rd.systemd.pull=raw,machine,verify=no:a:file:///.extra/tendril-pull/0/image.raw.xz',
          'rd.systemd.pull=raw,sysext,verify=no::file:///.extra/tendril-pull/1/img.raw',
          'rd.systemd.pull=raw,machine,verify=no:a:file:///.extra/tendril-pull/0/image.raw.xz',
        ].join(' '),
      );
      expect(r.pieces.map((p) => p.kind)).toEqual(['bytes', 'file', 'bytes', 'file', 'bytes']);
    } finally {
      await nfs.close();
    }
  });
});

describe('the extra cpio', () => {
  it('pieces laid out with NUL padding to 4 bytes are one newc archive that GNU cpio reads', () => {
    const image = randomBytes(4097);
    const ref = { fsId: 'x', path: '/img' };
    const pieces = cpioPieces([
      { n: 0, name: 'a.raw', ref, size: image.length, aux: new Map([['SHA256SUMS', Buffer.from('abc\n')]]) },
    ]);
    const layout = layoutInitrd(
      pieces.map((p) => ({ label: p.label, size: p.kind === 'bytes' ? p.bytes.length : p.size })),
    );
    const buf = Buffer.alloc(layout.total);
    layout.pieces.forEach((lp, i) => {
      const p = pieces[i]!;
      buf.set(p.kind === 'bytes' ? p.bytes : image, lp.offset);
    });
    expect(extract(buf)).toEqual({
      '/.extra/tendril-pull/0/a.raw': sha(image),
      '/.extra/tendril-pull/0/SHA256SUMS': sha(Buffer.from('abc\n')),
    });
  });
});

describe('a plan with net.pull-prefetch', () => {
  const PULL = 'rd.systemd.pull=raw,machine,bootorigin:image:image.raw.xz';
  const opts = (nfs: NetFileSystem, extra: Partial<PlanOptions> = {}): PlanOptions => ({
    ukiUrl: async (url) => netRef('lo', url),
    pullPrefetch: { maxBytes: 64 << 20 },
    memAvailable: () => undefined,
    ...extra,
  });

  it('appends the cpio to the initrd kexec gets, with the image and SHA256SUMS(.gpg) as served; the OS gets file://', async () => {
    const nfs = netFs();
    const lookup = (id: string) => (id === 'net:lo' ? nfs : undefined);
    try {
      const plan = await planBoot(entry(`console=ttyS0 ${PULL}`), lookup, opts(nfs));
      const file = 'file:///.extra/tendril-pull/0/image.raw.xz';
      expect(plan.cmdline).toBe(`console=ttyS0 rd.systemd.pull=raw,machine:image:${file}`);
      expect(plan.pullRewrites).toEqual([
        { from: PULL, to: `rd.systemd.pull=raw,machine:image:${base}/os/image.raw.xz` },
      ]);
      expect(plan.initrds.map((f) => f.label)).toEqual([
        `net:lo:/http/127.0.0.1:${base.split(':')[2]}/os/initrd.img`,
        'tendril-pull:cpio#0',
        `net:lo:/http/127.0.0.1:${base.split(':')[2]}/os/image.raw.xz`,
        'tendril-pull:cpio#trailer',
      ]);
      const text = await describePlan(plan, lookup);
      expect(text).toContain(
        `initrd[2]: net:lo:/http/127.0.0.1:${base.split(':')[2]}/os/image.raw.xz size ${IMAGE.length} sha256 ${sha(IMAGE)}`,
      );
      expect(text).toContain(
        `pull-prefetch: ${base}/os/image.raw.xz -> ${file} size ${IMAGE.length} sha256 ${sha(IMAGE)} with SHA256SUMS, SHA256SUMS.gpg`,
      );
      let initrd: Buffer | undefined;
      let cmdline = '';
      await loadPlan(plan, lookup, undefined, {
        readLoaded: () => '1',
        kexecFileLoad: (_k, ifd, c) => {
          initrd = fs.readFileSync(`/proc/self/fd/${ifd}`);
          cmdline = c;
        },
      });
      expect(cmdline).toBe(plan.cmdline);
      expect(initrd!.subarray(0, SERVED_INITRD.length).equals(SERVED_INITRD)).toBe(true);
      const extraAt = plan.initrdLayout.pieces[1]!.offset;
      expect(extraAt % 4).toBe(0);
      expect(extract(initrd!.subarray(extraAt))).toEqual({
        '/.extra/tendril-pull/0/image.raw.xz': sha(IMAGE),
        '/.extra/tendril-pull/0/SHA256SUMS': sha(SUMS),
        '/.extra/tendril-pull/0/SHA256SUMS.gpg': sha(SIG),
      });
    } finally {
      await nfs.close();
    }
  });

  it('without room for the copies the plan keeps the http URL and says why; off, nothing is fetched', async () => {
    const nfs = netFs();
    const lookup = (id: string) => (id === 'net:lo' ? nfs : undefined);
    try {
      const { pullPrefetch: _off, ...off } = opts(nfs);
      requests = [];
      const plain = await planBoot(entry(`console=ttyS0 ${PULL}`), lookup, off);
      expect(requests.filter((r) => /image\.raw\.xz|SHA256SUMS/.test(r))).toEqual([]);
      const http = `rd.systemd.pull=raw,machine:image:${base}/os/image.raw.xz`;
      expect(plain.cmdline).toBe(`console=ttyS0 ${http}`);
      expect(plain.initrds).toHaveLength(1);
      const tight = await planBoot(
        entry(`console=ttyS0 ${PULL}`),
        lookup,
        opts(nfs, { memAvailable: () => plain.memory.needed + (1 << 20) }),
      );
      expect(tight.cmdline).toBe(`console=ttyS0 ${http}`);
      expect(tight.initrds).toHaveLength(1);
      expect(tight.warnings.join('\n')).toMatch(
        /image\.raw\.xz: not prefetched \(the OS downloads it\): not enough memory/,
      );
      const locked = await planBoot(entry(`console=ttyS0 ${PULL}`), lookup, opts(nfs, { lockUkiCmdline: true }));
      expect(locked.cmdline).toBe(`console=ttyS0 ${http}`);
      expect(locked.warnings.join('\n')).toMatch(/not prefetched: trust\.policy = require/);
    } finally {
      await nfs.close();
    }
  });
});
