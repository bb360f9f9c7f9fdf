// The nested harness's own fault detection (test/fixtures/vm.ts): the outer guest's kernel
// messages (COM2) and its heartbeat decide whether a nested run failed because the test host
// broke, and the nested guest's own triple faults and stalls (guestFault), which runNestedRetrying
// retries. These prove the detectors fire on real input and stay quiet on a healthy run.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { buildEfiApp } from '../fixtures/efi-app';
import {
  HEARTBEAT_SILENCE_S,
  buildInitramfs,
  fatDisk,
  kernelFault,
  patchedKvmAmd,
  runNested,
  runNestedRetrying,
  splitFirmware,
  vmInitramfs,
} from '../fixtures/vm';

/**
 * An EFI program that loads a limit-0 IDT and executes `int3`: the breakpoint, then #GP and #DF,
 * find no gate, and the CPU shuts down. A real triple fault, as the removable-media boot program.
 */
const TRIPLE_FAULT_EFI = `  .text
  .globl efi_main
efi_main:
  cli
  lidt zero_idt(%rip)
  int3
1:
  hlt
  jmp 1b
  .data
zero_idt:
  .word 0
  .quad 0
`;

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

describe('kernelFault', () => {
  it('names soft lockups and RCU stalls as the outer kernel prints them, and nothing else', () => {
    const lockup =
      '[  152.621560] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [swapper/0:0]\n[  152.621560] Modules linked in: kvm_amd(OE)';
    expect(kernelFault(lockup)).toBe('watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [swapper/0:0]');
    expect(kernelFault('[  60.1] rcu: INFO: rcu_preempt self-detected stall on CPU\n')).toBe(
      'rcu: INFO: rcu_preempt self-detected stall on CPU',
    );
    expect(kernelFault('[  60.1] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:\n')).toBe(
      'rcu: INFO: rcu_sched detected stalls on CPUs/tasks:',
    );
    expect(kernelFault('[    8.066277] kvm_amd: loading out-of-tree module taints kernel.\n.\n.\n')).toBeNull();
    expect(kernelFault('')).toBeNull();
  });
});

describe.skipIf(!haveQemu)('nested harness under QEMU/TCG', () => {
  const spec = (name: string, script: string) =>
    buildInitramfs({ name, files: {}, modules: ['kvm', 'ccp'], extraKo: [patchedKvmAmd()], script });

  it('a healthy outer guest: no fault, its kernel log on COM2, init output on COM1', async () => {
    const run = await runNested(
      spec('harness-ok', 'echo TENDRIL-HARNESS-OK; sleep 6; rc=0'),
      ['TENDRIL-HARNESS-OK'],
      180_000,
    );
    expect(run.hostFault, run.kernelLog).toBeNull();
    expect(run.exitCode, run.log).toBe(0);
    expect(run.log).toContain('TENDRIL-HARNESS-OK');
    expect(run.kernelLog).toContain('reboot: Power down');
    expect(run.log).not.toContain('reboot: Power down');
  }, 300_000);

  it(`a stopped heartbeat ends the run as a host fault after ${HEARTBEAT_SILENCE_S} s`, async () => {
    const run = await runNested(
      spec('harness-silent', 'sleep 5; kill $hb; echo TENDRIL-HARNESS-SILENT; sleep 600; rc=0'),
      [],
      300_000,
    );
    expect(run.log).toContain('TENDRIL-HARNESS-SILENT');
    expect(run.hostFault).toMatch(/heartbeat .* stopped/);
    expect(run.exitCode).toBeNull();
    expect(run.wallMs).toBeLessThan(200_000);
  }, 360_000);

  it('an outer guest that goes away before /init finishes is a host fault', async () => {
    const run = await runNested(
      spec('harness-gone', 'echo TENDRIL-HARNESS-GONE; sync; poweroff -f; sleep 600; rc=0'),
      [],
      300_000,
    );
    expect(run.log).toContain('TENDRIL-HARNESS-GONE');
    expect(run.guestFault).toBeNull();
    expect(run.hostFault).toBe(
      'the outer guest stopped before /init finished (QEMU exited with status 0, no TENDRIL-EXIT-CODE line)',
    );
    expect(run.exitCode).toBeNull();
  }, 360_000);

  it('a nested guest that triple-faults is a guest fault; runNestedRetrying tries it again, then returns it', async () => {
    const app = buildEfiApp({ source: TRIPLE_FAULT_EFI });
    const disk = fatDisk('harness-triple-fault', [{ path: 'EFI/BOOT/BOOTX64.EFI', from: app }]);
    const cpio = vmInitramfs('harness-triple-fault', [{ file: disk }], '--cpus 1', {}, splitFirmware());
    const run = await runNestedRetrying(cpio, ['TENDRIL-EXIT-CODE='], 2);
    expect(run.hostFault, run.kernelLog).toBeNull();
    expect(run.guestFault, run.log.slice(-3000)).toMatch(
      /^the nested guest triple-faulted \(tendril vm: fatal: .*triple fault/,
    );
    // kvm-amd hands back the reset state after a shutdown; tendril says so rather than mislead.
    expect(run.log).toContain('KVM reset the vCPU at the shutdown (AMD does)');
    expect(run.log).toContain('rip=0x000000000000fff0');
    expect(run.exitCode, run.log.slice(-3000)).toBe(1);
  }, 600_000);

  it('a nested guest that goes silent is a guest fault after the stall window, the outer guest healthy', async () => {
    const run = await runNested(spec('harness-stall', 'echo TENDRIL-HARNESS-STALL; sleep 600; rc=0'), [], 300_000, {
      stallS: 20,
    });
    expect(run.log).toContain('TENDRIL-HARNESS-STALL');
    expect(run.hostFault, run.kernelLog).toBeNull();
    expect(run.guestFault).toMatch(/^no output on COM1 for 20 s while the outer guest's heartbeat went on/);
    expect(run.exitCode).toBeNull();
    expect(run.wallMs).toBeLessThan(150_000);
  }, 300_000);
});
