// Hostile PE input: real UKIs/add-ons (objcopy-built) with random byte flips in the first
// 4 KiB and in the section table, random header-field values and truncations. The parser and
// everything above it must only ever throw PeError, read small bounded amounts, describe
// ranges inside the file, and terminate.
import * as fs from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ByteSource } from '../../../src/discovery/io/source';
import { PeError, parsePe } from '../../../src/discovery/uki/pe';
import { MAX_TEXT_SECTION, describeUki, readAddon, ukiProfiles } from '../../../src/discovery/uki/uki';
import { buildAddon, buildUki, fakeKernel } from '../../fixtures/uki';
import { memoryHandle } from './helpers';

/** Largest single header read the parser may issue: a 96-entry section table. */
const MAX_HEADER_READ = 96 * 40;

let images: Buffer[];
let tables: { start: number; end: number; lfanew: number }[];

beforeAll(() => {
  const uki = buildUki({
    osrel: 'PRETTY_NAME="Fuzz OS"\nVERSION_ID=1\nID=fuzz\n',
    cmdline: 'quiet',
    uname: '6.1.0-56-amd64',
    ucode: 'UCODE',
    initrd: 'INITRD',
    linux: fakeKernel(),
    extra: [
      { name: '.profile', data: 'ID=a\nTITLE=A\n' },
      { name: '.profile', data: 'ID=b\n' },
      { name: '.cmdline', data: 'b' },
    ],
  });
  const addon = buildAddon({ cmdline: 'x=1', uname: '6.1.0-56-amd64', ucode: 'U', initrd: 'I' });
  images = [uki, addon].map((f) => fs.readFileSync(f));
  tables = images.map((b) => {
    const lfanew = b.readUInt32LE(0x3c);
    const start = lfanew + 24 + b.readUInt16LE(lfanew + 20);
    return { start, end: start + b.readUInt16LE(lfanew + 6) * 40, lfanew };
  });
});

class CountingSource implements ByteSource {
  maxRead = 0;
  reads = 0;
  readonly size: number;
  constructor(
    private readonly data: Uint8Array,
    readonly name = 'fuzz.efi',
  ) {
    this.size = data.length;
  }
  readAt(buf: Uint8Array, offset: number, length: number, position: number): number {
    this.maxRead = Math.max(this.maxRead, length);
    this.reads++;
    if (position >= this.size) return 0;
    const n = Math.min(length, this.size - position);
    buf.set(this.data.subarray(position, position + n), offset);
    return n;
  }
}

type Mutation =
  | { kind: 'flip'; where: 'head' | 'table'; at: number; value: number }
  | { kind: 'field'; field: number; value: number }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    where: fc.constantFrom('head' as const, 'table' as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('field' as const),
    field: fc.nat({ max: 15 }),
    value: fc.oneof(fc.constantFrom(0, 1, 0x3f, 0x40, 0xffff, 0x7fffffff, 0xffffffff), fc.nat({ max: 0xffffffff })),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

/** Apply mutations to a copy of image `i`. Field numbers map to docs/bls.md §10.1 header fields. */
function mutate(i: number, muts: readonly Mutation[]): Buffer {
  let b = Buffer.from(images[i]!);
  const t = tables[i]!;
  for (const m of muts) {
    if (m.kind === 'flip') {
      const span = m.where === 'head' ? [0, Math.min(4096, b.length)] : [t.start, Math.min(t.end, b.length)];
      if (span[1]! > span[0]!) b[span[0]! + (m.at % (span[1]! - span[0]!))] = m.value;
    } else if (m.kind === 'truncate') {
      b = b.subarray(0, m.at % (b.length + 1));
    } else {
      const entry = t.start + ((m.field >> 2) % 4) * 40;
      const at: readonly [number, number] = (
        [
          [0x3c, 4], // e_lfanew
          [t.lfanew + 6, 2], // NumberOfSections
          [t.lfanew + 20, 2], // SizeOfOptionalHeader
          [t.lfanew + 24, 2], // optional header magic
        ] as const
      )[m.field % 4]!;
      const sectionField = [8, 16, 20, 0][m.field % 4]!; // VirtualSize, SizeOfRawData, PointerToRawData, Name
      const [pos, width] = m.field < 4 ? at : [entry + sectionField, 4];
      if (pos + width <= b.length) {
        if (width === 4) b.writeUInt32LE(m.value >>> 0, pos);
        else b.writeUInt16LE(m.value & 0xffff, pos);
      }
    }
  }
  return b;
}

describe('PE parser under mutation', () => {
  it('throws only PeError, reads bounded amounts, describes in-file ranges (sync driver)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), (i, muts) => {
        const b = mutate(i, muts);
        const src = new CountingSource(b);
        try {
          const pe = parsePe(src);
          for (const s of pe.sections) {
            expect(s.offset + s.length).toBeLessThanOrEqual(b.length);
            expect(s.length).toBeLessThanOrEqual(Math.min(s.virtualSize, s.sizeOfRawData));
          }
          expect(pe.sections.length).toBeLessThanOrEqual(96);
          ukiProfiles(pe);
        } catch (e) {
          if (!(e instanceof PeError)) throw e;
          expect(e.message).toMatch(/^fuzz\.efi: PE /);
        }
        expect(src.maxRead).toBeLessThanOrEqual(MAX_HEADER_READ);
        expect(src.reads).toBeLessThanOrEqual(4 + 96);
      }),
      { numRuns: 3000 },
    );
  });

  it('describeUki and readAddon on mutated images: PeError only, reads capped', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), async (i, muts) => {
        const b = mutate(i, muts);
        const h = memoryHandle(b);
        try {
          const pe = parsePe(b, 'fuzz.efi');
          const d = await describeUki(h, pe, 'fuzz.efi');
          for (const p of d.profiles) expect(typeof p.title).toBe('string');
          await readAddon(h, pe);
        } catch (e) {
          if (!(e instanceof PeError)) throw e;
        }
        expect(h.maxRead).toBeLessThanOrEqual(MAX_TEXT_SECTION);
      }),
      { numRuns: 1500 },
    );
  });

  it('unmutated images parse (the fuzz inputs start valid)', async () => {
    for (const b of images) expect(parsePe(b).sections.length).toBeGreaterThan(8);
    const d = await describeUki(memoryHandle(images[0]!), parsePe(images[0]!), 'x.efi');
    expect(d.profiles.map((p) => p.id)).toEqual(['x.efi', 'x.efi@b']);
  });
});
