// The board (docs/vmm-platform.md §5): which device sits where. Every device goes through the
// device manager (device-manager.ts), which owns the buses and refuses overlapping ranges; the
// devices see offsets and an interrupt callback. Independent of KVM, so unit tests drive it with
// recorded access sequences.
import { Cmos } from './cmos';
import { DeviceManager } from './device-manager';
import { VmEvents } from './events';
import { FwCfg } from './fwcfg';
import { I440fxHost } from './i440fx';
import { e820Table, type GuestMemory, type MemoryLayout, FOUR_GIB } from './memory';
import { Piix3IsaBridge, ResetControl, SystemControlA } from './piix3';
import { I8042 } from './i8042';
import { BochsDisplay } from './display/bochs';
import { memoryStructures, SMBIOS_ANCHOR_FILE, SMBIOS_TABLES_FILE, smbiosFiles, type SmbiosVersion } from './smbios';
import { PM_IO_SIZE, Piix4Pm } from './piix4pm';
import { CfiFlash } from './pflash';
import { Uart16550 } from './uart';
import type { MsiSink } from './msix';
import { VirtioBlk, type BlockBackend } from './virtio-blk';
import type { NvmeBackend } from './nvme/backend';
import { NvmeController } from './nvme/controller';
import type { AhciBackend } from './ahci/backend';
import { AhciController } from './ahci/controller';
import { VirtioPciTransport } from './virtio-pci';
import { buildAcpi, LOADER_FILE, RSDP_FILE, SCI_IRQ, TABLES_FILE } from './acpi/tables';
import { pciGsi } from './acpi/dsdt';

/** Disk i is a virtio-blk, NVMe or AHCI function at 00:(2+i).0. */
export const DISK_SLOT = 2;
export const MAX_DISKS = 4;
/** The display (display/bochs.ts), after the disks. */
export const DISPLAY_SLOT = DISK_SLOT + MAX_DISKS;
/** OpenFirmware path OVMF's QemuBootOrderLib matches for the disk in PCI slot `slot`: a virtio
 *  disk, namespace 1 of an NVMe controller (with EUI-64 0, which identify.ts keeps), or the disk
 *  on port 0 of an ICH9 AHCI HBA (QEMU's form for ich9-ahci; OVMF translates it to
 *  PciRoot(0x0)/Pci(slot,0x0)/Sata(0x0,0xFFFF,0x0)). */
export const bootorderPath = (slot: number, kind: 'virtio-blk' | 'nvme' | 'ahci'): string =>
  kind === 'nvme'
    ? `/pci@i0cf8/pci8086,5845@${slot.toString(16)}/namespace@1,0`
    : kind === 'ahci'
      ? `/pci@i0cf8/pci8086,2922@${slot.toString(16)}/drive@0/disk@0`
      : `/pci@i0cf8/scsi@${slot.toString(16)}/disk@0,0`;

/** A disk on the board: the virtio-blk function, or the NVMe controller. */
export type BoardDisk =
  | { readonly kind: 'virtio-blk'; readonly transport: VirtioPciTransport; readonly blk: VirtioBlk }
  | { readonly kind: 'nvme'; readonly controller: NvmeController }
  | { readonly kind: 'ahci'; readonly controller: AhciController };

export interface PlatformDisk {
  /** Who serves the disk's requests (virtio-blk.ts, nvme/backend.ts or ahci/backend.ts). */
  readonly backend: BlockBackend | NvmeBackend | AhciBackend;
  /** In the fw_cfg bootorder. OVMF applies the bootorder only if one entry matches; then it
   *  drops the unlisted disks' boot options and keeps the built-in shell last. */
  readonly boot: boolean;
}
export const COM1_BASE = 0x3f8;
/** ISA IRQs of the i8042's keyboard and mouse (the DSDT's PS2K and PS2M say so too). */
export const KBD_IRQ = 1;
export const AUX_IRQ = 12;
export const COM1_GSI = 4;

