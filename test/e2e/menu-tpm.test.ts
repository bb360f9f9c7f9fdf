// End to end, measured boot in the menu (docs/measured-boot.md §2): QEMU (TCG) with swtpm runs the
// product initramfs's menu on the serial console. We open the rescue shell (`s`), read PCR 4 there,
// leave it, open the editor on the second entry (`e`), add an argument and boot. PCR 4 must have
// been extended with "tendril-recovery" before the shell ran, and only once for shell + editor;
// PCR 8 must cover the edited command line; the log piece replays to the target's PCRs.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { EV_ACTION, parseEventLog } from '../../src/tpm/eventlog';
import { LOG_DIR, blsDisk, privateCopy, productInitramfs, sha256File, targetReport } from '../fixtures/boot';
import { MENU_ENTRIES, MENU_LOADER_CONF } from '../fixtures/boot-formats';
import { type InteractiveRun, KEY, runQemuInteractive } from '../fixtures/qemu-interactive';
import { type QemuTpm, eventlogReplay, odBytes, swtpmForQemu, targetPcrs } from '../fixtures/swtpm';

let run: InteractiveRun;
let tpm: QemuTpm;
let disk: string;
let pristine: string;
let before: string;

const sha = (alg: string, b: Uint8Array | string): Buffer => createHash(alg).update(b).digest();
const extend = (alg: string, old: string, data: Uint8Array | string): string =>
  sha(alg, Buffer.concat([Buffer.from(old, 'hex'), sha(alg, data)])).toString('hex');

beforeAll(async () => {
  const initramfs = productInitramfs();
  const img = blsDisk(MENU_LOADER_CONF, MENU_ENTRIES);
  pristine = sha256File(img);
  disk = privateCopy(img);
  before = sha256File(disk);
  tpm = await swtpmForQemu('sha256');
  run = await runQemuInteractive({
    kernel: hostKernel().vmlinuz,
    initrd: initramfs,
    append: 'console=ttyS0 quiet tendril.mode=menu',
    disks: [disk],
    timeoutMs: 400_000,
    until: /TARGET-DONE/,
    logFile: path.join(LOG_DIR, 'menu-tpm.log'),
    extra: tpm.extra,
    steps: [
      { when: /Booting 'Menu alpha' in \d+ s/, send: 's' },
      {
        when: /tendril rescue shell; exit to return to the menu/,
        send: ['echo "SHELL-PCR4 $(cat /sys/class/tpm/tpm0/pcr-sha256/4)"\r'],
        delayMs: 1500,
      },
      { when: /SHELL-PCR4 [0-9A-F]{64}/, send: ['exit\r'] },
      { when: /Menu gamma/, send: [KEY.down, 'e'], delayMs: 1500 },
      { when: /editing \S+: Enter boot/, send: [KEY.end, ...' tendril.test=edited'.split(''), KEY.enter], gapMs: 150 },
    ],
  });
}, 900_000);

afterAll(() => {
  tpm?.stop();
  if (disk) fs.rmSync(path.dirname(disk), { recursive: true, force: true });
});

describe('the menu extends PCR 4 before the rescue shell and the editor, once', () => {
  it('went through shell and editor to the target', () => {
    if (!/TARGET-DONE/.test(run.output)) console.error(`${run.text.slice(-4000)}\n--- screen ---\n${run.screen}`);
    expect(run.stepsDone).toBe(5);
    expect(targetReport(run.output).booted).toBe(true);
  });

  it('PCR 4 in the shell and in the target = the firmware PCR 4 extended once with "tendril-recovery"', () => {
    const fw = eventlogReplay(odBytes(run.output, 'TARGET-FWLOG'));
    expect(fw.status).toBe(0);
    const want = extend('sha256', fw.pcrs.sha256![4]!, 'tendril-recovery');
    expect(/SHELL-PCR4 ([0-9A-F]{64})/.exec(run.text)![1]!.toLowerCase()).toBe(want);
    expect(targetPcrs(run.output).sha256![4]).toBe(want);
    // Twice (shell and editor) would be another value.
    expect(extend('sha256', want, 'tendril-recovery')).not.toBe(want);
  });

  it('PCR 8 covers the edited command line; the log holds the recovery event first and replays', () => {
    const line = /^TARGET-CMDLINE: (.*?)\r?$/m.exec(run.output)![1]!;
    expect(line.split(' ')).toContain('tendril.test=edited');
    const pcrs = targetPcrs(run.output);
    expect(pcrs.sha256![8]).toBe(extend('sha256', '00'.repeat(32), line));
    const log = odBytes(run.output, 'TARGET-EVENTLOG');
    const events = parseEventLog(log).events;
    expect(events.map((e) => e.pcr)).toEqual([4, 5, 9, 9, 9, 8]);
    expect([events[0]!.type, Buffer.from(events[0]!.data).toString()]).toEqual([EV_ACTION, 'tendril-recovery']);
    const r = eventlogReplay(log);
    expect(r.status).toBe(0);
    expect(r.pcrs.sha256![8]).toBe(pcrs.sha256![8]);
    expect(r.pcrs.sha256![9]).toBe(pcrs.sha256![9]);
  });

  it('the disk image is byte-for-byte unchanged', () => {
    expect(sha256File(disk)).toBe(before);
    expect(before).toBe(pristine);
  });
});
