// Typed wrappers over the addon's KVM bindings (native/src/kvm.c). Every failure throws an
// Error with `code` (errno name), `errno` and `syscall` (the ioctl name).
// File descriptors are numbers; a vCPU is a small handle (index into the addon's table) that
// any thread may pass to kvmKick().

import { loadAddon } from './load';

export interface KvmConstants {
  readonly runExitReason: number;
  readonly runImmediateExit: number;
  readonly runIoDirection: number;
  readonly runIoSize: number;
  readonly runIoPort: number;
  readonly runIoCount: number;
  readonly runIoDataOffset: number;
  readonly runMmioPhysAddr: number;
  readonly runMmioData: number;
  readonly runMmioLen: number;
  readonly runMmioIsWrite: number;
  readonly runSystemEventType: number;
  readonly runInternalSuberror: number;
  readonly runInternalNdata: number;
  readonly runInternalData: number;
  readonly runFailEntryReason: number;
  readonly regsSize: number;
  readonly sregsSize: number;
  readonly cpuidEntrySize: number;
  readonly memReadonly: number;
  readonly pitSpeakerDummy: number;
  readonly capIrqchip: number;
  readonly capPit2: number;
  readonly capReadonlyMem: number;
  readonly capSetTssAddr: number;
  readonly capImmediateExit: number;
  readonly capSignalMsi: number;
  readonly capUserMemory: number;
  readonly capSetIdentityMapAddr: number;
  readonly kickSignal: number;
  readonly capIoeventfd: number;
  readonly capIrqfd: number;
  readonly capIrqRouting: number;
  readonly capHypervCpuid: number;
  readonly capSysHypervCpuid: number;
  readonly capHypervSynic2: number;
  /** KVM_SYSTEM_EVENT_CRASH: the guest wrote the Hyper-V crash control MSR. */
  readonly systemEventCrash: number;
  readonly runHypervType: number;
  readonly runHypervHcallResult: number;
  readonly hypervExitHcall: number;
  readonly ioeventfdFlagDeassign: number;
  readonly ioeventfdFlagDatamatch: number;
  readonly irqfdFlagDeassign: number;
  readonly routingEntrySize: number;
  readonly routingIrqchip: number;
  readonly routingMsi: number;
  readonly irqchipPicMaster: number;
  readonly irqchipPicSlave: number;
  readonly irqchipIoapic: number;
}

/** How kvmRun() treats a port without returning to JavaScript. */
export const enum PortMode {
  Js = 0,
  /** PIIX4 PM timer: 24-bit counter at 3.579545 MHz since kvmSetPmTimerStart(). */
  PmTimer = 1,
  /** Reads all-ones, writes ignored. */
  Sink = 2,
}

export const ExitReason = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HYPERCALL: 3,
  DEBUG: 4,
  HLT: 5,
  MMIO: 6,
  IRQ_WINDOW_OPEN: 7,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  INTERNAL_ERROR: 17,
  SYSTEM_EVENT: 24,
  /** A Hyper-V SynIC MSR write or hypercall KVM leaves to the VMM (hyperv.ts). */
  HYPERV: 27,
} as const;

export function exitReasonName(r: number): string {
  for (const [k, v] of Object.entries(ExitReason)) if (v === r) return k;
  return `EXIT_${r}`;
}

/** Counter indexes in kvmExitCounts() beyond the exit reasons. */
export const COUNT_FAST_PMTIMER = 40;
export const COUNT_FAST_SINK = 41;
export const COUNT_EINTR = 42;

