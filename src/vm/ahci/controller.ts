// The AHCI HBA as a PCI function (AHCI 1.3.1 §2, §3; docs/vmm-platform.md §16): Intel ICH9's
// 8086:2922, class 01:06:01, ABAR in BAR5 (the generic host control registers and one port),
// a single-vector MSI capability, and INTx on pin A for drivers without MSI (OVMF polls). The
// registers live here, on vCPU 0's thread; the command list runs in the engine (engine.ts), on
// the I/O thread in a KVM machine, which PxCMD.ST starts and stops. A PxCI write sets the slots
// in the PxCI both threads share (regs.ts) and wakes the engine; PxIS, PxTFD and the interrupt
// come back the same way.
import type { MmioDevice } from '../bus';
import type { GuestMemory } from '../memory';
import { MsiCapability } from '../msi';
import { InterruptState, type IrqOps, type MsiSink } from '../msix';
import { PCI_STATUS_CAP_LIST, PciFunction } from '../pci';
import type { AhciBackend, AhciIrq } from './backend';
import { AhciShared } from './regs';
import * as S from './spec';

const MSI_CAP = 0x80;
/** CAP: 64-bit DMA, NCQ, command list override, AHCI only, Gen3, 32 slots, one port. */
const CAP =
  (S.CAP_S64A | S.CAP_SNCQ | S.CAP_SCLO | S.CAP_SAM | (3 << S.CAP_ISS_SHIFT) | ((S.SLOTS - 1) << S.CAP_NCS_SHIFT)) >>>
  0;
/** PxTFD after a reset: ready, no error; error register 01h (diagnostics passed). */
const TFD_RESET = S.STATUS_OK | (1 << 8);
/** PxCMD bits that always read 1: spun up and powered on (CAP.SSS = 0, no cold presence). */
const CMD_FIXED = S.CMD_SUD | S.CMD_POD;

export interface AhciInterrupts {
  /** MSI through the board's irqfd routes, or none (INTx only). */
  readonly msi: MsiSink | undefined;
  /** The INTx line (pin A's GSI), from this thread. */
  readonly intx: (level: boolean) => void;
  /** The VM fd and the line's GSI, for the engine's thread to assert it (KVM machines). */
  readonly remote?: { readonly vmFd: number; readonly gsi: number };
}

export class AhciController extends PciFunction implements MmioDevice {
  readonly shared = new AhciShared();
  readonly irqState = new InterruptState();
  private readonly msi: MsiCapability | null;
  private clb = 0;
  private fb = 0;
  private sctl = 0;
  private serr = 0;
  private line = false;
  readonly stats = { commandIssueWrites: 0 };

  constructor(
    readonly backend: AhciBackend,
    private readonly mem: GuestMemory,
    private readonly irq: AhciInterrupts,
  ) {
    super({
      vendor: S.AHCI_VENDOR,
      device: S.AHCI_DEVICE,
      revision: 0x02,
      classCode: S.AHCI_CLASS,
      headerType: 0x00,
      subsystemVendor: S.AHCI_VENDOR,
      subsystemId: S.AHCI_DEVICE,
      interruptPin: 1,
    });
    this.defineBar(S.ABAR_INDEX, { kind: 'mem32', size: S.ABAR_SIZE, dev: this });
    this.msi = irq.msi ? new MsiCapability(this.config, this.wmask, MSI_CAP, 0, this.irqState, irq.msi) : null;
    if (this.msi) {
      this.config[6] = PCI_STATUS_CAP_LIST;
      this.config[0x34] = MSI_CAP;
    }
    this.resetHba();
  }

  protected override configWritten(reg: number): void {
    if (this.msi?.covers(reg)) this.msi.written();
  }

  /** The VM goes (or resets): the engine stops touching guest memory. */
  reset(): void {
    this.resetHba();
  }

  private resetHba(): void {
    this.stopEngine();
    this.shared.reset();
    this.shared.cmd = CMD_FIXED;
    this.shared.tfd = TFD_RESET;
    this.clb = this.fb = this.sctl = this.serr = 0;
    this.backend.resetDevice();
    this.setLine(false);
  }

