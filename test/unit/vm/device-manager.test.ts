// The device manager owns the buses: a range that overlaps another is refused (a board bug
// throws; a guest-placed BAR or PM block is left unmapped), and every device sees offsets into
// its own range, never a bus or an absolute address.
import { describe, expect, it } from 'vitest';
import { RangeConflictError, type MmioDevice, type PortDevice } from '../../../src/vm/bus';
import { DeviceManager } from '../../../src/vm/device-manager';
import { PCI_COMMAND_IO, PCI_COMMAND_MEMORY, PciFunction } from '../../../src/vm/pci';

type Access = [op: 'r' | 'w', offset: number, size: number, value?: number];

/** Records what it is asked; reads return 0x10000 + offset so the caller sees the offset too. */
class Recorder implements PortDevice, MmioDevice {
  readonly log: Access[] = [];
  portRead(offset: number, size: number): number {
    this.log.push(['r', offset, size]);
    return 0x10000 + offset;
  }
  portWrite(offset: number, size: number, value: number): void {
    this.log.push(['w', offset, size, value]);
  }
  mmioRead(offset: number, size: number): number {
    return this.portRead(offset, size);
  }
  mmioWrite(offset: number, size: number, value: number): void {
    this.portWrite(offset, size, value);
  }
}

/** A function with a 4 KiB memory BAR 0 and a 16-port I/O BAR 1. */
class TwoBars extends PciFunction {
  constructor(
    readonly mem: Recorder,
    readonly io: Recorder,
  ) {
    super({ vendor: 0x1234, device: 0x5678, revision: 0, classCode: 0xff0000, headerType: 0 });
    this.defineBar(0, { kind: 'mem32', size: 0x1000, dev: mem });
    this.defineBar(1, { kind: 'io', size: 16, dev: io });
  }
}

const cfgAddr = (slot: number, reg: number) => (0x8000_0000 | (slot << 11) | reg) >>> 0;

function place(dm: DeviceManager, slot: number, bar0: number, bar1: number, command: number) {
  const w = (reg: number, size: number, v: number) => {
    dm.ports.write(0xcf8, 4, cfgAddr(slot, reg));
    dm.ports.write(0xcfc, size, v);
  };
  w(0x10, 4, bar0);
  w(0x14, 4, bar1);
  w(0x04, 2, command);
}

describe('device manager', () => {
  it('refuses a fixed range that overlaps another, naming both', () => {
    const dm = new DeviceManager();
    dm.addPorts('com1', 0x3f8, 8, new Recorder());
    expect(() => dm.addPorts('other', 0x3ff, 2, new Recorder())).toThrow(RangeConflictError);
    expect(() => dm.addPorts('other', 0x3f0, 9, new Recorder())).toThrow(
      /0x3f0-0x3f8 for other overlaps 0x3f8-0x3ff of com1/,
    );
    dm.addPorts('next-door', 0x400, 1, new Recorder()); // adjacent is fine
    dm.addMmio('flash', 0xffc0_0000, 0x40_0000, new Recorder());
    expect(() => dm.addMmio('rom', 0xffff_0000, 0x1_0000, new Recorder())).toThrow(RangeConflictError);
    // The PCI configuration ports belong to the manager itself.
    expect(() => dm.addPorts('sneaky', 0xcfc, 1, new Recorder())).toThrow(/pci-data/);
  });

  it('delivers port and MMIO accesses as offsets into the device range', () => {
    const dm = new DeviceManager();
    const ports = new Recorder();
    const mmio = new Recorder();
    dm.addPorts('dev', 0x510, 12, ports);
    dm.addMmio('dev', 0xfed0_0000, 0x1000, mmio);
    expect(dm.ports.read(0x511, 1)).toBe(0x10001);
    dm.ports.write(0x518, 4, 0xdeadbeef);
    expect(ports.log).toEqual([
      ['r', 1, 1],
      ['w', 8, 4, 0xdeadbeef],
    ]);
    expect(dm.mmio.read(0xfed0_0ff0, 2)).toBe(0x10ff0);
    // An 8-byte access (as KVM reports it) reaches a device as two 4-byte ones, low half first.
    const data = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    dm.mmio.access(0xfed0_0008, 8, true, data);
    expect(mmio.log.slice(1)).toEqual([
      ['w', 8, 4, 0x04030201],
      ['w', 12, 4, 0x08070605],
    ]);
    // Unassigned: all-ones, writes dropped.
    expect(dm.ports.read(0x2ff, 1)).toBe(0xff);
    expect(dm.mmio.read(0xfee0_0000 - 4, 4)).toBe(0xffffffff);
  });

  it('maps PCI BARs where the guest decodes them, with offsets into the BAR', () => {
    const dm = new DeviceManager();
    const f = new TwoBars(new Recorder(), new Recorder());
    dm.addPci('two', 3, 0, f);
    place(dm, 3, 0x8000_2000, 0xc040, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    expect(dm.mmio.read(0x8000_2010, 4)).toBe(0x10010);
    expect(dm.ports.read(0xc04c, 2)).toBe(0x1000c);
    expect(f.mem.log).toEqual([['r', 0x10, 4]]);
    expect(f.io.log).toEqual([['r', 0xc, 2]]);
    // Moving the BAR moves the range; the old address reads all-ones again.
    place(dm, 3, 0x8000_5000, 0xc080, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    expect(dm.mmio.read(0x8000_2010, 4)).toBe(0xffffffff);
    expect(dm.mmio.read(0x8000_5004, 4)).toBe(0x10004);
    expect(dm.describe()).toContain('mmio 0x80005000-0x80005fff two BAR0');
  });

  it('leaves a guest-placed BAR unmapped when it overlaps another device, and keeps the first', () => {
    const dm = new DeviceManager();
    const a = new TwoBars(new Recorder(), new Recorder());
    const b = new TwoBars(new Recorder(), new Recorder());
    dm.addPci('a', 3, 0, a);
    dm.addPci('b', 4, 0, b);
    place(dm, 3, 0x8000_0000, 0xc000, PCI_COMMAND_MEMORY);
    place(dm, 4, 0x8000_0000, 0xc000, PCI_COMMAND_MEMORY); // the same address: refused, no throw
    expect(dm.refused).toBe(1);
    dm.mmio.read(0x8000_0004, 4);
    expect(a.mem.log).toEqual([['r', 4, 4]]);
    expect(b.mem.log).toEqual([]);
    // Once the guest moves it somewhere free, it decodes.
    place(dm, 4, 0x8000_1000, 0xc000, PCI_COMMAND_MEMORY);
    dm.mmio.read(0x8000_1004, 4);
    expect(b.mem.log).toEqual([['r', 4, 4]]);
  });

  it('refuses a guest-placed port window on top of a fixed device (e.g. PMBA moved onto COM1)', () => {
    const dm = new DeviceManager();
    const com1 = new Recorder();
    dm.addPorts('com1', 0x3f8, 8, com1);
    const pm = new Recorder();
    const w = dm.portWindow('pm', 0x40, pm);
    expect(w.moveTo(0x3c0)).toBe(false);
    expect(w.base).toBeNull();
    expect(dm.ports.read(0x3f8, 1)).toBe(0x10000);
    expect(w.moveTo(0xb000)).toBe(true);
    expect(dm.ports.read(0xb008, 4)).toBe(0x10008);
    expect(pm.log).toEqual([['r', 8, 4]]);
  });
});
