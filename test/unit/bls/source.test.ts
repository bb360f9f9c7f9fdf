// The BLS source over real directory trees (test/data/bls and temp trees): where it looks,
// what it skips, path rules, missing files, $kernelopts, loader.conf, and the merged menu
// through finalizeEntries (docs/bls.md §13 checklist).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blsSource, entryDirs } from '../../../src/discovery/sources/bls';
import { finalizeEntries } from '../../../src/discovery/entries/select';
import type { LinuxTarget, SourceEntry } from '../../../src/discovery/model';
import { context, DATA, mount, tree } from './fixture';
import { systemdBootEfi } from '../../../initramfs/host';
import { isBootable, reasonOf, targetOf } from '../../fixtures/status';

const MID = '6a9857a393724b7a981ebb5b8495b9ea';
const temps: string[] = [];
afterAll(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));
const tmp = (files: Parameters<typeof tree>[0]) => {
  const t = tree(files);
  temps.push(t);
  return t;
};
const byFile = (entries: SourceEntry[], name: string) => {
  const e = entries.find((x) => x.origin.file.endsWith('/' + name));
  if (!e) throw new Error(`no entry from ${name}; have ${entries.map((x) => x.origin.file).join(', ')}`);
  return e;
};
const linux = (e: SourceEntry): LinuxTarget => {
  const t = targetOf(e);
  if (t?.kind !== 'linux') throw new Error(`not linux: ${t?.kind ?? reasonOf(e)}`);
  return t;
};

const esp = () =>
  mount(path.join(DATA, 'sdboot-esp'), {
    fsId: 'vda:1',
    role: 'esp',
    partUuid: '11111111-2222-3333-4444-555555555555',
    uuid: 'ABCD-1234',
  });
const xbootldr = () => mount(path.join(DATA, 'sdboot-xbootldr'), { fsId: 'vda:2', role: 'xbootldr' });

