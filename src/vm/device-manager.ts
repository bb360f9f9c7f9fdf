// The device manager owns the board's buses: port I/O, MMIO and PCI configuration. Devices are
// added with a name and a range and see only offsets into it; they never hold a bus. Two kinds
// of ranges:
//  - fixed ones the board declares (COM1, fw_cfg, the flash): an overlap is a bug in the board
//    and throws RangeConflictError;
//  - ones the guest places (PCI BARs, the PIIX4 PM block): an overlap is the guest's doing, so it
//    is refused with a warning and the range stays unmapped (reads all-ones), as on a board where
//    two decoders fight and neither wins.
import { log } from '../log';
import { MmioBus, PortBus, RangeConflictError, hexRange, type MmioDevice, type PortDevice, type Range } from './bus';
import { PciHost, type BarSpec, type PciFunction } from './pci';

/** A range whose place the guest chooses (through config registers), e.g. PMBA. */
export interface Window {
  /** Decode at `base`, or nowhere (null). Returns false when the range was refused. */
  moveTo(base: number | null): boolean;
  readonly base: number | null;
}

export type MappingListener = (change: {
  readonly name: string;
  readonly kind: 'mmio' | 'port';
  readonly base: number | null;
  readonly size: number;
  readonly dev: MmioDevice | PortDevice;
}) => void;

export class DeviceManager {
  readonly ports = new PortBus();
  readonly mmio = new MmioBus();
  readonly pci = new PciHost();
  /** Accesses refused because of a guest-made overlap (for tests and --stats). */
  refused = 0;
  private readonly listeners: MappingListener[] = [];

  constructor() {
    this.ports.add('pci-address', 0xcf8, 1, this.pci.addressPort);
    this.ports.add('pci-data', 0xcfc, 4, this.pci.dataPort);
  }

  addPorts(name: string, base: number, count: number, dev: PortDevice): void {
    this.ports.add(name, base, count, dev);
  }

  addMmio(name: string, base: number, size: number, dev: MmioDevice): void {
    this.mmio.add(name, base, size, dev);
  }

  /** Called whenever a guest-placed range moves (ioeventfds follow the BAR they live in). */
  onMapping(l: MappingListener): void {
    this.listeners.push(l);
  }

  /** A PCI function at 00:slot.fn; its BARs are mapped wherever the guest decodes them. */
  addPci(name: string, slot: number, fn: number, f: PciFunction): void {
    this.pci.add(slot, fn, f);
    const windows = new Map<number, Window>();
    f.listenBars((i, spec: BarSpec, addr) => {
      if (spec.kind === 'ram') return spec.map(addr);
      let w = windows.get(i);
      if (!w) {
        w =
          spec.kind === 'io'
            ? this.portWindow(`${name} BAR${i}`, spec.size, spec.dev)
            : this.mmioWindow(`${name} BAR${i}`, spec.size, spec.dev);
        windows.set(i, w);
      }
      w.moveTo(addr);
    });
  }

  portWindow(name: string, size: number, dev: PortDevice): Window {
    return this.window('port', name, size, dev, this.ports);
  }

  mmioWindow(name: string, size: number, dev: MmioDevice): Window {
    return this.window('mmio', name, size, dev, this.mmio);
  }

  private window<D extends MmioDevice | PortDevice>(
    kind: 'mmio' | 'port',
    name: string,
    size: number,
    dev: D,
    bus: { add(name: string, base: number, size: number, dev: D): Range<D>; remove(r: Range<D>): void },
  ): Window {
    let current: Range<D> | null = null;
    const notify = (base: number | null) => {
      for (const l of this.listeners) l({ name, kind, base, size, dev });
    };
    return {
      get base() {
        return current?.base ?? null;
      },
      moveTo: (base) => {
        if (current && current.base === base) return true;
        if (current) {
          bus.remove(current);
          current = null;
          notify(null);
        }
        if (base === null) return true;
        try {
          current = bus.add(name, base, size, dev);
        } catch (e) {
          if (!(e instanceof RangeConflictError)) throw e;
          this.refused++;
          log('warn', 'vm', `${e.message} (the guest placed it there; left unmapped)`);
          return false;
        }
        notify(base);
        return true;
      },
    };
  }

  /** Every mapped range, for diagnostics: "mmio 0x80000000-0x80003fff virtio-blk0 BAR0". */
  describe(): string[] {
    const out: string[] = [];
    for (const r of this.ports.space.list()) out.push(`port ${hexRange(r)} ${r.name}`);
    for (const r of this.mmio.space.list()) out.push(`mmio ${hexRange(r)} ${r.name}`);
    return out;
  }
}
