// systemd's own bootctl (Debian systemd-boot 252, src/shared/bootspec.c) as an oracle for
// parsing, menu order and display titles, on random trees of Type #1 snippets. bootctl 252
// predates uki/profile keys and counter ordering and keeps the suffix in step 4 (sd-boot
// order), so the generated snippets avoid those and pairs whose order the suffix decides.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { blsSource } from '../../../src/discovery/sources/bls';
import { finalizeEntries } from '../../../src/discovery/entries/select';
import { verscmp } from '../../../src/discovery/entries/version';
import type { LinuxTarget } from '../../../src/discovery/model';
import { context, DATA, mount, tree } from './fixture';
import { targetOf } from '../../fixtures/status';

const BOOTCTL = [process.env.TENDRIL_BOOTCTL, '/usr/bin/bootctl', '/opt/tendril-sdboot/usr/bin/bootctl'].find(
  (p) => p && fs.existsSync(p),
);
const SCRIPT = path.join(DATA, 'bootctl-list.sh');

interface Listed {
  id: string;
  path: string;
  title?: string;
  showTitle: string;
  version?: string;
  sortKey?: string;
  machineId?: string;
  options?: string;
  linux?: string;
  initrd?: string[];
}

function bootctlList(esp: string, xbootldr: string): Listed[] {
  const out = execFileSync('unshare', ['-m', SCRIPT, BOOTCTL!, esp, xbootldr], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Listed);
}

const temps: string[] = [];
afterAll(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

describe('bootctl oracle', () => {
  it('bootctl (systemd-boot 252) and unshare are available, and we are root', () => {
    expect(
      BOOTCTL,
      'apt-get download systemd-boot && dpkg -x systemd-boot_*.deb /opt/tendril-sdboot (see .ci/run)',
    ).toBeDefined();
    expect(process.getuid?.()).toBe(0);
  });

  it('the sample ESP: same titles and parsed fields; arch.conf vs arch-fallback.conf shows the step-4 difference', async () => {
    const xb = tree({});
    temps.push(xb);
    const listed = bootctlList(path.join(DATA, 'sdboot-esp'), xb);
    const ids = listed.map((l) => l.id);
    // sd-boot order (suffix kept): arch.conf before arch-fallback.conf; ours (spec) is the reverse.
    expect(ids.indexOf('arch.conf')).toBeLessThan(ids.indexOf('arch-fallback.conf'));
    const r = await blsSource(context([mount(path.join(DATA, 'sdboot-esp'), { fsId: 'vda:1', role: 'esp' })]));
    const fin = finalizeEntries(r.entries, []);
    const ours = fin.entries.map((e) => e.id);
    expect(ours.indexOf('arch-fallback.conf')).toBeLessThan(ours.indexOf('arch.conf'));
    const arch = listed.find((l) => l.id === 'arch.conf')!;
    const mine = fin.entries.find((e) => e.id === 'arch.conf')!;
    expect((targetOf(mine) as LinuxTarget).cmdline).toBe(arch.options);
    expect((targetOf(mine) as LinuxTarget).initrds.map((i) => i.path)).toEqual(arch.initrd);
    expect(mine.displayTitle).toBe(arch.showTitle);
  });

  it('random snippet trees: same entries, fields, display titles and (where the suffix does not decide) order', async () => {
    const MIDS = ['0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210'];
    const snippet = fc.record({
      name: fc.stringMatching(/^[a-z]{1,3}(-[0-9]{1,2}(\.[0-9]{1,2})?)?$/),
      title: fc.option(fc.constantFrom('Fedora', 'Debian', 'Arch Linux'), { nil: undefined }),
      version: fc.option(fc.constantFrom('6.1', '6.10', '6.1-rc1', '6.1~rc1', '5.4.0'), { nil: undefined }),
      sortKey: fc.option(fc.constantFrom('fedora', 'debian'), { nil: undefined }),
      machineId: fc.option(fc.constantFrom(...MIDS), { nil: undefined }),
      options: fc.array(fc.constantFrom('ro', 'quiet', 'root=/dev/sda1', 'a=b  c'), { maxLength: 3 }),
      initrds: fc.array(fc.constantFrom('/ucode.img', '/initrd.img'), { maxLength: 2 }),
      sep: fc.constantFrom(' ', '\t', '  \t'),
      eol: fc.constantFrom('\n', '\r\n'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(snippet, { selector: (s) => s.name, minLength: 1, maxLength: 8 }),
        async (snips) => {
          const files: Record<string, string> = { vmlinuz: 'k', 'ucode.img': 'u', 'initrd.img': 'i' };
          for (const s of snips) {
            const kv: [string, string | undefined][] = [
              ['title', s.title],
              ['version', s.version],
              ['sort-key', s.sortKey],
              ['machine-id', s.machineId],
              ['linux', '/vmlinuz'],
              ...s.initrds.map((i): [string, string] => ['initrd', i]),
              ...s.options.map((o): [string, string] => ['options', o]),
            ];
            files[`loader/entries/${s.name}.conf`] =
              kv
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => `${k}${s.sep}${v}`)
                .join(s.eol) + s.eol;
          }
          const esp = tree(files);
          const xb = tree({});
          temps.push(esp, xb);
          const listed = bootctlList(esp, xb);
          const r = await blsSource(context([mount(esp, { fsId: 'vda:1', role: 'esp' })]));
          const fin = finalizeEntries(r.entries, []);
          expect(fin.entries.map((e) => e.id).sort()).toEqual(listed.map((l) => l.id).sort());
          for (const l of listed) {
            const e = fin.entries.find((x) => x.id === l.id)!;
            const t = targetOf(e) as LinuxTarget;
            expect(t.cmdline).toBe(l.options ?? '');
            expect(t.initrds.map((i) => i.path)).toEqual(l.initrd ?? []);
            expect(t.kernel.path).toBe(l.linux);
            expect(e.version).toBe(l.version);
            // userspace bootctl appends the whole machine-id where sd-boot (and we) use 8 characters
            let show = l.showTitle;
            for (const m of MIDS) show = show.replaceAll(`(${m})`, `(${m.slice(0, 8)})`);
            expect(e.displayTitle).toBe(show);
          }
          // Order: compare every pair whose relative order does not depend on the '.conf' suffix.
          const pos = new Map(fin.entries.map((e, i) => [e.id, i]));
          for (let i = 0; i < listed.length; i++) {
            for (let j = i + 1; j < listed.length; j++) {
              const a = listed[i]!.id;
              const b = listed[j]!.id;
              const stripped = verscmp(a.replace(/\.conf$/, ''), b.replace(/\.conf$/, ''));
              if (stripped !== verscmp(a, b)) continue;
              expect(pos.get(a)! < pos.get(b)!, `${a} before ${b}`).toBe(true);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
