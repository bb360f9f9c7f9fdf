// ukiSource over real ESP/XBOOTLDR trees (HostDirFileSystem on a tmp dir with objcopy-built
// UKIs): which files count, boot-counted names, one entry per profile, add-on order (global
// from the ESP, then per-UKI), rejected add-ons and skipped UKIs reported by file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../src/discovery/diagnostics';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import type { FsReport, SourceEntry, UkiTarget } from '../../../src/discovery/model';
import type { MountedFs, SourceContext, SourceResult } from '../../../src/discovery/sources/context';
import { ukiSource } from '../../../src/discovery/sources/uki';
import { ukiBootParts } from '../../../src/discovery/uki/parts';
import { PE_MACHINE } from '../../../src/discovery/uki/pe';
import { buildAddon, buildUki, fakeKernel, kernelRelease, withMachine } from '../../fixtures/uki';
import { targetOf } from '../../fixtures/status';

const U = kernelRelease();
const OSREL = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID=12\nID=debian\n';
let root: string;
let result: SourceResult;
let ctx: SourceContext;

function place(rel: string, file: string | null): void {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  if (file === null) fs.mkdirSync(p, { recursive: true });
  else fs.copyFileSync(file, p);
}

function mounted(
  sub: string,
  report: Partial<FsReport> & Pick<FsReport, 'fsId' | 'device' | 'partition'>,
  caseInsensitive: boolean,
): MountedFs {
  fs.mkdirSync(path.join(root, sub), { recursive: true });
  return {
    report: { offset: 0, size: 0, ...report },
    fs: new HostDirFileSystem(path.join(root, sub), caseInsensitive),
  };
}

