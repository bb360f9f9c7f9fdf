// The DSDT body: \_S5 (matches the PIIX4 PM1_CNT handler: SLP_TYP 0 = power-off), the PCI root
// bridge with its resources and _PRT, COM1, the RTC, the PS/2 keyboard and mouse, and a processor device (ACPI0007) per vCPU,
// as ACPI 6.x wants instead of the deprecated Processor object (Windows lists CPUs from them).
import * as aml from './aml';
import { PCI_MMIO32_BASE, PCI_MMIO32_END } from '../memory';

/** APIC-mode GSI for slot `slot`, pin 0..3 (INTA..INTD): 16 + (slot + pin) mod 8. */
export function pciGsi(slot: number, pin: number): number {
  return 16 + ((slot + pin) % 8);
}

/** Bus 0 has 32 device slots; _PRT covers 1–31 (slot 0 is the host bridge, which has no pin),
 *  so every device the board places (virtio disks in slots 2–5, more to come) has its routing. */
export const PCI_SLOTS = 32;

/** The processor device's name for vCPU i: C000, C001, ... (4 characters, hexadecimal). */
export const cpuDeviceName = (i: number): string => `C${i.toString(16).toUpperCase().padStart(3, '0')}`;

export function dsdtBody(cpus = 1, slots = PCI_SLOTS): aml.Bytes {
  const prt: aml.Bytes[] = [];
  for (let slot = 1; slot < slots; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      prt.push(
        aml.pkg([
          aml.integer(((slot << 16) | 0xffff) >>> 0),
          aml.integer(pin),
          aml.integer(0),
          aml.integer(pciGsi(slot, pin)),
        ]),
      );
    }
  }
  const crs = aml.resourceTemplate([
    aml.wordSpace(2, 0x0c, 0x00, 0x00, 0xff),
    aml.ioPort(0x0cf8, 0x0cf8, 0x01, 0x08),
    aml.wordSpace(1, 0x0c, 0x03, 0x0000, 0x0cf7),
    aml.wordSpace(1, 0x0c, 0x03, 0x0d00, 0xffff),
    aml.dwordSpace(0, 0x0c, 0x03, 0x000a0000, 0x000bffff),
    aml.dwordSpace(0, 0x0c, 0x01, PCI_MMIO32_BASE, PCI_MMIO32_END - 1),
  ]);
  const pci0 = aml.device('PCI0', [
    ...aml.name('_HID', aml.eisaId('PNP0A03')),
    ...aml.name('_ADR', aml.integer(0)),
    ...aml.name('_UID', aml.integer(0)),
    ...aml.name('_BBN', aml.integer(0)),
    ...aml.name('_CRS', crs),
    ...aml.name('_PRT', aml.pkg(prt)),
  ]);
  const com1 = aml.device('COM1', [
    ...aml.name('_HID', aml.eisaId('PNP0501')),
    ...aml.name('_UID', aml.integer(1)),
    ...aml.name('_CRS', aml.resourceTemplate([aml.ioPort(0x3f8, 0x3f8, 0x00, 0x08), aml.irqNoFlags([4])])),
  ]);
  const rtc = aml.device('RTC', [
    ...aml.name('_HID', aml.eisaId('PNP0B00')),
    ...aml.name('_CRS', aml.resourceTemplate([aml.ioPort(0x70, 0x70, 0x01, 0x02), aml.irqNoFlags([8])])),
  ]);
  // The i8042's keyboard and mouse: OVMF's SioBusDxe publishes its own, but Linux (i8042 PnP)
  // and Windows (i8042prt) find the controller through these.
  const ps2k = aml.device('PS2K', [
    ...aml.name('_HID', aml.eisaId('PNP0303')),
    ...aml.name(
      '_CRS',
      aml.resourceTemplate([
        aml.ioPort(0x60, 0x60, 0x00, 0x01),
        aml.ioPort(0x64, 0x64, 0x00, 0x01),
        aml.irqNoFlags([1]),
      ]),
    ),
  ]);
  const ps2m = aml.device('PS2M', [
    ...aml.name('_HID', aml.eisaId('PNP0F13')),
    ...aml.name('_CRS', aml.resourceTemplate([aml.irqNoFlags([12])])),
  ]);
  // _UID matches the MADT's ACPI processor UID (= APIC ID = vCPU index).
  const processors = Array.from({ length: cpus }, (_, i) =>
    aml.device(cpuDeviceName(i), [...aml.name('_HID', aml.string('ACPI0007')), ...aml.name('_UID', aml.integer(i))]),
  ).flat();
  return [
    ...aml.name('\\_S5', aml.pkg([aml.integer(0), aml.integer(0), aml.integer(0), aml.integer(0)])),
    ...aml.scope('\\_SB', [...pci0, ...com1, ...rtc, ...ps2k, ...ps2m, ...processors]),
  ];
}