interface KvmAddon {
  kvmOpen(path?: string): number;
  kvmClose(fd: number): void;
  kvmApiVersion(fd: number): number;
  kvmCheckExtension(fd: number, cap: number): number;
  kvmVcpuMmapSize(fd: number): number;
  kvmCreateVm(fd: number, type: number): number;
  kvmCreateIrqchip(vmFd: number): number;
  kvmSetTssAddr(vmFd: number, addr: number): number;
  kvmSetIdentityMapAddr(vmFd: number, addr: number): void;
  kvmCreatePit2(vmFd: number, flags: number): void;
  kvmMapAnon(size: number): ArrayBuffer;
  /** An id for a kvmMapAnon buffer that another thread can pass to kvmMemView. */
  kvmMemId(mem: ArrayBuffer): number;
  /** Another ArrayBuffer over the same mapping; the mapping stays until every buffer is collected. */
  kvmMemView(id: number): ArrayBuffer;
  /** Detaches a kvmMapAnon/kvmMemView buffer and drops its reference now (unmapping with the last). */
  kvmMemRelease(mem: ArrayBuffer): void;
  eventfdCreate(): number;
  eventfdWrite(fd: number, n?: number): void;
  /** poll() until one of `fds` is readable (timeout −1: none); reads those; returns their indexes. */
  eventfdWait(fds: number[], timeoutMs: number): number[];
  kvmIoeventfd(vmFd: number, addr: number, len: number, fd: number, flags: number, datamatch?: number): void;
  kvmIrqfd(vmFd: number, fd: number, gsi: number, flags: number): void;
  kvmSetGsiRouting(vmFd: number, entries: Buffer): void;
  kvmSetMemoryRegion(
    vmFd: number,
    slot: number,
    flags: number,
    gpa: number,
    mem: ArrayBuffer | null,
    size: number,
  ): void;
  kvmIrqLine(vmFd: number, irq: number, level: number): void;
  kvmSignalMsi(vmFd: number, addrLo: number, addrHi: number, data: number): number;
  kvmGetSupportedCpuid(kvmFd: number): Buffer;
  kvmSetCpuid2(vcpu: number, entries: Buffer): void;
  /** KVM_GET_SUPPORTED_HV_CPUID on the system fd (KVM_CAP_SYS_HYPERV_CPUID) or a vCPU fd. */
  kvmGetSupportedHvCpuid(fd: number): Buffer;
  /** KVM_ENABLE_CAP on a vCPU, no arguments (KVM_CAP_HYPERV_SYNIC2). */
  kvmEnableVcpuCap(vcpu: number, cap: number): void;
  /** KVM_GET_MSRS: the values of the MSRs KVM knows, in order, up to the first it does not. */
  kvmGetMsrs(vcpu: number, indices: readonly number[]): bigint[];
  /** KVM_SET_MSRS for one MSR, written as the host. */
  kvmSetMsr(vcpu: number, index: number, value: bigint): void;
  kvmCreateVcpu(vmFd: number, id: number, mmapSize: number): number;
  kvmVcpuRunBuffer(vcpu: number): ArrayBuffer;
  kvmDestroyVcpu(vcpu: number): void;
  kvmVcpuFd(vcpu: number): number;
  kvmGetRegs(vcpu: number): Buffer;
  kvmSetRegs(vcpu: number, regs: Buffer): void;
  kvmGetSregs(vcpu: number): Buffer;
  kvmSetSregs(vcpu: number, sregs: Buffer): void;
  kvmSetPortMode(vcpu: number, port: number, mode: PortMode): void;
  /** KVM_MP_STATE_*: 0 runnable, 1 uninitialized, 2 INIT received, 3 halted, 4 SIPI received. */
  kvmGetMpState(vcpu: number): number;
  kvmSetPmTimerStart(vcpu: number, startNs: bigint): void;
  kvmRun(vcpu: number): number;
  /** false when the vCPU is already gone. */
  kvmKick(vcpu: number): boolean;
  kvmExitCounts(vcpu: number): number[];
  kvmConstants(): KvmConstants;
}

let addon: KvmAddon | undefined;
export function kvm(): KvmAddon {
  if (!addon) {
    const a = loadAddon();
    if (typeof a.kvmOpen !== 'function')
      throw new Error('native addon has no KVM bindings; rebuild: sh scripts/build-native.sh');
    addon = a as unknown as KvmAddon;
  }
  return addon;
}

let constants: KvmConstants | undefined;
export function kvmConstants(): KvmConstants {
  constants ??= kvm().kvmConstants();
  return constants;
}