describe('systemd-boot ESP + XBOOTLDR', () => {
  it('finds the entries, skips auto-/dot/non-.conf names, hides wrong-arch, disables relative uki-url, drops conflicts', async () => {
    const r = await blsSource(context([esp(), xbootldr()]));
    const names = r.entries.map((e) => path.basename(e.origin.file)).sort();
    expect(names).toEqual([
      `${MID}-6.10.3-arch1-1.conf`,
      `${MID}-6.9.7-arch1-1.conf`,
      'UPPER.CONF',
      'arch-fallback.conf',
      'arch.conf',
      'counted+1-2.conf',
      'counted+3.conf',
      'missing-kernel.conf',
      'netboot.conf',
      'shell.conf',
      'uki-entry.conf',
    ]);
    const msg = (file: string) =>
      r.diagnostics.filter((d) => d.file?.endsWith(file)).map((d) => `${d.severity}:${d.line ?? '-'}`);
    expect(msg('auto-foo.conf')).toEqual(['info:-']);
    expect(msg('.hidden.conf')).toEqual([]);
    expect(msg('arm.conf')).toEqual(['info:2']);
    expect(msg('broken.conf')).toEqual(['error:3']);
    // No origin: shown, not bootable, saying why (the spec would hide it).
    const net = byFile(r.entries, 'netboot.conf');
    expect(net.status.ok).toBe(false);
    expect(net.status.ok ? '' : net.status.reason).toMatch(
      /^uki-url :arch\.efi: relative to the URL tendril was booted from.*net\.origin/,
    );
    expect(net.diagnostics.map((d) => `${d.severity}:${d.line ?? '-'}`)).toEqual(['error:2']);
  });

  it('builds a linux entry: all initrds in order, options joined, origin filled in', async () => {
    const r = await blsSource(context([esp()]));
    const arch = byFile(r.entries, 'arch.conf');
    expect(arch).toMatchObject({
      sourceId: 'arch.conf',
      title: 'Arch Linux',
      status: { ok: true },
      origin: {
        source: 'bls',
        fsId: 'vda:1',
        device: '/dev/vda',
        partition: 1,
        partUuid: '11111111-2222-3333-4444-555555555555',
        fsUuid: 'ABCD-1234',
        file: '/loader/entries/arch.conf',
      },
    });
    expect(linux(arch)).toEqual({
      kind: 'linux',
      kernel: { fsId: 'vda:1', path: '/vmlinuz-linux' },
      initrds: [
        { fsId: 'vda:1', path: '/intel-ucode.img' },
        { fsId: 'vda:1', path: '/initramfs-linux.img' },
      ],
      cmdline: 'root=PARTUUID=0e1a6c5c-2b6b-4cb6-9b0d-2d1c1f0b1a01 rw quiet',
    });
    expect(arch.diagnostics).toEqual([]);
  });

  it('FAT: upper-case names, CRLF, backslash paths; the id is lower-cased', async () => {
    const r = await blsSource(context([esp()]));
    const up = byFile(r.entries, 'UPPER.CONF');
    expect(up.sourceId).toBe('upper.conf');
    expect(up.title).toBe('Upper');
    expect(isBootable(up)).toBe(true);
    // The FileSystem resolves the case; the path is kept as written.
    expect(linux(up).kernel.path).toBe('/VMLINUZ-LINUX');
    expect(linux(up).initrds).toEqual([{ fsId: 'vda:1', path: '/INTEL-UCODE.IMG' }]);
    expect(up.diagnostics.map((d) => [d.severity, d.line])).toEqual([['info', 3]]);
  });

  it('efi entries route to the VM path with their options (a real EFI application: systemd-boot)', async () => {
    const dir = tmp({});
    fs.cpSync(path.join(DATA, 'sdboot-esp'), dir, { recursive: true });
    fs.copyFileSync(systemdBootEfi(), path.join(dir, 'EFI/tools/shellx64.efi'));
    const r = await blsSource(context([mount(dir, { fsId: 'vda:1', role: 'esp' })]));
    expect(targetOf(byFile(r.entries, 'shell.conf'))).toEqual({
      kind: 'efi',
      image: { fsId: 'vda:1', path: '/EFI/tools/shellx64.efi' },
      options: '-nostartup',
    });
  });

  it('an efi file that is not an EFI application for x64 is broken, saying why', async () => {
    // The checked-in shellx64.efi is text.
    const text = byFile((await blsSource(context([esp()]))).entries, 'shell.conf');
    expect(reasonOf(text)).toBe(
      'efi /EFI/tools/shellx64.efi is not a PE/COFF image (e_magic: file too small for a DOS header (11 < 64 bytes)) on vda:1',
    );
    expect(text.diagnostics.map((d) => [d.severity, d.line])).toEqual([['error', 2]]);
    // A real PE for another machine (arm64 header on systemd-boot) and a real one that is a driver.
    const bytes = fs.readFileSync(systemdBootEfi());
    const pe = bytes.readUInt32LE(0x3c);
    const arm = Buffer.from(bytes);
    arm.writeUInt16LE(0xaa64, pe + 4);
    const driver = Buffer.from(bytes);
    driver.writeUInt16LE(11, pe + 24 + 68);
    const dir = tmp({
      'loader/entries/arm.conf': 'title Arm\nefi /arm.efi\n',
      'loader/entries/driver.conf': 'title Driver\nefi /driver.efi\n',
      'arm.efi': arm,
      'driver.efi': driver,
    });
    const r = await blsSource(context([mount(dir, { fsId: 'vda:1', role: 'esp' })]));
    expect(reasonOf(byFile(r.entries, 'arm.conf'))).toBe(
      'efi /arm.efi is a PE image for aa64 (machine 0xaa64), not x64 on vda:1',
    );
    expect(reasonOf(byFile(r.entries, 'driver.conf'))).toBe(
      'efi /driver.efi has PE subsystem 11 (EFI boot service driver), not 10 (EFI application) on vda:1',
    );
  });

  it('a missing kernel or initrd keeps the entry, unbootable, with file + line + path', async () => {
    const r = await blsSource(context([esp()]));
    const gone = byFile(r.entries, 'missing-kernel.conf');
    expect(isBootable(gone)).toBe(false);
    expect(gone.diagnostics.map((d) => [d.severity, d.file, d.line])).toEqual([
      ['error', '/loader/entries/missing-kernel.conf', 2],
      ['error', '/loader/entries/missing-kernel.conf', 3],
    ]);
    expect(gone.diagnostics[0]!.message).toContain('/vmlinuz-gone');
    expect(gone.diagnostics[1]!.message).toContain('/initramfs-gone.img');
  });

  it('a Type #1 uki entry: profile from the key, options as cmdline override', async () => {
    const r = await blsSource(context([xbootldr()]));
    expect(targetOf(byFile(r.entries, 'uki-entry.conf'))).toEqual({
      kind: 'uki',
      image: { fsId: 'vda:2', path: '/EFI/Linux/arch-linux.efi' },
      profile: 1,
      addons: [],
      cmdlineOverride: 'quiet splash',
    });
  });

  it('boot counters are parsed from the file name', async () => {
    const r = await blsSource(context([esp(), xbootldr()]));
    expect(byFile(r.entries, 'counted+1-2.conf')).toMatchObject({
      sourceId: 'counted.conf',
      bootCounter: { triesLeft: 1, triesDone: 2, widthLeft: 1, widthDone: 1, fileName: 'counted+1-2.conf' },
    });
    expect(byFile(r.entries, 'counted+3.conf')).toMatchObject({
      sourceId: 'counted.conf',
      bootCounter: { triesLeft: 3, triesDone: 0, widthDone: 0 },
    });
  });

  it('loader.conf from the ESP becomes the settings proposal', async () => {
    const r = await blsSource(context([xbootldr(), esp()]));
    expect(r.settings).toEqual({
      kind: 'loader.conf',
      from: 'vda:1 /loader/loader.conf',
      defaultGlob: 'arch-*',
      timeout: { kind: 'seconds', seconds: 3 },
      editor: false,
      autoEntries: true,
    });
  });

  it('the merged menu: sort-key entries first (newest version), then ids; default by glob; titles disambiguated', async () => {
    const r = await blsSource(context([esp(), xbootldr()]));
    const roles: Record<string, 'esp' | 'xbootldr'> = { 'vda:1': 'esp', 'vda:2': 'xbootldr' };
    const fin = finalizeEntries(r.entries, r.settings ? [r.settings] : [], { roleOf: (id) => roles[id] });
    expect(fin.entries.map((e) => `${e.origin.fsId} ${path.basename(e.origin.file)}`)).toEqual([
      // sort-key arch: machine-id unset sorts before set, then version descending
      'vda:2 uki-entry.conf',
      `vda:2 ${MID}-6.10.3-arch1-1.conf`,
      `vda:2 ${MID}-6.9.7-arch1-1.conf`,
      // no sort-key: ids descending by version order, suffix stripped
      'vda:1 UPPER.CONF',
      'vda:1 shell.conf',
      'vda:1 netboot.conf',
      'vda:1 missing-kernel.conf',
      'vda:2 counted+3.conf', // same id: more tries left first
      'vda:1 counted+1-2.conf',
      'vda:1 arch-fallback.conf', // 'arch' ends first, so 'arch-fallback' is newer
      'vda:1 arch.conf',
    ]);
    // loader.conf 'default Arch-*' → lower-cased, first match in sorted order
    expect(fin.settings).toMatchObject({
      defaultId: 'arch-fallback.conf',
      timeout: { kind: 'seconds', seconds: 3 },
      timeoutSource: 'loader.conf',
      editor: false,
    });
    const titles = fin.entries.map((e) => e.displayTitle);
    expect(titles).toContain('Arch Linux (6.10.3-arch1-1)');
    expect(titles).toContain('Arch Linux (6.9.7-arch1-1)');
    expect(titles.filter((t) => t.startsWith('Counted'))).toEqual([
      'Counted (counted.conf)',
      'Counted (counted.conf@vda:1)',
    ]);
    expect(new Set(fin.entries.map((e) => e.id)).size).toBe(fin.entries.length);
  });

  it('a relative uki-url is resolved against the origin URL when there is one', async () => {
    const r = await blsSource(context([esp()], 'x64', 'http://boot.example/images/tendril.efi?x=1'));
    expect(targetOf(byFile(r.entries, 'netboot.conf'))).toEqual({
      kind: 'uki-url',
      url: 'http://boot.example/images/arch.efi',
    });
  });

  it('architecture matching is case-insensitive against the running arch', async () => {
    const r = await blsSource(context([esp()], 'aa64'));
    expect(byFile(r.entries, 'arm.conf').architecture).toBe('aa64');
    expect(r.entries.some((e) => e.origin.file.endsWith('arch.conf'))).toBe(true);
  });
});