  private stopEngine(): void {
    if (this.shared.cmd & S.CMD_ST) this.backend.stop();
    this.shared.clearOutstanding();
  }

  mmioRead(offset: number, size: number): number {
    const v = this.register(offset & ~3);
    const shift = (offset & 3) * 8;
    return size >= 4 ? v >>> 0 : (v >>> shift) & ((1 << (size * 8)) - 1);
  }

  private register(o: number): number {
    const sh = this.shared;
    switch (o) {
      case S.HBA_CAP:
        return CAP;
      case S.HBA_GHC:
        return (S.GHC_AE | (sh.ghc & S.GHC_IE)) >>> 0;
      case S.HBA_IS:
        return sh.hbaIs;
      case S.HBA_PI:
        return 1;
      case S.HBA_VS:
        return S.VERSION_1_3_1;
    }
    if (o < S.PORT_BASE || o >= S.PORT_BASE + S.PORT_SIZE) return 0; // CCC, EM, CAP2, BOHC, vendor
    const lo = (n: number) => n % 0x1_0000_0000;
    const hi = (n: number) => Math.floor(n / 0x1_0000_0000);
    switch (o - S.PORT_BASE) {
      case S.PX_CLB:
        return lo(this.clb);
      case S.PX_CLBU:
        return hi(this.clb);
      case S.PX_FB:
        return lo(this.fb);
      case S.PX_FBU:
        return hi(this.fb);
      case S.PX_IS:
        return sh.is;
      case S.PX_IE:
        return sh.ie;
      case S.PX_CMD: {
        const c = sh.cmd;
        return (c | (c & S.CMD_ST ? S.CMD_CR : 0) | (c & S.CMD_FRE ? S.CMD_FR : 0)) >>> 0;
      }
      case S.PX_TFD:
        return sh.tfd;
      case S.PX_SIG:
        return S.SIG_ATA;
      case S.PX_SSTS:
        return (this.sctl & 0xf) === S.SCTL_DET_COMRESET ? 0 : S.SSTS_UP;
      case S.PX_SCTL:
        return this.sctl;
      case S.PX_SERR:
        return this.serr;
      case S.PX_SACT:
        return sh.sact;
      case S.PX_CI:
        return sh.ci;
      default:
        return 0; // SNTF, FBS, DEVSLP: not offered
    }
  }

  mmioWrite(offset: number, size: number, value: number): void {
    if (size !== 4 || offset % 4) return; // registers are written as dwords (AHCI 1.3.1 §3)
    const v = value >>> 0;
    const sh = this.shared;
    switch (offset) {
      case S.HBA_GHC:
        if (v & S.GHC_HR)
          this.resetHba(); // done at once: HR reads back 0
        else sh.ghc = v & S.GHC_IE;
        this.updateIrq(true);
        return;
      case S.HBA_IS:
        this.updateIrq(false); // IS follows PxIS (regs.ts): writing it changes nothing else
        return;
    }
    if (offset < S.PORT_BASE || offset >= S.PORT_BASE + S.PORT_SIZE) return;
    const setLo = (cur: number, mask: number) => Math.floor(cur / 0x1_0000_0000) * 0x1_0000_0000 + ((v & mask) >>> 0);
    const setHi = (cur: number) => (cur % 0x1_0000_0000) + v * 0x1_0000_0000;
    const st = (sh.cmd & S.CMD_ST) !== 0;
    const fre = (sh.cmd & S.CMD_FRE) !== 0;
    switch (offset - S.PORT_BASE) {
      case S.PX_CLB:
        if (!st) this.clb = setLo(this.clb, ~0x3ff); // 1 KiB aligned
        break;
      case S.PX_CLBU:
        if (!st) this.clb = setHi(this.clb);
        break;
      case S.PX_FB:
        if (!fre) this.fb = setLo(this.fb, ~0xff); // 256-byte aligned
        break;
      case S.PX_FBU:
        if (!fre) this.fb = setHi(this.fb);
        break;
      case S.PX_IS:
        sh.clearIs(v);
        this.updateIrq(false);
        break;
      case S.PX_IE:
        sh.ie = v & S.IS_VALID;
        this.updateIrq(true);
        break;
      case S.PX_CMD:
        this.writeCmd(v);
        break;
      case S.PX_SCTL:
        this.writeSctl(v & 0xfff);
        break;
      case S.PX_SERR:
        this.serr &= ~v;
        break;
      case S.PX_SACT:
        if (st) sh.setSact(v);
        break;
      case S.PX_CI:
        this.stats.commandIssueWrites++;
        if (!st || !v) break;
        sh.issue(v);
        this.backend.kick();
        break;
      default:
        break;
    }
  }

