// End to end, /init's drivers by device (initramfs/README.md, "Drivers by device"): the product
// initramfs loads only the drivers whose aliases match the machine's devices, again as buses
// gain devices, and after the boot's coldplug through a uevent listener. A disk on USB needs the
// whole chain: the xHCI controller (PCI) → its USB device → usb-storage → the SCSI disk → sd_mod.
//  - at power-on: the BLS disk is a USB stick on QEMU's xHCI, the only disk; its default entry
//    boots by kexec;
//  - plugged in at the menu: the machine starts with no disk (so no usb-storage or sd_mod is
//    loaded), the stick is added on QEMU's monitor while the menu shows no entries, `r` rescans,
//    and its default entry boots.
// Both disks' bytes are unchanged afterwards.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import {
  LOG_DIR,
  blsDisk,
  blsEntry,
  privateCopy,
  productInitramfs,
  runQemu,
  sha256File,
  targetReport,
  type QemuRun,
} from '../fixtures/boot';
import { hmp } from '../fixtures/qemu-monitor';
import { type InteractiveRun, KEY, runQemuInteractive } from '../fixtures/qemu-interactive';

const ENTRIES = {
  'usb-stick.conf': blsEntry({
    title: 'USB stick',
    linux: '/vmlinuz',
    initrds: ['/initrd-main.img'],
    options: 'tendril.test=usb-stick',
  }),
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-usb-e2e-'));
const monitor = path.join(dir, 'hmp.sock');
let coldDisk: string;
let hotDisk: string;
let pristine: string;
let cold: QemuRun;
let hot: InteractiveRun;

/** QEMU's xHCI controller, with the image as a USB stick on it when `disk` is given. */
const xhci = (disk?: string): string[] => [
  '-device',
  'qemu-xhci,id=xhci',
  ...(disk
    ? ['-drive', `if=none,id=stick,format=raw,file=${disk}`, '-device', 'usb-storage,bus=xhci.0,drive=stick']
    : []),
];

beforeAll(async () => {
  const initramfs = productInitramfs();
  const img = blsDisk('timeout 1\ndefault usb-stick.conf\n', ENTRIES);
  pristine = sha256File(img);
  coldDisk = privateCopy(img);
  hotDisk = privateCopy(img);
  const kernel = hostKernel().vmlinuz;
  [cold, hot] = await Promise.all([
    runQemu({
      kernel,
      initrd: initramfs,
      append: 'console=ttyS0 quiet tendril.mode=boot',
      disks: [],
      extra: xhci(coldDisk),
      timeoutMs: 600_000,
      until: /TARGET-DONE/,
      logFile: path.join(LOG_DIR, 'boot-usb-cold.log'),
    }),
    runQemuInteractive({
      kernel,
      initrd: initramfs,
      append: 'console=ttyS0 quiet tendril.mode=menu',
      disks: [],
      extra: [...xhci(), '-monitor', `unix:${monitor},server,nowait`],
      timeoutMs: 600_000,
      until: /TARGET-DONE/,
      logFile: path.join(LOG_DIR, 'boot-usb-hotplug.log'),
      steps: [
        {
          // The menu is up with nothing to boot: plug the stick in, give the kernel and the
          // uevent listener time to load usb-storage and sd_mod, then rescan.
          when: /no boot entries found/,
          before: async () => {
            await hmp(monitor, `drive_add 0 if=none,id=stick,format=raw,file=${hotDisk}`);
            await hmp(monitor, 'device_add usb-storage,bus=xhci.0,drive=stick,id=stick0');
          },
          delayMs: 20_000,
          send: 'r',
        },
        // A slow guest may not have had the disk yet at the first rescan: once more (a rescan
        // does not count down again, so the entry is chosen with Enter).
        { when: /no boot entries found|USB stick/, delayMs: 5_000, send: 'r' },
        { when: /USB stick/, delayMs: 3_000, send: KEY.enter },
      ],
    }),
  ]);
}, 1_200_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('drivers by device: a USB stick on xHCI', () => {
  it('present at power-on: its default entry boots by kexec', () => {
    const r = targetReport(cold.output);
    expect(r.booted, cold.output.slice(-4000)).toBe(true);
    expect(r.cmdline).toContain('tendril.test=usb-stick');
    expect(cold.output).toMatch(/loading 'USB stick' \(\S+:\/vmlinuz\) with kexec_file_load/);
    expect(sha256File(coldDisk)).toBe(pristine);
  });

  it('plugged in at the menu: the uevent listener loads its drivers, a rescan finds it, it boots', () => {
    expect(hot.stepsDone, `${hot.text.slice(-3000)}\n--- screen ---\n${hot.screen}`).toBe(3);
    const r = targetReport(hot.output);
    expect(r.booted, hot.text.slice(-3000)).toBe(true);
    expect(r.cmdline).toContain('tendril.test=usb-stick');
    expect(sha256File(hotDisk)).toBe(pristine);
  });
});
