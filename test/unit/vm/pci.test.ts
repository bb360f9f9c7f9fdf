// PCI conf1 latching and BAR sizing/relocation per docs/vmm-platform.md §5.1–5.2.
import { describe, expect, it } from 'vitest';
import { DeviceManager } from '../../../src/vm/device-manager';
import { PCI_COMMAND_MEMORY } from '../../../src/vm/pci';
import { I440fxHost } from '../../../src/vm/i440fx';
import { Piix3IsaBridge } from '../../../src/vm/piix3';
import { LocalBlockBackend, VirtioBlk } from '../../../src/vm/virtio-blk';
import { BAR_SIZE, VirtioPciTransport } from '../../../src/vm/virtio-pci';
import { GuestMemory } from '../../../src/vm/memory';
import { Disk } from '../../../src/vm/disk';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const addr = (dev: number, fn: number, reg: number) => (0x8000_0000 | (dev << 11) | (fn << 8) | reg) >>> 0;

function board() {
  const dm = new DeviceManager();
  const io = dm.ports;
  const mmio = dm.mmio;
  dm.addPci('i440fx', 0, 0, new I440fxHost());
  dm.addPci('piix3', 1, 0, new Piix3IsaBridge());
  const img = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-pci-')), 'd.img');
  fs.writeFileSync(img, Buffer.alloc(1 << 20));
  const disk = Disk.open({ path: img, mode: 'cow' });
  const mem = new GuestMemory(new ArrayBuffer(1 << 20), null);
  const irq: boolean[] = [];
  const blk = new VirtioPciTransport(new VirtioBlk(new LocalBlockBackend(disk)), mem, { intx: (l) => irq.push(l) });
  dm.addPci('virtio-blk0', 2, 0, blk);
  const cfgRead = (a: number, size = 4, off = 0) => {
    io.write(0xcf8, 4, a);
    return io.read(0xcfc + off, size);
  };
  const cfgWrite = (a: number, v: number, size = 4, off = 0) => {
    io.write(0xcf8, 4, a);
    io.write(0xcfc + off, size, v);
  };
  return { dm, io, mmio, blk, cfgRead, cfgWrite };
}

describe('PCI conf1', () => {
  it('identifies the i440FX host bridge, PIIX3 and the virtio-blk device', () => {
    const { cfgRead } = board();
    expect(cfgRead(addr(0, 0, 0))).toBe(0x1237_8086);
    expect((cfgRead(addr(0, 0, 0x3c)) >>> 8) & 0xff).toBe(0); // interrupt pin 0
    expect(cfgRead(addr(1, 0, 0))).toBe(0x7000_8086);
    expect(cfgRead(addr(1, 0, 0x08)) >>> 8).toBe(0x060100); // class ISA bridge
    expect((cfgRead(addr(1, 0, 0x0c)) >>> 16) & 0xff).toBe(0x80); // multi-function
    expect(cfgRead(addr(2, 0, 0))).toBe(0x1042_1af4);
    expect(cfgRead(addr(2, 0, 0x2c)) >>> 16).toBeGreaterThanOrEqual(0x40); // subsystem id
  });

  it('reads all-ones for absent functions and with the enable bit clear', () => {
    const { io, cfgRead } = board();
    expect(cfgRead(addr(1, 1, 0))).toBe(0xffffffff);
    expect(cfgRead(addr(5, 0, 0))).toBe(0xffffffff);
    io.write(0xcf8, 4, 0x0000_0000);
    expect(io.read(0xcfc, 4)).toBe(0xffffffff);
    expect(io.read(0xcfc, 1)).toBe(0xff);
  });

  it('latches CONFIG_ADDRESS only on dword writes (Linux probes 0xCFB by byte)', () => {
    const { io } = board();
    io.write(0xcf8, 4, 0x8000_0000);
    io.write(0xcfb, 1, 0x01);
    expect(io.read(0xcf8, 4)).toBe(0x8000_0000);
    io.write(0xcf8, 2, 0x1234);
    expect(io.read(0xcf8, 4)).toBe(0x8000_0000);
  });

  it('supports byte and word accesses at 0xCFC + (reg & 3)', () => {
    const { cfgRead } = board();
    expect(cfgRead(addr(0, 0, 0), 2, 2)).toBe(0x1237);
    expect(cfgRead(addr(0, 0, 0), 1, 1)).toBe(0x80);
  });

  it('makes the PIIX3 command register writable (SioBusDxe needs I/O + memory decode)', () => {
    const { cfgRead, cfgWrite } = board();
    cfgWrite(addr(1, 0, 4), 0x0003, 2);
    expect(cfgRead(addr(1, 0, 4), 2) & 7).toBe(3);
    cfgWrite(addr(1, 0, 0x60), 0x0b0b0a0a);
    expect(cfgRead(addr(1, 0, 0x60))).toBe(0x0b0b0a0a);
  });
});

describe('BAR sizing and relocation', () => {
  it('returns the size mask after an all-ones write; unimplemented BARs read 0', () => {
    const { cfgRead, cfgWrite } = board();
    cfgWrite(addr(2, 0, 0x10), 0xffffffff);
    expect(cfgRead(addr(2, 0, 0x10))).toBe(~(BAR_SIZE - 1) >>> 0); // memory, 32-bit, non-prefetchable
    for (const bar of [0x14, 0x18, 0x1c, 0x20, 0x24]) {
      cfgWrite(addr(2, 0, bar), 0xffffffff);
      expect(cfgRead(addr(2, 0, bar))).toBe(0);
    }
    cfgWrite(addr(0, 0, 0x10), 0xffffffff);
    expect(cfgRead(addr(0, 0, 0x10))).toBe(0);
  });

  it('decodes the BAR only at the assigned address and only with memory decode on', () => {
    const { mmio, cfgRead, cfgWrite } = board();
    cfgWrite(addr(2, 0, 0x10), 0x8000_0000);
    expect(cfgRead(addr(2, 0, 0x10))).toBe(0x8000_0000);
    // Decode off: all-ones.
    expect(mmio.read(0x8000_0012, 2)).toBe(0xffff);
    cfgWrite(addr(2, 0, 4), PCI_COMMAND_MEMORY, 2);
    expect(mmio.read(0x8000_0012, 2)).toBe(1); // num_queues
    // Relocate: the old address stops decoding, the new one works.
    cfgWrite(addr(2, 0, 0x10), 0x9000_8000);
    expect(mmio.read(0x8000_0012, 2)).toBe(0xffff);
    expect(mmio.read(0x9000_8012, 2)).toBe(1);
    cfgWrite(addr(2, 0, 4), 0, 2);
    expect(mmio.read(0x9000_8012, 2)).toBe(0xffff);
  });

  it('publishes the virtio capability chain (common, notify, ISR, device, PCI_CFG)', () => {
    const { cfgRead } = board();
    expect((cfgRead(addr(2, 0, 4)) >>> 16) & 0x10).toBe(0x10);
    let p = cfgRead(addr(2, 0, 0x34)) & 0xff;
    const types: number[] = [];
    while (p) {
      const head = cfgRead(addr(2, 0, p));
      expect(head & 0xff).toBe(0x09);
      types.push((head >>> 24) & 0xff);
      p = (head >>> 8) & 0xff;
    }
    expect(types).toEqual([1, 2, 3, 4, 5]);
  });
});