/** General-purpose registers (struct kvm_regs), decoded. */
export interface Regs {
  rax: bigint;
  rbx: bigint;
  rcx: bigint;
  rdx: bigint;
  rsi: bigint;
  rdi: bigint;
  rsp: bigint;
  rbp: bigint;
  r8: bigint;
  r9: bigint;
  r10: bigint;
  r11: bigint;
  r12: bigint;
  r13: bigint;
  r14: bigint;
  r15: bigint;
  rip: bigint;
  rflags: bigint;
}
const REG_NAMES = [
  'rax',
  'rbx',
  'rcx',
  'rdx',
  'rsi',
  'rdi',
  'rsp',
  'rbp',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'rip',
  'rflags',
] as const;

export function decodeRegs(b: Buffer): Regs {
  const r = {} as Regs;
  REG_NAMES.forEach((n, i) => (r[n] = b.readBigUInt64LE(i * 8)));
  return r;
}
export function encodeRegs(r: Regs): Buffer {
  const b = Buffer.alloc(kvmConstants().regsSize);
  REG_NAMES.forEach((n, i) => b.writeBigUInt64LE(BigInt.asUintN(64, r[n]), i * 8));
  return b;
}

/** One segment register of struct kvm_sregs (24 bytes each). */
export interface Segment {
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
}
export const SREG_SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;

export function readSegment(b: Buffer, i: number): Segment {
  const o = i * 24;
  return {
    base: b.readBigUInt64LE(o),
    limit: b.readUInt32LE(o + 8),
    selector: b.readUInt16LE(o + 12),
    type: b[o + 14]!,
    present: b[o + 15]!,
    dpl: b[o + 16]!,
    db: b[o + 17]!,
    s: b[o + 18]!,
    l: b[o + 19]!,
    g: b[o + 20]!,
    avl: b[o + 21]!,
  };
}
export function writeSegment(b: Buffer, i: number, s: Segment): void {
  const o = i * 24;
  b.writeBigUInt64LE(s.base, o);
  b.writeUInt32LE(s.limit >>> 0, o + 8);
  b.writeUInt16LE(s.selector, o + 12);
  b[o + 14] = s.type;
  b[o + 15] = s.present;
  b[o + 16] = s.dpl;
  b[o + 17] = s.db;
  b[o + 18] = s.s;
  b[o + 19] = s.l;
  b[o + 20] = s.g;
  b[o + 21] = s.avl;
}
/** Control registers in kvm_sregs: after 8 segments (192) and gdt/idt (2 × 16). */
export const SREGS_CR0 = 224;
export const SREGS_CR2 = 232;
export const SREGS_CR3 = 240;
export const SREGS_CR4 = 248;
export const SREGS_EFER = 264;

/** A readable multi-line register dump for fatal exits. */
export function formatRegisterDump(regs: Buffer, sregs: Buffer): string {
  const r = decodeRegs(regs);
  const hex = (v: bigint) => '0x' + v.toString(16).padStart(16, '0');
  const lines: string[] = [];
  for (let i = 0; i < REG_NAMES.length; i += 3) {
    lines.push(
      REG_NAMES.slice(i, i + 3)
        .map((n) => `${n.padStart(6)}=${hex(r[n])}`)
        .join(' '),
    );
  }
  SREG_SEGMENTS.forEach((n, i) => {
    const s = readSegment(sregs, i);
    lines.push(
      `${n.padStart(6)}: sel=0x${s.selector.toString(16).padStart(4, '0')} base=${hex(s.base)} limit=0x${s.limit.toString(16)} type=${s.type} l=${s.l} db=${s.db}`,
    );
  });
  lines.push(
    `   cr0=${hex(sregs.readBigUInt64LE(SREGS_CR0))}    cr2=${hex(sregs.readBigUInt64LE(SREGS_CR2))}    cr3=${hex(sregs.readBigUInt64LE(SREGS_CR3))}`,
    `   cr4=${hex(sregs.readBigUInt64LE(SREGS_CR4))}   efer=${hex(sregs.readBigUInt64LE(SREGS_EFER))}`,
  );
  return lines.join('\n');
}
