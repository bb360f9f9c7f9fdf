// The virtio 1.x PCI transport, modern only (virtio 1.2 §4.1; docs/vmm-platform.md §12): one
// 16 KiB 32-bit memory BAR with the common configuration at 0x0000, ISR at 0x1000, the device
// configuration at 0x2000 and the notify area at 0x3000 (multiplier 4, queue q notifies at
// 0x3000 + 4q), each announced by a vendor capability. Interrupts: INTx, level, dropped when ISR
// is read. The device behind it is a VirtioDevice (virtio.ts).
import type { MmioDevice } from './bus';
import type { GuestMemory } from './memory';
import { PCI_STATUS_CAP_LIST, PciFunction } from './pci';
import {
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  STATUS_NEEDS_RESET,
  VIRTIO_F_VERSION_1,
  type VirtioDevice,
} from './virtio';
import { newQueueConfig, type QueueConfig } from './virtqueue';

export const BAR_SIZE = 0x4000;
export const COMMON = 0x0000;
export const COMMON_SIZE = 0x38;
export const ISR = 0x1000;
export const DEVICE_CFG = 0x2000;
export const NOTIFY = 0x3000;
export const NOTIFY_MULT = 4;
const REGION = 0x1000;

const CAP_COMMON = 1;
const CAP_NOTIFY = 2;
const CAP_ISR = 3;
const CAP_DEVICE = 4;
const CAP_PCI_CFG = 5;

interface QueueRegs {
  cfg: QueueConfig;
  msixVector: number;
}

export class VirtioPciTransport extends PciFunction implements MmioDevice {
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private driverFeatures = 0n;
  private status = 0;
  private queueSelect = 0;
  private queues: QueueRegs[];
  private isr = 0;
  private configMsix = 0xffff;
  readonly features: bigint;
  readonly stats = { notifies: 0, interrupts: 0 };

  constructor(
    readonly device: VirtioDevice,
    private readonly mem: GuestMemory,
    private readonly setIrq: (level: boolean) => void,
  ) {
    super({
      vendor: 0x1af4,
      device: 0x1040 + device.type,
      revision: 0x01,
      classCode: device.classCode,
      headerType: 0x00,
      subsystemVendor: 0x1af4,
      subsystemId: 0x0040, // ≥ 0x40 for non-transitional devices (virtio 1.2 §4.1.2)
      interruptPin: 1,
    });
    this.defineBar(0, { kind: 'mem32', size: BAR_SIZE, dev: this });
    this.config[6] = PCI_STATUS_CAP_LIST;
    this.config[0x34] = 0x40;
    this.cap(0x40, 0x50, 16, CAP_COMMON, COMMON, COMMON_SIZE);
    this.cap(0x50, 0x64, 20, CAP_NOTIFY, NOTIFY, REGION);
    new DataView(this.config.buffer).setUint32(0x50 + 16, NOTIFY_MULT, true);
    this.cap(0x64, 0x74, 16, CAP_ISR, ISR, REGION);
    this.cap(0x74, 0x84, 16, CAP_DEVICE, DEVICE_CFG, REGION);
    this.cap(0x84, 0x00, 20, CAP_PCI_CFG, 0, 0); // required by the spec; OVMF and Linux do not use it
    for (let i = 0x84 + 4; i < 0x84 + 20; i++) this.wmask[i] = 0xff;
    this.features = device.features | (1n << BigInt(VIRTIO_F_VERSION_1));
    this.queues = this.freshQueues();
  }

  private freshQueues(): QueueRegs[] {
    return this.device.queueMaxSizes.map((max) => ({ cfg: newQueueConfig(max), msixVector: 0xffff }));
  }

  private cap(at: number, next: number, len: number, type: number, offset: number, length: number): void {
    const v = new DataView(this.config.buffer);
    this.config[at] = 0x09;
    this.config[at + 1] = next;
    this.config[at + 2] = len;
    this.config[at + 3] = type;
    this.config[at + 4] = 0; // BAR 0
    v.setUint32(at + 8, offset, true);
    v.setUint32(at + 12, length, true);
  }

  get deviceStatus(): number {
    return this.status;
  }

  private reset(): void {
    this.device.reset();
    this.status = 0;
    this.driverFeatures = 0n;
    this.queues = this.freshQueues();
    this.queueSelect = 0;
    this.isr = 0;
    this.configMsix = 0xffff;
    this.setIrq(false);
  }

  /** Used buffers on queue `q`: ISR bit 0 and INTx. */
  private signal(_q: number): void {
    this.stats.interrupts++;
    this.isr |= 1;
    this.setIrq(true);
  }

  mmioRead(offset: number, size: number): number {
    if (offset >= DEVICE_CFG && offset < DEVICE_CFG + REGION) {
      const o = offset - DEVICE_CFG;
      return o + size <= this.device.configSize ? this.device.readConfig(o, size) : 0;
    }
    if (offset >= ISR && offset < ISR + REGION) {
      const v = this.isr;
      this.isr = 0;
      this.setIrq(false);
      return v;
    }
    if (offset < COMMON_SIZE) return this.commonRead(offset);
    return 0;
  }

  private get selected(): QueueRegs | undefined {
    return this.queues[this.queueSelect];
  }