describe('Fedora $kernelopts', () => {
  const boot = () => mount(path.join(DATA, 'fedora31-boot'), { fsId: 'vda:2', type: 'ext4' });

  it('expands $kernelopts/$tuned_params from grubenv and word-splits $tuned_initrd', async () => {
    const r = await blsSource(context([boot()]));
    const e = byFile(r.entries, `${MID}-5.4.10-200.fc31.x86_64.conf`);
    expect(isBootable(e)).toBe(true);
    expect(linux(e).cmdline).toBe(
      'root=/dev/mapper/fedora-root ro resume=/dev/mapper/fedora-swap rd.lvm.lv=fedora/root rhgb quiet skew_tick=1 nohz=on',
    );
    expect(linux(e).initrds.map((i) => i.path)).toEqual(['/initramfs-5.4.10-200.fc31.x86_64.img', '/tuned.img']);
    const subs = e.diagnostics.filter((d) => d.message.startsWith('$'));
    expect(subs.map((d) => [d.severity, d.line, d.message.split(' ')[0]])).toEqual([
      ['info', 5, '$kernelopts'],
      ['info', 5, '$tuned_params'],
      ['info', 4, '$tuned_initrd'],
    ]);
    expect(subs[0]!.message).toContain('vda:2 /grub2/grubenv');
    expect(e.sortKey).toBeUndefined();
  });

  it('falls back to grub.cfg default_kernelopts; undefined variables expand to nothing', async () => {
    const root = tmp({
      'loader/entries/a.conf':
        'title A\nlinux /vmlinuz\ninitrd /initrd.img $tuned_initrd\noptions $kernelopts $tuned_params\n',
      vmlinuz: 'k',
      'initrd.img': 'i',
      'grub2/grub.cfg': 'set default_kernelopts="root=UUID=1 ro"\nblscfg\n',
    });
    const r = await blsSource(context([mount(root, { fsId: 'sda:2' })]));
    const e = r.entries[0]!;
    expect(linux(e).cmdline).toBe('root=UUID=1 ro');
    expect(linux(e).initrds.map((i) => i.path)).toEqual(['/initrd.img']);
    expect(isBootable(e)).toBe(true);
    expect(e.diagnostics.filter((d) => d.message.includes('not defined')).length).toBe(2);
  });

  it('grubenv on the ESP (EFI/<vendor>/grubenv) is used for a /boot without one', async () => {
    const envBytes = fs.readFileSync(path.join(DATA, 'fedora31-boot/grub2/grubenv'));
    const espDir = tmp({ 'EFI/fedora/grubenv': envBytes, 'EFI/BOOT/BOOTX64.EFI': 'x' });
    const bootDir = tmp({ 'loader/entries/a.conf': 'linux /vmlinuz\noptions $kernelopts\n', vmlinuz: 'k' });
    const r = await blsSource(
      context([mount(bootDir, { fsId: 'vda:2' }), mount(espDir, { fsId: 'vda:1', role: 'esp' })]),
    );
    expect(linux(r.entries[0]!).cmdline).toBe(
      'root=/dev/mapper/fedora-root ro resume=/dev/mapper/fedora-swap rd.lvm.lv=fedora/root rhgb quiet',
    );
  });
});

