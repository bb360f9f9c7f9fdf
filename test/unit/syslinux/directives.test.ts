// SYSLINUX directive semantics (docs/grub-syslinux.md §B1, §B2): probe order, APPEND rules,
// INITRD lists and initrd= in APPEND, INCLUDE/CONFIG limits, defaults, kernel types, timeouts.
import { afterEach, describe, expect, it } from 'vitest';
import type { LinuxTarget, SourceEntry } from '../../../src/discovery/model';
import { syslinuxSource } from '../../../src/discovery/sources/syslinux';
import { LIMITS } from '../../../src/discovery/sources/syslinux/parser';
import { makeCtx, type Files, type TestCtx } from '../sprout/tree';
import { declaredOf, isBootable, reasonOf, targetOf } from '../../fixtures/status';

const K = { real: 'kernel' } as const;
let t: TestCtx | undefined;
afterEach(() => t?.cleanup());

const BIN: Files = {
  'boot/syslinux/vmlinuz': K,
  'boot/syslinux/initrd.img': 'i',
  'boot/syslinux/a.img': 'a',
  'boot/syslinux/b.img': 'b',
  'boot/syslinux/ucode.img': 'u',
};
async function run(cfg: string, extra: Files = {}) {
  t = makeCtx([{ fsId: 'sdb:1', type: 'vfat', files: { 'boot/syslinux/syslinux.cfg': cfg, ...BIN, ...extra } }]);
  return syslinuxSource(t.ctx);
}
const label = (e: SourceEntry) => e.sourceId.split(':').slice(4).join(':');
const get = (es: SourceEntry[], l: string) => es.find((e) => label(e) === l)!;
const cmd = (e: SourceEntry) => (targetOf(e) as LinuxTarget).cmdline;
const initrds = (e: SourceEntry) => (targetOf(e) as LinuxTarget).initrds.map((f) => f.path);

describe('probe order (docs/grub-syslinux.md §B1)', () => {
  it('boot/isolinux/isolinux.cfg wins over extlinux/ and the root syslinux.cfg', async () => {
    t = makeCtx([
      {
        fsId: 'sdb:1',
        files: {
          'syslinux.cfg': 'label root\nkernel /vmlinuz\n',
          'extlinux/extlinux.conf': 'label ext\nkernel /vmlinuz\n',
          'boot/isolinux/isolinux.cfg': 'label iso\nkernel /vmlinuz\n',
          vmlinuz: K,
        },
      },
    ]);
    expect((await syslinuxSource(t.ctx)).entries.map(label)).toEqual(['iso']);
  });
  it('within one directory isolinux.cfg, then extlinux.conf, then syslinux.cfg', async () => {
    t = makeCtx([
      {
        fsId: 'sdb:1',
        files: { 'syslinux/syslinux.cfg': 'label s\nkernel x\n', 'syslinux/extlinux.conf': 'label e\nkernel x\n' },
      },
    ]);
    expect((await syslinuxSource(t.ctx)).entries.map(label)).toEqual(['e']);
  });
  it('filesystems without a config produce nothing', async () => {
    t = makeCtx([{ fsId: 'sdb:1', files: { 'boot/grub/grub.cfg': '' } }]);
    expect(await syslinuxSource(t.ctx)).toEqual({ entries: [], diagnostics: [] });
  });
});

describe('APPEND (docs/grub-syslinux.md §B2)', () => {
  it('global APPEND applies only to labels without their own; the last APPEND in a label wins; APPEND - clears', async () => {
    const r = await run(
      'APPEND global=1\nLABEL inherit\n KERNEL vmlinuz\nLABEL own\n KERNEL vmlinuz\n APPEND first\n APPEND second\nLABEL cleared\n KERNEL vmlinuz\n APPEND -\n',
    );
    expect(cmd(get(r.entries, 'inherit'))).toBe('global=1');
    expect(cmd(get(r.entries, 'own'))).toBe('second');
    expect(cmd(get(r.entries, 'cleared'))).toBe('');
  });
  it('global APPEND - clears the global command line', async () => {
    const r = await run('APPEND x\nAPPEND -\nLABEL l\n KERNEL vmlinuz\n');
    expect(cmd(r.entries[0]!)).toBe('');
  });
});

