// End-to-end, case 1 and 4 of the boot issue: the product initramfs boots under QEMU (TCG)
// with a BLS disk (ESP with loader.conf + ext4 XBOOTLDR with entries); the default entry
// auto-boots after its timeout, tendril kexecs Debian's kernel with three initrd pieces, and
// the *target* prints its /proc/cmdline and the files each piece carried. The disk's sha256
// is unchanged afterwards.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_DIR, type QemuRun, blsDisk, blsEntry, hostKernel, privateCopy, productInitramfs, runQemu, sha256File } from '../fixtures/boot';

const entries = {
  'target-default.conf': blsEntry({
    title: 'Target default',
    version: '2.0',
    linux: '/vmlinuz',
    initrds: ['/intel-ucode.img', '/initrd-main.img', '/initrd-second.img'],
    options: 'tendril.test=bls-default quiet initrd=\\ignored.img',
  }),
  'target-other.conf': blsEntry({ title: 'Target other', version: '1.0', linux: '/vmlinuz', initrds: ['/initrd-main.img'], options: 'tendril.test=bls-other' }),
};

let run: QemuRun;
let disk: string;
let before: string;
let pristine: string;

beforeAll(async () => {
  const initramfs = productInitramfs();
  const img = blsDisk('timeout 2\ndefault target-default.conf\n', entries);
  pristine = sha256File(img);
  disk = privateCopy(img);
  before = sha256File(disk);
  run = await runQemu({
    kernel: hostKernel().vmlinuz,
    initrd: initramfs,
    append: 'console=ttyS0 quiet tendril.mode=boot',
    disks: [disk],
    timeoutMs: 240_000,
    logFile: path.join(LOG_DIR, 'boot-bls.log'),
  });
}, 900_000);

afterAll(() => {
  if (disk) fs.rmSync(disk, { force: true });
});

describe('BLS default entry boots through kexec', () => {
  it('counts down the loader.conf timeout, then kexecs', () => {
    if (!/TARGET-DONE/.test(run.output)) console.error(run.output.slice(-6000));
    expect(run.timedOut).toBe(false);
    expect(run.output).toMatch(/booting 'Target default[^']*' in 2 s/);
    expect(run.output).toMatch(/loading 'Target default[^']*' \(\S+:\/vmlinuz\) with kexec_file_load/);
  });

  it('the target kernel got the entry options plus our console, minus initrd=', () => {
    const line = /TARGET-CMDLINE: (.*)/.exec(run.output)?.[1]?.trim();
    expect(line).toBeDefined();
    const toks = line!.split(/\s+/);
    expect(toks).toContain('tendril.test=bls-default');
    expect(toks).toContain('quiet');
    // The entry has no console=, so tendril's own (from its /proc/cmdline) is added.
    expect(toks).toContain('console=ttyS0');
    expect(toks.some((t) => t.startsWith('initrd='))).toBe(false);
  });

  it('all three initrd pieces arrived (uncompressed ucode cpio, gzip cpio, plain cpio)', () => {
    expect(run.output).toMatch(/TARGET-BOOTED/);
    expect(run.output).toMatch(/TARGET-FILE \/kernel\/x86\/microcode\/GenuineIntel.bin: ucode-piece-arrived/);
    expect(run.output).toMatch(/TARGET-FILE \/second-initrd-marker: second-piece-arrived/);
  });

  it('the disk image is byte-for-byte unchanged', () => {
    expect(sha256File(disk)).toBe(before);
    expect(before).toBe(pristine);
  });
});
