// 00:01.0 PIIX3 ISA bridge (8086:7000, class 06/01, multi-function) plus the board's reset
// paths (docs/vmm-platform.md §5): 0xCF9 reset control (RST_CPU, bit 2) and port 0x92 (fast reset
// only on a 0→1 edge of a real latch; reads 0x02); the keyboard controller's reset (0xFE to 0x64)
// is the i8042's (i8042.ts). Each is its own one-port device: devices see offsets, so one device
// cannot tell two ranges apart.
import type { PortDevice } from './bus';
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

/** 0xCF9, the PIIX3 reset control register: RST_CPU (bit 2) resets; reads return the last value. */
export class ResetControl implements PortDevice {
  private cf9 = 0;
  constructor(private readonly events: VmEvents) {}
  portRead(_off: number, size: number): number {
    return size === 1 ? this.cf9 : allOnes(size);
  }
  portWrite(_off: number, size: number, value: number): void {
    if (size !== 1) return;
    this.cf9 = value & 0x0e;
    if (value & 0x04) this.events.request('reset', '0xCF9 RST_CPU');
  }
}

/** Port 0x92, system control port A: reads 0x02 (A20); bit 0 resets on a 0→1 edge only, since
 *  OVMF read-modify-writes this port to set A20. */
export class SystemControlA implements PortDevice {
  private port92 = 0x02;
  constructor(private readonly events: VmEvents) {}
  portRead(_off: number, size: number): number {
    return size === 1 ? this.port92 : allOnes(size);
  }
  portWrite(_off: number, size: number, value: number): void {
    if (size !== 1) return;
    const rising = (value & 1) !== 0 && (this.port92 & 1) === 0;
    this.port92 = (value & 0x03) | 0x02;
    if (rising) this.events.request('reset', 'port 0x92 fast reset');
    this.port92 &= ~1;
  }
}