describe('INITRD and initrd= (docs/grub-syslinux.md §B2)', () => {
  it('INITRD takes a comma list in order', async () => {
    const r = await run('LABEL l\n KERNEL vmlinuz\n INITRD ucode.img,initrd.img\n');
    expect(initrds(r.entries[0]!)).toEqual(['/boot/syslinux/ucode.img', '/boot/syslinux/initrd.img']);
  });
  it('without INITRD, initrd= in APPEND names the files (the last initrd= wins) and leaves the cmdline', async () => {
    const r = await run('LABEL l\n KERNEL vmlinuz\n APPEND initrd=a.img quiet initrd=ucode.img,b.img root=/dev/sda1\n');
    expect(initrds(r.entries[0]!)).toEqual(['/boot/syslinux/ucode.img', '/boot/syslinux/b.img']);
    expect(cmd(r.entries[0]!)).toBe('quiet root=/dev/sda1');
  });
  it('INITRD beats initrd= in APPEND; the token is removed either way', async () => {
    const r = await run('LABEL l\n KERNEL vmlinuz\n INITRD initrd.img\n APPEND initrd=a.img ro\n');
    expect(initrds(r.entries[0]!)).toEqual(['/boot/syslinux/initrd.img']);
    expect(cmd(r.entries[0]!)).toBe('ro');
  });
  it('initrd= in the global APPEND applies to labels that inherit it', async () => {
    const r = await run('APPEND initrd=a.img q\nLABEL l\n KERNEL vmlinuz\n');
    expect(initrds(r.entries[0]!)).toEqual(['/boot/syslinux/a.img']);
  });
});

describe('paths', () => {
  it('relative paths resolve in the config directory, /path from the fs root; FAT is case-insensitive', async () => {
    const r = await run(
      'LABEL rel\n KERNEL VMLINUZ\nLABEL abs\n KERNEL /boot/syslinux/vmlinuz\nLABEL up\n KERNEL ../../kernels/k\n',
      { 'kernels/k': K },
    );
    expect(r.entries.map((e) => isBootable(e))).toEqual([true, true, true]);
    expect((targetOf(get(r.entries, 'up')) as LinuxTarget).kernel.path).toBe('/kernels/k');
  });
  it('a path escaping the root is an error with file and line', async () => {
    const r = await run('LABEL bad\n KERNEL ../../../../etc/passwd\n');
    expect(isBootable(r.entries[0]!)).toBe(false);
    expect(r.entries[0]!.diagnostics[0]).toMatchObject({ file: '/boot/syslinux/syslinux.cfg', line: 2 });
    expect(r.entries[0]!.diagnostics[0]!.message).toMatch(/escapes the filesystem root/);
  });
  it('a missing kernel names the resolved path', async () => {
    const r = await run('LABEL l\n KERNEL nope\n');
    expect(r.entries[0]!.diagnostics[0]!.message).toBe('kernel /boot/syslinux/nope not found');
  });
});

