// End to end, nested (docs/testing.md §3): Secure Boot with Debian's non-SMM OVMF_CODE_4M.fd and
// the OVMF_VARS_4M.snakeoil.fd template (the snakeoil certificate as PK, KEK and db;
// docs/vmm-platform.md §11.1). Three runs from one outer boot, each booting through a generated
// Boot0000: a UKI (systemd's stub, Debian's kernel, the initrd and the command line) signed with
// the snakeoil key boots, and so does Debian's kernel signed alone, each initrd seeing Secure Boot
// on; the same UKI without a signature is refused by the firmware, and tendril says so and exits
// with status 3.
// One vCPU (--cpus 1): see docs/testing.md §3, "Two vCPUs".
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { ovmfSplit } from '../../initramfs/host';
import { buildGptDisk } from '../fixtures/images';
import { buildUki } from '../fixtures/uki';
import {
  runNestedRetrying,
  scriptInitrd,
  secureBootKernels,
  snakeoilSignedCopy,
  splitFirmware,
  vmInitramfsRuns,
} from '../fixtures/vm';

const MARKER = 'TENDRIL-MARKER-SB-SIGNED-77ab';
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const haveSbsign = spawnSync('sbsign', ['--version']).status === 0;

describe.skipIf(!haveQemu || !haveSbsign)('tendril vm --secure-boot (nested KVM)', () => {
  it('boots a UKI and a kernel signed with the snakeoil key; refuses the unsigned UKI and reports it', async () => {
    const k = secureBootKernels();
    const initrd = scriptInitrd(
      `echo ${MARKER}\necho "TENDRIL-SB-KERNEL: $(dmesg | grep -i -m1 'secure boot' || echo 'no secure boot line')"\necho "TENDRIL-SB-CMDLINE: $(cat /proc/cmdline)"`,
    );
    // The kernel inside is the signed one too, so the stub's way of starting it (LoadImage, which
    // the firmware checks, or the handover protocol) does not decide the outcome.
    const uki = snakeoilSignedCopy(
      buildUki({
        osrel: 'ID=tendril-sb\nPRETTY_NAME="tendril Secure Boot test"\n',
        cmdline: 'console=ttyS0 panic=-1 quiet tendril.test=uki-cmdline',
        initrd: { file: initrd },
        linux: { file: k.signed },
      }),
    );
    const disk = buildGptDisk([
      {
        type: 'esp',
        sizeMiB: 64,
        fs: {
          kind: 'vfat',
          files: {
            'EFI/Linux/signed-uki.efi': { copyOf: uki.signed },
            'EFI/Linux/unsigned-uki.efi': { copyOf: uki.unsigned },
            'EFI/tendril/signed.efi': { copyOf: k.signed },
            'EFI/tendril/initrd.img': { copyOf: initrd },
          },
        },
      },
    ]);
    const args = (file: string) =>
      `--cpus 1 --secure-boot --loader '0:1:${file}' --loader-args 'initrd=\\EFI\\tendril\\initrd.img console=ttyS0 panic=-1 quiet'`;
    const cpio = vmInitramfsRuns(
      'vm-secure-boot',
      [{ file: disk }],
      [
        { label: 'uki', args: args('\\EFI\\Linux\\signed-uki.efi') },
        { label: 'kernel', args: args('\\EFI\\tendril\\signed.efi') },
        { label: 'unsigned', args: args('\\EFI\\Linux\\unsigned-uki.efi') },
      ],
      splitFirmware(ovmfSplit().varsSnakeoil),
    );
    const run = await runNestedRetrying(cpio, ['TENDRIL-RUN-unsigned-EXIT=']);
    const log = run.log;
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const part = (label: string, next: string | null) =>
      log.slice(log.indexOf(`TENDRIL-RUN-${label}-START`), next ? log.indexOf(`TENDRIL-RUN-${next}-START`) : undefined);
    const unsigned = part('unsigned', null);
    for (const [label, next] of [
      ['uki', 'kernel'],
      ['kernel', 'unsigned'],
    ] as const) {
      const booted = part(label, next);
      expect(booted, booted.slice(-3000)).toContain('Secure Boot on');
      expect(booted, booted.slice(-3000)).toMatch(new RegExp(`[\\r\\n]${MARKER}[\\r\\n]`));
      // The kernel's own view: Linux locks itself down when the firmware booted it with Secure Boot on.
      expect(booted).toMatch(/TENDRIL-SB-KERNEL: .*(locked down from EFI Secure Boot|[Ss]ecure boot enabled)/);
      expect(booted).toContain(`TENDRIL-RUN-${label}-EXIT=0`);
    }
    // The UKI's own command line, not the load options: systemd's stub ignores those under Secure Boot.
    expect(part('uki', 'kernel')).toMatch(
      /TENDRIL-SB-CMDLINE: console=ttyS0 panic=-1 quiet tendril\.test=uki-cmdline\s/,
    );
    expect(part('kernel', 'unsigned')).toMatch(/TENDRIL-SB-CMDLINE: initrd=\\EFI\\tendril\\initrd\.img console=ttyS0/);
    expect(unsigned, unsigned.slice(-3000)).not.toContain(MARKER);
    expect(unsigned).toMatch(
      /tendril vm: the firmware did not start the loader: BdsDxe: failed to (load|start) Boot0000 "tendril: \\EFI\\Linux\\unsigned-uki\.efi" from HD\(1,GPT,[^)]*\)\/\\EFI\\Linux\\unsigned-uki\.efi: (Access Denied|Security Violation) \(Secure Boot is on/,
    );
    expect(unsigned).toContain('TENDRIL-RUN-unsigned-EXIT=3');
  }, 900_000);
});
