// Boot-file classification (docs/net-bootfiles.md §2) on real files: the host's bzImage, a UKI
// and an EFI program built from systemd's stub and boot loader, an iPXE script, PXELINUX by name
// and by content, and files tendril cannot boot with their reason.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { classifyBootFile } from '../../../src/net/classify';
import { buildUki } from '../../fixtures/uki';
import { tinyBzImage } from './memfetch';

const read = (p: string) => new Uint8Array(fs.readFileSync(p));
const U = 'tftp://192.0.2.1/boot/';

describe('classifyBootFile', () => {
  it('the host kernel is a bzImage, with its version', () => {
    const k = hostKernel();
    const c = classifyBootFile(`${U}vmlinuz`, read(k.vmlinuz));
    expect(c.kind).toBe('bzimage');
    expect(c.kind === 'bzimage' && c.version).toContain(k.version);
  });
  it('a PE with .linux is a UKI (even though the kernel inside has HdrS)', () => {
    const uki = buildUki({ osrel: 'ID=test\nVERSION_ID=1\n', cmdline: 'quiet', linux: { file: hostKernel().vmlinuz } });
    expect(classifyBootFile(`${U}linux.efi`, read(uki))).toEqual({ kind: 'uki' });
  });
  it('an x86_64 EFI program without .linux goes to the VM path', () => {
    expect(classifyBootFile(`${U}bootx64.efi`, read('/usr/lib/systemd/boot/efi/systemd-bootx64.efi'))).toEqual({
      kind: 'efi',
      flavour: 'other',
    });
  });
  it('#!ipxe or #!gpxe and a blank start a script, case-sensitive as the iPXE probe; "#!ipxe2" and "#!iPXE" do not', () => {
    const c = (t: string) => classifyBootFile(`${U}x`, new TextEncoder().encode(t)).kind;
    expect(c('#!ipxe\nboot\n')).toBe('ipxe-script');
    expect(c('#!ipxe\r\n')).toBe('ipxe-script');
    expect(c('#!gpxe boot\n')).toBe('ipxe-script');
    expect(c('#!ipxe2\n')).toBe('unknown');
    expect(c('#!iPXE\n')).toBe('unknown');
    expect(c('#!ipxe')).toBe('unknown');
  });
  it('PXELINUX by name (pxelinux.0, lpxelinux.0) or by its banner', () => {
    expect(classifyBootFile(`${U}lpxelinux.0`, new Uint8Array(100))).toEqual({ kind: 'pxelinux', name: 'lpxelinux.0' });
    const banner = new Uint8Array(
      Buffer.concat([Buffer.alloc(300), Buffer.from('PXELINUX 6.04 lwIP'), Buffer.alloc(300)]),
    );
    expect(classifyBootFile(`${U}nbp`, banner).kind).toBe('pxelinux');
  });
  it('the tiny synthetic bzImage the other tests use is a bzImage', () => {
    expect(classifyBootFile(`${U}k`, tinyBzImage())).toEqual({ kind: 'bzimage' });
  });
  it.each([
    ['an ELF vmlinux', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(2000)]), /ELF file/],
    ['a gzip file', Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(2000)]), /gzip/],
    ['a BIOS iPXE NBP', Buffer.alloc(2000), /BIOS PXE program/, 'undionly.kpxe'],
    [
      'an MZ stub that is not PE',
      Buffer.concat([Buffer.from('MZ'), Buffer.alloc(2000)]),
      /MZ file that is not a usable PE image/,
    ],
    ['text', Buffer.from('hello world\n'), /12 bytes that are neither/],
  ])('%s is refused with a reason', (_n, bytes, why, name = 'file') => {
    const c = classifyBootFile(`${U}${name}`, new Uint8Array(bytes));
    expect(c.kind).toBe('unknown');
    expect(c.kind === 'unknown' && c.reason).toMatch(why);
  });
});