describe('paths (docs/bls.md §5)', () => {
  it('rootfs /boot/loader/entries: /boot/... resolves as is, a bare name falls back to /boot/name (logged)', async () => {
    const r = await blsSource(context([mount(path.join(DATA, 'rootfs'), { fsId: 'sda:1' })]));
    const e = byFile(r.entries, 'debian.conf');
    expect(e.origin.file).toBe('/boot/loader/entries/debian.conf');
    expect(linux(e).kernel.path).toBe('/boot/vmlinuz-6.1.0-18-amd64');
    expect(linux(e).initrds[0]!.path).toBe('/boot/initrd.img-6.1.0-18-amd64');
    expect(e.diagnostics.map((d) => [d.severity, d.line])).toEqual([['info', 4]]);
  });

  it('separate /boot: a /boot/ prefix that does not exist is dropped (logged)', async () => {
    const r = await blsSource(context([mount(path.join(DATA, 'separate-boot'), { fsId: 'sda:1' })]));
    const e = byFile(r.entries, 'sep.conf');
    expect(isBootable(e)).toBe(true);
    expect(linux(e).kernel.path).toBe('/vmlinuz-6.6');
    expect(linux(e).initrds[0]!.path).toBe('/initrd-6.6.img');
    expect(e.diagnostics.map((d) => [d.severity, d.line])).toEqual([
      ['info', 2],
      ['info', 3],
    ]);
  });

  it('leading / optional, // and . cleaned, .. inside allowed, .. escaping refused', async () => {
    const root = tmp({
      'loader/entries/a.conf': 'linux vmlinuz\ninitrd //sub/./x.img\ninitrd sub/../y.img\n',
      'loader/entries/b.conf': 'linux /../../etc/passwd\n',
      vmlinuz: 'k',
      'sub/x.img': 'x',
      'y.img': 'y',
    });
    const r = await blsSource(context([mount(root, { fsId: 'sda:1' })]));
    const a = byFile(r.entries, 'a.conf');
    expect(isBootable(a)).toBe(true);
    expect(linux(a).kernel.path).toBe('/vmlinuz');
    expect(linux(a).initrds.map((i) => i.path)).toEqual(['/sub/x.img', '/y.img']);
    const b = byFile(r.entries, 'b.conf');
    expect(isBootable(b)).toBe(false);
    expect(b.diagnostics[0]).toMatchObject({ severity: 'error', line: 1 });
    expect(b.diagnostics[0]!.message).toContain('escapes');
  });

  it('a directory or a symlink escaping the root is not a kernel', async () => {
    const root = tmp({
      'loader/entries/a.conf': 'linux /kdir\n',
      'loader/entries/b.conf': 'linux /evil\n',
      kdir: null,
    });
    fs.symlinkSync('/etc/hostname', path.join(root, 'evil'));
    const r = await blsSource(context([mount(root, { fsId: 'sda:1' })]));
    expect(isBootable(byFile(r.entries, 'a.conf'))).toBe(false);
    expect(byFile(r.entries, 'a.conf').diagnostics[0]!.message).toContain('directory');
    // the absolute link target is resolved inside the filesystem, where /etc/hostname is absent
    expect(isBootable(byFile(r.entries, 'b.conf'))).toBe(false);
  });

  it('case-insensitive lookup only on FAT', async () => {
    const files = { 'loader/entries/a.conf': 'linux /VMLINUZ\n', vmlinuz: 'k' };
    const onFat = await blsSource(context([mount(tmp(files), { fsId: 'vda:1', role: 'esp' })]));
    expect(isBootable(onFat.entries[0]!)).toBe(true);
    const onExt = await blsSource(context([mount(tmp(files), { fsId: 'sda:1', type: 'ext4' })]));
    expect(isBootable(onExt.entries[0]!)).toBe(false);
  });

  it('an initrd line with several words falls back to one initrd per word when needed', async () => {
    const root = tmp({
      'loader/entries/a.conf': 'linux /k\ninitrd /a.img /b.img\n',
      k: 'k',
      'a.img': 'a',
      'b.img': 'b',
    });
    const r = await blsSource(context([mount(root, { fsId: 'sda:1' })]));
    expect(linux(r.entries[0]!).initrds.map((i) => i.path)).toEqual(['/a.img', '/b.img']);
    expect(r.entries[0]!.diagnostics).toMatchObject([{ severity: 'info', line: 2 }]);
  });
});

