// fw_cfg: signature/ID over the port interface (incl. rep insb), the big-endian file directory,
// and the DMA interface (big-endian descriptor and address, control written back after copy).
import { describe, expect, it } from 'vitest';
import { PortBus } from '../../../src/vm/bus';
import { FwCfg, FW_CFG_FILE_DIR, DMA_READ, DMA_SELECT, DMA_SKIP, DMA_ERROR, DMA_WRITE } from '../../../src/vm/fwcfg';
import { GuestMemory, e820Table, memoryLayout, GiB } from '../../../src/vm/memory';

const bswap = (v: number) => Buffer.from(Uint32Array.of(v).buffer).readUInt32BE(0);

function setup() {
  const mem = new GuestMemory(new ArrayBuffer(1 << 20), null);
  const fw = new FwCfg(mem, 2);
  const io = new PortBus();
  io.add('fw_cfg', FwCfg.BASE, FwCfg.PORTS, fw);
  const read = (key: number, n: number) => {
    io.write(0x510, 2, key);
    return Buffer.from(Array.from({ length: n }, () => io.read(0x511, 1)));
  };
  /** Write a DMA descriptor at `at` and kick it through the two BE address registers. */
  const dma = (at: number, control: number, length: number, address: number) => {
    const d = Buffer.alloc(16);
    d.writeUInt32BE(control >>> 0, 0);
    d.writeUInt32BE(length, 4);
    d.writeBigUInt64BE(BigInt(address), 8);
    mem.low.set(d, at);
    io.write(0x514, 4, bswap(0));
    io.write(0x518, 4, bswap(at));
    return Buffer.from(mem.low.subarray(at, at + 4)).readUInt32BE(0);
  };
  return { mem, fw, io, read, dma };
}

describe('fw_cfg', () => {
  it('answers the signature "QEMU", interface id 3 (traditional + DMA) and nb_cpus', () => {
    const { read } = setup();
    expect(read(0, 4).toString()).toBe('QEMU');
    expect(read(1, 4).readUInt32LE(0)).toBe(3);
    expect(read(5, 2).readUInt16LE(0)).toBe(2);
    expect(read(0x0f, 2).readUInt16LE(0)).toBe(2);
  });

  it('reads 0 past the end of an item and for unknown keys', () => {
    const { read } = setup();
    expect([...read(0, 6)]).toEqual([0x51, 0x45, 0x4d, 0x55, 0, 0]);
    expect([...read(0x7777, 2)]).toEqual([0, 0]);
  });

  it('builds the directory: BE32 count, 64-byte BE entries sorted by name', () => {
    const { fw, read } = setup();
    const a = fw.addFile('etc/e820', e820Table(memoryLayout(GiB)));
    const b = fw.addFile('bootorder', Buffer.from('/pci@i0cf8/scsi@2/disk@0,0\n\0'));
    const dir = read(FW_CFG_FILE_DIR, 4 + 2 * 64);
    expect(dir.readUInt32BE(0)).toBe(2);
    expect(dir.toString('ascii', 4 + 8, 4 + 8 + 9)).toBe('bootorder');
    expect(dir.readUInt32BE(4)).toBe(28);
    expect(dir.readUInt16BE(8)).toBe(b);
    expect(dir.toString('ascii', 68 + 8, 68 + 16)).toBe('etc/e820');
    expect(dir.readUInt32BE(68)).toBe(2 * 20); // 1 GiB: low RAM + the reserved TSS range
    expect(dir.readUInt16BE(72)).toBe(a);
    expect(a).toBe(0x20);
  });

  it('serves etc/e820 as packed LE {base, length, type} with the KVM TSS range reserved', () => {
    const e = Buffer.from(e820Table(memoryLayout(3 * GiB)));
    expect(e.length).toBe(60);
    expect([Number(e.readBigUInt64LE(0)), Number(e.readBigUInt64LE(8)), e.readUInt32LE(16)]).toEqual([0, 2 * GiB, 1]);
    expect([Number(e.readBigUInt64LE(20)), Number(e.readBigUInt64LE(28)), e.readUInt32LE(36)]).toEqual([
      4 * GiB,
      GiB,
      1,
    ]);
    expect([Number(e.readBigUInt64LE(40)), Number(e.readBigUInt64LE(48)), e.readUInt32LE(56)]).toEqual([
      0xfeffc000, 0x4000, 2,
    ]);
  });

  it('DMA: select + read copies the item, fills zeros past the end, clears control', () => {
    const { mem, dma } = setup();
    mem.low.fill(0xaa, 0x2000, 0x2010);
    const ctl = dma(0x1000, (0 << 16) | DMA_SELECT | DMA_READ, 8, 0x2000);
    expect(ctl).toBe(0);
    expect([...mem.low.subarray(0x2000, 0x2009)]).toEqual([0x51, 0x45, 0x4d, 0x55, 0, 0, 0, 0, 0xaa]);
  });

  it('DMA: skip advances the offset for the next read', () => {
    const { mem, dma } = setup();
    expect(dma(0x1000, (0 << 16) | DMA_SELECT | DMA_SKIP, 2, 0)).toBe(0);
    expect(dma(0x1000, DMA_READ, 2, 0x3000)).toBe(0);
    expect(Buffer.from(mem.low.subarray(0x3000, 0x3002)).toString()).toBe('MU');
  });

  it('DMA: errors for buffers outside RAM and for writes', () => {
    const { dma } = setup();
    expect(dma(0x1000, DMA_SELECT | DMA_READ, 16, 0xfff0_0000)).toBe(DMA_ERROR);
    expect(dma(0x1000, DMA_SELECT | DMA_WRITE, 4, 0x2000)).toBe(DMA_ERROR);
  });

  it('handles rep insb: consecutive data reads continue the item', () => {
    const { io } = setup();
    io.write(0x510, 2, 0);
    const bytes = [0, 1, 2, 3].map(() => io.read(0x511, 1));
    expect(Buffer.from(bytes).toString()).toBe('QEMU');
  });
});
