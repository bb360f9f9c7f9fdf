// End to end, nested (docs/testing.md §3): Secure Boot with Debian's non-SMM OVMF_CODE_4M.fd and
// the OVMF_VARS_4M.snakeoil.fd template (the snakeoil certificate as PK, KEK and db;
// docs/vmm-platform.md §11.1). Two runs from one outer boot, each booting through a generated
// Boot0000: Debian's kernel signed with the snakeoil key boots (and its initrd sees Secure Boot
// on), the same kernel without a signature is refused by the firmware, and tendril says so and
// exits with status 3.
// One vCPU (--cpus 1): see docs/testing.md §3, "Two vCPUs".
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { ovmfSplit } from '../../initramfs/host';
import { buildGptDisk } from '../fixtures/images';
import { runNestedRetrying, scriptInitrd, secureBootKernels, splitFirmware, vmInitramfsRuns } from '../fixtures/vm';

const MARKER = 'TENDRIL-MARKER-SB-SIGNED-77ab';
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const haveSbsign = spawnSync('sbsign', ['--version']).status === 0;

describe.skipIf(!haveQemu || !haveSbsign)('tendril vm --secure-boot (nested KVM)', () => {
  it('boots a kernel signed with the snakeoil key; refuses the unsigned copy and reports it', async () => {
    const k = secureBootKernels();
    const initrd = scriptInitrd(
      `echo ${MARKER}\necho "TENDRIL-SB-KERNEL: $(dmesg | grep -i -m1 'secure boot' || echo 'no secure boot line')"`,
    );
    const disk = buildGptDisk([
      {
        type: 'esp',
        sizeMiB: 64,
        fs: {
          kind: 'vfat',
          files: {
            'EFI/tendril/signed.efi': { copyOf: k.signed },
            'EFI/tendril/unsigned.efi': { copyOf: k.unsigned },
            'EFI/tendril/initrd.img': { copyOf: initrd },
          },
        },
      },
    ]);
    const args = (file: string) =>
      `--cpus 1 --secure-boot --loader '0:1:\\EFI\\tendril\\${file}' --loader-args 'initrd=\\EFI\\tendril\\initrd.img console=ttyS0 panic=-1 quiet'`;
    const cpio = vmInitramfsRuns(
      'vm-secure-boot',
      [{ file: disk }],
      [
        { label: 'signed', args: args('signed.efi') },
        { label: 'unsigned', args: args('unsigned.efi') },
      ],
      splitFirmware(ovmfSplit().varsSnakeoil),
    );
    const run = await runNestedRetrying(cpio, ['TENDRIL-RUN-unsigned-EXIT=']);
    const log = run.log;
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const signed = log.slice(log.indexOf('TENDRIL-RUN-signed-START'), log.indexOf('TENDRIL-RUN-unsigned-START'));
    const unsigned = log.slice(log.indexOf('TENDRIL-RUN-unsigned-START'));
    expect(signed, signed.slice(-3000)).toContain('Secure Boot on');
    expect(signed, signed.slice(-3000)).toMatch(new RegExp(`[\\r\\n]${MARKER}[\\r\\n]`));
    // The kernel's own view: Linux locks itself down when the firmware booted it with Secure Boot on.
    expect(signed).toMatch(/TENDRIL-SB-KERNEL: .*(locked down from EFI Secure Boot|[Ss]ecure boot enabled)/);
    expect(signed).toContain('TENDRIL-RUN-signed-EXIT=0');
    expect(unsigned, unsigned.slice(-3000)).not.toContain(MARKER);
    expect(unsigned).toMatch(
      /tendril vm: the firmware did not start the loader: BdsDxe: failed to (load|start) Boot0000 "tendril: \\EFI\\tendril\\unsigned\.efi" from HD\(1,GPT,[^)]*\)\/\\EFI\\tendril\\unsigned\.efi: (Access Denied|Security Violation) \(Secure Boot is on/,
    );
    expect(unsigned).toContain('TENDRIL-RUN-unsigned-EXIT=3');
  }, 900_000);
});