describe('where and what it scans', () => {
  it('ESP/XBOOTLDR/MBR boot: /loader/entries only; Linux filesystems: also /boot/loader/entries; others: nothing', () => {
    const d = tmp({});
    expect(entryDirs(mount(d, { fsId: 'a:1', role: 'esp' }))).toEqual(['/loader/entries']);
    expect(entryDirs(mount(d, { fsId: 'a:2', role: 'mbr-boot', type: 'ext4' }))).toEqual(['/loader/entries']);
    expect(entryDirs(mount(d, { fsId: 'a:3', type: 'btrfs' }))).toEqual(['/loader/entries', '/boot/loader/entries']);
    expect(entryDirs(mount(d, { fsId: 'a:4', type: 'vfat' }))).toEqual([]);
    expect(entryDirs(mount(d, { fsId: 'a:5', type: 'iso9660' }))).toEqual([]);
  });

  it('entries.srel: type1 proceeds, anything else skips the directory with a warning', async () => {
    const ok = tmp({ 'loader/entries.srel': 'type1\n', 'loader/entries/a.conf': 'linux /k\n', k: 'k' });
    expect((await blsSource(context([mount(ok, { fsId: 'a:1' })]))).entries).toHaveLength(1);
    const other = tmp({ 'loader/entries.srel': 'type2\n', 'loader/entries/a.conf': 'linux /k\n', k: 'k' });
    const r = await blsSource(context([mount(other, { fsId: 'a:1' })]));
    expect(r.entries).toHaveLength(0);
    expect(r.diagnostics).toMatchObject([{ severity: 'warning', file: '/loader/entries.srel', line: 1 }]);
  });

  it('skips symlinks and directories named *.conf; .CONF counts', async () => {
    const root = tmp({ 'loader/entries/real.CONF': 'linux /k\n', 'loader/entries/dir.conf': null, k: 'k' });
    fs.symlinkSync('real.CONF', path.join(root, 'loader/entries/link.conf'));
    const r = await blsSource(context([mount(root, { fsId: 'a:1' })]));
    expect(r.entries.map((e) => e.sourceId)).toEqual(['real.conf']);
    expect(r.diagnostics.map((d) => path.basename(d.file!))).toEqual(['dir.conf', 'link.conf']);
  });

  it('invalid UTF-8 and oversized files are skipped with a diagnostic; the rest still load', async () => {
    const root = tmp({
      'loader/entries/bad.conf': new Uint8Array([...Buffer.from('title x\nlinux /k\ntitle '), 0xff, 0x0a]),
      'loader/entries/big.conf': 'linux /k\n' + '#'.repeat(70_000),
      'loader/entries/good.conf': 'linux /k\n',
      k: 'k',
    });
    const r = await blsSource(context([mount(root, { fsId: 'a:1' })]));
    expect(r.entries.map((e) => e.sourceId)).toEqual(['good.conf']);
    expect(r.diagnostics.map((d) => [path.basename(d.file!), d.severity, d.line])).toEqual([
      ['bad.conf', 'error', 3],
      ['big.conf', 'error', 1],
    ]);
  });

  it('devicetree: ignored on x86, resolved elsewhere; overlays need devicetree', async () => {
    const root = tmp({
      'loader/entries/a.conf': 'linux /k\ndevicetree /d.dtb\ndevicetree-overlay /o1.dtbo /o2.dtbo\n',
      k: 'k',
      'd.dtb': 'd',
      'o1.dtbo': '1',
      'o2.dtbo': '2',
    });
    const x86 = await blsSource(context([mount(root, { fsId: 'a:1' })], 'x64'));
    expect(linux(x86.entries[0]!).devicetree).toBeUndefined();
    expect(x86.entries[0]!.diagnostics).toMatchObject([{ severity: 'info', line: 2 }]);
    const arm = await blsSource(context([mount(root, { fsId: 'a:1' })], 'aa64'));
    expect(linux(arm.entries[0]!)).toMatchObject({
      devicetree: { path: '/d.dtb' },
      devicetreeOverlays: [{ path: '/o1.dtbo' }, { path: '/o2.dtbo' }],
    });
  });

  it('only the first ESP loader.conf counts', async () => {
    const a = tmp({ 'loader/loader.conf': 'timeout 1\n' });
    const b = tmp({ 'loader/loader.conf': 'timeout 2\n' });
    const r = await blsSource(
      context([mount(a, { fsId: 'vda:1', role: 'esp' }), mount(b, { fsId: 'vdb:1', role: 'esp' })]),
    );
    expect(r.settings?.timeout).toEqual({ kind: 'seconds', seconds: 1 });
    expect(r.diagnostics).toMatchObject([{ severity: 'info', fsId: 'vdb:1' }]);
  });

  it('loader.conf on a non-ESP is not read', async () => {
    const a = tmp({ 'loader/loader.conf': 'timeout 1\n' });
    expect((await blsSource(context([mount(a, { fsId: 'vda:2', role: 'xbootldr' })]))).settings).toBeUndefined();
  });

  it('empty context and filesystems without entries produce nothing and no errors', async () => {
    expect(await blsSource(context([]))).toEqual({ entries: [], diagnostics: [] });
    expect(await blsSource(context([mount(tmp({}), { fsId: 'a:1', role: 'esp' })]))).toEqual({
      entries: [],
      diagnostics: [],
    });
  });
});

