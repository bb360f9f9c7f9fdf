// Evaluation (docs/sprout.md §7–§13, §17.4–§17.8): paths, chainload classification by content,
// initrd= conversion, generators, names, global order, defaults, timeouts, phases, limits.
import { afterEach, describe, expect, it } from 'vitest';
import type { LinuxTarget, SourceEntry } from '../../../src/discovery/model';
import { createSproutSource, sproutSource } from '../../../src/discovery/sources/sprout';
import { esp, LINUX_TYPE, makeCtx, type Files, type FsSpec, type TestCtx } from './tree';
import { declaredOf, isBootable, reasonOf, targetOf } from '../../fixtures/status';

const K = { real: 'kernel' } as const;
const EFI = { real: 'efi' } as const;
const UKI = { real: 'uki' } as const;
const P2 = '22222222-2222-4222-8222-222222222222';

let t: TestCtx | undefined;
afterEach(() => t?.cleanup());

const nameOf = (e: SourceEntry) => e.sourceId.replace(/^sprout:vda:1:/, '');
const names = (es: SourceEntry[]) => es.map(nameOf);
const get = (es: SourceEntry[], n: string) => {
  const e = es.find((x) => nameOf(x) === n);
  if (!e) throw new Error(`no entry ${n} in ${names(es).join(', ')}`);
  return e;
};
const msgs = (e: { diagnostics: { message: string }[] }) => e.diagnostics.map((d) => d.message).join('\n');

async function run(toml: string, espFiles: Files = {}, others: FsSpec[] = []) {
  t = makeCtx([esp({ 'sprout.toml': toml, ...espFiles }), ...others]);
  return sproutSource(t.ctx);
}

const root2: FsSpec = {
  fsId: 'vda:2',
  partType: LINUX_TYPE,
  partUuid: P2,
  files: { 'boot/vmlinuz': K, 'boot/initrd.img': 'i', 'boot/efi/x.efi': EFI },
};

