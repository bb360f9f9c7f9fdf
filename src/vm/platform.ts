// The board: wires every device model onto the port and MMIO buses (docs/vmm-platform.md §5).
// Independent of KVM, so unit tests drive it with recorded access sequences.
import { IoBus, MmioBus, type MmioDevice } from './bus';
import { Cmos } from './cmos';
import type { Disk } from './disk';
import { VmEvents } from './events';
import { FwCfg } from './fwcfg';
import { I440fxHost } from './i440fx';
import { e820Table, type GuestMemory, type MemoryLayout, FOUR_GIB } from './memory';
import { PciConf1 } from './pci';
import { Piix3IsaBridge, ResetControl } from './piix3';
import { Piix4Pm } from './piix4pm';
import { Uart16550 } from './uart';
import { VirtioBlk } from './virtio-blk';
import { buildAcpi, LOADER_FILE, RSDP_FILE, TABLES_FILE } from './acpi/tables';
import { pciGsi } from './acpi/dsdt';

/** Disk i is a virtio-blk function at 00:(2+i).0. */
export const VIRTIO_BLK_SLOT = 2;
export const MAX_DISKS = 4;
/** OpenFirmware path OVMF matches for the virtio disk in PCI slot `slot`. */
export const bootorderPath = (slot: number): string => `/pci@i0cf8/scsi@${slot.toString(16)}/disk@0,0`;

export interface PlatformDisk {
  readonly disk: Disk;
  /** In the fw_cfg bootorder. OVMF applies the bootorder only if one entry matches; then it
   *  drops the unlisted disks' boot options and keeps the built-in shell last. */
  readonly boot: boolean;
}
export const COM1_GSI = 4;

export interface PlatformOptions {
  readonly layout: MemoryLayout;
  readonly mem: GuestMemory;
  readonly cpus: number;
  readonly disks: readonly PlatformDisk[];
  readonly firmwareSize: number;
  readonly irqLine: (gsi: number, level: boolean) => void;
  readonly serialOut: (byte: number) => void;
}

/** Writes into the read-only firmware slot exit as MMIO; they are ignored (OVMF then sees ROM). */
class RomWriteSink implements MmioDevice {
  writes = 0;
  mmioRead(): bigint {
    return 0xffffffffffffffffn;
  }
  mmioWrite(): void {
    this.writes++;
  }
}

export class Platform {
  readonly io = new IoBus();
  readonly mmio = new MmioBus();
  readonly events = new VmEvents();
  readonly pci = new PciConf1();
  readonly host = new I440fxHost();
  readonly isa = new Piix3IsaBridge();
  readonly pm: Piix4Pm;
  readonly cmos: Cmos;
  readonly uart: Uart16550;
  readonly fwcfg: FwCfg;
  readonly virtio: VirtioBlk[] = [];
  readonly rom = new RomWriteSink();

  constructor(o: PlatformOptions) {
    this.pci.attach(this.io);
    this.pci.add(0, 0, this.host);
    this.pci.add(1, 0, this.isa);
    this.pm = new Piix4Pm(this.io, this.events);
    this.pci.add(1, 3, this.pm);
    new ResetControl(this.events).attach(this.io);
    this.cmos = new Cmos(o.layout, o.cpus);
    this.cmos.attach(this.io);
    this.uart = new Uart16550(0x3f8, o.serialOut, (l) => o.irqLine(COM1_GSI, l));
    this.uart.attach(this.io);
    this.fwcfg = new FwCfg(o.mem, o.cpus);
    this.fwcfg.attach(this.io);
    this.fwcfg.addFile('etc/e820', e820Table(o.layout));
    const acpi = buildAcpi(o.cpus);
    this.fwcfg.addFile(TABLES_FILE, acpi.tables);
    this.fwcfg.addFile(RSDP_FILE, acpi.rsdp);
    this.fwcfg.addFile(LOADER_FILE, acpi.loader);
    if (o.disks.length > MAX_DISKS) throw new Error(`at most ${MAX_DISKS} disks`);
    const order: string[] = [];
    o.disks.forEach((d, i) => {
      const slot = VIRTIO_BLK_SLOT + i;
      const gsi = pciGsi(slot, 0);
      const dev = new VirtioBlk(d.disk, o.mem, this.mmio, (l) => o.irqLine(gsi, l));
      this.pci.add(slot, 0, dev);
      this.virtio.push(dev);
      if (d.boot) order.push(bootorderPath(slot));
    });
    if (order.length) this.fwcfg.addFile('bootorder', Buffer.from(order.join('\n') + '\n\0'));
    this.mmio.register(FOUR_GIB - o.firmwareSize, o.firmwareSize, this.rom);
  }
}
