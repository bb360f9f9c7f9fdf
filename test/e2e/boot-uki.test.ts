// End-to-end, case 2 (UKI): an ESP with /EFI/Linux/target.efi (systemd stub + Debian's kernel
// + .ucode + .initrd + .cmdline, built by objcopy) and a per-UKI add-on carrying a second
// initrd and a cmdline fragment; tendril splits it per docs/bls.md §10.6 and kexecs the parts.
import { beforeAll, describe, expect, it } from 'vitest';
import { type E2eBoot, e2eBoot, targetInitrds, targetReport } from '../fixtures/boot';
import { buildGptDisk } from '../fixtures/images';
import { buildAddon, buildUki } from '../fixtures/uki';

let r: E2eBoot;
beforeAll(async () => {
  const t = targetInitrds();
  const uki = buildUki({
    osrel: 'NAME=Target\nID=target\nVERSION_ID=1\nPRETTY_NAME="UKI target"\n',
    cmdline: 'tendril.test=uki-entry',
    ucode: t.ucode,
    initrd: t.main,
  });
  const addon = buildAddon({ cmdline: 'uki.addon=yes', initrd: t.second });
  const img = buildGptDisk([
    {
      type: 'esp',
      sizeMiB: 48,
      fs: {
        kind: 'vfat',
        label: 'ESP',
        files: {
          'loader/loader.conf': 'timeout 1\n',
          'EFI/Linux/target.efi': { copyOf: uki },
          'EFI/Linux/target.efi.extra.d/second.addon.efi': { copyOf: addon },
        },
      },
    },
  ]);
  r = await e2eBoot(img, 'boot-uki');
}, 900_000);

describe('a UKI boots through kexec of its parts', () => {
  it('.cmdline + add-on cmdline, .ucode + .initrd + add-on .initrd all arrive', () => {
    const t = targetReport(r.run.output);
    if (!t.booted) console.error(r.run.output.slice(-6000));
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('tendril.test=uki-entry');
    expect(t.cmdline).toContain('uki.addon=yes');
    expect(t.files['/kernel/x86/microcode/GenuineIntel.bin']).toBe('ucode-piece-arrived');
    expect(t.files['/second-initrd-marker']).toBe('second-piece-arrived');
  });
  it('the disk image is byte-for-byte unchanged', () => {
    expect(r.after).toBe(r.before);
    expect(r.before).toBe(r.pristine);
  });
});