describe('paths (docs/sprout.md §11, §17.4)', () => {
  const entry = (p: string) => `[actions.a]\nchainload.path = '${p}'\n[entries.e]\ntitle = "E"\nactions = ["a"]\n`;
  const kernelOf = async (p: string, others: FsSpec[] = [root2]) => {
    const r = await run(entry(p), { 'EFI/linux/vmlinuz': K, vmlinuz: K }, others);
    return r.entries[0]!;
  };
  it('ESP-relative with and without a leading backslash', async () => {
    expect((targetOf(await kernelOf('\\EFI\\linux\\vmlinuz')) as LinuxTarget).kernel).toEqual({
      fsId: 'vda:1',
      path: '/EFI/linux/vmlinuz',
    });
    expect((targetOf(await kernelOf('vmlinuz')) as LinuxTarget).kernel).toEqual({ fsId: 'vda:1', path: '/vmlinuz' });
    // FAT: looked up case-insensitively.
    expect(isBootable(await kernelOf('\\efi\\LINUX\\VMLINUZ'))).toBe(true);
  });
  it('device-path text with HD(n,GPT,guid,…) resolves by PARTUUID; other nodes are skipped', async () => {
    const e = await kernelOf(
      `PciRoot(0x0)/Pci(0x4,0x0)/NVMe(0x1,00-00)/HD(2,GPT,${P2.toUpperCase()},0x800,0x100000)/\\boot\\vmlinuz`,
    );
    expect(isBootable(e)).toBe(true);
    expect((targetOf(e) as LinuxTarget).kernel).toEqual({ fsId: 'vda:2', path: '/boot/vmlinuz' });
  });
  it('HD(n,MBR,0xsig,…) resolves by the MBR PARTUUID Linux forms', async () => {
    const mbr: FsSpec = { fsId: 'vdb:5', partType: '0x83', partUuid: '0a0b0c0d-05', files: { vmlinuz: K } };
    const e = await kernelOf('PciRoot(0x0)/HD(5,MBR,0xA0B0C0D,0x800,0x1000)/\\vmlinuz', [mbr]);
    expect((targetOf(e) as LinuxTarget).kernel).toEqual({ fsId: 'vdb:5', path: '/vmlinuz' });
  });
  it('a device path matching nothing, or without HD(), makes the entry unavailable with the reason', async () => {
    const e = await kernelOf('PciRoot(0x0)/HD(1,GPT,99999999-9999-4999-8999-999999999999,1,2)/\\vmlinuz');
    expect(isBootable(e)).toBe(false);
    expect(msgs(e)).toMatch(/no discovered partition matches HD\(1,GPT/);
    expect(msgs(await kernelOf('PciRoot(0x0)/Pci(0x1,0x0)/\\vmlinuz'))).toMatch(/has no HD\(\) node/);
  });
  it('never escapes the filesystem root', async () => {
    const e = await kernelOf('\\..\\..\\etc\\passwd');
    expect(isBootable(e)).toBe(false);
    expect(msgs(e)).toMatch(/escapes the filesystem root/);
  });
});

describe('chainload (docs/sprout.md §7.1, §17.5)', () => {
  const cfg = (path: string, extra = '') =>
    `[actions.a]\nchainload.path = '${path}'\n${extra}\n[entries.e]\ntitle = "E"\nactions = ["a"]\n`;
  it('a real bzImage becomes a Linux target; options are stamped, empty items dropped', async () => {
    const r = await run(
      cfg(
        '\\vmlinuz',
        'chainload.options = ["$root", "", "$empty", "quiet"]\n[values]\nroot = "root=/dev/vda2"\nempty = ""',
      ),
      { vmlinuz: K },
    );
    expect(targetOf(r.entries[0]!)).toEqual({
      kind: 'linux',
      kernel: { fsId: 'vda:1', path: '/vmlinuz' },
      initrds: [],
      cmdline: 'root=/dev/vda2 quiet',
    });
  });
  it('initrd= tokens in options become initrds after linux-initrd and leave the command line', async () => {
    const r = await run(
      cfg(
        '\\EFI\\k\\vmlinuz',
        'chainload.options = ["root=x initrd=\\\\EFI\\\\k\\\\a.img", "initrd=\\\\b.img quiet"]\nchainload.linux-initrd = "\\\\EFI\\\\k\\\\first.img"',
      ),
      { 'EFI/k/vmlinuz': K, 'EFI/k/a.img': 'a', 'b.img': 'b', 'EFI/k/first.img': 'f' },
    );
    const e = r.entries[0]!;
    expect(targetOf(e)).toEqual({
      kind: 'linux',
      kernel: { fsId: 'vda:1', path: '/EFI/k/vmlinuz' },
      initrds: [
        { fsId: 'vda:1', path: '/EFI/k/first.img' },
        { fsId: 'vda:1', path: '/EFI/k/a.img' },
        { fsId: 'vda:1', path: '/b.img' },
      ],
      cmdline: 'root=x quiet',
    });
  });
  it('initrd= paths are relative to the kernel’s own volume', async () => {
    const r = await run(
      cfg(`HD(2,GPT,${P2},1,2)/\\boot\\vmlinuz`, 'chainload.options = ["initrd=\\\\boot\\\\initrd.img"]'),
      {},
      [root2],
    );
    expect((targetOf(r.entries[0]!) as LinuxTarget).initrds).toEqual([{ fsId: 'vda:2', path: '/boot/initrd.img' }]);
  });
  it('linux-initrd may be an array (PR sprout#78); a missing initrd makes the entry unbootable', async () => {
    const r = await run(cfg('\\vmlinuz', 'chainload.linux-initrd = ["\\\\u.img", "\\\\i.img"]'), {
      vmlinuz: K,
      'u.img': 'u',
      'i.img': 'i',
    });
    expect((targetOf(r.entries[0]!) as LinuxTarget).initrds.map((f) => f.path)).toEqual(['/u.img', '/i.img']);
    const r2 = await run(cfg('\\vmlinuz', 'chainload.linux-initrd = "\\\\gone.img"'), { vmlinuz: K });
    expect(isBootable(r2.entries[0]!)).toBe(false);
    expect(msgs(r2.entries[0]!)).toMatch(/linux-initrd vda:1:\/gone.img not found/);
  });
  it('a PE with a .linux section is a UKI; options override its cmdline', async () => {
    const r = await run(cfg('\\EFI\\Linux\\arch.efi', 'chainload.options = ["quiet"]'), { 'EFI/Linux/arch.efi': UKI });
    expect(targetOf(r.entries[0]!)).toEqual({
      kind: 'uki',
      image: { fsId: 'vda:1', path: '/EFI/Linux/arch.efi' },
      profile: 0,
      addons: [],
      cmdlineOverride: 'quiet',
    });
  });
  it('any other PE is an EFI program for the VM path', async () => {
    const r = await run(cfg('\\EFI\\systemd\\systemd-bootx64.efi'), { 'EFI/systemd/systemd-bootx64.efi': EFI });
    expect(targetOf(r.entries[0]!)).toEqual({
      kind: 'efi',
      image: { fsId: 'vda:1', path: '/EFI/systemd/systemd-bootx64.efi' },
    });
    expect(isBootable(r.entries[0]!)).toBe(true);
  });
  it('a file that is neither kernel nor PE, or is missing, is not bootable with the reason', async () => {
    const r = await run(cfg('\\notes.txt'), { 'notes.txt': 'hello world' });
    expect(isBootable(r.entries[0]!)).toBe(false);
    expect(msgs(r.entries[0]!)).toMatch(/neither a Linux kernel nor a PE\/EFI image/);
    const r2 = await run(cfg('\\missing'));
    expect(msgs(r2.entries[0]!)).toMatch(/chainload.path vda:1:\/missing not found/);
  });
  it('"placeholder" as command line warns to set linux-options', async () => {
    const r = await run(cfg('\\vmlinuz', 'chainload.options = ["placeholder"]'), { vmlinuz: K });
    expect(msgs(r.entries[0]!)).toMatch(/set \[values\] linux-options/);
  });
});

describe('actions in entries (docs/sprout.md §7, §17.5, §17.7)', () => {
  it('print runs before the boot action; actions after a chainload are reported as never running', async () => {
    const toml = `[actions.hi]\nprint.text = "hello $who"\n[actions.boot]\nchainload.path = "vmlinuz"\n[actions.bye]\nprint.text = "bye"\n[entries.e]\ntitle = "E"\nactions = ["hi", "boot", "bye"]\nvalues = { who = "world" }\n`;
    const e = (await run(toml, { vmlinuz: K })).entries[0]!;
    expect(isBootable(e)).toBe(true);
    expect(msgs(e)).toMatch(/^print: hello world$/m);
    expect(msgs(e)).toMatch(/actions after boot \(bye\) would only run if the image returned/);
  });
  it('an unknown action name or a print-only entry is listed but not bootable', async () => {
    const r = await run(
      '[actions.p]\nprint.text = "x"\n[entries.a]\ntitle = "A"\nactions = ["nope"]\n[entries.b]\ntitle = "B"\nactions = ["p"]\n',
    );
    expect(msgs(get(r.entries, 'a'))).toMatch(/unknown action 'nope'/);
    expect(isBootable(get(r.entries, 'a'))).toBe(false);
    expect(msgs(get(r.entries, 'b'))).toMatch(/nothing to boot/);
    expect(get(r.entries, 'b').origin.line).toBe(6);
  });
  it('a broken entry has no invented target: its reason, and a declared target only when complete', async () => {
    const r = await run(
      '[actions.p]\nprint.text = "x"\n[actions.half]\nchainload.options = []\n' +
        '[actions.nokernel]\nchainload.path = "gone"\n' +
        '[actions.noinitrd]\nchainload.path = "vmlinuz"\nchainload.options = ["root=x"]\nchainload.linux-initrd = ["\\\\i.img", "\\\\gone.img"]\n' +
        '[entries.a]\ntitle = "A"\nactions = ["nope"]\n[entries.b]\ntitle = "B"\nactions = ["p"]\n' +
        '[entries.c]\ntitle = "C"\nactions = ["half"]\n[entries.d]\ntitle = "D"\nactions = ["nokernel"]\n' +
        '[entries.e]\ntitle = "E"\nactions = ["noinitrd"]\n',
      { vmlinuz: K, 'i.img': 'i' },
    );
    // Nothing to boot or show (before: an `efi` target naming sprout.toml).
    const none: [string, RegExp][] = [
      ['a', /^unknown action 'nope'$/],
      ['b', /^entry has no chainload or edera action: nothing to boot$/],
      ['c', /^action half: chainload needs/],
      ['d', /^chainload.path vda:1:\/gone not found$/],
    ];
    for (const [n, why] of none) {
      const e = get(r.entries, n);
      expect([n, isBootable(e), targetOf(e), declaredOf(e)]).toEqual([n, false, undefined, undefined]);
      expect(reasonOf(e)).toMatch(why);
    }
    // A kernel whose second initrd is missing: the whole declared target, every initrd named.
    const e = get(r.entries, 'e');
    expect(targetOf(e)).toBeUndefined();
    expect(reasonOf(e)).toBe('linux-initrd vda:1:/gone.img not found');
    expect(declaredOf(e)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'vda:1', path: '/vmlinuz' },
      initrds: [
        { fsId: 'vda:1', path: '/i.img' },
        { fsId: 'vda:1', path: '/gone.img' },
      ],
      cmdline: 'root=x',
    });
  });
  it('action names are stamped with the entry context ("$act")', async () => {
    const r = await run(
      '[actions.go]\nchainload.path = "vmlinuz"\n[entries.e]\ntitle = "E"\nactions = ["$act"]\nvalues = { act = "go" }\n',
      { vmlinuz: K },
    );
    expect(isBootable(r.entries[0]!)).toBe(true);
  });
  it('a self-referencing value disables only that entry, with a diagnostic', async () => {
    const r = await run(
      '[actions.go]\nchainload.path = "vmlinuz"\n[entries.bad]\ntitle = "Bad $x"\nactions = ["go"]\nvalues = { x = "a$x" }\n[entries.good]\ntitle = "Good"\nactions = ["go"]\n',
      { vmlinuz: K },
    );
    expect(isBootable(get(r.entries, 'bad'))).toBe(false);
    expect(msgs(get(r.entries, 'bad'))).toMatch(/value "x": value grows beyond 65536 characters/);
    expect(isBootable(get(r.entries, 'good'))).toBe(true);
  });
  it('entry values override generator values, which override root values (docs/sprout.md §4.1)', async () => {
    const toml = `[values]\na = "root"\nb = "root"\nc = "root"\n[generators.g.list]\nentry.title = "$a $b $c"\nentry.values = { a = "entry" }\nvalues = [{ a = "gen", b = "gen" }]\n`;
    expect((await run(toml)).entries[0]!.title).toBe('entry gen root');
  });
});