describe('INCLUDE and CONFIG', () => {
  it('INCLUDE and MENU INCLUDE are textual: a label can continue across files', async () => {
    const r = await run('LABEL l\n KERNEL vmlinuz\n INCLUDE more.cfg\nMENU INCLUDE menu.cfg\n', {
      'boot/syslinux/more.cfg': 'APPEND from-include\n',
      'boot/syslinux/menu.cfg': 'LABEL m\nKERNEL vmlinuz\n',
    });
    expect(cmd(get(r.entries, 'l'))).toBe('from-include');
    expect(get(r.entries, 'm').origin).toMatchObject({ file: '/boot/syslinux/menu.cfg', line: 1 });
  });
  it('an include loop is a warning with file and line, not a hang', async () => {
    const r = await run('INCLUDE a.cfg\nLABEL l\nKERNEL vmlinuz\n', {
      'boot/syslinux/a.cfg': 'INCLUDE b.cfg\n',
      'boot/syslinux/b.cfg': '\nINCLUDE a.cfg\n',
    });
    expect(r.entries.map(label)).toEqual(['l']);
    expect(r.diagnostics.find((d) => /include loop/.test(d.message))).toMatchObject({
      severity: 'warning',
      file: '/boot/syslinux/b.cfg',
      line: 2,
    });
  });
  it('include depth is limited', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`boot/syslinux/d${i}.cfg`] = `INCLUDE d${i + 1}.cfg\n`;
    const r = await run('INCLUDE d0.cfg\n', files);
    expect(r.diagnostics.some((d) => d.message.startsWith(`include depth limit ${LIMITS.includeDepth}`))).toBe(true);
  });
  it('CONFIG at global scope restarts with the other file (and its directory)', async () => {
    const r = await run('TIMEOUT 10\nCONFIG /other/real.cfg\nLABEL old\nKERNEL vmlinuz\n', {
      'other/real.cfg': 'LABEL new\nKERNEL k\n',
      'other/k': K,
    });
    expect(r.entries.map(label)).toEqual(['new']);
    expect(isBootable(r.entries[0]!)).toBe(true);
    expect(r.settings).toEqual({ kind: 'menu-config', from: 'sdb:1 /other/real.cfg' });
  });
  it('CONFIG inside a LABEL is that label’s type: listed, not bootable', async () => {
    const r = await run('LABEL old\nCONFIG /other/real.cfg\n', { 'other/real.cfg': 'LABEL new\nKERNEL k\n' });
    expect(r.entries.map(label)).toEqual(['old']);
    expect(r.entries[0]!.diagnostics[0]!.message).toMatch(/CONFIG switch to another configuration file/);
  });
  it('CONFIG loops end after the restart limit', async () => {
    const r = await run('CONFIG /x.cfg\n', { 'x.cfg': 'CONFIG /boot/syslinux/syslinux.cfg\n' });
    expect(r.diagnostics.some((d) => /CONFIG restarted more than/.test(d.message))).toBe(true);
  });
});

