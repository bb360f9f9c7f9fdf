// CMOS RTC and NVRAM at 0x70/0x71 (MC146818). Time = host UTC + a guest offset that guest
// writes (with SET = 1) adjust. Honours register B's DM (binary/BCD) and 24/12-hour bits.
// Register A reads UIP = 0, register D reads VRT = 1 (OVMF treats VRT = 0 as a device error).
import type { PortDevice } from './bus';
import type { MemoryLayout } from './memory';
import { MiB } from './memory';

export const toBcd = (v: number): number => ((Math.floor(v / 10) % 10) << 4) | (v % 10);
export const fromBcd = (v: number): number => (v >> 4) * 10 + (v & 0x0f);

const REG_B_SET = 0x80;
const REG_B_DM = 0x04;
const REG_B_24H = 0x02;

export class Cmos implements PortDevice {
  readonly ram = new Uint8Array(128);
  private index = 0;
  /** Guest time minus host time, in ms. */
  private offsetMs = 0;

  constructor(
    layout: MemoryLayout,
    cpus: number,
    private readonly now: () => number = Date.now,
    /** Where the clock starts relative to host UTC (host-tables.ts rtcOffsetMs). */
    startOffsetMs = 0,
  ) {
    this.offsetMs = startOffsetMs;
    const r = this.ram;
    r[0x0a] = 0x26;
    r[0x0b] = REG_B_24H; // 24-hour, BCD: what OVMF programs too
    r[0x0d] = 0x80;
    r[0x10] = 0; // no floppy
    r[0x14] = 0x06; // equipment: FPU-less CGA-less, what SeaBIOS/QEMU report for headless
    r[0x15] = 640 & 0xff;
    r[0x16] = 640 >> 8;
    const extKb = Math.min(0xffff, Math.max(0, Math.floor((Math.min(layout.lowBytes, 65 * MiB) - MiB) / 1024)));
    r[0x17] = r[0x30] = extKb & 0xff;
    r[0x18] = r[0x31] = extKb >> 8;
    const above16 = Math.min(0xffff, Math.max(0, Math.floor((layout.lowBytes - 16 * MiB) / 65536)));
    r[0x34] = above16 & 0xff;
    r[0x35] = above16 >> 8;
    const above4g = Math.floor(layout.highBytes / 65536);
    r[0x5b] = above4g & 0xff;
    r[0x5c] = (above4g >> 8) & 0xff;
    r[0x5d] = (above4g >> 16) & 0xff;
    r[0x5f] = cpus - 1;
  }

  private get binary(): boolean {
    return (this.ram[0x0b]! & REG_B_DM) !== 0;
  }
  private enc(v: number): number {
    return this.binary ? v : toBcd(v);
  }
  private dec(v: number): number {
    return this.binary ? v : fromBcd(v);
  }

  private time(): Date {
    return new Date(this.now() + this.offsetMs);
  }

  private encodeHour(h: number): number {
    if (this.ram[0x0b]! & REG_B_24H) return this.enc(h);
    const pm = h >= 12;
    const h12 = h % 12 === 0 ? 12 : h % 12;
    return this.enc(h12) | (pm ? 0x80 : 0);
  }
  private decodeHour(v: number): number {
    if (this.ram[0x0b]! & REG_B_24H) return this.dec(v);
    const pm = (v & 0x80) !== 0;
    const h = this.dec(v & 0x7f) % 12;
    return pm ? h + 12 : h;
  }

  readRegister(i: number): number {
    const t = this.time();
    switch (i) {
      case 0x00:
        return this.enc(t.getUTCSeconds());
      case 0x02:
        return this.enc(t.getUTCMinutes());
      case 0x04:
        return this.encodeHour(t.getUTCHours());
      case 0x06:
        return this.enc(t.getUTCDay() + 1);
      case 0x07:
        return this.enc(t.getUTCDate());
      case 0x08:
        return this.enc(t.getUTCMonth() + 1);
      case 0x09:
        return this.enc(t.getUTCFullYear() % 100);
      case 0x32:
        return this.enc(Math.floor(t.getUTCFullYear() / 100));
      case 0x0a:
        return this.ram[0x0a]! & 0x7f; // UIP = 0
      case 0x0c: {
        const v = this.ram[0x0c]!;
        this.ram[0x0c] = 0; // read clears
        return v;
      }
      case 0x0d:
        return 0x80;
      default:
        return this.ram[i]!;
    }
  }

  writeRegister(i: number, v: number): void {
    const timeRegs = [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32];
    if (timeRegs.includes(i)) {
      const t = this.time();
      const f = {
        s: t.getUTCSeconds(),
        mi: t.getUTCMinutes(),
        h: t.getUTCHours(),
        d: t.getUTCDate(),
        mo: t.getUTCMonth(),
        y: t.getUTCFullYear(),
      };
      switch (i) {
        case 0x00:
          f.s = this.dec(v & 0x7f);
          break;
        case 0x02:
          f.mi = this.dec(v & 0x7f);
          break;
        case 0x04:
          f.h = this.decodeHour(v);
          break;
        case 0x07:
          f.d = this.dec(v);
          break;
        case 0x08:
          f.mo = this.dec(v) - 1;
          break;
        case 0x09:
          f.y = Math.floor(f.y / 100) * 100 + this.dec(v);
          break;
        case 0x32:
          f.y = this.dec(v) * 100 + (f.y % 100);
          break;
        default:
          return; // weekday is derived
      }
      const target = Date.UTC(f.y, f.mo, f.d, f.h, f.mi, f.s, t.getUTCMilliseconds());
      if (Number.isFinite(target)) this.offsetMs = target - this.now();
      return;
    }
    if (i === 0x0c || i === 0x0d) return; // read-only
    if (i === 0x0a) v &= 0x7f;
    this.ram[i] = v;
  }

  /** Offset 0 (port 0x70): index, bit 7 = NMI mask; offset 1 (0x71): data. */
  portRead(off: number): number {
    if (off === 0) return 0xff;
    return this.readRegister(this.index);
  }

  portWrite(off: number, _size: number, value: number): void {
    if (off === 0) this.index = value & 0x7f;
    else this.writeRegister(this.index, value & 0xff);
  }

  /** True while register B's SET bit halts updates (guest time writes are still accepted). */
  get setMode(): boolean {
    return (this.ram[0x0b]! & REG_B_SET) !== 0;
  }
}