describe('generators (docs/sprout.md §9)', () => {
  it('matrix: cartesian product, keys alphabetical, first key slowest, names <gen>-<i>', async () => {
    const toml = `[generators.m.matrix]\nentry.title = "$os $mode"\nvalues.os = ["a", "b"]\nvalues.mode = ["normal", "debug"]\n`;
    const r = await run(toml);
    // Keys sorted: mode, os → mode varies slowest. Global order: descending names m-3 … m-0.
    const titles = Object.fromEntries(r.entries.map((e) => [nameOf(e), e.title]));
    expect(titles).toEqual({ 'm-0': 'a normal', 'm-1': 'b normal', 'm-2': 'a debug', 'm-3': 'b debug' });
    expect(names(r.entries)).toEqual(['m-3', 'm-2', 'm-1', 'm-0']);
  });
  it('matrix with an empty array or no values yields no entries', async () => {
    expect((await run('[generators.m.matrix]\nentry.title = "x"\nvalues.os = []\nvalues.b = ["1"]\n')).entries).toEqual(
      [],
    );
    expect((await run('[generators.m.matrix]\nentry.title = "x"\n')).entries).toEqual([]);
  });
  it('list: one entry per map; actions stamped with the map at generation', async () => {
    const toml = `[actions.boot-a]\nchainload.path = "vmlinuz"\n[generators.l.list]\nentry.title = "T $n"\nentry.actions = ["boot-$n"]\nvalues = [{ n = "a" }, { n = "zz" }]\n`;
    const r = await run(toml, { vmlinuz: K });
    expect(isBootable(get(r.entries, 'l-0'))).toBe(true);
    expect(msgs(get(r.entries, 'l-1'))).toMatch(/unknown action 'boot-zz'/);
  });
  it('non-string matrix values break only that generator', async () => {
    const r = await run('[generators.m.matrix]\nentry.title = "x"\nvalues.os = [1, 2]\n[entries.ok]\ntitle = "ok"\n');
    expect(names(r.entries)).toEqual(['ok']);
    expect(r.diagnostics.find((d) => /matrix value "os"/.test(d.message))?.line).toBe(3);
  });
});

