// End to end, the README demo's UEFI-only entry where KVM cannot run: the product initramfs
// runs `tendril menu` on the serial console of a TCG machine whose CPU offers no SVM/VMX (as
// scripts/demo.sh starts it), with the demo's Fedora-style disk. The entry "Linux as a UEFI
// program (in the VM)" is marked VM unavailable and says why (no /dev/kvm); Enter on it shows
// the reason instead of booting, and the menu goes on: the Fedora entry then boots by kexec.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { LOG_DIR, privateCopy, productInitramfs, sha256File, targetReport } from '../fixtures/boot';
import { fedoraLike } from '../fixtures/demo-boot';
import { type InteractiveRun, KEY, runQemuInteractive } from '../fixtures/qemu-interactive';

let run: InteractiveRun;
let disk: string;
let before: string;

beforeAll(async () => {
  const initramfs = productInitramfs();
  disk = privateCopy(fedoraLike());
  before = sha256File(disk);
  run = await runQemuInteractive({
    kernel: hostKernel().vmlinuz,
    initrd: initramfs,
    append: 'console=ttyS0 quiet tendril.mode=menu',
    cpu: 'qemu64,-svm,-vmx',
    disks: [disk],
    timeoutMs: 400_000,
    until: /TARGET-DONE/,
    logFile: path.join(LOG_DIR, 'menu-vm.log'),
    steps: [
      // Fedora 6.5, Fedora 6.4, rescue, then the UEFI entry (menu order, as `tendril list` shows).
      { when: /Booting 'Fedora Linux 39[^']*' in \d+ s/, send: [KEY.down, KEY.down, KEY.down] },
      { when: /VM unavailable: .*\/dev\/kvm/, send: [KEY.enter] },
      // The failure panel names the reason; Esc returns to the list, Home + Enter boots Fedora.
      // Home waits for the list: Esc and the next key read together are one Alt chord.
      { when: /Cannot boot Linux as a UEFI program/, send: KEY.escape },
      { when: /Enter boot {2}e edit {2}i info/, send: [KEY.home, KEY.enter] },
    ],
  });
}, 900_000);

afterAll(() => {
  if (disk) fs.rmSync(path.dirname(disk), { recursive: true, force: true });
});

describe("the demo's UEFI-only entry on a machine without KVM", () => {
  it('is marked VM unavailable, with the reason on its status line', () => {
    if (!/TARGET-DONE/.test(run.output)) console.error(`${run.text.slice(-4000)}\n--- screen ---\n${run.screen}`);
    expect(run.stepsDone, `last screen:\n${run.screen}`).toBe(4);
    const list = run.screens[0] ?? '';
    expect(list).toMatch(/Linux as a UEFI program \(in the VM\).*VM unavailable/);
    const selected = run.screens[1] ?? '';
    expect(selected).toMatch(/^.>\s+Linux as a UEFI program/m);
    expect(selected).toMatch(/VM unavailable: \/dev\/kvm: stat: ENOENT/);
  });

  it('Enter shows why it cannot boot; the menu goes on and the Fedora entry boots', () => {
    expect(run.screens[2] ?? '').toMatch(/Cannot boot Linux as a UEFI program/);
    expect(run.screens[2] ?? '').toMatch(/ENOENT/);
    const t = targetReport(run.output);
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('demo=fedora-6.5');
  });

  it('the disk image is byte-for-byte unchanged', () => {
    expect(sha256File(disk)).toBe(before);
  });
});
