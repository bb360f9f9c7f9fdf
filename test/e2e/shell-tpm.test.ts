// End to end, /init's own rescue shell under measured boot (docs/measured-boot.md §2): with
// `tendril.mode=shell`, /init runs `tendril tpm recovery` before the shell. In the shell PCR 4
// must read the firmware's PCR 4 extended once with "tendril-recovery", a second `tendril tpm
// recovery` must not extend it again, and /run/tendril's log must replay to it.

import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { EV_ACTION, parseEventLog } from '../../src/tpm/eventlog';
import { LOG_DIR, productInitramfs } from '../fixtures/boot';
import { type InteractiveRun, runQemuInteractive } from '../fixtures/qemu-interactive';
import { type QemuTpm, eventlogReplay, odBytes, swtpmForQemu } from '../fixtures/swtpm';

let run: InteractiveRun;
let tpm: QemuTpm;

const FW = '/sys/kernel/security/tpm0/binary_bios_measurements';
const PCR4 = '/sys/class/tpm/tpm0/pcr-sha256/4';

beforeAll(async () => {
  const initramfs = productInitramfs();
  tpm = await swtpmForQemu('sha256');
  run = await runQemuInteractive({
    kernel: hostKernel().vmlinuz,
    initrd: initramfs,
    append: 'console=ttyS0 quiet tendril.mode=shell',
    disks: [],
    timeoutMs: 300_000,
    until: /^SHELL-END\r?$/m,
    logFile: path.join(LOG_DIR, 'shell-tpm.log'),
    extra: tpm.extra,
    steps: [
      {
        when: /rescue shell \(exit it to try tendril again\)/,
        send: [
          `mount -t securityfs s /sys/kernel/security; od -An -v -tx1 ${FW} | sed 's/^/FWLOG /'\r`,
          `echo "FIRST-PCR4 $(cat ${PCR4})"; node /tendril.js tpm recovery; echo "SECOND-PCR4 $(cat ${PCR4})"\r`,
          `od -An -v -tx1 /run/tendril/tpm-eventlog.bin | sed 's/^/RUNLOG /'; echo SHELL-""END\r`,
        ],
        delayMs: 2000,
        gapMs: 3000,
      },
    ],
  });
}, 900_000);

afterAll(() => tpm?.stop());

const sha = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest();

describe("/init's rescue shell extends PCR 4 first, once", () => {
  it('PCR 4 in the shell = the firmware PCR 4 extended with "tendril-recovery"; a second call changes nothing', () => {
    if (!/^SHELL-END\r?$/m.test(run.output)) console.error(run.text.slice(-4000));
    const fw = eventlogReplay(odBytes(run.output, 'FWLOG'));
    expect(fw.status).toBe(0);
    const want = sha(Buffer.concat([Buffer.from(fw.pcrs.sha256![4]!, 'hex'), sha('tendril-recovery')])).toString('hex');
    expect(/^FIRST-PCR4 ([0-9A-F]{64})\r?$/m.exec(run.output)![1]!.toLowerCase()).toBe(want);
    expect(/^SECOND-PCR4 ([0-9A-F]{64})\r?$/m.exec(run.output)![1]!.toLowerCase()).toBe(want);
  });

  it("/run/tendril's log holds the one EV_ACTION event and replays to PCR 4's increment", () => {
    const log = odBytes(run.output, 'RUNLOG');
    const events = parseEventLog(log).events;
    expect(events.map((e) => [e.pcr, e.type, Buffer.from(e.data).toString()])).toEqual([
      [4, EV_ACTION, 'tendril-recovery'],
    ]);
    const r = eventlogReplay(log);
    expect(r.status).toBe(0);
    // Replayed from zero: H(0 || H("tendril-recovery")).
    expect(r.pcrs.sha256![4]).toBe(sha(Buffer.concat([Buffer.alloc(32), sha('tendril-recovery')])).toString('hex'));
  });
});
