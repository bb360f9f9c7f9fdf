// The pieces of the download pipeline that need no network: URL and pin checks, the memory
// check, the sink's limit and hash, proxy selection, the progress line and memfd seals.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { formatEta, formatTransferProgress } from '../../../src/kexec/progress';
import { addSeals, F_SEAL, MFD_ALLOW_SEALING, MFD_CLOEXEC, memfdCreate } from '../../../src/native/sys';
import { checkMemory, createFetch, memAvailable } from '../../../src/net/fetch';
import { FETCH_COMMAND } from '../../../src/net/fetch-command';
import { optionName } from '../../../src/util/args';
import { bypassesProxy, proxyFor } from '../../../src/net/http/proxy';
import { MemorySink } from '../../../src/net/sink';
import { NetError } from '../../../src/net/types';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-fetch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('createFetch refuses before any I/O', () => {
  const fetch = createFetch();
  it.each([
    ['ftp://192.0.2.1/x', 'ftp://192.0.2.1/x: scheme ftp is not supported (only tftp, http and https)'],
    ['file:///etc/passwd', 'file:///etc/passwd: scheme file is not supported (only tftp, http and https)'],
    ['not a url', 'not a url: not a URL'],
    ['http://u:p@192.0.2.1/x', 'http://u:p@192.0.2.1/x: credentials in URLs are not supported'],
  ])('%s', async (url, message) => {
    const e = await fetch(url, { maxBytes: 1 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetError);
    expect((e as NetError).message).toBe(message);
    expect((e as NetError).permanent).toBe(true);
  });
  it('a malformed sha256 pin', async () => {
    await expect(createFetch()('http://192.0.2.1/x', { maxBytes: 1, sha256: 'abc' })).rejects.toThrow(
      'http://192.0.2.1/x: sha256 pin "abc" is not 64 hex digits',
    );
  });
});

describe('memory check', () => {
  const meminfo = path.join(tmp, 'meminfo');
  fs.writeFileSync(meminfo, 'MemTotal:  1000 kB\nMemAvailable:     102400 kB\n');
  it('reads MemAvailable', () => {
    expect(memAvailable(meminfo)).toBe(100 << 20);
    expect(memAvailable(path.join(tmp, 'absent'))).toBeUndefined();
  });
  it('refuses a download that would leave less than the reserve', () => {
    expect(() => checkMemory('http://192.0.2.1/x', 50 << 20, { meminfoPath: meminfo })).toThrow(
      `http://192.0.2.1/x: ${50 << 20} bytes do not fit in memory: MemAvailable is ${100 << 20} bytes and ${64 << 20} must stay free`,
    );
    expect(() => checkMemory('u', 30 << 20, { meminfoPath: meminfo })).not.toThrow();
    expect(() => checkMemory('u', 500 << 20, { meminfoPath: meminfo, memReserveBytes: 0 })).not.toThrow();
  });
});

describe('sink', () => {
  it('never holds more than maxBytes, and hashes exactly what it holds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
        (chunks, max, announced) => {
          const s = new MemorySink({ url: 'u', maxBytes: max });
          let ok = true;
          try {
            s.expect(announced);
            for (const c of chunks) s.write(c);
          } catch (e) {
            expect(e).toBeInstanceOf(NetError);
            expect((e as NetError).permanent).toBe(true);
            ok = false;
          }
          expect(s.size).toBeLessThanOrEqual(max);
          const bytes = s.bytes();
          expect(bytes.length).toBe(s.size);
          if (ok) expect(Buffer.from(bytes)).toEqual(Buffer.concat(chunks));
          expect(s.digest()).toBe(createHash('sha256').update(bytes).digest('hex'));
        },
      ),
    );
  });
  it('reset starts over', () => {
    const s = new MemorySink({ url: 'u', maxBytes: 10 });
    s.write(Buffer.from('abcdef'));
    s.reset();
    s.write(Buffer.from('xy'));
    expect(Buffer.from(s.bytes()).toString()).toBe('xy');
    expect(s.digest()).toBe(createHash('sha256').update('xy').digest('hex'));
  });
});

