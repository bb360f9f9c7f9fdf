// A port's command processing (AHCI 1.3.1 §5; docs/vmm-platform.md §16): the command list at
// PxCLB, each issued slot's command header, command table, H2D register FIS and PRDT, the ATA
// command (ata.ts), then the D2H register, PIO setup or set-device-bits FIS into the received-FIS
// area at PxFB, PxTFD, PxIS, PxCI/PxSACT, and the interrupt. It runs on the I/O thread in a KVM
// machine (io-thread.ts) and on the controller's own thread in unit tests; the port's registers
// stay with the PCI function on vCPU 0's thread (controller.ts), which starts and stops the engine
// with PxCMD.ST and shares PxIS/PxCI/PxSACT/PxTFD with it (regs.ts). Every command completes
// before the engine looks at the next one, so a slot is never half done when the port stops.
import type { GuestMemory } from '../memory';
import type { NamespaceInfo } from '../nvme/identify';
import { newBlockStats, type BlockStats } from '../virtio-blk';
import { AtaDevice, type AtaDisk, type AtaResult, type Sg, type TaskFile } from './ata';
import type { AhciShared } from './regs';
import * as S from './spec';

/** What PxCMD.ST = 1 hands over: the command list and received-FIS area (64-bit addresses). */
export interface AhciStart {
  readonly clb: number;
  readonly fb: number;
}

/** Raises the HBA's interrupt (MSI, or the INTx line) from the engine's thread. */
export type AhciSignal = () => void;

const IS_HBFS = 1 << 29;
const HI = 0x1_0000_0000;

/** The PRDT of a command table as a scatter/gather list (AHCI 1.3.1 §4.2.3.3): walks no more
 *  entries than the table has (at most 65,535) and stops once `len` bytes are covered. */
export function prdtSg(mem: GuestMemory, ctba: number, prdtl: number): Sg {
  return (len) => {
    const out: Uint8Array[] = [];
    let left = len;
    for (let i = 0; i < prdtl && left > 0; i++) {
      const e = mem.slice(ctba + S.CT_PRDT + i * S.PRD_SIZE, S.PRD_SIZE);
      if (!e) return null;
      const v = new DataView(e.buffer, e.byteOffset, S.PRD_SIZE);
      const dba = (v.getUint32(0, true) & ~1) + v.getUint32(4, true) * HI;
      const n = Math.min((v.getUint32(12, true) & S.PRD_DBC_MASK) + 1, left);
      const seg = mem.slice(dba, n);
      if (!seg) return null;
      out.push(seg);
      left -= n;
    }
    return left === 0 ? out : null;
  };
}

/** The task file of an H2D register FIS (SATA 3.x §10.5.5). */
export function taskFile(f: Uint8Array): TaskFile {
  const lba = f[4]! + f[5]! * 0x100 + f[6]! * 0x1_0000 + f[8]! * 0x100_0000 + f[9]! * HI + f[10]! * HI * 0x100;
  return { command: f[2]!, features: f[3]! | (f[11]! << 8), count: f[12]! | (f[13]! << 8), lba, device: f[7]! };
}

export class AhciEngine {
  private mem: GuestMemory | null = null;
  private shared: AhciShared | null = null;
  private signal: AhciSignal = () => {};
  private at: AhciStart = { clb: 0, fb: 0 };
  /** An error stopped the port: nothing more runs until software clears PxCMD.ST (AHCI 1.3.1 §6.1.2). */
  private halted = false;
  readonly stats: BlockStats = newBlockStats();
  readonly device: AtaDevice;

  constructor(disk: AtaDisk, info: NamespaceInfo, ncq = true) {
    this.device = new AtaDevice(disk, info, ncq, this.stats);
  }

  get running(): boolean {
    return this.mem !== null;
  }

  /** PxCMD.ST 0 → 1. */
  start(mem: GuestMemory, at: AhciStart, shared: AhciShared, signal: AhciSignal): void {
    this.mem = mem;
    this.at = at;
    this.shared = shared;
    this.signal = signal;
    this.halted = false;
    this.run();
  }

  /** PxCMD.ST 1 → 0, a reset, or the VM goes: stop touching guest memory. */
  stop(): void {
    this.mem = null;
    this.halted = false;
  }

  /** A COMRESET or HBA reset reached the device. */
  resetDevice(): void {
    this.device.reset();
  }

  /** Slots written to PxCI: they join what is outstanding and run. */
  issue(bits: number): void {
    if (!this.mem || !this.shared) return; // PxCI is not written while ST = 0 (AHCI 1.3.1 §3.3.14)
    this.shared.issue(bits);
    this.run();
  }

  /** Runs every issued slot, lowest first, until none is left or one fails. */
  run(): void {
    const mem = this.mem;
    const sh = this.shared;
    if (!mem || !sh) return;
    let raised = 0;
    for (let n = 0; n < 2 * S.SLOTS && !this.halted; n++) {
      const ci = sh.ci;
      if (!ci) break;
      const slot = 31 - Math.clz32(ci & -ci);
      raised |= this.command(mem, sh, slot);
    }
    if (raised) {
      sh.raise(raised);
      if (sh.pending) this.signal();
    }
  }

