// Every example configuration of docs/sprout.md §16, evaluated against real trees. Expectations
// come from the doc's stated outcomes (order by descending sort key, defaults, names) and from
// the mapping rules of docs/sprout.md §17 (targets by content, cmdlines, extractor tokens).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LinuxTarget, MultibootTarget, SourceEntry } from '../../../src/discovery/model';
import { sproutSource } from '../../../src/discovery/sources/sprout';
import { esp, LINUX_TYPE, makeCtx, XBOOTLDR_TYPE, type TestCtx } from './tree';
import { declaredOf, isBootable, targetOf } from '../../fixtures/status';

const DATA = path.join(__dirname, '../../data/sprout');
const example = (n: string) => fs.readFileSync(path.join(DATA, `example-${n}.toml`), 'utf8');
const K = { real: 'kernel' } as const;
const EFI = { real: 'efi' } as const;

let t: TestCtx | undefined;
afterEach(() => t?.cleanup());

const nameOf = (e: SourceEntry) => e.sourceId.replace(/^sprout:vda:1:/, '');
const names = (es: SourceEntry[]) => es.map(nameOf);
const byName = (es: SourceEntry[], n: string) => {
  const e = es.find((x) => nameOf(x) === n);
  if (!e) throw new Error(`no entry ${n} in ${names(es).join(', ')}`);
  return e;
};
const infos = (e: { diagnostics: { severity: string; message: string }[] }) => e.diagnostics.map((d) => d.message);

describe('docs/sprout.md §16.1: static entries, extractor, default, print', () => {
  it('orders stable before debug by descending sort-key, defaults to stable, 5 s timeout', async () => {
    t = makeCtx([
      esp({ 'sprout.toml': example('18.1') }),
      { fsId: 'vda:2', partType: LINUX_TYPE, files: { 'boot/vmlinuz-stable': K, 'boot/initramfs-stable': 'initrd' } },
    ]);
    const r = await sproutSource(t.ctx);
    expect(names(r.entries)).toEqual(['stable', 'debug']);
    expect(r.settings?.defaultId).toBe('sprout:vda:1:stable');
    expect(r.settings?.timeout).toEqual({ kind: 'seconds', seconds: 5 });
    const stable = byName(r.entries, 'stable');
    expect(stable.title).toBe('Linux (stable)');
    expect(isBootable(stable)).toBe(true);
    expect(targetOf(stable)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'vda:2', path: '/boot/vmlinuz-stable' },
      initrds: [{ fsId: 'vda:2', path: '/boot/initramfs-stable' }],
      cmdline: 'root=LABEL=rootfs ro quiet console=ttyS0,115200',
    });
    // The hello action runs first: its text names the extractor token.
    expect(infos(stable)).toContain('print: booting from tendril-fs:vda:2/');
    const debug = byName(r.entries, 'debug');
    expect((targetOf(debug) as LinuxTarget).cmdline).toBe('root=LABEL=rootfs ro quiet debug ignore_loglevel');
    expect(debug.origin).toMatchObject({ source: 'sprout', fsId: 'vda:1', file: '/sprout.toml', line: 33 });
  });

  it('empty fallback: "$sys\\\\boot\\\\…" becomes a path on the config’s own ESP', async () => {
    t = makeCtx([esp({ 'sprout.toml': example('18.1'), 'boot/vmlinuz-stable': K, 'boot/initramfs-stable': 'x' })]);
    // The ESP itself matches has-item here; a second fs without the file must not.
    const r = await sproutSource(t.ctx);
    expect((targetOf(byName(r.entries, 'stable')) as LinuxTarget).kernel).toEqual({
      fsId: 'vda:1',
      path: '/boot/vmlinuz-stable',
    });

    t.cleanup();
    t = makeCtx([
      esp({
        'sprout.toml': example('18.1').replace('vmlinuz-stable"\nfallback', 'vmlinuz-missing"\nfallback'),
        'boot/vmlinuz-stable': K,
        'boot/initramfs-stable': 'x',
      }),
    ]);
    const r2 = await sproutSource(t.ctx);
    const s2 = byName(r2.entries, 'stable');
    expect(isBootable(s2)).toBe(true);
    expect((targetOf(s2) as LinuxTarget).kernel).toEqual({ fsId: 'vda:1', path: '/boot/vmlinuz-stable' });
    expect(infos(s2)).toContain('print: booting from ');
  });
});

