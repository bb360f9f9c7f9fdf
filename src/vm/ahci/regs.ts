// The register state both of a port's threads touch (docs/vmm-platform.md §16): vCPU 0's thread
// (controller.ts: guest reads and writes of ABAR) and the thread that runs the command engine
// (engine.ts: the I/O thread in a KVM machine). It lives in a SharedArrayBuffer and changes only
// through Atomics, so a guest write-1-to-clear of PxIS and a completion setting PxIS never lose
// each other's bits. Everything else (CLB, FB, SCTL, ...) stays on vCPU 0's thread.
import * as S from './spec';

const GHC = 0;
const P_IS = 1;
const P_IE = 2;
const P_CMD = 3;
const P_TFD = 4;
const P_SACT = 5;
const P_CI = 6;
const WORDS = 7;

export class AhciShared {
  readonly sab: SharedArrayBuffer;
  private readonly a: Int32Array;

  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(4 * WORDS);
    this.a = new Int32Array(this.sab);
  }

  private get(i: number): number {
    return Atomics.load(this.a, i) >>> 0;
  }

  /** IS: port 0's bit while one of its PxIS bits that PxIE enables is set. It follows the
   *  ports, as QEMU's ahci_check_irq has it, so a PxIS bit set while the driver handles an
   *  interrupt keeps IS set after it writes IS. */
  get hbaIs(): number {
    return this.is & this.ie ? 1 : 0;
  }
  get ghc(): number {
    return this.get(GHC);
  }
  set ghc(v: number) {
    Atomics.store(this.a, GHC, v | 0);
  }
  get is(): number {
    return this.get(P_IS);
  }
  get ie(): number {
    return this.get(P_IE);
  }
  set ie(v: number) {
    Atomics.store(this.a, P_IE, v | 0);
  }
  get cmd(): number {
    return this.get(P_CMD);
  }
  set cmd(v: number) {
    Atomics.store(this.a, P_CMD, v | 0);
  }
  get tfd(): number {
    return this.get(P_TFD);
  }
  set tfd(v: number) {
    Atomics.store(this.a, P_TFD, v | 0);
  }
  get sact(): number {
    return this.get(P_SACT);
  }
  get ci(): number {
    return this.get(P_CI);
  }

  setSact(bits: number): void {
    Atomics.or(this.a, P_SACT, bits | 0);
  }
  issue(bits: number): void {
    Atomics.or(this.a, P_CI, bits | 0);
  }
  /** A command in these slots is done: its PxCI (and PxSACT) bits go. */
  complete(ci: number, sact: number): void {
    Atomics.and(this.a, P_CI, ~ci);
    Atomics.and(this.a, P_SACT, ~sact);
  }
  /** PxCMD.ST cleared, or a reset: nothing is outstanding. */
  clearOutstanding(): void {
    Atomics.store(this.a, P_CI, 0);
    Atomics.store(this.a, P_SACT, 0);
  }

  /** PxIS |= bits (the engine). */
  raise(bits: number): void {
    Atomics.or(this.a, P_IS, bits | 0);
  }
  /** Software's write-1-to-clear of PxIS. */
  clearIs(bits: number): void {
    Atomics.and(this.a, P_IS, ~bits);
  }

  /** Whether the HBA asks for an interrupt: GHC.IE and a port in IS. */
  get pending(): boolean {
    return (this.ghc & S.GHC_IE) !== 0 && this.hbaIs !== 0;
  }

  /** HBA or port reset: every shared register back to its reset value. */
  reset(): void {
    for (let i = 0; i < WORDS; i++) Atomics.store(this.a, i, 0);
  }
}