const byId = (id: string): SourceEntry => {
  const e = result.entries.find((x) => x.sourceId === id);
  if (!e) throw new Error(`no entry ${id}; have ${result.entries.map((x) => x.sourceId).join(', ')}`);
  return e;
};
const diagText = (): string[] => result.diagnostics.map(formatDiagnostic);

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-ukisrc-'));
  const single = buildUki({ osrel: OSREL, cmdline: 'root=/dev/vda2 quiet', uname: U });
  const small = (osrel: string, cmdline = 'quiet'): string =>
    buildUki({ osrel, cmdline, uname: U, linux: fakeKernel() });
  const multi = buildUki({
    osrel: OSREL,
    cmdline: 'root=/dev/vda2',
    uname: U,
    linux: fakeKernel(),
    extra: [
      { name: '.profile', data: 'ID=default\nTITLE=Default\n' },
      { name: '.profile', data: 'ID=rescue\nTITLE="Rescue shell"\n' },
      { name: '.cmdline', data: 'root=/dev/vda2 rescue' },
    ],
  });
  // ESP (vda:1)
  place('esp/EFI/Linux/debian.efi', single);
  place('esp/EFI/Linux/Linux+05-00.EFI', small('NAME=Counted\nVERSION_ID=5\n'));
  place('esp/EFI/Linux/multi.efi', multi);
  place('esp/EFI/Linux/.hidden.efi', single);
  place('esp/EFI/Linux/auto-windows.efi', single);
  place('esp/EFI/Linux/stray.addon.efi', buildAddon({ cmdline: 'stray=1' }));
  place('esp/EFI/Linux/dir.efi', null);
  place('esp/EFI/Linux/notes.txt', small('NAME=x\nVERSION=1\n'));
  place('esp/EFI/Linux/noname.efi', small('VERSION_ID=1\n'));
  place('esp/EFI/Linux/noversion.efi', small('NAME=NoVersion\n'));
  place('esp/EFI/Linux/noosrel.efi', buildUki({ cmdline: 'x', linux: fakeKernel() }));
  place('esp/EFI/Linux/arm.efi', withMachine(small('NAME=Arm\nVERSION=1\n'), PE_MACHINE.aa64));
  fs.writeFileSync(
    path.join(root, 'esp/EFI/Linux/garbage.efi'),
    Buffer.from('MZ this is not a PE file at all, just text. '.repeat(4)),
  );
  place('esp/loader/addons/b.addon.efi', buildAddon({ cmdline: 'global_b=1' }));
  place('esp/loader/addons/a.addon.efi', buildAddon({ cmdline: 'global_a=1', ucode: 'A-UCODE' }));
  place('esp/loader/addons/.hidden.addon.efi', buildAddon({ cmdline: 'hidden=1' }));
  place('esp/loader/addons/mismatch.addon.efi', buildAddon({ cmdline: 'mismatch=1', uname: '5.10.0-1-amd64' }));
  place('esp/EFI/Linux/debian.efi.extra.d/z.addon.efi', buildAddon({ cmdline: 'local_z=1', initrd: 'Z-INITRD' }));
  place('esp/EFI/Linux/debian.efi.extra.d/c.addon.efi', buildAddon({ cmdline: 'local_c=1', uname: U }));
  place(
    'esp/EFI/Linux/debian.efi.extra.d/arm.addon.efi',
    withMachine(buildAddon({ cmdline: 'arm=1' }), PE_MACHINE.aa64),
  );
  // XBOOTLDR on the same disk (vda:2): global add-ons come from the ESP.
  place('xbootldr/EFI/Linux/xb.efi', small('NAME=XBOOTLDR OS\nVERSION=2\n'));
  place('xbootldr/loader/addons/not-global.addon.efi', buildAddon({ cmdline: 'xbootldr_own=1' }));
  // An ext4 /boot on another disk with /EFI/Linux: scanned; no ESP on that disk, so its own
  // /loader/addons is the global set (where systemd-stub would look).
  place('ext/EFI/Linux/e.efi', small('NAME=Ext\nIMAGE_VERSION=3\nIMAGE_ID=extimg\n'));
  place('ext/loader/addons/own.addon.efi', buildAddon({ cmdline: 'own=1' }));
  // A vfat data partition without /EFI/Linux.
  place('data/readme.txt', single);

  const esp = mounted(
    'esp',
    {
      fsId: 'vda:1',
      device: '/dev/vda',
      partition: 1,
      role: 'esp',
      partUuid: 'p-esp',
      probe: { type: 'vfat', readable: true, uuid: 'ABCD-1234' },
    },
    true,
  );
  const xb = mounted(
    'xbootldr',
    { fsId: 'vda:2', device: '/dev/vda', partition: 2, role: 'xbootldr', probe: { type: 'vfat', readable: true } },
    true,
  );
  const ext = mounted(
    'ext',
    { fsId: 'vdb:1', device: '/dev/vdb', partition: 1, probe: { type: 'ext4', readable: true } },
    false,
  );
  const data = mounted(
    'data',
    { fsId: 'vdc:1', device: '/dev/vdc', partition: 1, probe: { type: 'vfat', readable: true } },
    true,
  );
  const all = [esp, xb, ext, data];
  ctx = { filesystems: all, get: (id) => all.find((m) => m.report.fsId === id), arch: 'x64' };
  result = await ukiSource(ctx);
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('ukiSource', () => {
  it('lists exactly the valid UKIs, one entry per profile', () => {
    expect(result.entries.map((e) => e.sourceId).sort()).toEqual(
      ['debian.efi', 'linux.efi', 'multi.efi', 'multi.efi@rescue', 'xb.efi', 'e.efi'].sort(),
    );
  });

  it('single UKI: title, version, sort key, origin, target', () => {
    const e = byId('debian.efi');
    expect(e).toMatchObject({
      idWithoutProfile: 'debian.efi',
      title: 'Debian GNU/Linux 12 (bookworm)',
      version: '12',
      sortKey: 'debian',
      status: { ok: true },
      origin: {
        source: 'uki',
        fsId: 'vda:1',
        device: '/dev/vda',
        partition: 1,
        partUuid: 'p-esp',
        fsUuid: 'ABCD-1234',
        file: '/EFI/Linux/debian.efi',
      },
    });
    // The display title is the menu's to decide (finalizeEntries), never the source's.
    expect(e).not.toHaveProperty('displayTitle');
    const t = targetOf(e) as UkiTarget;
    expect(t).toMatchObject({
      kind: 'uki',
      image: { fsId: 'vda:1', path: '/EFI/Linux/debian.efi' },
      profile: 0,
      embeddedCmdline: 'root=/dev/vda2 quiet',
      uname: U,
    });
  });

  it('add-ons: global (ESP /loader/addons) then per-UKI, each sorted; bad ones reported', () => {
    const t = targetOf(byId('debian.efi')) as UkiTarget;
    expect(t.addons.map((a) => `${a.fsId}:${a.path}`)).toEqual([
      'vda:1:/loader/addons/a.addon.efi',
      'vda:1:/loader/addons/b.addon.efi',
      'vda:1:/EFI/Linux/debian.efi.extra.d/c.addon.efi',
      'vda:1:/EFI/Linux/debian.efi.extra.d/z.addon.efi',
    ]);
    const d = byId('debian.efi').diagnostics.map(formatDiagnostic);
    expect(
      d.some((m) => m.includes('/EFI/Linux/debian.efi') && m.includes('mismatch.addon.efi') && m.includes('.uname')),
    ).toBe(true);
    expect(d.some((m) => m.includes('arm.addon.efi') && m.includes('Machine 0xaa64'))).toBe(true);
    expect(d.some((m) => m.includes('hidden'))).toBe(false);
  });

  it('the listed add-ons boot in the stub order', async () => {
    const t = targetOf(byId('debian.efi')) as UkiTarget;
    const esp = ctx.get('vda:1')!;
    const p = await ukiBootParts(
      esp.fs,
      t.image.path,
      t.profile,
      t.addons.map((a) => a.path),
    );
    expect(p.cmdline).toBe('root=/dev/vda2 quiet global_a=1 global_b=1 local_c=1 local_z=1');
    expect(p.initrdParts.map((r) => `${r.path}${r.section}`)).toEqual([
      '/loader/addons/a.addon.efi.ucode',
      '/EFI/Linux/debian.efi.extra.d/z.addon.efi.initrd',
    ]);
  });

  it('boot-counted name: id without counter, counter kept', () => {
    const e = byId('linux.efi');
    expect(e.bootCounter).toEqual({
      triesLeft: 5,
      triesDone: 0,
      widthLeft: 2,
      widthDone: 2,
      fileName: 'Linux+05-00.EFI',
    });
    expect(e.origin.file).toBe('/EFI/Linux/Linux+05-00.EFI');
    expect(e.title).toBe('Counted');
  });

  it('multi-profile: two entries with profile ids and titles', () => {
    const a = byId('multi.efi');
    const b = byId('multi.efi@rescue');
    expect([a.title, b.title]).toEqual([
      'Debian GNU/Linux 12 (bookworm) (Default)',
      'Debian GNU/Linux 12 (bookworm) (Rescue shell)',
    ]);
    expect([a.idWithoutProfile, b.idWithoutProfile]).toEqual(['multi.efi', 'multi.efi']);
    expect([(targetOf(a) as UkiTarget).profile, (targetOf(b) as UkiTarget).profile]).toEqual([0, 1]);
    expect((targetOf(b) as UkiTarget).embeddedCmdline).toBe('root=/dev/vda2 rescue');
    expect((targetOf(a) as UkiTarget).addons.map((x) => x.path)).toEqual([
      '/loader/addons/a.addon.efi',
      '/loader/addons/b.addon.efi',
    ]);
  });

  it('XBOOTLDR UKIs get the ESP global add-ons of the same disk; a disk without ESP uses its own', () => {
    const xb = byId('xb.efi');
    expect(xb.origin.fsId).toBe('vda:2');
    expect((targetOf(xb) as UkiTarget).addons.map((a) => `${a.fsId}:${a.path}`)).toEqual([
      'vda:1:/loader/addons/a.addon.efi',
      'vda:1:/loader/addons/b.addon.efi',
    ]);
    const e = byId('e.efi');
    expect(e).toMatchObject({ title: 'extimg', version: '3', sortKey: 'extimg' });
    expect((targetOf(e) as UkiTarget).addons).toEqual([{ fsId: 'vdb:1', path: '/loader/addons/own.addon.efi' }]);
  });

  it('skipped UKIs are reported with the file and the reason', () => {
    const d = diagText();
    const has = (file: string, re: RegExp): boolean => d.some((m) => m.includes(`/EFI/Linux/${file}`) && re.test(m));
    expect(has('noname.efi', /no name/)).toBe(true);
    expect(has('noversion.efi', /no version/)).toBe(true);
    expect(has('noosrel.efi', /no \.osrel/)).toBe(true);
    expect(has('arm.efi', /Machine aa64 is not native x64/)).toBe(true);
    expect(has('garbage.efi', /PE e_lfanew/)).toBe(true);
    for (const ignored of ['.hidden.efi', 'auto-windows.efi', 'stray.addon.efi', 'dir.efi', 'notes.txt']) {
      expect(d.some((m) => m.includes(ignored))).toBe(false);
    }
  });
});
