// End-to-end, the menu issue's QEMU case: the product initramfs runs `tendril menu` on the
// serial console (tendril.mode=menu). We wait for the countdown, press Down (second row),
// `e`, End, type " tendril.test=42", Enter; the target kernel must report the second
// entry's own option and ours. The disk's sha256 is unchanged afterwards.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { LOG_DIR, blsDisk, privateCopy, productInitramfs, sha256File, targetReport } from '../fixtures/boot';
import { MENU_ENTRIES, MENU_LOADER_CONF } from '../fixtures/boot-formats';
import { type InteractiveRun, KEY, runQemuInteractive } from '../fixtures/qemu-interactive';

let run: InteractiveRun;
let disk: string;
let before: string;
let pristine: string;

beforeAll(async () => {
  const initramfs = productInitramfs();
  const img = blsDisk(MENU_LOADER_CONF, MENU_ENTRIES);
  pristine = sha256File(img);
  disk = privateCopy(img);
  before = sha256File(disk);
  run = await runQemuInteractive({
    kernel: hostKernel().vmlinuz,
    initrd: initramfs,
    append: 'console=ttyS0 quiet tendril.mode=menu',
    disks: [disk],
    timeoutMs: 300_000,
    until: /TARGET-DONE/,
    logFile: path.join(LOG_DIR, 'menu-qemu.log'),
    steps: [
      // The countdown appears once discovery is complete, with the default (first row) selected.
      { when: /Booting 'Menu alpha' in \d+ s/, send: [KEY.down, 'e'] },
      { when: /editing \S+: Enter boot/, send: [KEY.end, ...' tendril.test=42'.split(''), KEY.enter], gapMs: 150 },
    ],
  });
}, 900_000);

afterAll(() => {
  if (disk) fs.rmSync(path.dirname(disk), { recursive: true, force: true });
});

describe('the boot menu over a serial console', () => {
  it('draws the entries, one row each, and counts down on the default', () => {
    if (!/TARGET-DONE/.test(run.output)) console.error(`${run.text.slice(-4000)}\n--- screen ---\n${run.screen}`);
    // 0 steps: the countdown never became readable. On a serial console that means the tty
    // still has its 0x0 size (blessed then draws 1x1): /init must `stty rows 24 cols 80`.
    expect(run.stepsDone, `menu screen never readable; last screen:\n${run.screen}`).toBe(2);
    const first = run.screens[0] ?? '';
    expect(first).toMatch(/Boot entries/);
    expect(first).toMatch(/^.>\*\s+Menu alpha/m);
    expect(first).toMatch(/^.\s\s\s+Menu beta/m);
    expect(first).toMatch(/^.\s\s\s+Menu gamma/m);
    expect(first).toMatch(/Booting 'Menu alpha' in \d+ s/);
  });

  it('Down + e opens the editor on the second entry with its command line', () => {
    const editor = run.screens[1] ?? '';
    expect(editor).toMatch(/^.>\s+Menu beta/m);
    expect(editor).toMatch(/editing menu-beta\.conf: Enter boot/);
    expect(editor).toMatch(/^ >.*tendril\.row=beta/m);
  });

  it('the edited second entry boots: its own option, ours, and both its initrds', () => {
    const t = targetReport(run.output);
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('tendril.test=42');
    expect(t.cmdline).toContain('tendril.row=beta');
    expect(t.cmdline).not.toContain('tendril.row=alpha');
    expect(t.files['/second-initrd-marker']).toBe('second-piece-arrived');
  });

  it('the disk image is byte-for-byte unchanged', () => {
    expect(sha256File(disk)).toBe(before);
    expect(before).toBe(pristine);
  });
});
