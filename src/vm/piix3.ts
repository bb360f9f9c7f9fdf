// 00:01.0 PIIX3 ISA bridge (8086:7000, class 06/01, multi-function) plus the board's reset
// paths: 0xCF9 reset control (RST_CPU, bit 2), port 0x92 (fast reset only on a 0→1 edge of a
// real latch; reads 0x02), and the i8042 reset command (0xFE to 0x64). The keyboard controller
// itself is absent (0x60/0x64 read all-ones).
import type { IoBus, IoDevice } from './bus';
import { allOnes } from './bus';
import type { VmEvents } from './events';
import { PciFunction } from './pci';

export class Piix3IsaBridge extends PciFunction {
  constructor() {
    super({ vendor: 0x8086, device: 0x7000, revision: 0x00, classCode: 0x060100, headerType: 0x80 });
    // PIRQ route registers 0x60–0x63 (OVMF writes 0x0A, 0x0A, 0x0B, 0x0B); reset value 0x80 (disabled).
    for (let r = 0x60; r < 0x64; r++) {
      this.config[r] = 0x80;
      this.wmask[r] = 0x8f;
    }
    this.config[4] = 0x07; // decode on, as after firmware init on real boards
  }
}

export class ResetControl implements IoDevice {
  private cf9 = 0;
  private port92 = 0x02;
  constructor(private readonly events: VmEvents) {}

  attach(bus: IoBus): void {
    bus.register(0xcf9, 1, this);
    bus.register(0x92, 1, this);
    bus.register(0x64, 1, this);
    bus.register(0x60, 1, this);
  }

  ioRead(port: number, size: number): number {
    if (size !== 1) return allOnes(size);
    if (port === 0xcf9) return this.cf9;
    if (port === 0x92) return this.port92;
    return 0xff; // i8042 absent
  }

  ioWrite(port: number, size: number, value: number): void {
    if (size !== 1) return;
    if (port === 0xcf9) {
      this.cf9 = value & 0x0e;
      if (value & 0x04) this.events.request('reset', '0xCF9 RST_CPU');
    } else if (port === 0x92) {
      const rising = (value & 1) !== 0 && (this.port92 & 1) === 0;
      this.port92 = (value & 0x03) | 0x02;
      if (rising) this.events.request('reset', 'port 0x92 fast reset');
      this.port92 &= ~1;
    } else if (port === 0x64 && value === 0xfe) {
      this.events.request('reset', 'i8042 reset (0x64 ← 0xFE)');
    }
  }
}
