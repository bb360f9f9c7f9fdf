// The KVM bindings refuse arguments they would otherwise truncate or cast: fractions, NaN,
// Infinity, values beyond the C type or beyond 2^53 - 1 as a number. The checks run before any
// ioctl, so no /dev/kvm is needed; each TypeError names the function and the argument.
import { describe, expect, it } from 'vitest';
import { kvm } from '../../../src/native/kvm';

function typeError(f: () => unknown, message: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TypeError);
  expect((err as Error).message).toMatch(message);
}

describe('KVM binding arguments', () => {
  const k = kvm();
  it('guest memory sizes and addresses are exact', () => {
    typeError(() => k.kvmMapAnon(4096.5), /^kvmMapAnon: size must be an integer in 0\.\.\d+.*, got 4096\.5$/);
    typeError(() => k.kvmMapAnon(NaN), /^kvmMapAnon: size .* got NaN$/);
    typeError(() => k.kvmMapAnon(-4096), /^kvmMapAnon: size .* got -4096$/);
    typeError(() => k.kvmMapAnon(4097), /^kvmMapAnon: size must be a positive multiple of 4096$/);
    typeError(
      () => k.kvmSetMemoryRegion(0, 0, 0, 2 ** 53, null, 0),
      /^kvmSetMemoryRegion: gpa .* got 9007199254740992$/,
    );
    typeError(() => k.kvmSetMemoryRegion(0, 2 ** 32, 0, 0, null, 0), /^kvmSetMemoryRegion: slot /);
    typeError(() => k.kvmSetMemoryRegion(0, 0, 0, 0, null, 4096), /^kvmSetMemoryRegion: size is larger than mem$/);
    typeError(() => k.kvmCreateVcpu(0, 0, 1.5), /^kvmCreateVcpu: mmapSize .* got 1\.5$/);
    typeError(() => k.kvmSetTssAddr(3, 0.5), /^kvmSetTssAddr: addr .* got 0\.5$/);
  });

  it('file descriptors, IRQ lines and vCPU handles are exact', () => {
    typeError(() => k.kvmClose(1.5), /^kvmClose: fd must be an integer in 0\.\.2147483647, got 1\.5$/);
    typeError(
      () => k.kvmIrqLine(3, 2 ** 32, 1),
      /^kvmIrqLine: irq must be an integer in 0\.\.4294967295, got 4294967296$/,
    );
    typeError(() => k.kvmIrqLine(3, 4, -1), /^kvmIrqLine: level /);
    typeError(() => k.kvmSetPortMode(0.5, 0x80, 2), /^kvmSetPortMode: vcpu must be an integer in 0\.\.63, got 0\.5$/);
    typeError(() => k.kvmRun(63), /^kvmRun: vcpu 63 is not a live vCPU handle$/);
    typeError(() => k.kvmKick(NaN), /^kvmKick: vcpu .* got NaN$/);
    // Kicking a vCPU that is gone is not an error (the worker may be tearing the VM down).
    expect(k.kvmKick(63)).toBe(false);
    expect(k.kvmKick(1000)).toBe(false);
  });
});
