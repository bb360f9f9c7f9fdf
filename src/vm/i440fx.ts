// 00:00.0 i440FX host bridge, 8086:1237. OVMF identifies the platform by this device ID and
// asserts that the host bridge has no interrupt pin.
import { PciFunction } from './pci';

export class I440fxHost extends PciFunction {
  constructor() {
    super({ vendor: 0x8086, device: 0x1237, revision: 0x02, classCode: 0x060000, headerType: 0x00, interruptPin: 0 });
  }
}