  private writeCmd(v: number): void {
    const sh = this.shared;
    const was = sh.cmd;
    let tfd = sh.tfd;
    // Command list override: BSY and DRQ go, so a port whose device hangs can start (AHCI 1.3.1 §3.3.7).
    if (v & S.CMD_CLO) tfd &= ~(S.ST_BSY | S.ST_DRQ);
    sh.tfd = tfd;
    sh.cmd = (v & S.CMD_WRITABLE) | CMD_FIXED;
    if (!(was & S.CMD_ST) && v & S.CMD_ST) {
      this.backend.start(this.mem, { clb: this.clb, fb: this.fb }, sh, this.engineIrq());
    } else if (was & S.CMD_ST && !(v & S.CMD_ST)) {
      this.backend.stop();
      sh.clearOutstanding();
    }
  }

  /** SCTL.DET: 1 holds COMRESET on the link; back to 0, the device resets and sends its
   *  signature in a D2H register FIS (SATA 3.x §11.2, AHCI 1.3.1 §10.4.2). */
  private writeSctl(v: number): void {
    const was = this.sctl & 0xf;
    this.sctl = v;
    const det = v & 0xf;
    if (det === S.SCTL_DET_COMRESET && was !== S.SCTL_DET_COMRESET) {
      this.stopEngine();
      this.shared.cmd &= ~S.CMD_ST;
      this.shared.tfd = S.ST_BSY;
    } else if (det !== S.SCTL_DET_COMRESET && was === S.SCTL_DET_COMRESET) {
      this.backend.resetDevice();
      this.shared.tfd = TFD_RESET;
      this.signatureFis();
    }
  }

  private signatureFis(): void {
    if (!(this.shared.cmd & S.CMD_FRE)) return;
    const f = this.mem.slice(this.fb + S.RX_RFIS, 20);
    if (!f) return;
    f.fill(0);
    f[0] = S.FIS_D2H;
    f[2] = S.STATUS_OK;
    f[3] = 1;
    f[4] = 1;
    f[12] = 1;
  }

  private engineIrq(): AhciIrq {
    const ops: IrqOps = {
      fireVector: () => this.msi?.fire(),
      raiseIntx: () => this.setLine(true),
    };
    return { state: this.irqState, ops, msiFd: this.msi?.fd ?? null, intx: this.irq.remote ?? null };
  }

  /**
   * After software changed what the interrupt depends on. INTx is a level: it follows IS while
   * MSI is off; lowered, it is checked once more, since the engine's thread may have raised it
   * for a new PxIS bit meanwhile. MSI is an edge the engine sends with each completion; here it
   * goes only when enabling PxIE or GHC.IE uncovers a pending interrupt.
   */
  private updateIrq(enabling: boolean): void {
    const sh = this.shared;
    if (this.irqState.msixEnabled) {
      this.setLine(false);
      if (enabling && sh.pending) this.msi?.fire();
      return;
    }
    this.setLine(sh.pending);
    if (!this.line && sh.pending) this.setLine(true);
  }

  private setLine(level: boolean): void {
    this.line = level;
    this.irq.intx(level);
  }
}
