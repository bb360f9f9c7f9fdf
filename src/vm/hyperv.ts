// Hyper-V enlightenments (docs/vmm-platform.md §2.4): the CPUID leaves that tell a guest KVM
// implements part of Microsoft's hypervisor interface (TLFS 6.0), which Windows uses for its
// clock, timers, APIC, TLB flushes and IPIs, and for reporting a bug check. KVM does all of it in
// the kernel; the VMM only chooses what to offer. Offered only when asked ([vm] hyperv), since a
// Linux guest then takes the Hyper-V paths instead of KVM's own paravirtual ones.
import type { CpuidEntry } from './cpuid';

export const HV_BASE = 0x40000000;
/** "Microsoft Hv" as leaf 0x4000_0000 EBX, ECX, EDX. */
const HV_VENDOR = [0x7263694d, 0x666f736f, 0x76482074] as const;
/** The highest Hyper-V leaf offered: 0x4000_0006 (hardware features); nested leaves stay out. */
const HV_MAX_LEAF = 0x40000006;

const FEATURES = 0x40000003;
const ENLIGHTENMENTS = 0x40000004;

/** Leaf 0x4000_0003 EAX: partition privileges (TLFS "HV_PARTITION_PRIVILEGE_MASK", low half). */
export const Privilege = {
  VP_RUNTIME: 1 << 0,
  TIME_REF_COUNT: 1 << 1,
  SYNIC: 1 << 2,
  SYNTIMER: 1 << 3,
  APIC_MSRS: 1 << 4,
  HYPERCALL: 1 << 5,
  VP_INDEX: 1 << 6,
  RESET: 1 << 7,
  REFERENCE_TSC: 1 << 9,
  FREQUENCY_MSRS: 1 << 11,
  TSC_INVARIANT: 1 << 15,
} as const;

/** Leaf 0x4000_0003 EDX: feature flags. */
export const Feature = {
  FREQUENCY_MSRS: 1 << 8,
  CRASH_MSRS: 1 << 10,
  STIMER_DIRECT: 1 << 19,
} as const;

/** Leaf 0x4000_0004 EAX: what the hypervisor recommends. */
export const Recommend = {
  LOCAL_TLB_FLUSH: 1 << 1,
  REMOTE_TLB_FLUSH: 1 << 2,
  APIC_MSRS: 1 << 3,
  SYSTEM_RESET: 1 << 4,
  RELAXED_TIMING: 1 << 5,
  CLUSTER_IPI: 1 << 10,
  EX_PROCESSOR_MASKS: 1 << 11,
} as const;

/**
 * Spinlock retries before a guest notifies the hypervisor (leaf 0x4000_0004 EBX); 0x1FFF is what
 * QEMU's documentation suggests for Windows, 0xFFFFFFFF would mean never.
 */
export const SPINLOCK_RETRIES = 0x1fff;

/** The crash MSRs: P0..P4 hold the bug check code and its four parameters, CTL says "notify". */
export const HV_CRASH_P0 = 0x40000100;
export const HV_CRASH_PARAMS = 5;
export const HV_CRASH_CTL = 0x40000105;
/**
 * The crash control's capability bit the VMM sets (as the host): a guest reads CRASH_CTL and
 * registers its crash report only if "notify" is among them (Linux's hv_common_init does).
 */
export const HV_CRASH_CTL_NOTIFY = 1n << 63n;

const SYNIC_BITS = Privilege.SYNIC | Privilege.SYNTIMER;
/**
 * What tendril offers of what KVM supports: time (reference counter and TSC page, frequencies,
 * invariant TSC), the APIC and hypercall MSRs, VP index and runtime, reset, the SynIC and its
 * timers (only with KVM_CAP_HYPERV_SYNIC2 enabled on every vCPU), TLB-flush and IPI hypercalls,
 * relaxed timing (no watchdog bug check 0x101 when the host is slow), and the crash MSRs, which
 * turn a Windows bug check into a report naming the code. Left out: the SynIC message and event
 * hypercalls (VMBus, which this VMM does not have), the debugger, reenlightenment (migration) and
 * enlightened VMCS (nested virtualisation).
 */