describe('order, names, defaults, timeouts (docs/sprout.md §13)', () => {
  it('static entries without sort-key appear in descending version order of their names', async () => {
    const r = await run('[entries.kernel]\ntitle = "k"\n[entries.shell]\ntitle = "s"\n[entries.xen]\ntitle = "x"\n');
    expect(names(r.entries)).toEqual(['xen', 'shell', 'kernel']);
    expect(r.settings?.defaultId).toBe('sprout:vda:1:xen');
  });
  it('sort-key is used raw (not stamped) and compared as versions', async () => {
    const r = await run(
      '[values]\nk = "999"\n[entries.a]\ntitle = "a"\nsort-key = "$k"\n[entries.b]\ntitle = "b"\nsort-key = "10"\n[entries.c]\ntitle = "c"\nsort-key = "9"\n',
    );
    // "$k" is compared literally: "$" is a separator, and a digit run beats letters (UAPI.10).
    expect(names(r.entries)).toEqual(['b', 'c', 'a']);
  });
  it('default-entry matches name or title exactly; a trailing * is a prefix match; the first marked wins', async () => {
    const base =
      '[entries.alpha]\ntitle = "Linux A"\nsort-key = "1"\n[entries.beta]\ntitle = "Linux B"\nsort-key = "2"\n[entries.gamma]\ntitle = "Other"\nsort-key = "3"\n';
    expect((await run(`[options]\ndefault-entry = "alpha"\n${base}`)).settings?.defaultId).toBe('sprout:vda:1:alpha');
    expect((await run(`[options]\ndefault-entry = "Linux A"\n${base}`)).settings?.defaultId).toBe('sprout:vda:1:alpha');
    expect((await run(`[options]\ndefault-entry = "Linux*"\n${base}`)).settings?.defaultId).toBe('sprout:vda:1:beta');
    expect((await run(`[options]\ndefault-entry = "al*"\n${base}`)).settings?.defaultId).toBe('sprout:vda:1:alpha');
    const none = await run(`[options]\ndefault-entry = "zzz"\n${base}`);
    expect(none.settings?.defaultId).toBe('sprout:vda:1:gamma');
    expect(none.diagnostics.find((d) => /matches no entry/.test(d.message))?.line).toBe(2);
  });
  it('default-entry is not stamped', async () => {
    const r = await run(
      '[values]\nd = "b"\n[options]\ndefault-entry = "$d"\n[entries.a]\ntitle = "a"\n[entries.b]\ntitle = "b"\n',
    );
    expect(r.settings?.defaultId).toBe('sprout:vda:1:b'); // the first entry, not a match
    expect(r.diagnostics.some((d) => /matches no entry/.test(d.message))).toBe(true);
  });
  it('menu-timeout: default 10, 0 = no menu (menu-hidden)', async () => {
    expect((await run('[entries.a]\ntitle = "a"\n')).settings?.timeout).toEqual({ kind: 'seconds', seconds: 10 });
    expect((await run('[options]\nmenu-timeout = 0\n[entries.a]\ntitle = "a"\n')).settings?.timeout).toEqual({
      kind: 'menu-hidden',
    });
  });
  it('ids are sprout:<fsId>:<name>, unique even when a static name collides with a generated one', async () => {
    const r = await run('[entries.g-0]\ntitle = "static"\n[generators.g.list]\nentry.title = "gen"\nvalues = [{}]\n');
    expect(r.entries.map((e) => e.sourceId).sort()).toEqual(['sprout:vda:1:g-0', 'sprout:vda:1:g-0#2']);
    expect(r.diagnostics.some((d) => /used more than once/.test(d.message))).toBe(true);
  });
});

