// CPUID for each vCPU: KVM_GET_SUPPORTED_CPUID with the fix-ups docs/vmm-platform.md §2.2 lists.
// FPU/SSE/XSAVE stay as supported (EDK2 X64 uses SSE from SEC on).

const ENTRY = 40;

export interface CpuidEntry {
  fn: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

export function decodeCpuid(b: Uint8Array): CpuidEntry[] {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const out: CpuidEntry[] = [];
  for (let o = 0; o + ENTRY <= b.length; o += ENTRY) {
    out.push({
      fn: v.getUint32(o, true),
      index: v.getUint32(o + 4, true),
      flags: v.getUint32(o + 8, true),
      eax: v.getUint32(o + 12, true),
      ebx: v.getUint32(o + 16, true),
      ecx: v.getUint32(o + 20, true),
      edx: v.getUint32(o + 24, true),
    });
  }
  return out;
}

export function encodeCpuid(entries: CpuidEntry[]): Buffer {
  const b = Buffer.alloc(entries.length * ENTRY);
  entries.forEach((e, i) => {
    const o = i * ENTRY;
    b.writeUInt32LE(e.fn >>> 0, o);
    b.writeUInt32LE(e.index >>> 0, o + 4);
    b.writeUInt32LE(e.flags >>> 0, o + 8);
    b.writeUInt32LE(e.eax >>> 0, o + 12);
    b.writeUInt32LE(e.ebx >>> 0, o + 16);
    b.writeUInt32LE(e.ecx >>> 0, o + 20);
    b.writeUInt32LE(e.edx >>> 0, o + 24);
  });
  return b;
}

/** CPUID.1:ECX bit 31: a hypervisor is present, so the guest reads the 0x4000_0000 leaves. */
const HYPERVISOR = 1 << 31;
/**
 * The paravirtual features (leaf 0x4000_0001 EAX, Linux's uapi/asm/kvm_para.h) a guest gets: the
 * ones QEMU gives its KVM guests by default (kvmclock, both MSR sets, the stable bit, no I/O delay,
 * async page faults, steal time, PV EOI), as far as this KVM supports them. The rest (PV spinlocks,
 * TLB flush, IPIs, ...) pay off when vCPUs are overcommitted, which a boot manager's VM is not.
 */
export const KVM_PV_FEATURES = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 24);

/**
 * Per-vCPU CPUID: APIC ID in leaf 1 / 0xB / 0x1F, logical count, cores in leaf 4, PMU off, and the
 * hypervisor bit with KVM's signature leaves, as every VMM sets them: without it Linux thinks it
 * runs on bare metal, finds no kvmclock, fails to calibrate the TSC against the PIT and marks it
 * unstable, then keeps time through the ACPI PM timer, one exit per read.
 */
export function vcpuCpuid(supported: CpuidEntry[], apicId: number, cpus: number): CpuidEntry[] {
  return supported.map((e0) => {
    const e = { ...e0 };
    if (e.fn === 1) {
      e.ebx = (e.ebx & 0x0000ffff) | ((cpus & 0xff) << 16) | ((apicId & 0xff) << 24);
      if (cpus > 1) e.edx |= 1 << 28; // HTT: the logical count field is valid
      e.ecx |= HYPERVISOR;
    } else if (e.fn === 0x0b || e.fn === 0x1f) {
      e.edx = apicId;
      if (e.index === 0) {
        e.eax = 0;
        e.ebx = 1;
        e.ecx = (1 << 8) | 0;
      } // SMT level: 1 thread
      else if (e.index === 1) {
        e.eax = Math.ceil(Math.log2(Math.max(1, cpus)));
        e.ebx = cpus;
        e.ecx = (2 << 8) | 1;
      } else {
        e.eax = 0;
        e.ebx = 0;
        e.ecx = e.index;
      }
    } else if (e.fn === 4) {
      e.eax = (e.eax & 0x03ffffff) | (((cpus - 1) & 0x3f) << 26);
    } else if (e.fn === 0x40000001) {
      e.eax &= KVM_PV_FEATURES;
    } else if (e.fn === 0x0a) {
      e.eax = e.ebx = e.ecx = e.edx = 0;
    }
    return e;
  });
}
