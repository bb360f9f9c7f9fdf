import { describe, expect, it } from 'vitest';
import type { CpuidEntry } from '../../../src/vm/cpuid';
import {
  describeGuestCrash,
  Feature,
  HV_BASE,
  Privilege,
  Recommend,
  SPINLOCK_RETRIES,
  withHyperv,
} from '../../../src/vm/hyperv';

const leaf = (fn: number, eax = 0, ebx = 0, ecx = 0, edx = 0): CpuidEntry => ({
  fn,
  index: 0,
  flags: 0,
  eax,
  ebx,
  ecx,
  edx,
});
const ascii = (s: string) => Buffer.from(s, 'latin1').readUInt32LE(0);

// What a KVM reports: its own leaves (as cpuid.ts leaves them) and KVM_GET_SUPPORTED_HV_CPUID.
const base = [
  leaf(0, 0x10),
  leaf(1, 0x806f8, 0, 1 << 31),
  leaf(HV_BASE, 0x40000001, ascii('KVMK'), ascii('VMKV'), ascii('M\0\0\0')),
  leaf(HV_BASE + 1, 0x1fb),
  leaf(0x80000000, 0x80000008),
];
const ALL = 0xffffffff;
const hv = [
  leaf(HV_BASE, 0x4000000a, ascii('Linu'), ascii('x KV'), ascii('M Hv')), // KVM's own vendor ID
  leaf(HV_BASE + 1, ascii('Hv#1')),
  leaf(HV_BASE + 2, 0x3839, 0xa0000),
  leaf(HV_BASE + 3, ALL, ALL, ALL, ALL),
  leaf(HV_BASE + 4, ALL, 0xffffffff),
  leaf(HV_BASE + 5, 0x400, 0, 0),
  leaf(HV_BASE + 6, 0xa),
  leaf(HV_BASE + 0xa, 0x20), // nested (enlightened VMCS): never offered
];
const find = (l: CpuidEntry[], fn: number) => l.find((e) => e.fn === fn);

describe('withHyperv', () => {
  it("puts Hyper-V's leaves at 0x4000_0000 in place of KVM's", () => {
    const out = withHyperv(base, hv, true);
    expect(find(out, HV_BASE)).toMatchObject({
      eax: 0x40000006,
      ebx: ascii('Micr'),
      ecx: ascii('osof'),
      edx: ascii('t Hv'),
    });
    expect(find(out, HV_BASE + 1)!.eax).toBe(ascii('Hv#1'));
    expect(out.filter((e) => e.ebx === ascii('KVMK') || e.eax === 0x1fb)).toEqual([]);
    expect(out.filter((e) => e.fn >= 0x40000100 && e.fn < 0x40010000)).toEqual([]);
    expect(find(out, HV_BASE + 0xa)).toBeUndefined();
    // The rest is untouched, and no leaf appears twice.
    expect(find(out, 1)).toEqual(base[1]);
    expect(find(out, 0x80000000)).toEqual(base[4]);
    expect(new Set(out.map((e) => `${e.fn}/${e.index}`)).size).toBe(out.length);
  });

  it('offers only the chosen privileges, features and recommendations', () => {
    const out = withHyperv(base, hv, true);
    const f = find(out, HV_BASE + 3)!;
    expect(f.eax & Privilege.SYNIC).toBeTruthy();
    expect(f.eax & Privilege.REFERENCE_TSC).toBeTruthy();
    expect(f.eax & (1 << 13)).toBe(0); // reenlightenment
    expect(f.eax & (1 << 8)).toBe(0); // statistics pages
    expect(f.ebx).toBe(0); // post messages, signal events: VMBus
    expect(f.edx).toBe(Feature.FREQUENCY_MSRS | Feature.CRASH_MSRS | Feature.STIMER_DIRECT);
    const r = find(out, HV_BASE + 4)!;
    expect(r.eax & Recommend.RELAXED_TIMING).toBeTruthy();
    expect(r.eax & (1 << 14)).toBe(0); // enlightened VMCS
    expect(r.eax & (1 << 0)).toBe(0); // address-space switch hypercall
    expect(r.ebx).toBe(SPINLOCK_RETRIES);
  });

  it('never offers what KVM does not support', () => {
    const poor = hv.map((e) => (e.fn === HV_BASE + 3 ? { ...e, eax: Privilege.HYPERCALL, edx: 0 } : e));
    const f = find(withHyperv(base, poor, true), HV_BASE + 3)!;
    expect(f.eax).toBe(Privilege.HYPERCALL);
    expect(f.edx).toBe(0);
  });

  it('leaves the SynIC and its timers out when it could not be enabled', () => {
    const f = find(withHyperv(base, hv, false), HV_BASE + 3)!;
    expect(f.eax & (Privilege.SYNIC | Privilege.SYNTIMER)).toBe(0);
    expect(f.edx & Feature.STIMER_DIRECT).toBe(0);
    expect(f.eax & Privilege.HYPERCALL).toBeTruthy();
  });
});

describe('describeGuestCrash', () => {
  it('names a bug check Windows users meet', () => {
    expect(describeGuestCrash([0x7bn, 0xfffff8011a2b3c40n, 0xffffffffc0000034n, 0n, 0n])).toBe(
      'the guest reported a crash through the Hyper-V crash MSRs: P0=0x7b (bug check INACCESSIBLE_BOOT_DEVICE: Windows found no driver for the disk controller (docs/vmm-platform.md §14.3)) P1..P4=0xfffff8011a2b3c40 0xffffffffc0000034 0x0 0x0',
    );
  });
  it('prints other values as they are, and says when they could not be read', () => {
    expect(describeGuestCrash([0n, 0x8100060100000000n, 1n, 2n, 3n])).toBe(
      'the guest reported a crash through the Hyper-V crash MSRs: P0=0x0 P1..P4=0x8100060100000000 0x1 0x2 0x3',
    );
    expect(describeGuestCrash([1n])).toMatch(/could not be read/);
  });
});