describe('proxy selection', () => {
  const u = (s: string): URL => new URL(s);
  it('takes https_proxy for https and http_proxy for http, either case', () => {
    const env = { HTTPS_PROXY: 'http://p:3128', http_proxy: 'p2:8080' };
    expect(proxyFor(u('https://192.0.2.1/x'), {}, env)?.href).toBe('http://p:3128/');
    expect(proxyFor(u('http://192.0.2.1/x'), {}, env)?.href).toBe('http://p2:8080/');
    expect(proxyFor(u('http://192.0.2.1/x'), { proxy: null }, env)).toBeUndefined();
    expect(proxyFor(u('http://192.0.2.1/x'), { proxy: 'http://o:1' }, env)?.href).toBe('http://o:1/');
  });
  it('no_proxy: exact hosts, domains with and without a dot, ports, *', () => {
    expect(bypassesProxy(u('http://boot.example.com/'), 'example.com')).toBe(true);
    expect(bypassesProxy(u('http://boot.example.com/'), '.example.com')).toBe(true);
    expect(bypassesProxy(u('http://notexample.com/'), 'example.com')).toBe(false);
    expect(bypassesProxy(u('http://192.0.2.1:8080/'), '192.0.2.1:8080')).toBe(true);
    expect(bypassesProxy(u('http://192.0.2.1/'), '192.0.2.1:8080')).toBe(false);
    expect(bypassesProxy(u('https://[2001:db8::1]/'), '2001:db8::1')).toBe(true);
    expect(bypassesProxy(u('https://[2001:db8::1]/'), '[2001:db8::1]:443')).toBe(true);
    expect(bypassesProxy(u('https://[2001:db8::1]/'), '[2001:db8::1]:80')).toBe(false);
    expect(bypassesProxy(u('http://x/'), '*')).toBe(true);
    expect(bypassesProxy(u('http://x/'), '')).toBe(false);
  });
  it('refuses a proxy that is not http://', () => {
    expect(() => proxyFor(u('https://x/'), { proxy: 'socks5://p:1080' })).toThrow(/only http:\/\/ proxies/);
  });
});

describe('progress line', () => {
  it('adds the time left to the bar, or shows bytes and rate without a total', () => {
    expect(formatTransferProgress({ label: 'tftp://h/f', done: 10 << 20, total: 40 << 20, elapsedMs: 1000 }, 8)).toBe(
      'tftp://h/f [##------]  25% 10.0/40.0 MiB 10.5 MB/s ETA 0:03',
    );
    expect(formatTransferProgress({ label: 'u', done: 3 << 20, elapsedMs: 2000 })).toBe('u 3.0 MiB 1.6 MB/s');
    expect(formatTransferProgress({ label: 'u', done: 0, total: 5, elapsedMs: 0 }, 4)).toMatch(/ETA -:--$/);
  });
  it('formats ETA as m:ss or h:mm:ss', () => {
    expect(formatEta(0)).toBe('0:00');
    expect(formatEta(61.4)).toBe('1:01');
    expect(formatEta(3725)).toBe('1:02:05');
    expect(formatEta(NaN)).toBe('-:--');
  });
});

describe('memfd seals', () => {
  it('a sealed memfd refuses writes, growth and shrinking', () => {
    const fd = memfdCreate('tendril-seal-test', MFD_CLOEXEC | MFD_ALLOW_SEALING);
    try {
      fs.writeSync(fd, Buffer.from('kernel'));
      addSeals(fd, F_SEAL.WRITE | F_SEAL.GROW | F_SEAL.SHRINK | F_SEAL.SEAL);
      expect(() => fs.writeSync(fd, Buffer.from('x'), 0, 1, 0)).toThrow(/EPERM/);
      expect(() => fs.ftruncateSync(fd, 1)).toThrow(/EPERM/);
      expect(() => addSeals(fd, F_SEAL.WRITE)).toThrow(/fcntl\(F_ADD_SEALS\)/);
      const b = Buffer.alloc(6);
      fs.readSync(fd, b, 0, 6, 0);
      expect(b.toString()).toBe('kernel');
    } finally {
      fs.closeSync(fd);
    }
  });
  it('a memfd without MFD_ALLOW_SEALING cannot be sealed', () => {
    const fd = memfdCreate('tendril-seal-test');
    try {
      expect(() => addSeals(fd, F_SEAL.WRITE)).toThrow(/EPERM/);
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('no_proxy under fast-check', () => {
  it('any no_proxy text and host give a boolean', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.domain(), (np, host) => {
        expect(typeof bypassesProxy(new URL(`http://${host}/`), np)).toBe('boolean');
      }),
    );
  });
});

describe('tendril fetch: usage and refusals without network', () => {
  const cli = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, [path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js'), 'fetch', ...args], {
      encoding: 'utf8',
    });
  it('the synopsis names every option', () => {
    for (const key of Object.keys(FETCH_COMMAND.options))
      expect(FETCH_COMMAND.synopsis).toContain(`--${optionName(key)}`);
  });
  it('bad usage exits 2 with the reason', () => {
    const cases: [string[], string][] = [
      [[], 'tendril fetch: needs URL'],
      [['--sha256', 'xyz', 'http://192.0.2.1/x'], "tendril fetch: --sha256 needs 64 hex digits, got 'xyz'"],
      [['--sums', 'http://192.0.2.1/SHA256SUMS', 'http://192.0.2.1/x'], '--sums and --trusted-keys go together'],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });
  it('an unsupported scheme exits 1 naming the URL', () => {
    expect(cli(['ftp://192.0.2.1/vmlinuz'])).toMatchObject({
      status: 1,
      stdout: '',
      stderr: 'tendril fetch: ftp://192.0.2.1/vmlinuz: scheme ftp is not supported (only tftp, http and https)\n',
    });
  });
});