describe('docs/sprout.md §16.2: BLS generator on XBOOTLDR, matrix, startup phase', () => {
  const bls = (v: string, extra = '') =>
    `title Fedora Linux\nversion ${v}\nmachine-id 0123456789abcdef0123456789abcdef\nlinux /vmlinuz-${v}\ninitrd /intel-ucode.img\ninitrd /initramfs-${v}.img\noptions root=LABEL=rootfs ro\noptions quiet\n${extra}`;
  const boot = {
    'loader/entries/fedora-6.8.5.conf': bls('6.8.5'),
    'loader/entries/fedora-6.9.1.conf': bls('6.9.1'),
    'vmlinuz-6.8.5': K,
    'vmlinuz-6.9.1': K,
    'initramfs-6.8.5.img': 'i',
    'initramfs-6.9.1.img': 'i',
    'intel-ucode.img': 'u',
    'vmlinuz-rescue': K,
    'initramfs-rescue': 'r',
  };

  it('names BLS entries by file stem and matrix entries rescue-0/1; AND needs the XBOOTLDR type', async () => {
    t = makeCtx([
      esp({ 'sprout.toml': example('18.2') }),
      // A root fs with loader/entries but the wrong type comes first: has-item alone would match it.
      {
        fsId: 'vda:2',
        partType: LINUX_TYPE,
        partUuid: '22222222-2222-4222-8222-222222222222',
        files: { 'loader/entries/x.conf': 'linux /nope\n' },
      },
      { fsId: 'vda:3', partType: XBOOTLDR_TYPE, partUuid: '33333333-3333-4333-8333-333333333333', files: boot },
    ]);
    const r = await sproutSource(t.ctx);
    // Descending verscmp of sort keys: "rescue-1" > "rescue-0" > "bls-…-1" > "bls-…-0".
    expect(names(r.entries)).toEqual(['rescue-1', 'rescue-0', 'fedora-6.9.1', 'fedora-6.8.5']);
    expect(byName(r.entries, 'rescue-0').title).toBe('Rescue (rescue)');
    expect(byName(r.entries, 'rescue-1').title).toBe('Rescue (emergency)');
    expect((targetOf(byName(r.entries, 'rescue-1')) as LinuxTarget).cmdline).toBe(
      'root=LABEL=rootfs systemd.unit=emergency.target',
    );
    expect((targetOf(byName(r.entries, 'rescue-1')) as LinuxTarget).kernel).toEqual({
      fsId: 'vda:3',
      path: '/vmlinuz-rescue',
    });
    // No default-entry: the first entry is the default (docs/sprout.md §12 step 13); default menu-timeout 10.
    expect(r.settings?.defaultId).toBe('sprout:vda:1:rescue-1');
    expect(r.settings?.timeout).toEqual({ kind: 'seconds', seconds: 10 });

    const f = byName(r.entries, 'fedora-6.9.1');
    expect(f.title).toBe('Fedora Linux 6.9.1');
    expect(f.version).toBe('6.9.1');
    expect(f.machineId).toBe('0123456789abcdef0123456789abcdef');
    // Booted natively (docs/sprout.md §17.5): both initrds in order and both options lines, not sprout's last-one-wins.
    expect(targetOf(f)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'vda:3', path: '/vmlinuz-6.9.1' },
      initrds: [
        { fsId: 'vda:3', path: '/intel-ucode.img' },
        { fsId: 'vda:3', path: '/initramfs-6.9.1.img' },
      ],
      cmdline: 'root=LABEL=rootfs ro quiet',
    });
    expect(infos(f).some((m) => m.startsWith('booted natively as BLS: 2 initrds'))).toBe(true);

    const msgs = r.diagnostics.map((d) => d.message);
    expect(msgs).toContain('print (startup phase): sprout: /boot is tendril-fs:vda:3/');
    expect(msgs).toContain('driver ext4 (\\EFI\\sprout\\ext4.efi) ignored (native Linux filesystem support)');
  });

  it('a non-canonical BLS action is evaluated with sprout semantics (last initrd only)', async () => {
    const cfg = example('18.2').replace(
      'chainload.options = ["$options"]\nchainload.linux-initrd = "$boot\\\\$initrd"',
      'chainload.options = ["$options", "extra"]\nchainload.linux-initrd = "$boot\\\\$initrd"',
    );
    expect(cfg).not.toBe(example('18.2'));
    t = makeCtx([esp({ 'sprout.toml': cfg }), { fsId: 'vda:3', partType: XBOOTLDR_TYPE, files: boot }]);
    const r = await sproutSource(t.ctx);
    const f = byName(r.entries, 'fedora-6.9.1');
    expect(targetOf(f)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'vda:3', path: '/vmlinuz-6.9.1' },
      initrds: [{ fsId: 'vda:3', path: '/initramfs-6.9.1.img' }],
      cmdline: 'quiet extra',
    });
  });

  it('no XBOOTLDR: $boot is unavailable, entries using it are listed but not bootable', async () => {
    t = makeCtx([esp({ 'sprout.toml': example('18.2') }), { fsId: 'vda:2', partType: LINUX_TYPE, files: boot }]);
    const r = await sproutSource(t.ctx);
    expect(names(r.entries)).toEqual(['rescue-1', 'rescue-0']);
    for (const e of r.entries) {
      expect(isBootable(e)).toBe(false);
      expect(infos(e).join('\n')).toMatch(/extractor boot matched no filesystem/);
    }
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(
      /extractor boot: unable to find matching filesystem \(no fallback\)/,
    );
  });
});

