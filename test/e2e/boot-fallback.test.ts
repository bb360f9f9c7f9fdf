// End-to-end, cases 3 and 4: the default entry's kernel is corrupt and the next one's initrd
// is missing; tendril shows each error (syscall/probe, errno, hint, file) and boots the next
// bootable entry in menu order. The disk's sha256 is unchanged afterwards.

import { beforeAll, describe, expect, it } from 'vitest';
import { type E2eBoot, type QemuRun, blsDisk, blsEntry, e2eBoot } from '../fixtures/boot';

const corrupt = new Uint8Array(2 << 20).map((_, i) => (i * 2654435761) >>> 24);

const entries = {
  'a-corrupt.conf': blsEntry({
    title: 'A corrupt kernel',
    linux: '/corrupt-vmlinuz',
    initrds: ['/initrd-main.img'],
    options: 'tendril.test=a',
  }),
  'b-noinitrd.conf': blsEntry({
    title: 'B missing initrd',
    linux: '/vmlinuz',
    initrds: ['/initrd-missing.img'],
    options: 'tendril.test=b',
  }),
  'c-good.conf': blsEntry({
    title: 'C good',
    linux: '/vmlinuz',
    initrds: ['/initrd-main.img', '/initrd-second.img'],
    options: 'tendril.test=fallback-good console=ttyS0',
  }),
};

let boot: E2eBoot;
let run: QemuRun;

beforeAll(async () => {
  boot = await e2eBoot(
    blsDisk('timeout 0\ndefault a-corrupt.conf\n', entries, { 'corrupt-vmlinuz': corrupt }),
    'boot-fallback',
  );
  run = boot.run;
}, 900_000);

describe('a broken default falls back to the next entry', () => {
  it('reports the corrupt kernel with the probe detail and the file', () => {
    if (!/TARGET-DONE/.test(run.output)) console.error(run.output.slice(-6000));
    expect(run.timedOut).toBe(false);
    expect(run.output).toMatch(/entry 'a-corrupt.conf': boot failed: probe: ENOEXEC \(8\)/);
    expect(run.output).toMatch(
      /hint: kernel image not loadable by kexec_file_load: \S+:\/corrupt-vmlinuz: not a Linux bzImage/,
    );
  });

  it('reports the missing initrd of the next entry (or skips it as not bootable)', () => {
    const tried = /trying next entry 'b-noinitrd.conf'/.test(run.output);
    if (tried) expect(run.output).toMatch(/initrd \S+:\/initrd-missing.img is missing|entry not bootable/);
    expect(run.output).toMatch(/trying next entry 'c-good.conf'/);
  });

  it('the next good entry boots with its own console and both initrds', () => {
    const line = /TARGET-CMDLINE: (.*)/.exec(run.output)?.[1]?.trim() ?? '';
    expect(line.split(/\s+/)).toContain('tendril.test=fallback-good');
    expect(line.match(/console=/g)).toHaveLength(1);
    expect(run.output).toMatch(/TARGET-FILE \/second-initrd-marker: second-piece-arrived/);
  });

  it('the disk image is byte-for-byte unchanged', () => {
    expect(boot.after).toBe(boot.before);
    expect(boot.before).toBe(boot.pristine);
  });
});
