// The virtio 1.x PCI transport, modern only (virtio 1.2 §4.1; docs/vmm-platform.md §12): one
// 32 KiB 32-bit memory BAR with the common configuration at 0x0000, ISR at 0x1000, the device
// configuration at 0x2000, the notify area at 0x3000 (multiplier 4, queue q notifies at
// 0x3000 + 4q), the MSI-X table at 0x4000 and its pending bits at 0x5000, each announced by a
// capability. Interrupts: MSI-X when the driver enables it (one vector for configuration changes,
// one per queue, as it assigns them), else INTx, level, dropped when ISR is read. The device
// behind it is a VirtioDevice (virtio.ts); one that serves its queues on another thread gets the
// interrupt state and irqfds to interrupt from there, and eventfds its notifies go to (ioeventfd).
import { dwordOf, withDword, type Doorbell, type DoorbellSource, type MmioDevice } from './bus';
import type { GuestMemory } from './memory';
import {
  InterruptState,
  msixCapabilityWritten,
  MsixTable,
  writeMsixCapability,
  type IrqOps,
  type MsiSink,
} from './msix';
import { PCI_STATUS_CAP_LIST, PciFunction } from './pci';
import {
  IRQ_FLAG_NEEDS_RESET,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  STATUS_NEEDS_RESET,
  VIRTIO_F_VERSION_1,
  type VirtioDevice,
} from './virtio';
import { newQueueConfig, type QueueConfig } from './virtqueue';

export const BAR_SIZE = 0x8000;
export const COMMON = 0x0000;
export const COMMON_SIZE = 0x38;
export const ISR = 0x1000;
export const DEVICE_CFG = 0x2000;
export const NOTIFY = 0x3000;
export const NOTIFY_MULT = 4;
export const MSIX_TABLE = 0x4000;
export const MSIX_PBA = 0x5000;
const REGION = 0x1000;
const NO_VECTOR = 0xffff;
const MSIX_CAP = 0x98;

const CAP_COMMON = 1;
const CAP_NOTIFY = 2;
const CAP_ISR = 3;
const CAP_DEVICE = 4;
const CAP_PCI_CFG = 5;

/** How the function interrupts: its INTx line, and (optionally) where MSI-X vectors go. */
export interface TransportIrq {
  readonly intx: (level: boolean) => void;
  readonly msi?: MsiSink;
  /** For devices that interrupt from another thread (KVM machines): the VM fd and INTx GSI. */
  readonly remote?: { readonly vmFd: number; readonly intxGsi: number };
}

interface QueueRegs {
  cfg: QueueConfig;
  msixVector: number;
}

export class VirtioPciTransport extends PciFunction implements MmioDevice, DoorbellSource {
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private driverFeatures = 0n;
  private status = 0;
  private queueSelect = 0;
  private queues: QueueRegs[];
  private configMsix = NO_VECTOR;
  readonly features: bigint;
  readonly irqState = new InterruptState();
  private readonly msix: MsixTable | null;
  private readonly ops: IrqOps;
  readonly stats = { notifies: 0, interrupts: 0 };

  constructor(
    readonly device: VirtioDevice,
    private readonly mem: GuestMemory,
    private readonly irq: TransportIrq,
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
    this.cap(0x84, irq.msi ? MSIX_CAP : 0x00, 20, CAP_PCI_CFG, 0, 0); // required by the spec; unused by OVMF and Linux
    for (let i = 0x84 + 4; i < 0x84 + 20; i++) this.wmask[i] = 0xff;
    this.msix = irq.msi ? new MsixTable(device.queueMaxSizes.length + 1, this.irqState, irq.msi) : null;
    if (this.msix)
      writeMsixCapability(this.config, this.wmask, MSIX_CAP, 0x00, this.msix, { table: MSIX_TABLE, pba: MSIX_PBA });
    const msi = irq.msi;
    this.ops = {
      fireVector: (v) => msi?.fire(v),
      raiseIntx: () => irq.intx(true),
    };
    this.features = device.features | (1n << BigInt(VIRTIO_F_VERSION_1));
    this.queues = this.freshQueues();
  }