describe('docs/sprout.md §16.3: edera plus autoconfigure', () => {
  it('edera first (sort-key zz) and default; autoconfigured Linux newest first and Windows', async () => {
    t = makeCtx([
      esp({
        'sprout.toml': example('18.3'),
        'EFI/edera/xen.efi': EFI,
        'EFI/edera/dom0.efi': K,
        'EFI/edera/dom0-initramfs': 'd',
        'EFI/Microsoft/Boot/bootmgfw.efi': EFI,
      }),
      {
        fsId: 'vda:2',
        partType: LINUX_TYPE,
        files: {
          'boot/vmlinuz-6.1.0-18-amd64': K,
          'boot/initrd.img-6.1.0-18-amd64': 'a',
          'boot/vmlinuz-6.1.0-56-amd64': K,
          'boot/initrd.img-6.1.0-56-amd64': 'b',
        },
      },
    ]);
    const r = await sproutSource(t.ctx);
    const h = (s: string) => createHash('sha256').update(s).digest('hex');
    const Hesp = h('tendril-fs:vda:1/');
    const Hroot = h('tendril-fs:vda:2/');
    // Sort keys: "zz" > "$kernel" (the literal, docs/sprout.md §14/§15.1) > "auto-windows-…".
    expect(names(r.entries)).toEqual([
      'edera',
      `auto-linux-${Hroot}-0`,
      `auto-linux-${Hroot}-1`,
      `auto-windows-${Hesp}`,
    ]);
    expect(r.settings?.defaultId).toBe('sprout:vda:1:edera');
    expect(r.settings?.timeout).toEqual({ kind: 'seconds', seconds: 3 });

    const edera = byName(r.entries, 'edera');
    expect(isBootable(edera)).toBe(false);
    expect(declaredOf(edera)).toEqual<MultibootTarget>({
      kind: 'multiboot',
      kernel: { fsId: 'vda:1', path: '/EFI/edera/xen.efi' },
      cmdline: 'dom0_mem=4G,max:4G console=com1 com1=115200,8n1',
      modules: [
        { file: { fsId: 'vda:1', path: '/EFI/edera/dom0.efi' }, cmdline: 'console=hvc0' },
        { file: { fsId: 'vda:1', path: '/EFI/edera/dom0-initramfs' }, cmdline: '' },
      ],
    });
    expect(infos(edera).join('\n')).toMatch(/not bootable by kexec yet/);

    const l0 = byName(r.entries, `auto-linux-${Hroot}-0`);
    expect(l0.title).toBe('Boot Linux /boot/vmlinuz-6.1.0-56-amd64');
    expect(targetOf(l0)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'vda:2', path: '/boot/vmlinuz-6.1.0-56-amd64' },
      initrds: [{ fsId: 'vda:2', path: '/boot/initrd.img-6.1.0-56-amd64' }],
      cmdline: 'root=UUID=0b1c…-…',
    });
    const win = byName(r.entries, `auto-windows-${Hesp}`);
    expect(win.title).toBe('Boot Windows');
    expect(targetOf(win)).toEqual({ kind: 'efi', image: { fsId: 'vda:1', path: '/EFI/Microsoft/Boot/bootmgfw.efi' } });
    expect(isBootable(win)).toBe(true);
  });
});
