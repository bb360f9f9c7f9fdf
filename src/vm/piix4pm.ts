// 00:01.3 PIIX4 power management (8086:7113): PMBA at config 0x40 (preset 0xB000, I/O
// indicator bit 0 reads 1, RW mask 0xFFC0), PMREGMISC.PMIOSE at 0x80 bit 0 (preset 1).
// I/O block: PM1_STS (+0, write-1-to-clear), PM1_EN (+2), PM1_CNT (+4: SCI_EN, SLP_TYP, SLP_EN),
// PM_TMR (+8: 24-bit at 3.579545 MHz). SLP_EN with SLP_TYP 0 (= DSDT \_S5) powers off.
// The fixed-feature power button (the FADT leaves PWR_BUTTON clear): pressPowerButton() sets
// PWRBTN_STS, and the SCI (ISA IRQ 9, level) is asserted while an enabled status bit is set, so the
// OS sees a press, clears the bit and shuts down (docs/vmm-platform.md §6).
import type { PortDevice } from './bus';
import { allOnes } from './bus';
import type { VmEvents } from './events';
import { PciFunction } from './pci';

export const PM_TIMER_HZ = 3_579_545;
export const PM_BASE_DEFAULT = 0xb000;
export const PM_IO_SIZE = 0x40;
export const SLP_EN = 1 << 13;
export const SCI_EN = 1;
export const PWRBTN_STS = 1 << 8;
export const PWRBTN_EN = 1 << 8;

/** Ticks since `startNs` for monotonic time `nowNs`, masked to 24 bits (BigInt: no overflow). */
export function pmTimerTicks(nowNs: bigint, startNs: bigint): number {
  return Number((((nowNs - startNs) * BigInt(PM_TIMER_HZ)) / 1_000_000_000n) & 0xffffffn);
}

export class Piix4Pm extends PciFunction implements PortDevice {
  private sts = 0;
  private en = 0;
  private cnt = SCI_EN;
  private decoded: number | null = null;
  /** Told where the I/O block is decoded (the board maps it there; the run loop answers the
   *  timer at base + 8 without leaving C). */
  onIoBase: (base: number | null) => void = () => {};
  /** The SCI line (the board wires it to GSI 9). */
  onSci: (level: boolean) => void = () => {};
  private sciLevel = false;

  constructor(
    private readonly events: VmEvents,
    readonly startNs: bigint = process.hrtime.bigint(),
  ) {
    super({ vendor: 0x8086, device: 0x7113, revision: 0x03, classCode: 0x068000, headerType: 0x00 });
    const v = new DataView(this.config.buffer);
    v.setUint32(0x40, PM_BASE_DEFAULT | 1, true);
    this.wmask[0x40] = 0xc0;
    this.wmask[0x41] = 0xff;
    this.config[0x80] = 1;
    this.wmask[0x80] = 0x01;
    this.wmask[4] = 0x01; // Command: I/O only
    this.config[4] = 0x01;
    this.decoded = this.pmBase;
  }

  get pmBase(): number {
    return (this.config[0x40]! | (this.config[0x41]! << 8)) & 0xffc0;
  }

  protected override configWritten(): void {
    this.remap();
  }

  private remap(): void {
    const on = (this.config[0x80]! & 1) !== 0 && (this.command & 1) !== 0;
    const next = on ? this.pmBase : null;
    if (next === this.decoded) return;
    this.decoded = next;
    this.onIoBase(next);
  }

  /** Announce where the block is now (after onIoBase is set). */
  announce(): void {
    this.onIoBase(this.decoded);
  }

  /** A press of the power button: the guest's ACPI driver takes it from here. */
  pressPowerButton(): void {
    this.sts |= PWRBTN_STS;
    this.updateSci();
  }

  /** Whether the guest's OS armed the power button (PWRBTN_EN): firmware never does. */
  get powerButtonEnabled(): boolean {
    return (this.en & PWRBTN_EN) !== 0;
  }

  private updateSci(): void {
    const level = (this.cnt & SCI_EN) !== 0 && (this.sts & this.en & PWRBTN_STS) !== 0;
    if (level === this.sciLevel) return;
    this.sciLevel = level;
    this.onSci(level);
  }

  timer(nowNs: bigint = process.hrtime.bigint()): number {
    return pmTimerTicks(nowNs, this.startNs);
  }

  portRead(off: number, size: number): number {
    switch (off) {
      case 0:
        return size === 1 ? this.sts & 0xff : this.sts;
      case 1:
        return this.sts >> 8;
      case 2:
        return size === 1 ? this.en & 0xff : this.en;
      case 3:
        return this.en >> 8;
      case 4:
        return (size === 1 ? this.cnt & 0xff : this.cnt) & ~SLP_EN;
      case 5:
        return (this.cnt >> 8) & ~(SLP_EN >> 8);
      case 8:
        return this.timer();
      default:
        return allOnes(size);
    }
  }

  portWrite(off: number, size: number, value: number): void {
    if (off === 0 || off === 1) {
      const v = off === 1 ? value << 8 : size === 1 ? value & 0xff : value & 0xffff;
      this.sts &= ~v;
      this.updateSci();
    } else if (off === 2 || off === 3) {
      this.en =
        off === 3
          ? (this.en & 0xff) | ((value & 0xff) << 8)
          : size === 1
            ? (this.en & 0xff00) | (value & 0xff)
            : value & 0xffff;
      this.updateSci();
    } else if (off === 4 || off === 5) {
      const v =
        off === 5
          ? (this.cnt & 0xff) | ((value & 0xff) << 8)
          : size === 1
            ? (this.cnt & 0xff00) | (value & 0xff)
            : value & 0xffff;
      // SMI_CMD = 0 in the FADT: the system is always in ACPI mode, so SCI_EN stays set.
      this.cnt = (v & ~SLP_EN) | SCI_EN;
      if (v & SLP_EN) {
        const typ = (v >> 10) & 7;
        if (typ === 0) this.events.request('poweroff', 'ACPI S5 (PM1a_CNT SLP_EN, SLP_TYP 0)');
      }
    }
  }

  get pm1Control(): number {
    return this.cnt;
  }
}
