// End-to-end, case 1 and 4 of the boot issue: the product initramfs boots under QEMU (TCG)
// with a BLS disk (ESP with loader.conf + ext4 XBOOTLDR with entries); the default entry
// auto-boots after its timeout, tendril kexecs Debian's kernel with three initrd pieces, and
// the *target* prints its /proc/cmdline and the files each piece carried. The disk's sha256
// is unchanged afterwards.

import { beforeAll, describe, expect, it } from 'vitest';
import { type E2eBoot, type QemuRun, blsDisk, blsEntry, e2eBoot } from '../fixtures/boot';

const entries = {
  'target-default.conf': blsEntry({
    title: 'Target default',
    version: '2.0',
    linux: '/vmlinuz',
    initrds: ['/intel-ucode.img', '/initrd-main.img', '/initrd-second.img'],
    options: 'tendril.test=bls-default quiet initrd=\\ignored.img',
  }),
  'target-other.conf': blsEntry({
    title: 'Target other',
    version: '1.0',
    linux: '/vmlinuz',
    initrds: ['/initrd-main.img'],
    options: 'tendril.test=bls-other',
  }),
};

let boot: E2eBoot;
let run: QemuRun;

beforeAll(async () => {
  boot = await e2eBoot(blsDisk('timeout 2\ndefault target-default.conf\n', entries), 'boot-bls');
  run = boot.run;
}, 900_000);

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
    expect(boot.after).toBe(boot.before);
    expect(boot.before).toBe(boot.pristine);
  });
});
