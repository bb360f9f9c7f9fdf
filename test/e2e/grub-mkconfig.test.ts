// grub.cfg written by the real grub-mkconfig (Debian bookworm, grub 2.06) in a debootstrap
// chroot, evaluated by tendril. Expectations come from an independent, deliberately simple
// line scan of the same grub.cfg (menuentry/submenu/linux/initrd/multiboot/module lines and
// the grubenv file), never from the code under test.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostDirFileSystem } from '../../src/discovery/fs/hostdir';
import type { FsReport, LinuxTarget, MultibootTarget, SourceEntry } from '../../src/discovery/model';
import type { MountedFs, SourceContext } from '../../src/discovery/sources/context';
import { scanGrub } from '../../src/discovery/sources/grub';
import { grubMkconfigFixture, MKCONFIG_ROOT_UUID, type MkconfigFixture } from '../fixtures/grub-mkconfig';
import { declaredOf, isBootable, targetOf } from '../fixtures/status';

interface Expected {
  title: string;
  id: string;
  groups: string[];
  groupIds: string[];
  loader: 'linux' | 'multiboot';
  kernel: string;
  args: string;
  initrds: string[];
  modules: { path: string; args: string }[];
}

/** grub_quote: ' is written as '\'' inside single quotes. */
function unquote(s: string): string {
  return s.replace(/'\\''/g, "'");
}

/** Independent reading of grub-mkconfig's output: one construct per line, as it writes them. */
function scanByLines(text: string): Expected[] {
  const out: Expected[] = [];
  const stack: { kind: 'submenu' | 'entry'; title: string; id: string }[] = [];
  let cur: Expected | null = null;
  let xenOpts = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^(menuentry|submenu) '((?:[^']|'\\'')*)'.*\$menuentry_id_option '([^']*)' \{$/.exec(line);
    if (m) {
      if (m[1] === 'submenu') stack.push({ kind: 'submenu', title: unquote(m[2]!), id: m[3]! });
      else {
        const subs = stack.filter((s) => s.kind === 'submenu');
        cur = {
          title: unquote(m[2]!),
          id: m[3]!,
          groups: subs.map((s) => s.title),
          groupIds: subs.map((s) => s.id),
          loader: 'linux',
          kernel: '',
          args: '',
          initrds: [],
          modules: [],
        };
        stack.push({ kind: 'entry', title: cur.title, id: cur.id });
        xenOpts = '';
      }
      continue;
    }
    if (line === '}') {
      const top = stack.pop();
      if (top?.kind === 'entry' && cur) {
        out.push(cur);
        cur = null;
      }
      continue;
    }
    if (!cur) continue;
    // 20_linux_xen: the EFI branch of its platform test sets xen_rm_opts.
    const xo = /^xen_rm_opts="([^"]*)"$/.exec(line);
    if (xo) xenOpts = xo[1]!;
    const words = line.split(/\s+/);
    const rest = (from: number): string =>
      words.slice(from).join(' ').replace('${xen_rm_opts}', xenOpts).split(/\s+/).filter(Boolean).join(' ');
    if (words[0] === 'linux') {
      cur.kernel = words[1]!;
      cur.args = rest(2);
    } else if (words[0] === 'initrd') {
      cur.initrds = words.slice(1);
    } else if (words[0] === 'multiboot' || words[0] === 'multiboot2') {
      cur.loader = 'multiboot';
      cur.kernel = words[1]!;
      cur.args = rest(2);
    } else if (words[0] === 'module' || words[0] === 'module2') {
      const w = words.slice(1).filter((x) => !x.startsWith('--'));
      cur.modules.push({ path: w[0]!, args: w.slice(1).join(' ') });
    }
  }
  return out;
}

