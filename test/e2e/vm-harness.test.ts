// The nested harness's own fault detection (test/fixtures/vm.ts): the outer guest's kernel
// messages (COM2) and its heartbeat decide whether a nested run failed because the test host
// broke, which runNestedRetrying retries once. These prove the detectors fire on real input and
// stay quiet on a healthy run.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { HEARTBEAT_SILENCE_S, buildInitramfs, kernelFault, patchedKvmAmd, runNested } from '../fixtures/vm';

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
      spec('harness-silent', 'kill $hb; echo TENDRIL-HARNESS-SILENT; sleep 600; rc=0'),
      [],
      300_000,
    );
    expect(run.log).toContain('TENDRIL-HARNESS-SILENT');
    expect(run.hostFault).toMatch(/heartbeat .* stopped/);
    expect(run.exitCode).toBeNull();
    expect(run.wallMs).toBeLessThan(200_000);
  }, 360_000);
});