export interface PlatformOptions {
  readonly layout: MemoryLayout;
  readonly mem: GuestMemory;
  readonly cpus: number;
  readonly disks: readonly PlatformDisk[];
  /** Publish the fw_cfg `bootorder` (off when the variable store names what boots). */
  readonly fwBootOrder?: boolean;
  /** Whole ACPI tables passed on from the host (host-tables.ts), listed after the WAET. */
  readonly acpiTables?: readonly Uint8Array[];
  /** The CMOS clock's start relative to host UTC, in ms (default 0). */
  readonly rtcOffsetMs?: number;
  /** A display: its framebuffer memory and how to map it where the guest puts BAR0 (a KVM slot). */
  readonly display?: {
    readonly fb: Uint8Array;
    readonly map: (addr: number | null) => void;
    /** The resolution the EDID names as native (the host screen's, with a host output). */
    readonly preferred?: { readonly width: number; readonly height: number };
    /** The DISPI registers in shared memory, for the host output's thread (display/host-thread.ts). */
    readonly regs?: Uint16Array;
  };
  /** The host's SMBIOS structures for fw_cfg (smbios.ts); the VM's memory structures follow them. */
  readonly smbios?: { readonly structures: readonly Uint8Array[]; readonly version: SmbiosVersion | null };
  /** The flash banks' contents: CODE ends at 4 GiB, VARS (if any) sits right below it. */
  readonly flash: { readonly code: Uint8Array; readonly vars: Uint8Array | null };
  readonly irqLine: (gsi: number, level: boolean) => void;
  /** MSI-X for the virtio functions (KVM machines: irqfd routes); without it they offer none. */
  readonly msi?: () => MsiSink;
  /** The VM fd, for backends that raise INTx from another thread. */
  readonly vmFd?: number;
  readonly serialOut: (byte: number) => void;
  /** Told where the PM timer is (PMBA + 8) whenever the guest moves it, so the run loop can
   *  answer it in C. */
  readonly pmTimerPort?: (port: number | null) => void;
}

export interface FlashBank {
  readonly device: CfiFlash;
  readonly base: number;
}

export class Platform {
  readonly devices = new DeviceManager();
  readonly events = new VmEvents();
  readonly host = new I440fxHost();
  readonly isa = new Piix3IsaBridge();
  readonly pm: Piix4Pm;
  readonly cmos: Cmos;
  readonly uart: Uart16550;
  /** The PS/2 keyboard and mouse controller (i8042.ts). */
  readonly kbc: I8042;
  /** The display, when the machine has one (display/bochs.ts). */
  readonly display: BochsDisplay | null = null;
  readonly fwcfg: FwCfg;
  /** Disk i at index i. */
  readonly disks: BoardDisk[] = [];
  /** CODE (read-only) and the variable store, as QEMU's pflash units 0 and 1. */
  readonly flash: { readonly code: FlashBank; readonly vars: FlashBank | null };

