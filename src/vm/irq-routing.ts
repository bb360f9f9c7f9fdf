// GSI routing: the irqchip routes of the board, then MSI-X through irqfd
// (docs/vmm-platform.md §12.1). KVM_SET_GSI_ROUTING replaces the whole table. KVM's own default (Linux
// arch/x86/kvm/irq_comm.c, default_routing[]) sends every GSI 0–15 to the IOAPIC pin of the same
// number, so the in-kernel PIT, which raises GSI 0, would reach pin 0 while the MADT says ISA IRQ 0
// is GSI 2 (the override every PC firmware publishes); Linux then reports "MP-BIOS bug: 8254 timer
// not connected to IO-APIC" and runs its timer through the 8259A's virtual wire, which only reaches
// the boot CPU. So the table is the PC's, as QEMU's kvm_pc_setup_irq_routing() builds it: GSI 0 to
// IOAPIC pin 2 and GSI 2 to no IOAPIC pin; PIC master pins 0, 1, 3–7 (2 is the cascade), slave 0–7
// for GSI 8–15; GSI 1, 3–23 to their own IOAPIC pin. The machine applies it at creation.

export const FIRST_MSI_GSI = 24;
/** The IOAPIC pin of ISA IRQ 0 (the PIT): the MADT's interrupt source override names it. */
export const ISA_IRQ0_GSI = 2;
const IOAPIC_PINS = 24;
const PIC_IRQS = 16;

export interface RoutingConstants {
  readonly routingEntrySize: number;
  readonly routingIrqchip: number;
  readonly routingMsi: number;
  readonly irqchipPicMaster: number;
  readonly irqchipPicSlave: number;
  readonly irqchipIoapic: number;
}

export interface MsiRoute {
  readonly gsi: number;
  readonly addressLo: number;
  readonly addressHi: number;
  readonly data: number;
}

/** struct kvm_irq_routing_entry records: {u32 gsi, type, flags, pad; union u (32 bytes)}. */
export function routingEntries(c: RoutingConstants, msis: readonly MsiRoute[]): Buffer {
  const rows: Array<(b: Buffer, o: number) => void> = [];
  const irqchip = (gsi: number, chip: number, pin: number) =>
    rows.push((b, o) => {
      b.writeUInt32LE(gsi, o);
      b.writeUInt32LE(c.routingIrqchip, o + 4);
      b.writeUInt32LE(chip, o + 16);
      b.writeUInt32LE(pin, o + 20);
    });
  for (let gsi = 0; gsi < IOAPIC_PINS; gsi++) {
    if (gsi === 0) irqchip(gsi, c.irqchipIoapic, ISA_IRQ0_GSI);
    else if (gsi !== ISA_IRQ0_GSI) irqchip(gsi, c.irqchipIoapic, gsi);
    if (gsi < PIC_IRQS && gsi !== 2) irqchip(gsi, gsi < 8 ? c.irqchipPicMaster : c.irqchipPicSlave, gsi % 8);
  }
  for (const m of msis) {
    if (m.gsi < FIRST_MSI_GSI) throw new RangeError(`MSI route on GSI ${m.gsi}, which the irqchip owns`);
    rows.push((b, o) => {
      b.writeUInt32LE(m.gsi, o);
      b.writeUInt32LE(c.routingMsi, o + 4);
      b.writeUInt32LE(m.addressLo >>> 0, o + 16);
      b.writeUInt32LE(m.addressHi >>> 0, o + 20);
      b.writeUInt32LE(m.data >>> 0, o + 24);
    });
  }
  const b = Buffer.alloc(rows.length * c.routingEntrySize);
  rows.forEach((w, i) => w(b, i * c.routingEntrySize));
  return b;
}

/** The MSI routes of one VM: GSIs handed out from 24 on; every change rewrites the table. */
export class MsiRoutes {
  private next = FIRST_MSI_GSI;
  private readonly routes = new Map<number, MsiRoute>();

  constructor(
    private readonly c: RoutingConstants,
    private readonly apply: (entries: Buffer) => void,
  ) {}

  /** A GSI for one vector, routed nowhere useful until set() (its vector starts masked). */
  allocate(): number {
    const gsi = this.next++;
    this.routes.set(gsi, { gsi, addressLo: 0xfee0_0000, addressHi: 0, data: 0 });
    return gsi;
  }

  set(gsi: number, addressLo: number, addressHi: number, data: number): void {
    const cur = this.routes.get(gsi);
    if (!cur) throw new RangeError(`GSI ${gsi} was not allocated`);
    if (cur.addressLo === addressLo >>> 0 && cur.addressHi === addressHi >>> 0 && cur.data === data >>> 0) return;
    this.routes.set(gsi, { gsi, addressLo: addressLo >>> 0, addressHi: addressHi >>> 0, data: data >>> 0 });
    this.commit();
  }

  commit(): void {
    this.apply(routingEntries(this.c, [...this.routes.values()]));
  }
}
