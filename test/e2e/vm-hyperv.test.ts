// End to end, nested (docs/testing.md §3): the Hyper-V enlightenments (docs/vmm-platform.md §2.4).
// `tendril vm --hyperv` with two vCPUs boots Debian's kernel and a busybox initrd through
// Boot0000. The guest finds Microsoft's hypervisor interface instead of KVM's (Linux then uses
// the Hyper-V clock, TLB-flush and IPI hypercalls, all served by KVM in the kernel), reports what
// it found, and panics on purpose: its panic notifier writes the crash MSRs (bug check code,
// guest OS id, instruction pointer, ...) and asks to notify, and tendril ends the run with a
// report naming them.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  LINUX_EFI_LOADER,
  linuxEfiDisk,
  runNestedRetrying,
  scriptInitrd,
  sha256,
  splitFirmware,
  tendrilRunsInitramfs,
} from '../fixtures/vm';

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

const GUEST = [
  'dmesg | grep -E "Hypervisor detected|Hyper-V" | sed "s/^/TENDRIL-HV: /"',
  'cs=/sys/devices/system/clocksource/clocksource0',
  'echo "TENDRIL-CLOCKSOURCES=$(cat $cs/available_clocksource)"',
  'echo "TENDRIL-CPUS=$(grep -c ^processor /proc/cpuinfo)"',
  'echo TENDRIL-PANIC-NOW',
  // The serial console drains after the writes return; a crash right away can cut the lines above
  // (it did in CI once, after a retry: the nested guest runs slowest then).
  'sleep 3',
  'echo c > /proc/sysrq-trigger',
].join('\n');

describe.skipIf(!haveQemu)('tendril vm --hyperv: the enlightenments KVM implements (nested KVM)', () => {
  it('Linux finds Hyper-V, uses its clock and hypercalls, and its panic reaches tendril through the crash MSRs', async () => {
    const disk = linuxEfiDisk(scriptInitrd(GUEST), 160);
    const before = sha256(disk);
    const fw = splitFirmware();
    const cpio = tendrilRunsInitramfs(
      'vm-hyperv',
      [
        {
          label: 'hv',
          argv: `vm ${fw.args} --disk /vm/disk0.img --cpus 2 --hyperv ${LINUX_EFI_LOADER}`,
        },
      ],
      { files: { ...fw.files, '/vm/disk0.img': disk } },
    );
    const run = await runNestedRetrying(cpio, ['TENDRIL-EXIT-CODE=']);
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const log = run.log.replace(/\r/g, '');
    const tail = log.slice(-5000);
    expect(log, tail).toMatch(/^TENDRIL-HV: .*Hypervisor detected: Microsoft Hyper-V/m);
    // The privileges and hints Linux read from leaves 0x4000_0003/4 (hyperv.ts OFFER).
    expect(log, tail).toMatch(/^TENDRIL-HV: .*Hyper-V: privilege flags low 0x[0-9a-f]+/m);
    expect(log, tail).toMatch(/^TENDRIL-HV: .*Hyper-V: Using hypercall for remote TLB flush/m);
    expect(log, tail).toMatch(/^TENDRIL-CLOCKSOURCES=.*hyperv_clocksource/m);
    expect(log, tail).toMatch(/^TENDRIL-CPUS=2$/m);
    // P0 the panic's code, P1 the guest OS id Linux registered (vendor 0x8100), P2..P4 registers.
    expect(log, tail).toMatch(
      /fatal: (vCPU \d: )?the guest reported a crash through the Hyper-V crash MSRs: P0=0x[0-9a-f]+ P1\.\.P4=0x8100[0-9a-f]{12} 0x[0-9a-f]+ 0x[0-9a-f]+ 0x[0-9a-f]+/,
    );
    expect(log, tail).toMatch(/^TENDRIL-RUN-hv-EXIT=1$/m);
    expect(sha256(disk)).toBe(before);
  }, 1_800_000);
});
