// Memory before bytes (docs/kexec.md §4.2): a plan's sizes against MemAvailable. The rule as a
// property over generated sizes and a faked MemAvailable, and planBoot over real sparse files
// (ftruncate, as truncate(1) makes them) read through HostDirFileSystem: a refused plan has
// read no initrd byte and at most the kernel's setup header.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import { countingReads, readCounter } from '../../fixtures/counting-fs';
import { BZIMAGE_PROBE_BYTES, probeBzImage } from '../../../src/kexec/bzimage';
import { KexecError } from '../../../src/kexec/errors';
import {
  type LoadSizes,
  MEMORY_HEADROOM,
  checkMemory,
  formatBytes,
  initrdBytes,
  memAvailable,
  memoryNeeded,
  parseMemAvailable,
} from '../../../src/kexec/memory';
import { planBoot } from '../../../src/kexec/plan';
import { hostKernel, linuxEntry } from './helpers';

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

describe('MemAvailable and sizes', () => {
  it('reads MemAvailable as free(1) reports "available"', () => {
    const fromFree = (): number => {
      const line = execFileSync('free', ['-b'], { encoding: 'utf8' }).split('\n')[1]!;
      return Number(line.trim().split(/\s+/)[6]);
    };
    const a = fromFree();
    const ours = memAvailable();
    const b = fromFree();
    expect(ours).toBeDefined();
    // The machine's memory moves between the calls: ours lies within what free saw, give or take.
    expect(ours!).toBeGreaterThan(Math.min(a, b) * 0.9);
    expect(ours!).toBeLessThan(Math.max(a, b) * 1.1);
    expect(parseMemAvailable('MemTotal: 100 kB\nMemFree: 5 kB\n')).toBeUndefined();
    expect(parseMemAvailable('MemAvailable:   24084508 kB\n')).toBe(24084508 * 1024);
    expect(memAvailable(() => 'MemAvailable: 8 kB\n')).toBe(8192);
    expect(
      memAvailable(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
  });

  it('prints sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(TiB)).toBe('1.0 TiB');
    expect(formatBytes(512 << 20)).toBe('512 MiB');
    expect(formatBytes(8247232)).toBe('7.9 MiB');
    expect(formatBytes(16 * TiB)).toBe('16 TiB');
  });
});

/** ext4's largest file with 4 KiB blocks, the most a sparse file on the host may claim. */
const EXT4_MAX_FILE = 16 * TiB - 4096;
/** Sizes a hostile entry can declare: small, realistic, and far past memory. */
const size = fc.oneof(
  fc.integer({ min: 0, max: 4096 }),
  fc.integer({ min: 1 << 20, max: 256 << 20 }),
  fc.integer({ min: 1, max: EXT4_MAX_FILE }),
);
const piece = (prefix: string) =>
  fc.tuple(fc.nat(99), size).map(([n, s]) => ({ label: `img:1:/${prefix}${n}`, size: s }));
const sizes = fc.record({
  kernel: piece('vmlinuz'),
  initrds: fc.array(piece('initrd'), { maxLength: 6 }),
  kernelInitSize: fc.option(fc.integer({ min: 0, max: 1 << 30 }), { nil: undefined }),
});
const available = fc.oneof(fc.integer({ min: 0, max: 64 * GiB }), fc.integer({ min: 0, max: 64 * TiB }));

describe('checkMemory (property)', () => {
  it('refuses exactly when the load needs more than MemAvailable, naming both numbers and the largest file', () => {
    fc.assert(
      fc.property(sizes, available, (s0, avail) => {
        const s: LoadSizes = {
          kernel: s0.kernel,
          initrds: s0.initrds,
          ...(s0.kernelInitSize !== undefined ? { kernelInitSize: s0.kernelInitSize } : {}),
        };
        const needed = memoryNeeded(s);
        const i = initrdBytes(s.initrds);
        // Every byte of the kernel and the initrd is counted three times (two copies and the image).
        expect(needed).toBeGreaterThanOrEqual(3 * s.kernel.size + 3 * i + MEMORY_HEADROOM);
        const v = checkMemory(s, avail);
        expect(v.needed).toBe(needed);
        if (needed <= avail) {
          expect(v).toEqual({ ok: true, needed, available: avail });
          return;
        }
        expect(v.ok).toBe(false);
        if (v.ok !== false) return;
        const largest = Math.max(s.kernel.size, ...s.initrds.map((p) => p.size));
        expect(v.largest.size).toBe(largest);
        expect(v.reason).toContain(`needs ${formatBytes(needed)}`);
        expect(v.reason).toContain(`MemAvailable is ${formatBytes(avail)}`);
        expect(v.reason).toContain(`the largest file is ${v.largest.label} (${formatBytes(largest)})`);
      }),
      { numRuns: 3000 },
    );
  });

  it('without MemAvailable the plan goes ahead with a note', () => {
    const v = checkMemory({ kernel: { label: 'k', size: 10 }, initrds: [] }, undefined);
    expect(v).toMatchObject({ ok: 'unknown' });
  });
});

/** A FileSystem that counts the bytes read through it, per path. */
describe('planBoot against MemAvailable (property, real sparse files)', () => {
  let dir = '';
  let initSize = 0;
  const kernelSize = fs.statSync(hostKernel).size;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-mem-'));
    fs.copyFileSync(hostKernel, path.join(dir, 'vmlinuz'));
    const head = new Uint8Array(fs.readFileSync(hostKernel).subarray(0, BZIMAGE_PROBE_BYTES));
    const p = probeBzImage(head, kernelSize);
    if (!p.ok || p.initSize === undefined) throw new Error('host kernel has no init_size');
    initSize = p.initSize;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses with ENOMEM iff the sizes do not fit, before reading any initrd byte', async () => {
    let run = 0;
    const seen = { fits: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(size, { maxLength: 4 }), available, async (initrdSizes, avail) => {
        const names = initrdSizes.map((s, i) => {
          const name = `r${run}-${i}.img`;
          fs.writeFileSync(path.join(dir, name), '');
          fs.truncateSync(path.join(dir, name), s);
          return name;
        });
        run++;
        const counter = readCounter();
        const counted = countingReads(new HostDirFileSystem(dir), counter);
        const read = counter.read;
        const entry = linuxEntry(
          'm.conf',
          '/vmlinuz',
          names.map((n) => `/${n}`),
          'ro',
        );
        const pieces = initrdSizes.map((s, i) => ({ label: `img:1:/${names[i]}`, size: s }));
        const needed = memoryNeeded({
          kernel: { label: 'k', size: kernelSize },
          kernelInitSize: initSize,
          initrds: pieces,
        });
        const result = await planBoot(entry, () => counted, { memAvailable: () => avail }).catch((e: unknown) => e);
        for (const n of names) fs.rmSync(path.join(dir, n));
        if (needed <= avail) {
          expect(result).not.toBeInstanceOf(Error);
          seen.fits++;
          return;
        }
        seen.refused++;
        expect(result).toBeInstanceOf(KexecError);
        const f = (result as KexecError).failure;
        expect(f).toMatchObject({ syscall: 'plan', errno: 'ENOMEM', initrdSize: initrdBytes(pieces) });
        expect(f.hint).toContain(`MemAvailable is ${formatBytes(avail)}`);
        for (const n of names) expect(read.get(`/${n}`) ?? 0).toBe(0);
        // At most the setup header and the version string it points at.
        expect(read.get('/vmlinuz') ?? 0).toBeLessThanOrEqual(BZIMAGE_PROBE_BYTES + 128);
      }),
      { numRuns: 80 },
    );
    // Both sides of the rule were exercised.
    expect(seen.fits).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});
