// The NVMe controller as a PCI function (NVMe 1.4c §3; docs/vmm-platform.md §14): 8086:5845,
// class 01:08:02, BAR0 (16 KiB: registers, doorbells, the MSI-X table at 0x2000 and its pending
// bits at 0x3000), MSI-X with a vector for the admin queue and one per I/O queue, no INTx (every
// driver that has NVMe has MSI-X; OVMF polls). The registers live here, on vCPU 0's thread; the
// queues and commands are the engine's (engine.ts), on the I/O thread in a KVM machine. Doorbells
// reach the engine through eventfds where they can (doorbells.ts), else through sqTail().
import { dwordOf, withDword, type Doorbell, type DoorbellSource, type MmioDevice } from '../bus';
import type { GuestMemory } from '../memory';
import { InterruptState, msixCapabilityWritten, MsixTable, writeMsixCapability, type MsiSink } from '../msix';
import { PCI_STATUS_CAP_LIST, PciFunction } from '../pci';
import type { NvmeBackend } from './backend';
import { doorbellList } from './doorbells';
import { checkEnable, type NvmeEnable } from './engine';
import * as S from './spec';

export const NVME_BAR_SIZE = 0x4000;
const MSIX_TABLE = 0x2000;
const MSIX_PBA = 0x3000;
const MSIX_CAP = 0x40;
const REGION = 0x1000;

/** CAP: MQES, CQR (contiguous queues), TO = 10 s, DSTRD 0, CSS = NVM, MPSMIN = MPSMAX = 4 KiB. */
const CAP_LO = (S.IO_QUEUE_ENTRIES - 1) | (1 << 16) | (20 << 24);
const CAP_HI = 1 << (37 - 32);

export class NvmeController extends PciFunction implements MmioDevice, DoorbellSource {
  private cc = 0;
  private csts = 0;
  private aqa = 0;
  private asq = 0;
  private acq = 0;
  readonly irqState = new InterruptState();
  private readonly msix: MsixTable | null;
  readonly stats = { doorbellsReachingJs: 0 };

  constructor(
    readonly backend: NvmeBackend,
    private readonly mem: GuestMemory,
    private readonly msi: MsiSink | undefined,
  ) {
    super({
      vendor: S.NVME_VENDOR,
      device: S.NVME_DEVICE,
      revision: 0x02,
      classCode: S.NVME_CLASS,
      headerType: 0x00,
      subsystemVendor: S.NVME_VENDOR,
      subsystemId: S.NVME_DEVICE,
      interruptPin: 0,
    });
    this.defineBar(0, { kind: 'mem32', size: NVME_BAR_SIZE, dev: this });
    this.msix = msi ? new MsixTable(1 + S.MAX_IO_QUEUES, this.irqState, msi) : null;
    if (this.msix) {
      this.config[6] = PCI_STATUS_CAP_LIST;
      this.config[0x34] = MSIX_CAP;
      writeMsixCapability(this.config, this.wmask, MSIX_CAP, 0x00, this.msix, { table: MSIX_TABLE, pba: MSIX_PBA });
    }
  }

  protected override configWritten(reg: number): void {
    if (this.msix && reg === MSIX_CAP) msixCapabilityWritten(this.config, MSIX_CAP, this.msix);
  }

  doorbells(): Doorbell[] {
    const fds = this.backend.doorbellFds();
    return fds ? doorbellList(fds) : [];
  }

  get status(): number {
    return this.csts;
  }

  /** The VM goes (or resets): the engine stops touching guest memory. */
  reset(): void {
    if (this.cc & S.CC_EN) this.backend.disable();
    this.cc = 0;
    this.csts = 0;
    this.irqState.clearFlags();
  }

  mmioRead(offset: number, size: number): number {
    if (this.msix && offset >= MSIX_TABLE && offset < MSIX_TABLE + REGION)
      return this.msix.tableRegion.mmioRead(offset - MSIX_TABLE, size);
    if (this.msix && offset >= MSIX_PBA && offset < MSIX_PBA + REGION)
      return this.msix.pbaRegion.mmioRead(offset - MSIX_PBA, size);
    const word = offset & ~3;
    const v = this.register(word);
    const shift = (offset & 3) * 8;
    return size >= 4 ? v >>> 0 : (v >>> shift) & ((1 << (size * 8)) - 1);
  }

