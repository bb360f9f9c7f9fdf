// End-to-end, case 2 (sprout): an ESP with sprout.toml (static entry, chainload action with
// linux-initrd); tendril boots its default-entry by kexec and the target reports its cmdline.
import { beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { type E2eBoot, e2eBoot, targetInitrds, targetReport } from '../fixtures/boot';
import { buildGptDisk } from '../fixtures/images';

let r: E2eBoot;
beforeAll(async () => {
  const t = targetInitrds();
  const toml = [
    'version = 1',
    '[options]',
    'default-entry = "target"',
    'menu-timeout = 1',
    '[values]',
    'cmdline = "tendril.test=sprout-entry"',
    '[actions.boot-target]',
    'chainload.path = "\\\\vmlinuz"',
    'chainload.options = ["$cmdline", "console=ttyS0"]',
    'chainload.linux-initrd = "\\\\initrd-main.img"',
    '[actions.boot-other]',
    'chainload.path = "\\\\vmlinuz"',
    'chainload.options = ["tendril.test=sprout-other"]',
    '[entries.other]',
    'title = "Sprout other"',
    'sort-key = "1"',
    'actions = ["boot-other"]',
    '[entries.target]',
    'title = "Sprout target"',
    'sort-key = "2"',
    'actions = ["boot-target"]',
    '',
  ].join('\n');
  const img = buildGptDisk([
    {
      type: 'esp',
      sizeMiB: 40,
      fs: {
        kind: 'vfat',
        label: 'ESP',
        files: { 'sprout.toml': toml, vmlinuz: { copyOf: hostKernel().vmlinuz }, 'initrd-main.img': t.main },
      },
    },
  ]);
  r = await e2eBoot(img, 'boot-sprout');
}, 900_000);

describe('sprout.toml default entry boots through kexec', () => {
  it('boots default-entry with the stamped options and its initrd', () => {
    const t = targetReport(r.run.output);
    if (!t.booted) console.error(r.run.output.slice(-6000));
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('tendril.test=sprout-entry');
    expect(t.cmdline.filter((x) => x.startsWith('console='))).toEqual(['console=ttyS0']);
  });
  it('the disk image is byte-for-byte unchanged', () => {
    expect(r.after).toBe(r.before);
    expect(r.before).toBe(r.pristine);
  });
});
