// 16550A UART (COM1 at 0x3F8, IRQ 4) bridged to tendril's console: THR bytes go to `output`,
// `input()` feeds the RX FIFO. Passes OVMF's scratch-register presence test and Linux's 8250
// autoconfig (IER read-back, loopback MSR = 0x90 with MCR = 0x1A, FIFO detection).
import type { PortDevice } from './bus';

const IER_RDI = 1;
const IER_THRI = 2;
const IER_RLSI = 4;
const LCR_DLAB = 0x80;
const MCR_LOOP = 0x10;
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const RX_FIFO_MAX = 4096;

export class Uart16550 implements PortDevice {
  private ier = 0;
  private lcr = 0x03;
  private mcr = 0;
  private scr = 0;
  private dll = 0x0c;
  private dlm = 0;
  private fcr = 0;
  private lsrErrors = 0;
  private thrInterrupt = false;
  private readonly rx: number[] = [];
  private irqLevel = false;

  /** 8 ports from the base the board gives it (COM1: 0x3F8). */
  static readonly PORTS = 8;

  constructor(
    private readonly output: (byte: number) => void,
    private readonly setIrq: (level: boolean) => void = () => {},
  ) {}

  /** Host → guest bytes (console input). */
  input(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (this.rx.length >= RX_FIFO_MAX) {
        this.lsrErrors |= LSR_OE;
        break;
      }
      this.rx.push(b);
    }
    this.updateIrq();
  }

  private get lsr(): number {
    return (this.rx.length ? LSR_DR : 0) | LSR_THRE | LSR_TEMT | this.lsrErrors;
  }

  /** IIR interrupt identification, highest priority first. */
  private pendingId(): number {
    if (this.ier & IER_RLSI && this.lsrErrors) return 0x06;
    if (this.ier & IER_RDI && this.rx.length) return 0x04;
    if (this.ier & IER_THRI && this.thrInterrupt) return 0x02;
    return 0x01;
  }

  private updateIrq(): void {
    // The PC wires the IRQ through MCR.OUT2.
    const level = this.pendingId() !== 0x01 && (this.mcr & 0x08) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.setIrq(level);
    }
  }

  portRead(off: number): number {
    let v: number;
    switch (off) {
      case 0:
        if (this.lcr & LCR_DLAB) return this.dll;
        v = this.rx.shift() ?? 0;
        break;
      case 1:
        return this.lcr & LCR_DLAB ? this.dlm : this.ier;
      case 2: {
        const id = this.pendingId();
        if (id === 0x02) this.thrInterrupt = false; // reading IIR clears THRE interrupt
        v = id | (this.fcr & 1 ? 0xc0 : 0);
        break;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5:
        v = this.lsr;
        this.lsrErrors = 0;
        break;
      case 6:
        if (this.mcr & MCR_LOOP) {
          // Loopback: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
          const m = this.mcr;
          return ((m & 1) << 5) | ((m & 2) << 3) | ((m & 4) << 4) | ((m & 8) << 4);
        }
        return 0xb0; // DCD | DSR | CTS
      case 7:
        return this.scr;
      default:
        return 0xff;
    }
    this.updateIrq();
    return v;
  }

  portWrite(off: number, _size: number, value: number): void {
    value &= 0xff;
    switch (off) {
      case 0:
        if (this.lcr & LCR_DLAB) {
          this.dll = value;
          return;
        }
        if (this.mcr & MCR_LOOP) this.rx.push(value);
        else this.output(value);
        this.thrInterrupt = true; // transmit is instantaneous
        break;
      case 1:
        if (this.lcr & LCR_DLAB) {
          this.dlm = value;
          return;
        }
        this.ier = value & 0x0f;
        if (this.ier & IER_THRI) this.thrInterrupt = true;
        break;
      case 2:
        this.fcr = value & 0xc9;
        if (value & 2) this.rx.length = 0;
        break;
      case 3:
        this.lcr = value;
        return;
      case 4:
        this.mcr = value & 0x1f;
        break;
      case 7:
        this.scr = value;
        return;
      default:
        return;
    }
    this.updateIrq();
  }
}
