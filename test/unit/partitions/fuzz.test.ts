// Property tests: real GPT/MBR/hybrid images with random bytes changed near the structures
// (first and last 64 KiB, EBRs) and random truncation. readPartitionTable must return (no
// throw, no loop), report problems as diagnostics, keep its partitions inside the disk, and
// read a bounded number of bytes whatever the counts in the damaged headers say.
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferSource, FileSource, type ByteSource } from '../../../src/discovery/io/source';
import { readPartitionTable } from '../../../src/discovery/partitions/detect';
import { u8 } from '../../../src/util/bytes';
import { buildGptDisk, buildMbrDisk, hybridIso, OverlaySource, sfdiskJson } from '../../fixtures/disks';

const KiB = 1024;
/** 64 KiB head + two 1 MiB entry arrays + backup header + 128 EBRs, with slack. */
const MAX_BYTES = 64 * KiB + 2 * 1024 * KiB + 8 * KiB + 128 * 512 + 64 * KiB;
const MAX_READS = 2 + 2 * 3 + 2 * 3 + 130;

interface Subject {
  readonly name: string;
  readonly src: FileSource;
  /** Offsets worth hitting besides the first/last 64 KiB (EBRs). */
  readonly hot: number[];
}

const subjects: Subject[] = [];

beforeAll(() => {
  const gpt = buildGptDisk({
    partitions: [
      { sizeMiB: 4, type: 'ef00', name: 'esp' },
      { sizeMiB: 4, type: 'ea00' },
      { sizeMiB: 4, type: '8300', name: 'root' },
    ],
  });
  const mbr = buildMbrDisk({
    primaries: [
      { sizeMiB: 4, type: 'ef', bootable: true },
      { sizeMiB: 4, type: '83' },
    ],
    logical: [
      { sizeMiB: 2, type: '83' },
      { sizeMiB: 2, type: '82' },
      { sizeMiB: 2, type: '83' },
    ],
  });
  const ebrs = sfdiskJson(mbr)
    .partitions.filter((p) => p.type !== '5' && Number(/(\d+)$/.exec(p.node)![1]) >= 5)
    .map((p) => (p.start - 2048) * 512);
  const ext = sfdiskJson(mbr).partitions.find((p) => p.type === '5')!;
  subjects.push(
    { name: 'gpt', src: FileSource.open(gpt), hot: [] },
    { name: 'mbr', src: FileSource.open(mbr), hot: [ext.start * 512, ...ebrs] },
    { name: 'hybrid-iso', src: FileSource.open(hybridIso('gpt', 'FUZZ')), hot: [] },
  );
});

afterAll(() => {
  for (const s of subjects) s.src.close();
});

function checkResult(src: OverlaySource | ByteSource, r: ReturnType<typeof readPartitionTable>): void {
  expect(['gpt', 'mbr', 'none']).toContain(r.table.scheme);
  for (const d of r.diagnostics) expect(d.message).not.toMatch(/internal error/);
  expect(r.diagnostics.length).toBeLessThanOrEqual(64);
  const numbers = new Set<number>();
  for (const p of r.table.partitions) {
    expect(p.start).toBeGreaterThanOrEqual(0);
    expect(p.size).toBeGreaterThan(0);
    expect(p.start + p.size).toBeLessThanOrEqual(src.size);
    expect(numbers.has(p.number)).toBe(false);
    numbers.add(p.number);
  }
}

const mutation = (size: number, hot: number[]): fc.Arbitrary<[number, number]> => {
  const near = Math.min(64 * KiB, size);
  const offsets = [
    fc.integer({ min: 0, max: 1023 }), // MBR and GPT header
    fc.integer({ min: 0, max: near - 1 }),
    fc.integer({ min: Math.max(0, size - 64 * KiB), max: size - 1 }),
    ...hot.map((h) => fc.integer({ min: h, max: h + 511 })),
  ];
  return fc.tuple(fc.oneof(...offsets), fc.integer({ min: 0, max: 255 }));
};

describe('readPartitionTable on damaged real images', () => {
  for (const which of ['gpt', 'mbr', 'hybrid-iso']) {
    it(`${which}: random bytes and truncation never throw, loop or over-read`, () => {
      const s = subjects.find((x) => x.name === which)!;
      fc.assert(
        fc.property(
          fc.array(mutation(s.src.size, s.hot), { minLength: 1, maxLength: 24 }),
          fc.option(fc.integer({ min: 0, max: s.src.size }), { freq: 4 }),
          (muts, truncate) => {
            const o = new OverlaySource(s.src, new Map(muts), truncate ?? undefined, `${which}.img`);
            const r = readPartitionTable(o);
            checkResult(o, r);
            expect(o.bytesRead).toBeLessThanOrEqual(MAX_BYTES);
            expect(o.reads).toBeLessThanOrEqual(MAX_READS);
          },
        ),
        { numRuns: 400 },
      );
    });
  }
});

/** Deterministic filler so a failing seed reproduces. */
function xorshift(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('hostile extended partition chains', () => {
  it('every sector an EBR with random links: bounded walk, no duplicates, a diagnostic', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 8, max: 512 }), (seed, sectors) => {
        const buf = xorshift(seed, sectors * 512);
        const rnd = xorshift(seed ^ 0x5a5a5a5a, sectors * 8);
        for (let s = 0; s < sectors; s++) {
          const o = s * 512;
          buf[o + 510] = 0x55;
          buf[o + 511] = 0xaa;
          for (let e = 0; e < 4; e++) {
            const eo = o + 0x1be + 16 * e;
            const r0 = u8(rnd, s * 8 + e);
            const r1 = u8(rnd, s * 8 + 4 + e);
            buf[eo] = r0 & 1 ? 0x80 : 0;
            buf[eo + 4] = [0x05, 0x0f, 0x85, 0x83][r1 & 3]!;
            // Small starts and sizes so links land inside the buffer and often revisit.
            new DataView(buf.buffer).setUint32(eo + 8, r0 % sectors, true);
            new DataView(buf.buffer).setUint32(eo + 12, (r1 % sectors) + 1, true);
          }
        }
        const src = new BufferSource(buf, 'ebr-storm.img');
        const counted = new OverlaySource(src);
        const r = readPartitionTable(counted);
        checkResult(counted, r);
        expect(r.table.partitions.filter((p) => p.logical).length).toBeLessThanOrEqual(4 * 128);
        expect(counted.reads).toBeLessThanOrEqual(MAX_READS + 4 * 128);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes anywhere in a small disk: never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 20000 }), fc.boolean(), (bytes, sign) => {
        const b = Uint8Array.from(bytes);
        if (sign && b.length >= 1024) {
          b[510] = 0x55;
          b[511] = 0xaa;
          b.set(Buffer.from('EFI PART'), 512);
        }
        const src = new BufferSource(b, 'random.img');
        checkResult(src, readPartitionTable(src));
      }),
      { numRuns: 500 },
    );
  });
});