  /** Runs one slot; returns the PxIS bits it sets. */
  private command(mem: GuestMemory, sh: AhciShared, slot: number): number {
    const bit = (1 << slot) | 0;
    const hdr = mem.slice(this.at.clb + slot * S.CMD_HEADER_SIZE, S.CMD_HEADER_SIZE);
    const h = hdr && new DataView(hdr.buffer, hdr.byteOffset, S.CMD_HEADER_SIZE);
    const dw0 = h?.getUint32(0, true) ?? 0;
    const ctba = h ? (h.getUint32(8, true) & ~0x7f) + h.getUint32(12, true) * HI : 0;
    const fis = h && mem.slice(ctba + S.CT_CFIS, 20);
    if (!h || !fis) {
      this.halted = true; // the HBA cannot reach its own structures: host bus fatal error
      return IS_HBFS;
    }
    if (fis[0] !== S.FIS_H2D || (dw0 & 0x1f) < 5) return this.failed(sh, bit, S.ERR_ABRT);
    if (!(fis[1]! & 0x80)) {
      // A device control FIS (soft reset): SRST set, then cleared, each completing at once; the
      // device answers the second with its signature.
      if (!(fis[15]! & 0x04)) {
        this.device.reset();
        sh.tfd = S.STATUS_OK | (1 << 8);
        this.postD2h(S.STATUS_OK, 1, true, 0);
        sh.complete(bit, 0);
        return 0;
      }
      sh.complete(bit, 0);
      return 0;
    }
    const tf = taskFile(fis);
    const r = this.device.execute(tf, prdtSg(mem, ctba, dw0 >>> 16));
    h.setUint32(4, r.bytes, true); // PRDBC
    return r.ncq ? this.ncqDone(sh, bit, r) : this.done(sh, bit, r);
  }

  private done(sh: AhciShared, bit: number, r: AtaResult): number {
    let is = S.IS_DHRS;
    if (r.pioIn && !(r.status & S.ST_ERR)) {
      this.postPioSetup(r);
      is |= S.IS_PSS;
    }
    this.postD2h(r.status, r.error, r.signature === true, r.countOut ?? 0);
    sh.tfd = r.status | (r.error << 8);
    if (r.status & S.ST_ERR) {
      this.halted = true; // PxCI keeps the slot; software restarts the port (AHCI 1.3.1 §6.2.2.1)
      return is | S.IS_TFES;
    }
    sh.complete(bit, 0);
    return is;
  }

  private ncqDone(sh: AhciShared, bit: number, r: AtaResult): number {
    this.postSdb(r.status, r.error, r.status & S.ST_ERR ? 0 : bit);
    if (r.status & S.ST_ERR) {
      // The device aborted the queue; software reads log 10h to learn which tag failed.
      sh.tfd = r.status | (r.error << 8);
      sh.complete(bit, 0);
      this.halted = true;
      return S.IS_SDBS | S.IS_TFES;
    }
    sh.complete(bit, bit);
    return S.IS_SDBS;
  }

  private failed(sh: AhciShared, bit: number, error: number): number {
    return this.done(sh, bit, { status: S.ST_DRDY | S.ST_ERR, error, bytes: 0, pioIn: false, ncq: false });
  }

  /** The received-FIS area at `off`, when PxCMD.FRE lets the HBA write it. */
  private rx(off: number, len: number): Uint8Array | null {
    if (!(this.shared!.cmd & S.CMD_FRE)) return null;
    return this.mem?.slice(this.at.fb + off, len) ?? null;
  }

  private postD2h(status: number, error: number, signature: boolean, count: number): void {
    const f = this.rx(S.RX_RFIS, 20);
    if (!f) return;
    f.fill(0);
    f[0] = S.FIS_D2H;
    f[1] = 0x40; // I: interrupt
    f[2] = status;
    f[3] = error;
    if (signature) {
      f[4] = 1; // LBA low, LBA mid, LBA high = 1, 0, 0: an ATA device
      f[12] = 1;
    } else f[12] = count;
  }

  private postPioSetup(r: AtaResult): void {
    const f = this.rx(S.RX_PSFIS, 20);
    if (!f) return;
    f.fill(0);
    f[0] = S.FIS_PIO_SETUP;
    f[1] = 0x60; // I, D: device to host
    f[2] = r.status;
    f[15] = r.status; // E_Status: the status after the transfer
    f[16] = r.bytes & 0xff;
    f[17] = (r.bytes >>> 8) & 0xff;
  }

  private postSdb(status: number, error: number, sactive: number): void {
    const f = this.rx(S.RX_SDBFIS, 8);
    if (!f) return;
    f[0] = S.FIS_SDB;
    f[1] = 0x40;
    f[2] = (status & 0x07) | (status & 0x70);
    f[3] = error;
    new DataView(f.buffer, f.byteOffset, 8).setUint32(4, sactive >>> 0, true);
  }
}