describe('phases (docs/sprout.md §10, §17.8)', () => {
  it('early sees root values only, startup sees extractor outputs, late runs; errors are logged, not fatal', async () => {
    const toml = `[values]\nv = "root"\n[extractors.boot.filesystem-device-match]\nhas-label = "ESP"\n[actions.say]\nprint.text = "$v $boot"\n[actions.boot]\nchainload.path = "vmlinuz"\n[[phases.early]]\nactions = ["say"]\n[[phases.startup]]\nactions = ["say", "missing", "boot"]\nvalues = { v = "phase" }\n[[phases.late]]\nactions = ["say"]\n[entries.e]\ntitle = "E"\nactions = ["boot"]\n`;
    const r = await run(toml, { vmlinuz: K });
    const m = r.diagnostics.map((d) => d.message);
    expect(m).toContain('print (early phase): root $boot');
    expect(m).toContain('print (startup phase): phase tendril-fs:vda:1/');
    expect(m).toContain('print (late phase): root tendril-fs:vda:1/');
    expect(m.some((x) => /startup phase: unknown action 'missing'/.test(x))).toBe(true);
    expect(m.some((x) => /chainload action boot would start an image/.test(x))).toBe(true);
    expect(isBootable(r.entries[0]!)).toBe(true);
  });
});