  private register(o: number): number {
    switch (o) {
      case S.REG_CAP:
        return CAP_LO;
      case S.REG_CAP + 4:
        return CAP_HI;
      case S.REG_VS:
        return S.VERSION_1_4;
      case S.REG_CC:
        return this.cc;
      case S.REG_CSTS:
        return this.csts;
      case S.REG_AQA:
        return this.aqa;
      case S.REG_ASQ:
        return dwordOf(this.asq, false);
      case S.REG_ASQ + 4:
        return dwordOf(this.asq, true);
      case S.REG_ACQ:
        return dwordOf(this.acq, false);
      case S.REG_ACQ + 4:
        return dwordOf(this.acq, true);
      default:
        return 0; // INTMS/INTMC (MSI-X only), CMB, reserved, doorbells (write-only)
    }
  }

  mmioWrite(offset: number, size: number, value: number): void {
    if (this.msix && offset >= MSIX_TABLE && offset < MSIX_TABLE + REGION) {
      this.msix.tableRegion.mmioWrite(offset - MSIX_TABLE, size, value);
      return;
    }
    if (offset >= S.DOORBELLS && offset < S.DOORBELLS + REGION) {
      if (size !== 4 || offset % 4) return;
      const i = (offset - S.DOORBELLS) / 4;
      this.stats.doorbellsReachingJs++;
      if (i % 2 === 0 && this.csts & S.CSTS_RDY) this.backend.sqTail(i / 2, value >>> 0);
      return; // CQ head doorbells: not needed (doorbells.ts)
    }
    if (size !== 4 || offset % 4) return; // registers are written as dwords (NVMe 1.4c §3.1)
    const v = value >>> 0;
    // ASQ/ACQ are page aligned: bits 11:0 are reserved (NVMe 1.4c §3.1.9, §3.1.10).
    const setLo = (cur: number) => withDword(cur, false, v & ~0xfff);
    const setHi = (cur: number) => withDword(cur, true, v);
    switch (offset) {
      case S.REG_CC:
        this.writeCc(v);
        break;
      case S.REG_AQA:
        if (!(this.cc & S.CC_EN)) this.aqa = v & 0x0fff_0fff;
        break;
      case S.REG_ASQ:
        if (!(this.cc & S.CC_EN)) this.asq = setLo(this.asq);
        break;
      case S.REG_ASQ + 4:
        if (!(this.cc & S.CC_EN)) this.asq = setHi(this.asq);
        break;
      case S.REG_ACQ:
        if (!(this.cc & S.CC_EN)) this.acq = setLo(this.acq);
        break;
      case S.REG_ACQ + 4:
        if (!(this.cc & S.CC_EN)) this.acq = setHi(this.acq);
        break;
      default:
        break;
    }
  }

  private writeCc(v: number): void {
    const was = this.cc;
    this.cc = v & 0x00ff_fff1;
    if (!(was & S.CC_EN) && v & S.CC_EN) this.enable();
    else if (was & S.CC_EN && !(v & S.CC_EN)) {
      this.backend.disable();
      this.csts = 0;
      return;
    }
    const shn = (v >>> S.CC_SHN_SHIFT) & 3;
    if (shn && !((was >>> S.CC_SHN_SHIFT) & 3) && this.csts & S.CSTS_RDY) {
      this.backend.shutdown();
      this.csts |= S.CSTS_SHST_COMPLETE;
    }
  }

  private enable(): void {
    const e: NvmeEnable = {
      asq: this.asq,
      acq: this.acq,
      asqEntries: (this.aqa & 0xfff) + 1,
      acqEntries: ((this.aqa >>> 16) & 0xfff) + 1,
      iosqes: (this.cc >>> 16) & 0xf,
      iocqes: (this.cc >>> 20) & 0xf,
    };
    const css = (this.cc >>> 4) & 7;
    const mps = (this.cc >>> 7) & 0xf;
    const ams = (this.cc >>> 11) & 7;
    if (css !== 0 || mps !== 0 || ams !== 0 || !checkEnable(this.mem, e)) {
      this.csts = S.CSTS_CFS; // the driver sees a fatal status and resets the controller
      return;
    }
    const msi = this.msi;
    this.backend.enable(this.mem, e, {
      state: this.irqState,
      fire: (vec) => msi?.fire(vec),
      fds: this.msix?.fds ?? null,
    });
    this.csts = S.CSTS_RDY;
  }
}