describe('labels, defaults, kernel types', () => {
  it('keywords are case-insensitive; MENU LABEL strips ^; MENU HIDE marks hidden', async () => {
    const r = await run('lAbEl one\n  KeRnEl vmlinuz\n  MeNu LaBeL ^One ^Two\n  menu hide\n');
    expect(r.entries[0]).toMatchObject({ title: 'One Two', hidden: true, status: { ok: true } });
  });
  it('MENU DEFAULT beats DEFAULT; ONTIMEOUT beats both (it is what boots on timeout)', async () => {
    const base = 'LABEL a\nKERNEL vmlinuz\nLABEL b\nKERNEL vmlinuz\nMENU DEFAULT\nLABEL c\nKERNEL vmlinuz\n';
    const id = (l: string) => `syslinux:sdb:1:/boot/syslinux/syslinux.cfg:${l}`;
    expect((await run(`DEFAULT a\n${base}`)).settings?.defaultId).toBe(id('b'));
    expect((await run(`DEFAULT a\nLABEL a\nKERNEL vmlinuz\n`)).settings?.defaultId).toBe(id('a'));
    expect((await run(`DEFAULT a\nONTIMEOUT c\n${base}`)).settings?.defaultId).toBe(id('c'));
  });
  it('DEFAULT naming no label is a kernel command line (an entry of its own)', async () => {
    const r = await run('DEFAULT vmlinuz root=/dev/sda1 initrd=initrd.img\nLABEL other\nKERNEL vmlinuz\n');
    expect(r.entries.map(label)).toEqual(['vmlinuz', 'other']);
    expect(r.settings?.defaultId).toBe(r.entries[0]!.sourceId);
    expect(targetOf(r.entries[0]!)).toEqual({
      kind: 'linux',
      kernel: { fsId: 'sdb:1', path: '/boot/syslinux/vmlinuz' },
      initrds: [{ fsId: 'sdb:1', path: '/boot/syslinux/initrd.img' }],
      cmdline: 'root=/dev/sda1',
    });
  });
  it('DEFAULT vesamenu.c32 (old-style UI) is not an entry', async () => {
    const r = await run('DEFAULT vesamenu.c32\nLABEL l\nKERNEL vmlinuz\n');
    expect(r.entries.map(label)).toEqual(['l']);
    expect(r.settings?.defaultId).toBeUndefined();
  });
  it('kernel type by extension and explicit directives; LINUX forces Linux', async () => {
    const r = await run(
      'LABEL c32\nKERNEL chain.c32\nLABEL pxe\nKERNEL pxelinux.0\nLABEL bs\nKERNEL dos.bss\nLABEL img\nKERNEL floppy.img\nLABEL forced\nLINUX kernel.img\nLABEL boot\nBOOT x\nLABEL lb\nLOCALBOOT 0\nLABEL none\nAPPEND x\n',
      { 'boot/syslinux/kernel.img': K },
    );
    const reason = (l: string) => get(r.entries, l).diagnostics[0]?.message;
    expect(reason('c32')).toMatch(/COM32 module/);
    expect(reason('pxe')).toMatch(/PXE bootstrap/);
    expect(reason('bs')).toMatch(/boot sector/);
    expect(reason('img')).toMatch(/floppy image/);
    expect(isBootable(get(r.entries, 'forced'))).toBe(true);
    expect(reason('boot')).toMatch(/boot sector/);
    expect(reason('lb')).toMatch(/LOCALBOOT/);
    expect(reason('none')).toMatch(/no KERNEL or LINUX/);
  });
  it('a broken label has no invented target: its reason, and a declared target only when complete', async () => {
    const r = await run(
      'LABEL c32\nKERNEL chain.c32\nLABEL lb\nLOCALBOOT 0\nLABEL none\nAPPEND x\nLABEL mb\nKERNEL mboot.c32\n' +
        'LABEL gone\nKERNEL vmlinuz\nINITRD initrd.img,missing.img\nAPPEND root=/dev/sda1\n',
    );
    // Nothing tendril can boot or show (before: an `efi` target naming the config file).
    for (const l of ['c32', 'lb', 'none', 'mb']) {
      const e = get(r.entries, l);
      expect([l, isBootable(e), targetOf(e), declaredOf(e)]).toEqual([l, false, undefined, undefined]);
      expect(reasonOf(e)).toBe(e.diagnostics.find((d) => d.severity === 'error')?.message);
    }
    expect(reasonOf(get(r.entries, 'mb'))).toBe('mboot.c32 without a multiboot kernel in APPEND');
    // A Linux label whose initrd is missing still names everything it asked for.
    const gone = get(r.entries, 'gone');
    expect(targetOf(gone)).toBeUndefined();
    expect(reasonOf(gone)).toBe('initrd /boot/syslinux/missing.img not found');
    expect(declaredOf(gone)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'sdb:1', path: '/boot/syslinux/vmlinuz' },
      initrds: [
        { fsId: 'sdb:1', path: '/boot/syslinux/initrd.img' },
        { fsId: 'sdb:1', path: '/boot/syslinux/missing.img' },
      ],
      cmdline: 'root=/dev/sda1',
    });
  });
  it('mboot.c32 is a multiboot (Xen) entry split at ---, not bootable by kexec yet', async () => {
    const r = await run(
      'LABEL xen\nKERNEL mboot.c32\nAPPEND xen.gz dom0_mem=2G --- vmlinuz root=/dev/sda1 ro --- initrd.img\n',
      { 'boot/syslinux/xen.gz': 'x' },
    );
    expect(isBootable(r.entries[0]!)).toBe(false);
    expect(declaredOf(r.entries[0]!)).toEqual({
      kind: 'multiboot',
      kernel: { fsId: 'sdb:1', path: '/boot/syslinux/xen.gz' },
      cmdline: 'dom0_mem=2G',
      modules: [
        { file: { fsId: 'sdb:1', path: '/boot/syslinux/vmlinuz' }, cmdline: 'root=/dev/sda1 ro' },
        { file: { fsId: 'sdb:1', path: '/boot/syslinux/initrd.img' }, cmdline: '' },
      ],
    });
    expect(r.entries[0]!.diagnostics.map((d) => d.message)).toContain(
      'multiboot (mboot.c32) entry: not bootable by kexec yet',
    );
  });
  it('FDT and DEVICETREE set the devicetree; FDTOVERLAYS the overlays', async () => {
    const r = await run(
      'LABEL a\nKERNEL vmlinuz\nFDT a.img\nFDTOVERLAYS b.img ucode.img\nLABEL b\nKERNEL vmlinuz\nDEVICETREE b.img\n',
    );
    expect((targetOf(r.entries[0]!) as LinuxTarget).devicetree?.path).toBe('/boot/syslinux/a.img');
    expect((targetOf(r.entries[0]!) as LinuxTarget).devicetreeOverlays?.map((f) => f.path)).toEqual([
      '/boot/syslinux/b.img',
      '/boot/syslinux/ucode.img',
    ]);
    expect((targetOf(r.entries[1]!) as LinuxTarget).devicetree?.path).toBe('/boot/syslinux/b.img');
  });
  it('duplicate labels get distinct ids and a warning', async () => {
    const r = await run('LABEL a\nKERNEL vmlinuz\nLABEL a\nKERNEL vmlinuz\n');
    expect(r.entries.map((e) => e.sourceId.split(':').pop())).toEqual(['a', 'a#2']);
    expect(r.entries[1]!.diagnostics[0]).toMatchObject({ severity: 'warning', line: 3 });
  });
  it('TIMEOUT is in tenths (rounded up); 0 waits forever; garbage is a warning', async () => {
    expect((await run('TIMEOUT 55\n')).settings?.timeout).toEqual({ kind: 'seconds', seconds: 6 });
    expect((await run('TIMEOUT 0\n')).settings?.timeout).toEqual({ kind: 'menu-force' });
    const r = await run('TIMEOUT soon\n');
    expect(r.settings?.timeout).toBeUndefined();
    expect(r.diagnostics[0]).toMatchObject({ severity: 'warning', line: 1 });
  });
  it('unknown directives are infos with file and line; TEXT HELP blocks are skipped', async () => {
    const r = await run('FROBNICATE 1\nLABEL l\nKERNEL vmlinuz\nTEXT HELP\nLABEL fake\nENDTEXT\n');
    expect(r.entries.map(label)).toEqual(['l']);
    expect(r.diagnostics[0]).toMatchObject({
      severity: 'info',
      file: '/boot/syslinux/syslinux.cfg',
      line: 1,
      fsId: 'sdb:1',
    });
  });
});

describe('I/O errors', () => {
  it('a read error while checking one label disables that label only (fault-injected reader)', async () => {
    t = makeCtx([{ fsId: 'sdb:1', files: { 'syslinux.cfg': 'LABEL a\nKERNEL /a\nLABEL b\nKERNEL /b\n', a: K, b: K } }]);
    const m = t.ctx.filesystems[0]!;
    const inner = m.fs;
    const faulty = Object.assign(Object.create(inner) as typeof inner, {
      stat: async (p: string) => {
        if (p === '/b') throw new Error('pread: EIO (simulated)');
        return inner.stat(p);
      },
    });
    const r = await syslinuxSource({ ...t.ctx, filesystems: [{ report: m.report, fs: faulty }] });
    expect(r.entries.map((e) => isBootable(e))).toEqual([true, false]);
    expect([targetOf(r.entries[1]!), declaredOf(r.entries[1]!)]).toEqual([undefined, undefined]);
    expect(reasonOf(r.entries[1]!)).toBe('label b: pread: EIO (simulated)');
    expect(r.entries[1]!.diagnostics[0]).toMatchObject({
      file: '/syslinux.cfg',
      line: 3,
      message: 'label b: pread: EIO (simulated)',
    });
  });
});