describe('drivers (docs/sprout.md §5, §17.2)', () => {
  it('are accepted, stamped and reported as not needed', async () => {
    const r = await run('[values]\nd = "ext4"\n[drivers.ext4]\npath = "\\\\EFI\\\\$d.efi"\n');
    expect(r.diagnostics.find((d) => d.message.startsWith('driver ext4'))).toMatchObject({
      severity: 'info',
      message: 'driver ext4 (\\EFI\\ext4.efi) ignored (native Linux filesystem support)',
      line: 3,
    });
  });
});

describe('several ESPs', () => {
  it('each config is evaluated with its own home; entries stay contiguous; settings from the first', async () => {
    t = makeCtx([
      esp({ 'sprout.toml': '[options]\nmenu-timeout = 2\n[entries.a]\ntitle = "A"\n[entries.b]\ntitle = "B"\n' }),
      esp(
        { 'sprout.toml': '[entries.c]\ntitle = "C"\n' },
        { fsId: 'vdb:1', partUuid: '44444444-4444-4444-8444-444444444444' },
      ),
      { fsId: 'vdc:1', type: 'ext4', files: { 'sprout.toml': '[entries.z]\ntitle = "not an ESP"\n' } },
    ]);
    const r = await sproutSource(t.ctx);
    expect(r.entries.map((e) => e.sourceId)).toEqual(['sprout:vda:1:b', 'sprout:vda:1:a', 'sprout:vdb:1:c']);
    expect(r.settings).toMatchObject({
      timeout: { kind: 'seconds', seconds: 2 },
      defaultId: 'sprout:vda:1:b',
      from: 'vda:1 /sprout.toml',
    });
  });
});