const OFFER = {
  privileges:
    Privilege.VP_RUNTIME |
    Privilege.TIME_REF_COUNT |
    Privilege.APIC_MSRS |
    Privilege.HYPERCALL |
    Privilege.VP_INDEX |
    Privilege.RESET |
    Privilege.REFERENCE_TSC |
    Privilege.FREQUENCY_MSRS |
    Privilege.TSC_INVARIANT |
    SYNIC_BITS,
  features: Feature.FREQUENCY_MSRS | Feature.CRASH_MSRS | Feature.STIMER_DIRECT,
  recommendations:
    Recommend.LOCAL_TLB_FLUSH |
    Recommend.REMOTE_TLB_FLUSH |
    Recommend.APIC_MSRS |
    Recommend.SYSTEM_RESET |
    Recommend.RELAXED_TIMING |
    Recommend.CLUSTER_IPI |
    Recommend.EX_PROCESSOR_MASKS,
};

/**
 * The vCPU's CPUID with Hyper-V's leaves at 0x4000_0000 in place of KVM's. KVM's are not kept at
 * 0x4000_0100 as QEMU keeps them: Linux ranks its KVM detection above Hyper-V's and would ignore
 * every enlightenment, and Windows never reads them. So a guest given Hyper-V sees Hyper-V.
 * `base`: the vCPU's CPUID (cpuid.ts vcpuCpuid); `hv`: KVM_GET_SUPPORTED_HV_CPUID; `synic`:
 * whether the SynIC is enabled on every vCPU (else its MSRs and timers are not offered).
 */
export function withHyperv(base: readonly CpuidEntry[], hv: readonly CpuidEntry[], synic: boolean): CpuidEntry[] {
  const offered = hv
    .filter((e) => e.fn >= HV_BASE && e.fn <= HV_MAX_LEAF)
    .map((e0) => {
      const e = { ...e0 };
      if (e.fn === HV_BASE) {
        // KVM names itself "Linux KVM Hv"; guests (Linux's Hyper-V detection among them) look for
        // Microsoft's vendor ID, which QEMU also gives by default.
        e.eax = HV_MAX_LEAF;
        [e.ebx, e.ecx, e.edx] = HV_VENDOR;
      } else if (e.fn === FEATURES) {
        e.eax &= OFFER.privileges & ~(synic ? 0 : SYNIC_BITS);
        e.ebx = 0; // post messages, signal events, debugging, ...: VMBus and debugger, not here
        e.ecx = 0;
        e.edx &= OFFER.features & ~(synic ? 0 : Feature.STIMER_DIRECT);
      } else if (e.fn === ENLIGHTENMENTS) {
        e.eax &= OFFER.recommendations;
        e.ebx = SPINLOCK_RETRIES;
      }
      return e;
    });
  const rest = base.filter((e) => e.fn < HV_BASE || e.fn >= HV_BASE + 0x100);
  return [...rest, ...offered];
}

/** A few Windows bug check codes a boot manager's user meets, by number. */
const BUG_CHECKS: Record<number, string> = {
  0x7b: 'INACCESSIBLE_BOOT_DEVICE: Windows found no driver for the disk controller (docs/vmm-platform.md §14.3)',
  0x7e: 'SYSTEM_THREAD_EXCEPTION_NOT_HANDLED',
  0x101: 'CLOCK_WATCHDOG_TIMEOUT',
  0xa: 'IRQL_NOT_LESS_OR_EQUAL',
  0x50: 'PAGE_FAULT_IN_NONPAGED_AREA',
  0xc4: 'DRIVER_VERIFIER_DETECTED_VIOLATION',
  0xef: 'CRITICAL_PROCESS_DIED',
  0x1e: 'KMODE_EXCEPTION_NOT_HANDLED',
  0x3b: 'SYSTEM_SERVICE_EXCEPTION',
  0x124: 'WHEA_UNCORRECTABLE_ERROR',
  0xc000021a: 'STATUS_SYSTEM_PROCESS_TERMINATED',
};

/**
 * What the guest left in the crash MSRs when it asked to notify. Windows puts its bug check code
 * in P0 and the four parameters in P1..P4; Linux puts the instruction pointer and other registers
 * there (hyperv_report_panic), so the numbers are printed as they are.
 */
export function describeGuestCrash(params: readonly bigint[]): string {
  const hex = (v: bigint) => `0x${v.toString(16)}`;
  if (params.length < HV_CRASH_PARAMS) return 'the guest reported a crash (its crash parameters could not be read)';
  const code = params[0]!;
  const known = code <= 0xffffffffn ? BUG_CHECKS[Number(code)] : undefined;
  return `the guest reported a crash through the Hyper-V crash MSRs: P0=${hex(code)}${known ? ` (bug check ${known})` : ''} P1..P4=${params
    .slice(1)
    .map(hex)
    .join(' ')}`;
}
