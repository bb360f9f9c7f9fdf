// Guest-controlled data must never crash or hang the VMM: random virtqueues (descriptor loops,
// out-of-RAM addresses, huge lengths), random fw_cfg DMA descriptors and random port traffic.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Disk } from '../../../src/vm/disk';
import { FwCfg } from '../../../src/vm/fwcfg';
import { GuestMemory, memoryLayout } from '../../../src/vm/memory';
import { LocalBlockBackend, VirtioBlk } from '../../../src/vm/virtio-blk';
import { VirtioPciTransport } from '../../../src/vm/virtio-pci';
import { Platform } from '../../../src/vm/platform';

const RAM = 1 << 16;

function imageFile(): string {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-fuzz-')), 'd.img');
  fs.writeFileSync(f, Buffer.alloc(64 * 1024, 0x11));
  return f;
}

describe('fuzzing guest-controlled structures', () => {
  const img = imageFile();

  it('virtqueue processing terminates and never throws on random guest memory', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: RAM, maxLength: RAM }), fc.constantFrom(2, 4, 8, 16), (bytes, qsize) => {
        const disk = Disk.open({ path: img, mode: 'cow' }, 64 * 1024);
        const mem = new GuestMemory(bytes.slice().buffer, null);
        const dev = new VirtioPciTransport(new VirtioBlk(new LocalBlockBackend(disk)), mem, { intx: () => {} });
        const w = (o: number, v: number) => dev.mmioWrite(o, 4, v);
        w(0x18, qsize);
        w(0x20, 0x0000);
        w(0x28, 0x4000);
        w(0x30, 0x8000);
        w(0x1c, 1);
        w(0x14, 0x0f);
        w(0x3000, 0); // notify queue 0, twice
        w(0x3000, 0);
        disk.close();
        return true;
      }),
      { numRuns: 60 },
    );
    const before = fs.readFileSync(img);
    expect(before.every((b) => b === 0x11)).toBe(true); // the overlay kept every write
  });

  it('fw_cfg DMA with random descriptors sets ERROR or completes, never throws', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: RAM - 16 }),
        (desc, at) => {
          const mem = new GuestMemory(new ArrayBuffer(RAM), null);
          mem.low.set(desc, at);
          const fw = new FwCfg(mem, 1);
          const r = fw.dma(at);
          return r === 0 || r === 1;
        },
      ),
      { numRuns: 500 },
    );
  });

  it('random port traffic on the whole board never throws', () => {
    const layout = memoryLayout(256 * 1024 * 1024);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            port: fc.integer({ min: 0, max: 0xffff }),
            size: fc.constantFrom(1, 2, 4),
            value: fc.nat(),
            write: fc.boolean(),
          }),
          { maxLength: 200 },
        ),
        (ops) => {
          const disk = Disk.open({ path: img, mode: 'cow' }, 64 * 1024);
          const p = new Platform({
            layout,
            mem: new GuestMemory(new ArrayBuffer(RAM), null),
            cpus: 1,
            disks: [{ backend: new LocalBlockBackend(disk), boot: true }],
            flash: { code: new Uint8Array(0x1_0000), vars: new Uint8Array(0x1000) },
            irqLine: () => {},
            serialOut: () => {},
          });
          for (const o of ops) {
            if (o.write) p.devices.ports.write(o.port, o.size, o.value >>> 0);
            else
              expect(p.devices.ports.read(o.port, o.size)).toBeLessThanOrEqual(
                o.size === 4 ? 0xffffffff : (1 << (o.size * 8)) - 1,
              );
          }
          disk.close();
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });
});
