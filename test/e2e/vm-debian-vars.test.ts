// End to end, nested (docs/testing.md §3): the real Debian 12 disk (test/fixtures/debian-vm.ts)
// and tendril's variable store across two runs: Debian's efibootmgr sets BootNext in the first,
// OVMF honours and deletes it in the second, and tendril reports each change.
import { describe, expect, it } from 'vitest';
import {
  BOOTNEXT_LOADER,
  BOOTNEXT_NUMBER,
  DEBIAN_MARKER,
  ESP_PARTUUID,
  SHIM_LOADER,
  debianDisk,
} from '../fixtures/debian-disk';
import { DEBIAN_DEV, EFI_GLOBAL, FIRMWARE, haveQemu, runPart, shQuote } from '../fixtures/debian-vm';
import { runNestedRetrying, sha256, tendrilRunsInitramfs } from '../fixtures/vm';

describe.skipIf(!haveQemu)('UEFI variables of a real Debian disk in tendril vm (nested KVM)', () => {
  it('--vars FILE: a BootNext set by efibootmgr in Debian is honoured by the next run, then deleted', async () => {
    const disk = debianDisk({ bootNext: true });
    const before = sha256(disk.image);
    const argv = `vm ${FIRMWARE.args} --vars /tmp/debian.vars --disk ${DEBIAN_DEV} --loader ${shQuote(`0:1:${SHIM_LOADER}`)} --memory 1G --cpus 1`;
    const cpio = tendrilRunsInitramfs(
      'vm-debian-bootnext',
      [
        { label: 'one', argv },
        { label: 'two', argv },
      ],
      { files: FIRMWARE.files, outerDisks: 1 },
    );
    const run = await runNestedRetrying(cpio, ['TENDRIL-RUN-two-EXIT='], 3, {
      drives: [disk.image],
      timeoutMs: 1_800_000,
      stallS: 600,
    });
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const [one, two] = [runPart(run.log, 'one'), runPart(run.log, 'two')];
    const reported = (text: string, kind: string, name: string) =>
      new RegExp(`^\\s+${kind}\\s+${name}\\s+${EFI_GLOBAL}$`, 'm').test(text);

    // Run 1: tendril's Boot0000 (shim) boots Debian, whose unit creates Boot7E57 and sets BootNext.
    expect(one, one.slice(-4000)).toMatch(/BdsDxe: starting Boot0000 .*\\EFI\\debian\\shimx64\.efi/);
    expect(one).toMatch(/^TENDRIL-DEBIAN-BOOTCURRENT=0000$/m);
    expect(one).toMatch(new RegExp(`^TENDRIL-DEBIAN-BOOTNEXT-SET=${BOOTNEXT_NUMBER}$`, 'm'));
    expect(one).toMatch(/the guest changed \d+ UEFI variables; kept in \/tmp\/debian\.vars:/);
    expect(reported(one, 'added', `Boot${BOOTNEXT_NUMBER}`), one.slice(-3000)).toBe(true);
    expect(reported(one, 'added', 'BootNext'), one.slice(-3000)).toBe(true);
    expect(one).toContain('TENDRIL-RUN-one-EXIT=0');

    // Run 2, same file: OVMF takes BootNext (GRUB without shim), Debian sees BootCurrent 7E57, and
    // OVMF deleted BootNext, which tendril reports.
    expect(two, two.slice(-4000)).toContain('UEFI variables from /tmp/debian.vars');
    const loaded = new RegExp(
      `BdsDxe: loading Boot${BOOTNEXT_NUMBER} "tendril-bootnext" from HD\\(1,GPT,${ESP_PARTUUID},0x800,0x20000\\)/${BOOTNEXT_LOADER.replace(/\\/g, '\\\\')}`,
      'i',
    );
    expect(two, two.slice(-4000)).toMatch(loaded);
    expect(two).not.toMatch(/BdsDxe: loading Boot0000/);
    expect(two).toMatch(new RegExp(`^TENDRIL-DEBIAN-BOOTCURRENT=${BOOTNEXT_NUMBER}$`, 'm'));
    expect(two).not.toContain('TENDRIL-DEBIAN-BOOTNEXT-SET');
    expect(two).toMatch(new RegExp(`^${DEBIAN_MARKER}$`, 'm'));
    expect(reported(two, 'deleted', 'BootNext'), two.slice(-3000)).toBe(true);
    expect(two).toContain('TENDRIL-RUN-two-EXIT=0');

    expect(/TENDRIL-VDA-SHA256=([0-9a-f]{64})/.exec(run.log)?.[1], 'the disk as the outer guest read it').toBe(before);
    expect(sha256(disk.image)).toBe(before);
  }, 3_900_000);
});