describe('I/O errors', () => {
  it('a read error on one kernel disables that entry only (fault-injected reader)', async () => {
    t = makeCtx([
      esp({
        'sprout.toml':
          '[actions.a]\nchainload.path = "a"\n[actions.b]\nchainload.path = "b"\n[entries.a]\ntitle = "A"\nactions = ["a"]\n[entries.b]\ntitle = "B"\nactions = ["b"]\n',
        a: K,
        b: K,
      }),
    ]);
    const m = t.ctx.filesystems[0]!;
    const inner = m.fs;
    const faulty = Object.assign(Object.create(inner) as typeof inner, {
      stat: async (p: string) => {
        if (p === '/b') throw new Error('pread: EIO (simulated bad sector)');
        return inner.stat(p);
      },
    });
    const ctx = {
      ...t.ctx,
      filesystems: [{ report: m.report, fs: faulty }],
      get: () => ({ report: m.report, fs: faulty }),
    };
    const r = await sproutSource(ctx);
    expect(r.entries.map((e) => [nameOf(e), isBootable(e)])).toEqual([
      ['b', false],
      ['a', true],
    ]);
    expect(msgs(get(r.entries, 'b'))).toMatch(/entry b: pread: EIO \(simulated bad sector\)/);
  });
});

describe('load options and opt-in fixes (docs/sprout.md §3, §17.10)', () => {
  it('configPath reads another file; menuTimeout overrides menu-timeout', async () => {
    t = makeCtx([
      esp({
        'EFI/sprout/alt.toml': '[options]\nmenu-timeout = 7\n[entries.alt]\ntitle = "Alt"\n',
        'sprout.toml': '[entries.main]\ntitle = "Main"\n',
      }),
    ]);
    const r = await createSproutSource({ configPath: '\\EFI\\sprout\\alt.toml', menuTimeout: 0 })(t.ctx);
    expect(names(r.entries)).toEqual(['alt']);
    expect(r.settings?.timeout).toEqual({ kind: 'menu-hidden' });
    expect(r.entries[0]!.origin.file).toBe('/EFI/sprout/alt.toml');
  });
  it('autoconfigureOnly ignores the file and autoconfigures (sprout --autoconfigure)', async () => {
    t = makeCtx([esp({ 'sprout.toml': '[entries.main]\ntitle = "Main"\n', 'EFI/Microsoft/Boot/bootmgfw.efi': EFI })]);
    const r = await createSproutSource({ autoconfigureOnly: true })(t.ctx);
    expect(r.entries.map((e) => e.title)).toEqual(['Boot Windows']);
  });
  it('fixSortBugs stamps sort-key (docs/sprout.md §15.1): autoconfigured-style "$kernel" keys sort by their values', async () => {
    const toml = `[generators.k.list]\nentry.title = "$kernel"\nentry.sort-key = "$kernel"\nvalues = [{ kernel = "vmlinuz-5.10" }, { kernel = "vmlinuz-6.1" }, { kernel = "vmlinuz-5.4" }]\n`;
    expect((await run(toml)).entries.map((e) => e.title)).toEqual(['vmlinuz-5.10', 'vmlinuz-6.1', 'vmlinuz-5.4']);
    t?.cleanup();
    t = makeCtx([esp({ 'sprout.toml': toml })]);
    const fixed = await createSproutSource({ fixSortBugs: true })(t.ctx);
    expect(fixed.entries.map((e) => e.title)).toEqual(['vmlinuz-6.1', 'vmlinuz-5.10', 'vmlinuz-5.4']);
  });
});
