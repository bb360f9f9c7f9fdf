// Whole-pipeline robustness: real disks (made by sgdisk/mkfs/mke2fs) with random bytes
// smashed into their metadata, through everything discovery does (partition table, probes,
// filesystem readers, every entry source, sorting). Nothing may throw, hang or take the
// other disk down with it; problems must come back as diagnostics.

import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover } from '../../../src/discovery/discover';
import { InProcessScanner } from '../../../src/discovery/worker/pool';
import { debianEspDisk, fedoraDisk, mbrLogicalDisk } from '../../fixtures/demo';

let dir = '';
let images: { name: string; bytes: Buffer }[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-fuzz-'));
  images = [
    { name: 'fedora', bytes: fs.readFileSync(fedoraDisk()) },
    { name: 'debian', bytes: fs.readFileSync(debianEspDisk()) },
    { name: 'mbr', bytes: fs.readFileSync(mbrLogicalDisk()) },
  ];
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Where the interesting bytes are: tables, superblocks, FATs, inode tables, directories. */
const REGIONS = [
  [0, 34 * 512], // MBR, GPT header and entries
  [1 << 20, (1 << 20) + 256 * 1024], // first partition: boot sector, FATs / superblock, group descriptors
  [(1 << 20) * 35, (1 << 20) * 35 + 512 * 1024], // second partition of the GPT disks
] as const;

const mutation = fc.record({
  image: fc.integer({ min: 0, max: 2 }),
  edits: fc.array(
    fc.record({
      region: fc.integer({ min: 0, max: REGIONS.length - 1 }),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
    { minLength: 1, maxLength: 24 },
  ),
  truncateTo: fc.option(fc.integer({ min: 0, max: 64 << 20 }), { nil: undefined }),
});

describe('discovery over damaged disks', () => {
  it('never throws, never hangs, and keeps the healthy disk listed', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const src = images[m.image]!;
        let buf = Buffer.from(src.bytes);
        for (const e of m.edits) {
          const [lo, hi] = REGIONS[e.region]!;
          const at = lo + (e.at % Math.max(1, hi - lo));
          if (at < buf.length) buf.set(e.bytes.subarray(0, Math.max(0, buf.length - at)), at);
        }
        if (m.truncateTo !== undefined) buf = buf.subarray(0, Math.min(buf.length, m.truncateTo));
        const bad = path.join(dir, `bad-${run++}.img`);
        fs.writeFileSync(bad, buf);
        const healthy = path.join(dir, 'healthy.img');
        if (!fs.existsSync(healthy)) fs.writeFileSync(healthy, images[1]!.bytes);
        const t0 = Date.now();
        const s = await discover({
          disks: [bad, healthy],
          sysBlock: false,
          scanner: new InProcessScanner(),
          deadlineMs: 20_000,
        });
        try {
          expect(Date.now() - t0).toBeLessThan(20_000);
          // The untouched disk still yields its entries, whatever the other one did.
          expect(s.result.entries.some((e) => e.id === 'debian-6.1.0-18-amd64.conf')).toBe(true);
          for (const d of [...s.result.diagnostics, ...s.result.devices.flatMap((x) => x.diagnostics)]) {
            expect(typeof d.message).toBe('string');
            expect(['error', 'warning', 'info']).toContain(d.severity);
          }
          JSON.stringify(s.result);
        } finally {
          await s.close();
          fs.rmSync(bad, { force: true });
        }
      }),
      { numRuns: 40, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : { seed: 4242 }) },
    );
  }, 180_000);
});