/** grubenv read the simple way: name=value lines after the signature. */
function grubenvVars(file: string): Map<string, string> {
  const vars = new Map<string, string>();
  if (!fs.existsSync(file)) return vars;
  for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([^#=][^=]*)=(.*)$/.exec(l);
    if (m) vars.set(m[1]!, m[2]!);
  }
  return vars;
}

function ctxFor(dir: string): SourceContext {
  const report: FsReport = {
    fsId: 'vda:2',
    device: '/dev/vda',
    partition: 2,
    offset: 0,
    size: 0,
    probe: { type: 'ext4', uuid: MKCONFIG_ROOT_UUID, label: 'debroot', readable: true },
  };
  const fss: MountedFs[] = [{ report, fs: new HostDirFileSystem(dir) }];
  return { filesystems: fss, get: (id) => fss.find((f) => f.report.fsId === id), arch: 'x64' };
}

let fx: MkconfigFixture;
beforeAll(() => {
  const t0 = Date.now();
  fx = grubMkconfigFixture();
  console.log(
    `grub-mkconfig fixture ready in ${Date.now() - t0} ms (debootstrap took ${fx.debootstrapMs} ms when built; grub ${fx.grubVersion}; mirror ${fx.mirror})`,
  );
}, 1_800_000);

describe.each(['default', 'saved', 'reboot-once', 'flat'])('grub-mkconfig variant %s', (variant) => {
  it('yields exactly the menuentries grub-mkconfig wrote, with kernels, initrds, cmdlines, groups and default', async () => {
    const dir = fx.variants[variant]!;
    const cfgText = fs.readFileSync(path.join(dir, 'boot/grub/grub.cfg'), 'utf8');
    const expected = scanByLines(cfgText);
    expect(expected.length).toBeGreaterThan(2);
    const scan = await scanGrub(ctxFor(dir));
    const got = scan.entries;
    expect(got.map((e) => e.title)).toEqual(expected.map((e) => e.title));
    expected.forEach((exp, i) => {
      const e: SourceEntry = got[i]!;
      expect(e.group).toBe(exp.groups.length ? exp.groups.join('>') : undefined);
      expect(e.sourceId).toBe(
        `grub:vda:2:/boot/grub/grub.cfg:${[...exp.groupIds, exp.id].join('>')}` +
          (e.sourceId.match(/#\d+$/)?.[0] ?? ''),
      );
      if (exp.loader === 'linux') {
        const t = targetOf(e) as LinuxTarget;
        expect(t.kind).toBe('linux');
        expect(t.kernel).toEqual({ fsId: 'vda:2', path: exp.kernel });
        expect(t.initrds).toEqual(exp.initrds.map((p) => ({ fsId: 'vda:2', path: p })));
        expect(t.cmdline).toBe(exp.args);
        expect(isBootable(e)).toBe(true);
      } else {
        // Not bootable by kexec yet: listed with the target its config declares.
        const t = declaredOf(e) as MultibootTarget;
        expect(t.kind).toBe('multiboot');
        expect(t.kernel).toEqual({ fsId: 'vda:2', path: exp.kernel });
        expect(t.cmdline).toBe(exp.args);
        expect(t.modules.map((m) => ({ path: m.file.path, args: m.cmdline }))).toEqual(exp.modules);
        expect(isBootable(e)).toBe(false);
        expect(e.diagnostics.map((d) => d.message).join('\n')).toContain('not bootable by kexec yet');
      }
    });

    // Default: what `set default=` in grub.cfg names, with grubenv substituted, resolved by
    // index (top level, file order) or by an id path.
    const env = grubenvVars(path.join(dir, 'boot/grub/grubenv'));
    // 00_header: `set default="${next_entry}"` when next_entry is set, else the configured one.
    const setDefault = [...cfgText.matchAll(/^\s*set default="([^"]*)"$/gm)]
      .map((m) => m[1]!)
      .find((v) => v !== '${next_entry}')!;
    const spec = env.get('next_entry') || setDefault.replace('${saved_entry}', env.get('saved_entry') ?? '');
    let want: Expected | undefined;
    if (/^\d+$/.test(spec)) {
      // Index among top-level items: entries and submenus in file order.
      const top: string[] = [];
      for (const e of expected) {
        const key = e.groups.length ? `sub:${e.groupIds[0]}` : `entry:${e.id}`;
        if (!top.includes(key)) top.push(key);
      }
      const k = top[Number(spec)]!;
      want = expected.find((e) => (e.groups.length ? `sub:${e.groupIds[0]}` : `entry:${e.id}`) === k);
    } else {
      const parts = spec.split('>');
      want = expected.find((e) => [...e.groupIds, e.id].join('>') === parts.join('>'));
    }
    expect(want).toBeDefined();
    const gotDefault = got.find((e) => e.sourceId === scan.settings?.defaultId);
    expect(gotDefault?.title).toBe(want!.title);
    expect(scan.configs[0]!.oneShot !== undefined).toBe(env.has('next_entry') && env.get('next_entry') !== '');

    // Timeout as /etc/default/grub asked.
    const dg = fs.readFileSync(path.join(dir, 'etc-default-grub'), 'utf8');
    const timeout = Number(/^GRUB_TIMEOUT=(-?\d+)/m.exec(dg)![1]);
    const style = /^GRUB_TIMEOUT_STYLE=(\w+)/m.exec(dg)?.[1];
    const expectTimeout =
      timeout < 0
        ? { kind: 'menu-force' }
        : style === 'hidden'
          ? { kind: 'menu-hidden' }
          : { kind: 'seconds', seconds: timeout };
    expect(scan.settings?.timeout).toEqual(expectTimeout);
    expect(scan.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
});
