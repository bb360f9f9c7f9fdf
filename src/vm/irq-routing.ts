// GSI routing for MSI-X through irqfd (docs/vmm-platform.md §12.1). KVM_SET_GSI_ROUTING replaces the
// whole table, so it carries KVM's default irqchip routes too, exactly as the kernel sets them up
// (Linux arch/x86/kvm/irq_comm.c, default_routing[]: GSI 0–15 to the IOAPIC pin of the same
// number and to the PIC master (0–7) or slave (8–15) pin GSI mod 8; GSI 16–23 to the IOAPIC only),
// then one MSI route per vector from GSI 24 on.

export const FIRST_MSI_GSI = 24;
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
    irqchip(gsi, c.irqchipIoapic, gsi);
    if (gsi < PIC_IRQS) irqchip(gsi, gsi < 8 ? c.irqchipPicMaster : c.irqchipPicSlave, gsi % 8);
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
