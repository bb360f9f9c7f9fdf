// The whole Machine (KVM setup order, CPUID, slots, platform, run loop, exit handling) on this
// host's /dev/kvm with integer-only real-mode "firmware" (an emulating /dev/kvm cannot run OVMF):
// serial output, PCI conf1 and fw_cfg reads, ACPI S5 power-off, and a triple fault that must end
// with a register dump.
import { describe, expect, it, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Machine, mapFlash } from '../../../src/vm/machine';

const root = path.join(__dirname, '..', '..', '..');
const haveKvm = fs.existsSync('/dev/kvm');

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'native', 'build', 'Release', 'tendril.node'))) {
    execFileSync('sh', [path.join(root, 'scripts', 'build-native.sh')], { stdio: 'inherit' });
  }
});

const hex = (s: string) =>
  s
    .trim()
    .split(/\s+/)
    .map((h) => parseInt(h, 16));

/** A 64 KiB ROM ending at 4 GiB: the reset vector jumps to `code` at IP 0xF000. */
function rom(code: number[]): Buffer {
  const b = Buffer.alloc(0x10000, 0xf4);
  Buffer.from(code).copy(b, 0xf000);
  // jmp near 0xF000 from 0xFFF0: rel16 = 0xF000 − (0xFFF0 + 3)
  Buffer.from([0xe9, ...[(0xf000 - 0xfff3) & 0xff, ((0xf000 - 0xfff3) >> 8) & 0xff]]).copy(b, 0xfff0);
  return b;
}

function machine(code: number[]) {
  const out: number[] = [];
  const m = new Machine({
    flash: mapFlash(rom(code), null),
    ramBytes: 128 * 1024 * 1024,
    cpus: 1,
    disks: [],
    fwBootOrder: true,
    serialOut: (b) => out.push(b),
    poll: () => ({ stop: false, input: null, powerButton: false }),
    onVcpu: () => {},
  });
  m.create();
  return { m, out };
}

describe.skipIf(!haveKvm)('Machine on /dev/kvm', () => {
  it('prints through COM1, reads PCI and fw_cfg, and powers off through PM1a_CNT', () => {
    const { m, out } = machine(
      hex(`
      BA F8 03  B0 54  EE
      BA F8 0C  66 B8 00 00 00 80  66 EF  BA FC 0C  66 ED  BA F8 03  EE
      BA 10 05  31 C0  EF  BA 11 05  EC  BA F8 03  EE
      BA 04 B0  B8 00 20  EF  F4`),
    );
    try {
      const r = m.runUntilEvent();
      expect(r.kind).toBe('poweroff');
      expect(out).toEqual([0x54, 0x86, 0x51]); // 'T', low byte of vendor 0x8086, 'Q' of "QEMU"
      const stats = m.exitStats();
      expect(stats['js:com1']).toBe(3);
      expect(stats['js:fw_cfg']).toBe(2);
    } finally {
      m.destroy();
    }
  });

  it('ends a faulting guest with an error and a register dump', () => {
    // lidt [0x500] (RAM is zero: limit 0), then int3 → #GP → #DF → triple fault on VT-x/AMD-V.
    // This host's emulating KVM (PVM) cannot emulate lidt and reports an emulation failure
    // (KVM_EXIT_INTERNAL_ERROR) instead: both are fatal exits with a dump.
    const { m } = machine(hex('0F 01 1E 00 05  CC'));
    try {
      const r = m.runUntilEvent();
      expect(r.kind).toBe('error');
      if (r.kind !== 'error') return;
      expect(r.reason).toMatch(/triple fault|KVM_EXIT_INTERNAL_ERROR suberror 1/);
      // Where the guest ends up differs between hardware and emulation; the dump's shape does not.
      for (const reg of ['rip=0x', 'rflags=0x', 'cs: sel=0x', 'cr0=0x', 'efer=0x']) expect(r.dump).toContain(reg);
    } finally {
      m.destroy();
    }
  });
});