describe('fuzz', () => {
  it('random snippet files never make the source throw; every diagnostic names a file', async () => {
    const fc = (await import('fast-check')).default;
    const line = fc
      .tuple(
        fc.constantFrom(
          'linux',
          'initrd',
          'options',
          'efi',
          'uki',
          'uki-url',
          'title',
          'architecture',
          'devicetree',
          'profile',
          '#',
        ),
        fc.constantFrom(' ', '\t'),
        fc.oneof(
          fc.constantFrom('/k', 'k', '/../k', '$kernelopts', ':x.efi', '/boot/k', 'x64', '\\k', '/a /b'),
          fc.string({ maxLength: 8 }),
        ),
      )
      .map((t) => t.join(''));
    const file = fc.oneof(
      fc.array(line, { maxLength: 8 }).map((l) => Buffer.from(l.join('\n'))),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(file, { minLength: 1, maxLength: 4 }), fc.boolean(), async (files, fat) => {
        const spec: Record<string, Uint8Array | string> = { k: 'k', 'boot/k': 'k' };
        files.forEach((f, i) => (spec[`loader/entries/e${i}.conf`] = f));
        const root = tmp(spec);
        const r = await blsSource(context([mount(root, fat ? { fsId: 'v:1', role: 'esp' } : { fsId: 's:1' })]));
        for (const d of r.diagnostics) expect(d.file).toBeTruthy();
        for (const e of r.entries) {
          for (const d of e.diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
          if (!isBootable(e)) expect(e.diagnostics.some((d) => d.severity === 'error')).toBe(true);
        }
        fs.rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 150 },
    );
  });
});
