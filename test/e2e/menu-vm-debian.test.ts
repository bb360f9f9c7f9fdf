// End to end, nested (docs/testing.md §3): the menu path of the VM. The product initramfs runs
// `tendril menu` as /init starts it, on the serial console of a QEMU/TCG machine whose CPU offers
// SVM (`-cpu max`), with the real Debian 12 disk (test/fixtures/debian-disk.ts) as its only disk.
// The one change to the image is the test host's patched kvm-amd.ko, put in with `--module` (see
// docs/testing.md §3, "The CR8 problem"); the VM's size comes from the `tendril.vm.*` kernel
// arguments (README "Settings"). A person at the console stops the countdown, waits until the ESP's automatic entry
// "UEFI: Debian on vda" is marked [VM] (kvm loads after the menu is drawn), finds it with `/` and
// boots it: OVMF → shim → GRUB → Debian runs in tendril's VM to its marker and powers off, the menu
// comes back, and its log says the VM ended with status 0. The disk is byte-for-byte unchanged.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostKernel } from '../../initramfs/host';
import { LOG_DIR, privateCopy, productInitramfs, sha256File } from '../fixtures/boot';
import { DEBIAN_MARKER, debianDisk } from '../fixtures/debian-disk';
import { patchedKvmAmd } from '../fixtures/vm';
import { type InteractiveRun, KEY, runQemuInteractive } from '../fixtures/qemu-interactive';

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const SEARCH = 'UEFI: Debian';
const PAGE_DOWN = '\x1b[6~';

let run: InteractiveRun;
let disk: string;
let before: string;

beforeAll(async () => {
  if (!haveQemu) return;
  const initramfs = productInitramfs('zstd', 'squashfs', undefined, undefined, [patchedKvmAmd()]);
  disk = privateCopy(debianDisk().image);
  before = sha256File(disk);
  // One retry, only for a machine that went silent (docs/testing.md §3: the test host's TCG can
  // lose an outer interrupt, and this image has no kicker); a menu that hangs stalls twice.
  for (let attempt = 1; ; attempt++) {
    run = await runQemuInteractive({
      kernel: hostKernel().vmlinuz,
      initrd: initramfs,
      // The disk's grub.cfg counts down 1 s; tendril.timeout gives the person time to stop it.
      append:
        'console=ttyS0 quiet tendril.mode=menu tendril.timeout=300 tendril.net=off tendril.vm.cpus=1 tendril.vm.memory=1G',
      cpu: 'max',
      memMiB: 3072,
      disks: [disk],
      timeoutMs: 720_000,
      stallMs: 240_000,
      logFile: path.join(LOG_DIR, `menu-vm-debian-${attempt}.log`),
      steps: [
        // Any key stops the countdown to the default (Debian's grub entry, by kexec).
        { when: /Booting '[^']*' in \d+ s/, send: [KEY.down] },
        // kvm and kvm_amd load at low priority after the menu is up; the row then says [VM].
        { when: /UEFI: Debian on vda[^\n]*\[VM\]/, send: ['/', ...SEARCH.split(''), KEY.enter, KEY.enter], gapMs: 250 },
        // The guest's console had the terminal; once it powered off the menu is back: open the log
        // at its end.
        {
          when: new RegExp(`${DEBIAN_MARKER}[\\s\\S]*UEFI: Debian on vda`),
          send: ['l', PAGE_DOWN, PAGE_DOWN, PAGE_DOWN],
        },
        // Back to the list, then power off (y confirms): QEMU exits (-no-reboot). Each key waits for
        // the screen it needs: a loaded TCG guest may read the UART late, and Esc then P in one read
        // is Alt-P to a terminal, not two keys.
        { when: /VM exit status \d+/, send: KEY.escape },
        { when: /Enter boot {2}e edit {2}i info/, send: 'P' },
        { when: /Really power off\? \(y\/n\)/, send: 'y' },
      ],
    });
    if (!run.stalled || attempt === 2) break;
    console.error(
      `menu-vm-debian: attempt ${attempt} printed nothing for 240 s after ${run.stepsDone} steps; retrying. Screen:\n${run.screen}`,
    );
  }
}, 1_500_000);

afterAll(() => {
  if (disk) fs.rmSync(path.dirname(disk), { recursive: true, force: true });
});

describe.skipIf(!haveQemu)("the menu boots the Debian disk's UEFI entry in the VM (nested KVM)", () => {
  it('the entry is marked [VM] once KVM is ready, and Enter boots it: OVMF → shim → GRUB → Debian to its marker', () => {
    // The last step's 'y' powers the machine off, so QEMU ends while it is typed: count the steps begun.
    if (run.screens.length < 6) console.error(`${run.text.slice(-6000)}\n--- screen ---\n${run.screen}`);
    expect(run.screens.length, `last screen:\n${run.screen}`).toBe(6);
    expect(run.screens[1] ?? '').toMatch(/UEFI: Debian on vda[^\n]*\[VM\]/);
    expect(run.text).toContain('BdsDxe: starting Boot0000');
    expect(run.text).toMatch(/shimx64\.efi/);
    expect(run.text).toContain(DEBIAN_MARKER);
    // The VM had the [vm] size from the kernel arguments: one vCPU, as the guest reports.
    expect(run.text).toContain('TENDRIL-DEBIAN-CPUS=1');
  });

  it('the guest powered off, the menu came back, and its log says so', () => {
    expect(run.text).toContain('tendril vm: guest powered off (ACPI S5');
    // The log pane as the person saw it (the screen model, not the raw escape sequences).
    // Log lines wrap at the box's edge: join them back.
    const log = (run.screens[3] ?? '').replace(/\|\n\|/g, '');
    expect(log).toMatch(/auto-uefi-debian: VM exit status 0; \d+ UEFI variables? changed/);
    // Then the menu powered the machine off on request: QEMU exited by itself (-no-reboot), with 0.
    expect(run.timedOut).toBe(false);
    expect(run.code).toBe(0);
  });

  it('the disk is unchanged: the VM wrote only to its in-memory overlay', () => {
    expect(sha256File(disk)).toBe(before);
    expect(before).toBe(debianDisk().sha256);
  });
});