  private freshQueues(): QueueRegs[] {
    return this.device.queueMaxSizes.map((max) => ({ cfg: newQueueConfig(max), msixVector: NO_VECTOR }));
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

  protected override configWritten(reg: number): void {
    if (this.msix && reg === MSIX_CAP) msixCapabilityWritten(this.config, MSIX_CAP, this.msix);
  }

  /** Notify addresses of queues whose device takes notifies through an eventfd. */
  doorbells(): Doorbell[] {
    const out: Doorbell[] = [];
    this.queues.forEach((_, q) => {
      const fd = this.device.notifyFd?.(q) ?? null;
      if (fd !== null) out.push({ offset: NOTIFY + q * NOTIFY_MULT, length: 2, fd });
    });
    return out;
  }

  get deviceStatus(): number {
    return this.status | (this.irqState.flags & IRQ_FLAG_NEEDS_RESET ? STATUS_NEEDS_RESET : 0);
  }

  private reset(): void {
    this.device.reset();
    this.status = 0;
    this.driverFeatures = 0n;
    this.queues = this.freshQueues();
    this.queueSelect = 0;
    this.configMsix = NO_VECTOR;
    this.irqState.clearFlags();
    this.irq.intx(false);
  }

  /** Used buffers on queue `q`: its MSI-X vector, or ISR bit 0 and INTx. */
  private signal(q: number): void {
    this.stats.interrupts++;
    this.irqState.signal(this.queues[q]?.msixVector ?? NO_VECTOR, 1, this.ops);
  }

  mmioRead(offset: number, size: number): number {
    if (offset >= DEVICE_CFG && offset < DEVICE_CFG + REGION) {
      const o = offset - DEVICE_CFG;
      return o + size <= this.device.configSize ? this.device.readConfig(o, size) : 0;
    }
    if (offset >= ISR && offset < ISR + REGION) {
      const v = this.irqState.takeIntxStatus();
      this.irq.intx(false);
      if (this.irqState.intxStatus) this.irq.intx(true); // completed meanwhile on the I/O thread
      return v;
    }
    if (this.msix && offset >= MSIX_TABLE && offset < MSIX_TABLE + REGION)
      return this.msix.tableRegion.mmioRead(offset - MSIX_TABLE, size);
    if (this.msix && offset >= MSIX_PBA && offset < MSIX_PBA + REGION)
      return this.msix.pbaRegion.mmioRead(offset - MSIX_PBA, size);
    if (offset < COMMON_SIZE) return this.commonRead(offset);
    return 0;
  }

  private get selected(): QueueRegs | undefined {
    return this.queues[this.queueSelect];
  }

  private commonRead(o: number): number {
    const q = this.selected;
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
        return this.deviceStatus; // a 16-bit read also covers config_generation (0x15) = 0
      case 0x15:
        return 0;
      case 0x16:
        return this.queueSelect;
      case 0x18:
        return q ? q.cfg.size : 0;
      case 0x1a:
        return q ? q.msixVector : NO_VECTOR;
      case 0x1c:
        return q?.cfg.enabled ? 1 : 0;
      case 0x1e:
        return q ? this.queueSelect : 0; // queue_notify_off = the queue's index
      case 0x20:
      case 0x24:
        return q ? dwordOf(q.cfg.desc, o === 0x24) : 0;
      case 0x28:
      case 0x2c:
        return q ? dwordOf(q.cfg.driver, o === 0x2c) : 0;
      case 0x30:
      case 0x34:
        return q ? dwordOf(q.cfg.device, o === 0x34) : 0;
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
    if (this.msix && offset >= MSIX_TABLE && offset < MSIX_TABLE + REGION) {
      this.msix.tableRegion.mmioWrite(offset - MSIX_TABLE, size, value);
      return;
    }
    if (offset < COMMON_SIZE) this.commonWrite(offset, value >>> 0);
  }

  /** A notify for queue `q` that reached JavaScript (no ioeventfd matched it). */
  notify(q: number): void {
    if (!(this.status & STATUS_DRIVER_OK) || !Number.isInteger(q)) return;
    if (this.queues[q]?.cfg.enabled) this.device.notify(q);
  }

  /** A vector number the driver may assign: one in the table, else NO_VECTOR (virtio 1.2 §4.1.5.1.2). */
  private vector(v: number): number {
    return this.msix && (v & 0xffff) < this.msix.size ? v & 0xffff : NO_VECTOR;
  }

  private commonWrite(o: number, v: number): void {
    const q = this.selected;
    const setHalf = (cur: number, high: boolean) => withDword(cur, high, v);
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
        this.configMsix = this.vector(v);
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
        if (q) q.msixVector = this.vector(v);
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
    this.status = v;
    if (v & STATUS_DRIVER_OK && !(was & STATUS_DRIVER_OK)) {
      const remote = this.irq.remote;
      const fds = this.msix?.fds ?? [];
      this.device.activate({
        mem: this.mem,
        queues: this.queues.map((q) => q.cfg),
        features: this.driverFeatures,
        signal: (q) => this.signal(q),
        needsReset: () => this.irqState.setFlag(IRQ_FLAG_NEEDS_RESET),
        ...(remote
          ? {
              remoteIrq: {
                state: this.irqState.sab,
                queueVectors: this.queues.map((q) => q.msixVector),
                vectorFds: fds,
                vmFd: remote.vmFd,
                intxGsi: remote.intxGsi,
              },
            }
          : {}),
      });
    }
  }
}