  private commonRead(o: number): number {
    const q = this.selected;
    const half = (v: number, high: boolean) => (high ? Math.floor(v / 0x1_0000_0000) : v % 0x1_0000_0000);
    switch (o) {
      case 0x00:
        return this.deviceFeatureSelect;
      case 0x04:
        return this.deviceFeatureSelect < 2
          ? Number((this.features >> BigInt(32 * this.deviceFeatureSelect)) & 0xffffffffn)
          : 0;
      case 0x08:
        return this.driverFeatureSelect;
      case 0x0c:
        return this.driverFeatureSelect < 2
          ? Number((this.driverFeatures >> BigInt(32 * this.driverFeatureSelect)) & 0xffffffffn)
          : 0;
      case 0x10:
        return this.configMsix;
      case 0x12:
        return this.queues.length;
      case 0x14:
        return this.status; // a 16-bit read also covers config_generation (0x15) = 0
      case 0x15:
        return 0;
      case 0x16:
        return this.queueSelect;
      case 0x18:
        return q ? q.cfg.size : 0;
      case 0x1a:
        return q ? q.msixVector : 0xffff;
      case 0x1c:
        return q?.cfg.enabled ? 1 : 0;
      case 0x1e:
        return q ? this.queueSelect : 0; // queue_notify_off = the queue's index
      case 0x20:
      case 0x24:
        return q ? half(q.cfg.desc, o === 0x24) : 0;
      case 0x28:
      case 0x2c:
        return q ? half(q.cfg.driver, o === 0x2c) : 0;
      case 0x30:
      case 0x34:
        return q ? half(q.cfg.device, o === 0x34) : 0;
      default:
        return 0;
    }
  }

  mmioWrite(offset: number, size: number, value: number): void {
    if (offset >= NOTIFY && offset < NOTIFY + REGION) {
      this.stats.notifies++;
      this.notify((offset - NOTIFY) / NOTIFY_MULT);
      return;
    }
    if (offset >= DEVICE_CFG && offset < DEVICE_CFG + REGION) {
      const o = offset - DEVICE_CFG;
      if (o + size <= this.device.configSize) this.device.writeConfig(o, size, value);
      return;
    }
    if (offset < COMMON_SIZE) this.commonWrite(offset, value >>> 0);
  }

  /** A notify for queue `q` (from the notify area, or its ioeventfd). */
  notify(q: number): void {
    if (!(this.status & STATUS_DRIVER_OK) || !Number.isInteger(q)) return;
    if (this.queues[q]?.cfg.enabled) this.device.notify(q);
  }

  private commonWrite(o: number, v: number): void {
    const q = this.selected;
    const setHalf = (cur: number, high: boolean) =>
      high ? (cur % 0x1_0000_0000) + v * 0x1_0000_0000 : Math.floor(cur / 0x1_0000_0000) * 0x1_0000_0000 + v;
    // Queue registers are frozen once the queue is enabled (virtio 1.2 §4.1.4.3.2).
    const live = q !== undefined && !q.cfg.enabled;
    switch (o) {
      case 0x00:
        this.deviceFeatureSelect = v;
        break;
      case 0x08:
        this.driverFeatureSelect = v;
        break;
      case 0x0c:
        if (this.driverFeatureSelect < 2 && !(this.status & STATUS_FEATURES_OK)) {
          const shift = BigInt(32 * this.driverFeatureSelect);
          this.driverFeatures =
            (this.driverFeatures & ~(0xffffffffn << shift)) | ((BigInt(v) << shift) & this.features);
        }
        break;
      case 0x10:
        this.configMsix = v & 0xffff;
        break;
      case 0x14:
        this.writeStatus(v & 0xff);
        break;
      case 0x16:
        this.queueSelect = v & 0xffff;
        break;
      case 0x18:
        if (live && v >= 1 && v <= q.cfg.size && (v & (v - 1)) === 0) q.cfg.size = v;
        break;
      case 0x1a:
        if (q) q.msixVector = v & 0xffff;
        break;
      case 0x1c:
        if (q && v & 1) q.cfg.enabled = true; // writing 0 is not allowed (virtio 1.2 §4.1.4.3.2)
        break;
      case 0x20:
      case 0x24:
        if (live) q.cfg.desc = setHalf(q.cfg.desc, o === 0x24);
        break;
      case 0x28:
      case 0x2c:
        if (live) q.cfg.driver = setHalf(q.cfg.driver, o === 0x2c);
        break;
      case 0x30:
      case 0x34:
        if (live) q.cfg.device = setHalf(q.cfg.device, o === 0x34);
        break;
      default:
        break;
    }
  }

  private writeStatus(v: number): void {
    if (v === 0) return this.reset();
    const was = this.status;
    this.status = v | (was & STATUS_NEEDS_RESET);
    if (v & STATUS_DRIVER_OK && !(was & STATUS_DRIVER_OK)) {
      this.device.activate({
        mem: this.mem,
        queues: this.queues.map((q) => q.cfg),
        features: this.driverFeatures,
        signal: (q) => this.signal(q),
        needsReset: () => {
          this.status |= STATUS_NEEDS_RESET;
        },
      });
    }
  }
}
