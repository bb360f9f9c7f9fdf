// End to end, measured boot (issue 14, "Measurement"; docs/measured-boot.md): QEMU (TCG) with a
// software TPM (swtpm, SHA-1 and SHA-256 banks, on tpm-crb) boots the product initramfs with a BLS
// disk; tendril measures and kexecs the default entry; the target kernel prints its PCRs from
// /sys/class/tpm/tpm0 and the event log piece it received. The PCR values must equal the extend
// chains computed here from the disk's files and the command line the target got (from zero:
// SeaBIOS and `-kernel` touch no PCR above 7, which the firmware's own log confirms), and the log
// must replay to them under tpm2_eventlog. A wrong order or a wrong byte changes the values.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { parseEventLog } from '../../src/tpm/eventlog';
import {
  LOG_DIR,
  type QemuRun,
  blsDisk,
  blsEntry,
  privateCopy,
  productInitramfs,
  runQemu,
  sha256File,
  targetInitrds,
  targetReport,
} from '../fixtures/boot';
import { type QemuTpm, eventlogReplay, odBytes, swtpmForQemu, targetPcrs as pcrs } from '../fixtures/swtpm';

const ENTRY = blsEntry({
  title: 'Measured',
  version: '1.0',
  linux: '/vmlinuz',
  initrds: ['/intel-ucode.img', '/initrd-main.img', '/initrd-second.img'],
  options: 'tendril.test=tpm quiet',
});

const sha = (alg: string, b: Uint8Array | string): Buffer => createHash(alg).update(b).digest();
const chain = (alg: string, parts: (Uint8Array | string)[]): string =>
  parts
    .reduce<Buffer>((v, p) => sha(alg, Buffer.concat([v, sha(alg, p)])), Buffer.alloc(alg === 'sha1' ? 20 : 32))
    .toString('hex');

let run: QemuRun;
let tpm: QemuTpm;
let pristine: string;
let before: string;
let after: string;

beforeAll(async () => {
  const img = blsDisk('timeout 1\ndefault measured.conf\n', { 'measured.conf': ENTRY });
  const initramfs = productInitramfs();
  tpm = await swtpmForQemu('sha1,sha256');
  pristine = sha256File(img);
  const disk = privateCopy(img);
  before = sha256File(disk);
  run = await runQemu({
    kernel: hostKernel().vmlinuz,
    initrd: initramfs,
    append: 'console=ttyS0 quiet tendril.mode=boot',
    disks: [disk],
    timeoutMs: 300_000,
    logFile: path.join(LOG_DIR, 'boot-tpm.log'),
    extra: tpm.extra,
  });
  after = sha256File(disk);
  fs.rmSync(path.dirname(disk), { recursive: true, force: true });
}, 900_000);

afterAll(() => tpm?.stop());

describe('a measured boot under QEMU with swtpm', () => {
  it('tendril measured and kexecd the entry; the target booted with the TPM', () => {
    if (!/TARGET-DONE/.test(run.output)) console.error(run.output.slice(-6000));
    expect(run.timedOut).toBe(false);
    expect(run.output).toMatch(/loaded kernel \d+ \+ initrd \d+ bytes via memfd in \d+ ms \(measured\)/);
    expect(targetReport(run.output).booted).toBe(true);
    expect(pcrs(run.output).sha256?.[9]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('PCR 9 (both banks) = kernel, then each initrd in the order passed, from zero', () => {
    const t = targetInitrds();
    const files = [fs.readFileSync(hostKernel().vmlinuz), t.ucode, t.main, t.second];
    const got = pcrs(run.output);
    expect(got.sha256![9]).toBe(chain('sha256', files));
    expect(got.sha1![9]).toBe(chain('sha1', files));
    // The oracle can fail: another order (or a file missing) is another value.
    expect(chain('sha256', [files[0]!, t.main, t.ucode, t.second])).not.toBe(got.sha256![9]);
    expect(chain('sha256', files.slice(0, 3))).not.toBe(got.sha256![9]);
  });

  it('PCR 8 (both banks) = the exact command line the target received', () => {
    const line = /^TARGET-CMDLINE: (.*?)\r?$/m.exec(run.output)![1]!;
    expect(line.split(' ')).toEqual(['tendril.test=tpm', 'quiet', 'console=ttyS0']);
    const got = pcrs(run.output);
    expect(got.sha256![8]).toBe(chain('sha256', [line]));
    expect(got.sha1![8]).toBe(chain('sha1', [line]));
    expect(chain('sha256', [`${line}\0`])).not.toBe(got.sha256![8]);
  });

  it('the event log piece arrived intact and replays (tpm2_eventlog) to the PCR values', () => {
    const log = odBytes(run.output, 'TARGET-EVENTLOG');
    expect(log.length).toBeGreaterThan(0);
    expect(/^TARGET-EVENTLOG-SHA256 ([0-9a-f]{64}) /m.exec(run.output)![1]).toBe(sha('sha256', log).toString('hex'));
    const events = parseEventLog(log).events;
    expect(events.map((e) => e.pcr)).toEqual([5, 9, 9, 9, 9, 8]);
    expect(Buffer.from(events[0]!.data).toString()).toMatch(
      /^tendril_config: \S+:\/loader\/entries\/measured\.conf\0$/,
    );
    const r = eventlogReplay(log);
    expect(r.status).toBe(0);
    const got = pcrs(run.output);
    for (const bank of ['sha1', 'sha256']) for (const p of [8, 9]) expect(r.pcrs[bank]![p]).toBe(got[bank]![p]);
    expect(r.stderr).not.toMatch(/does not match/);
  });

  it("PCR 5 = the firmware's PCR 5 extended with the entry's BLS file; PCR 4 untouched (no shell, no editor)", () => {
    const fw = odBytes(run.output, 'TARGET-FWLOG');
    expect(fw.length).toBeGreaterThan(0);
    const f = eventlogReplay(fw);
    expect(f.status).toBe(0);
    // SeaBIOS measured nothing above PCR 7: PCR 8 and 9 started at zero.
    expect(
      Object.keys(f.pcrs.sha256 ?? {})
        .map(Number)
        .filter((p) => p > 7),
    ).toEqual([]);
    const got = pcrs(run.output);
    for (const bank of ['sha1', 'sha256']) {
      const fw5 = Buffer.from(f.pcrs[bank]![5]!, 'hex');
      expect(got[bank]![5]).toBe(sha(bank, Buffer.concat([fw5, sha(bank, ENTRY)])).toString('hex'));
      expect(got[bank]![4]).toBe(f.pcrs[bank]![4]);
    }
  });

  it('the disk image is byte-for-byte unchanged', () => {
    expect(after).toBe(before);
    expect(before).toBe(pristine);
  });
});