  constructor(o: PlatformOptions) {
    const dm = this.devices;
    dm.addPci('i440fx', 0, 0, this.host);
    dm.addPci('piix3', 1, 0, this.isa);
    this.pm = new Piix4Pm(this.events);
    dm.addPci('piix4-pm', 1, 3, this.pm);
    const pmBlock = dm.portWindow('piix4-pm io', PM_IO_SIZE, this.pm);
    this.pm.onIoBase = (base) => {
      pmBlock.moveTo(base);
      o.pmTimerPort?.(base === null ? null : base + 8);
    };
    this.pm.announce();
    this.pm.onSci = (level) => o.irqLine(SCI_IRQ, level);
    dm.addPorts('reset-control', 0xcf9, 1, new ResetControl(this.events));
    dm.addPorts('port92', 0x92, 1, new SystemControlA(this.events));
    this.kbc = new I8042({
      events: this.events,
      irq1: (l) => o.irqLine(KBD_IRQ, l),
      irq12: (l) => o.irqLine(AUX_IRQ, l),
    });
    dm.addPorts('i8042-data', 0x60, 1, this.kbc.data);
    dm.addPorts('i8042-command', 0x64, 1, this.kbc.command);
    this.cmos = new Cmos(o.layout, o.cpus, Date.now, o.rtcOffsetMs ?? 0);
    dm.addPorts('cmos', 0x70, 2, this.cmos);
    this.uart = new Uart16550(o.serialOut, (l) => o.irqLine(COM1_GSI, l));
    dm.addPorts('com1', COM1_BASE, Uart16550.PORTS, this.uart);
    this.fwcfg = new FwCfg(o.mem, o.cpus);
    dm.addPorts('fw_cfg', FwCfg.BASE, FwCfg.PORTS, this.fwcfg);
    this.fwcfg.addFile('etc/e820', e820Table(o.layout));
    const acpi = buildAcpi(
      o.cpus,
      (o.acpiTables ?? []).map((t) => Buffer.from(t)),
    );
    this.fwcfg.addFile(TABLES_FILE, acpi.tables);
    this.fwcfg.addFile(RSDP_FILE, acpi.rsdp);
    this.fwcfg.addFile(LOADER_FILE, acpi.loader);
    {
      // The host's identity (if any) and the VM's own memory: OVMF adds its BIOS structure.
      const host = o.smbios?.structures ?? [];
      const f = smbiosFiles([...host, ...memoryStructures(o.layout, host)], o.smbios?.version ?? null);
      this.fwcfg.addFile(SMBIOS_ANCHOR_FILE, f.anchor);
      this.fwcfg.addFile(SMBIOS_TABLES_FILE, f.tables);
    }
    if (o.disks.length > MAX_DISKS) throw new Error(`at most ${MAX_DISKS} disks`);
    const order: string[] = [];
    o.disks.forEach((d, i) => {
      const slot = DISK_SLOT + i;
      const b = d.backend;
      if (b.kind === 'nvme') {
        const controller = new NvmeController(b, o.mem, o.msi?.());
        dm.addPci(`nvme${i}`, slot, 0, controller);
        this.disks.push({ kind: 'nvme', controller });
      } else if (b.kind === 'ahci') {
        // One HBA per disk, in the disk's slot, with the disk on port 0 (docs/vmm-platform.md §16).
        const gsi = pciGsi(slot, 0);
        const controller = new AhciController(b, o.mem, {
          msi: o.msi?.(),
          intx: (l) => o.irqLine(gsi, l),
          ...(o.vmFd !== undefined ? { remote: { vmFd: o.vmFd, gsi } } : {}),
        });
        dm.addPci(`ahci${i}`, slot, 0, controller);
        this.disks.push({ kind: 'ahci', controller });
      } else {
        const gsi = pciGsi(slot, 0);
        const blk = new VirtioBlk(b);
        const transport = new VirtioPciTransport(blk, o.mem, {
          intx: (l) => o.irqLine(gsi, l),
          ...(o.msi ? { msi: o.msi() } : {}),
          ...(o.vmFd !== undefined ? { remote: { vmFd: o.vmFd, intxGsi: gsi } } : {}),
        });
        dm.addPci(`virtio-blk${i}`, slot, 0, transport);
        this.disks.push({ kind: 'virtio-blk', transport, blk });
      }
      if (d.boot) order.push(bootorderPath(slot, b.kind));
    });
    if (o.display) {
      this.display = new BochsDisplay(o.display.fb, o.display.map, o.display.preferred, o.display.regs);
      dm.addPci('display', DISPLAY_SLOT, 0, this.display);
    }
    if (order.length && o.fwBootOrder !== false)
      this.fwcfg.addFile('bootorder', Buffer.from(order.join('\n') + '\n\0'));
    const codeBase = FOUR_GIB - o.flash.code.length;
    const code = { device: new CfiFlash(o.flash.code, true), base: codeBase };
    dm.addMmio('pflash-code', code.base, o.flash.code.length, code.device);
    let vars: FlashBank | null = null;
    if (o.flash.vars) {
      vars = { device: new CfiFlash(o.flash.vars, false), base: codeBase - o.flash.vars.length };
      dm.addMmio('pflash-vars', vars.base, o.flash.vars.length, vars.device);
    }
    this.flash = { code, vars };
  }
}
