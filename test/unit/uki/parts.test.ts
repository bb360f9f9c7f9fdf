// The kexec split of real UKIs (docs/bls.md §10.5, §10.6): kernel bytes, initrd part order
// (add-on .ucode reversed, UKI .ucode, UKI .initrd, add-on .initrd), cmdline assembly and
// add-on rejection (foreign Machine, .uname mismatch, .linux inside).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import type { FileSystem } from '../../../src/discovery/fs/types';
import { type FileRange, composeUkiCmdline, ukiBootParts, ukiSectionRange } from '../../../src/discovery/uki/parts';
import { PE_MACHINE, PeError } from '../../../src/discovery/uki/pe';
import { KERNEL, buildAddon, buildUki, fakeKernel, kernelRelease, withMachine } from '../../fixtures/uki';

let dir: string;
let hfs: FileSystem;
const U = kernelRelease();

async function bytesOf(r: FileRange): Promise<Buffer> {
  const h = await r.fs.open(r.path);
  try {
    return Buffer.from(await h.read(r.offset, r.length));
  } finally {
    await h.close();
  }
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-parts-'));
  const place = (rel: string, file: string): void => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.copyFileSync(file, path.join(dir, rel));
  };
  place(
    'uki.efi',
    buildUki({
      osrel: 'NAME=Debian\nVERSION_ID=12\n',
      cmdline: 'root=/dev/vda2 quiet\n',
      uname: U + '\n',
      ucode: 'UKI-UCODE',
      initrd: 'UKI-INITRD',
      extra: [
        { name: '.profile', data: 'ID=main\n' },
        { name: '.profile', data: 'ID=rescue\n' },
        { name: '.cmdline', data: 'root=/dev/vda2 rescue' },
        { name: '.initrd', data: 'RESCUE-INITRD' },
      ],
    }),
  );
  place('g1.addon.efi', buildAddon({ cmdline: 'g1=1', ucode: 'G1-UCODE', initrd: 'G1-INITRD' }));
  place('g2.addon.efi', buildAddon({ ucode: 'G2-UCODE', uname: U }));
  place('p1.addon.efi', buildAddon({ cmdline: ' p1=1\n', initrd: 'P1-INITRD', uname: U }));
  place('mismatch.addon.efi', buildAddon({ cmdline: 'mismatch=1', uname: '5.10.0-1-amd64' }));
  place('arm.addon.efi', withMachine(buildAddon({ cmdline: 'arm=1' }), PE_MACHINE.aa64));
  place('kernel.addon.efi', buildUki({ osrel: 'NAME=x\nVERSION=1\n', cmdline: 'kernel=1', linux: fakeKernel() }));
  place('empty.addon.efi', buildAddon({ uname: U }));
  place('other-fs/o.addon.efi', buildAddon({ cmdline: 'other=1' }));
  hfs = new HostDirFileSystem(dir);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('ukiBootParts', () => {
  it('kernel is the exact Debian bzImage; initrd order and cmdline follow systemd-stub', async () => {
    const addons = [
      '/g1.addon.efi',
      '/g2.addon.efi',
      '/mismatch.addon.efi',
      '/arm.addon.efi',
      '/kernel.addon.efi',
      '/empty.addon.efi',
      '/p1.addon.efi',
    ];
    const p = await ukiBootParts(hfs, '/uki.efi', 0, addons, { fsId: 'img:1' });
    const kernel = await bytesOf(p.kernel);
    const want = createHash('sha256').update(fs.readFileSync(KERNEL)).digest('hex');
    expect(createHash('sha256').update(kernel).digest('hex')).toBe(want);
    expect(p.kernel).toMatchObject({ path: '/uki.efi', section: '.linux', fsId: 'img:1' });

    const parts = await Promise.all(p.initrdParts.map(async (r) => (await bytesOf(r)).toString()));
    expect(parts).toEqual(['G2-UCODE', 'G1-UCODE', 'UKI-UCODE', 'UKI-INITRD', 'G1-INITRD', 'P1-INITRD']);
    expect(p.initrdParts.map((r) => r.path)).toEqual([
      '/g2.addon.efi',
      '/g1.addon.efi',
      '/uki.efi',
      '/uki.efi',
      '/g1.addon.efi',
      '/p1.addon.efi',
    ]);

    expect(p.embeddedCmdline).toBe('root=/dev/vda2 quiet');
    expect(p.addonCmdline).toBe('g1=1 p1=1');
    expect(p.cmdline).toBe('root=/dev/vda2 quiet g1=1 p1=1');
    expect(p.uname).toBe(U);
    expect(p.profileCount).toBe(2);
    expect(p.appliedAddons).toEqual(['/g1.addon.efi', '/g2.addon.efi', '/p1.addon.efi']);
    const skipped = Object.fromEntries(p.skippedAddons.map((s) => [s.path, s.reason]));
    expect(Object.keys(skipped).sort()).toEqual([
      '/arm.addon.efi',
      '/empty.addon.efi',
      '/kernel.addon.efi',
      '/mismatch.addon.efi',
    ]);
    expect(skipped['/arm.addon.efi']).toMatch(/Machine 0xaa64 is not the native 0x8664/);
    expect(skipped['/mismatch.addon.efi']).toMatch(/\.uname '5\.10\.0-1-amd64' does not match/);
    expect(skipped['/kernel.addon.efi']).toMatch(/contains \.linux/);
    expect(skipped['/empty.addon.efi']).toMatch(/no \.cmdline/);
  });

  it('profile 1 overrides .cmdline and .initrd and inherits .ucode and .uname', async () => {
    const p = await ukiBootParts(hfs, '/uki.efi', 1, []);
    expect(p.embeddedCmdline).toBe('root=/dev/vda2 rescue');
    expect(await Promise.all(p.initrdParts.map(async (r) => (await bytesOf(r)).toString()))).toEqual([
      'UKI-UCODE',
      'RESCUE-INITRD',
    ]);
    expect(p.uname).toBe(U);
  });

  it('add-ons on another filesystem are read from there', async () => {
    const other = new HostDirFileSystem(path.join(dir, 'other-fs'));
    const p = await ukiBootParts(hfs, '/uki.efi', 0, [{ fs: other, path: '/o.addon.efi', fsId: 'img:2' }]);
    expect(p.cmdline).toBe('root=/dev/vda2 quiet other=1');
  });

  it('a missing profile or a missing add-on is reported', async () => {
    await expect(ukiBootParts(hfs, '/uki.efi', 2, [])).rejects.toThrow(PeError);
    const p = await ukiBootParts(hfs, '/uki.efi', 0, ['/nope.addon.efi']);
    expect(p.skippedAddons[0]!.reason).toMatch(/ENOENT/);
  });

  it('an add-on is not a UKI and a UKI must be native', async () => {
    await expect(ukiBootParts(hfs, '/g1.addon.efi', 0, [])).rejects.toThrow(/no \(or an empty\) \.linux/);
    await expect(ukiBootParts(hfs, '/arm.addon.efi', 0, [])).rejects.toThrow(/Machine/);
  });

  it('composeUkiCmdline: options replace .cmdline, add-ons appended; locked keeps .cmdline', async () => {
    const p = await ukiBootParts(hfs, '/uki.efi', 0, ['/g1.addon.efi']);
    expect(composeUkiCmdline(p)).toBe('root=/dev/vda2 quiet g1=1');
    expect(composeUkiCmdline(p, 'root=/dev/sdb1 single')).toBe('root=/dev/sdb1 single g1=1');
    expect(composeUkiCmdline(p, '   ')).toBe('root=/dev/vda2 quiet g1=1');
    expect(composeUkiCmdline(p, 'root=/dev/sdb1', true)).toBe('root=/dev/vda2 quiet g1=1');
  });

  it('ukiSectionRange finds base and profile sections', async () => {
    const r0 = await ukiSectionRange(hfs, '/uki.efi', '.initrd', 0);
    const r1 = await ukiSectionRange(hfs, '/uki.efi', '.initrd', 1);
    expect((await bytesOf(r0!)).toString()).toBe('UKI-INITRD');
    expect((await bytesOf(r1!)).toString()).toBe('RESCUE-INITRD');
    expect(await ukiSectionRange(hfs, '/uki.efi', '.dtb')).toBeUndefined();
  });
});
