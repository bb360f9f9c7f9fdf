// Fedora/RHEL grub variables in BLS snippets (docs/bls.md §7.3): expansion rules, grub.cfg
// default_kernelopts, and loading from real grubenv files (written by grub-editenv) on a
// host-directory filesystem.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  expandGrubVars,
  hasGrubVars,
  loadGrubVars,
  parseDefaultKernelopts,
  substitutionDiagnostics,
  type VarLookup,
} from '../../../src/discovery/config/kernelopts';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';

const table: Record<string, string> = {
  kernelopts: 'root=/dev/mapper/rhel-root ro crashkernel=auto',
  tuned_params: 'skew_tick=1',
  tuned_initrd: '/tuned.img /more.img',
};
const lookup: VarLookup = (n) => (n in table ? { value: table[n]!, from: 'vda:2 /grub2/grubenv' } : undefined);

describe('expandGrubVars', () => {
  it('$x and ${x}', () => {
    expect(expandGrubVars('$kernelopts $tuned_params', lookup).text).toBe(
      'root=/dev/mapper/rhel-root ro crashkernel=auto skew_tick=1',
    );
    expect(expandGrubVars('a=${tuned_params}b', lookup).text).toBe('a=skew_tick=1b');
  });

  it('undefined expands to empty, and is reported as such', () => {
    const e = expandGrubVars('quiet $nope ${also_nope}x', lookup);
    expect(e.text).toBe('quiet  x');
    expect(e.substitutions).toEqual([
      { name: 'nope', value: '' },
      { name: 'also_nope', value: '' },
    ]);
    const d = substitutionDiagnostics(e.substitutions, { file: '/loader/entries/a.conf', fsId: 'vda:2' }, 3);
    expect(d).toHaveLength(2);
    expect(d[0]).toMatchObject({ severity: 'info', file: '/loader/entries/a.conf', line: 3 });
  });

  it('every substitution is recorded with its origin', () => {
    const e = expandGrubVars('$kernelopts', lookup);
    expect(e.substitutions).toEqual([{ name: 'kernelopts', value: table.kernelopts, from: 'vda:2 /grub2/grubenv' }]);
    expect(substitutionDiagnostics(e.substitutions, { file: 'f' }, 1)[0]!.message).toContain('vda:2 /grub2/grubenv');
  });

  it('a lone $, $ before a non-name, unterminated ${ and \\$ stay literal', () => {
    expect(expandGrubVars('a$ b$-c ${x \\$kernelopts $', lookup).text).toBe('a$ b$-c ${x $kernelopts $');
    expect(hasGrubVars('a$ b$-c ${x \\$kernelopts $')).toBe(false);
    expect(hasGrubVars('x $kernelopts')).toBe(true);
    expect(hasGrubVars('${a}')).toBe(true);
  });

  it('names stop at the first non-name character', () => {
    expect(expandGrubVars('$tuned_params.x $tuned_paramsx', lookup).text).toBe('skew_tick=1.x ');
  });

  it('text without $ is unchanged; substituted values appear in order (property)', () => {
    const piece = fc.oneof(
      fc.array(fc.constantFrom('{', '}', 'a', '_', '1', '\\', ' ', '-'), { maxLength: 6 }).map((a) => a.join('')),
      fc.constantFrom('$kernelopts', '${tuned_params}', '$undefined_one'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
        // Separate pieces so a name never runs into the next piece.
        const s = parts.join(' ');
        const e = expandGrubVars(s, lookup);
        if (!s.includes('$')) {
          expect(e.text).toBe(s);
          expect(hasGrubVars(s)).toBe(false);
        }
        const refs = parts.filter((p) => p.startsWith('$'));
        expect(e.substitutions.map((x) => x.name)).toEqual(refs.map((r) => r.replace(/[${}]/g, '')));
        expect(hasGrubVars(s)).toBe(refs.length > 0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseDefaultKernelopts', () => {
  it('reads the RHEL 8 grub.cfg form', () => {
    const cfg = [
      'set default_kernelopts="root=/dev/mapper/rhel-root ro crashkernel=auto resume=/dev/mapper/rhel-swap rhgb quiet "',
      '',
      'insmod blscfg',
      'blscfg',
      'if [ -z "${kernelopts}" ]; then',
      '  set kernelopts="${default_kernelopts}"',
      'fi',
    ].join('\n');
    expect(parseDefaultKernelopts(cfg)).toBe(
      'root=/dev/mapper/rhel-root ro crashkernel=auto resume=/dev/mapper/rhel-swap rhgb quiet ',
    );
  });
  it('single quotes, bare words, last wins, absent', () => {
    expect(parseDefaultKernelopts("set default_kernelopts='a b'")).toBe('a b');
    expect(parseDefaultKernelopts('  set default_kernelopts=ro\nset default_kernelopts="x \\"y\\""\n')).toBe('x "y"');
    expect(parseDefaultKernelopts('set kernelopts="x"')).toBeUndefined();
  });
});

describe('loadGrubVars from real files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-kopts-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = (p: string, ...kv: string[]) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    execFileSync('grub-editenv', [p, 'create']);
    if (kv.length) execFileSync('grub-editenv', [p, 'set', ...kv]);
  };

  it('same filesystem first, then the ESP EFI/<vendor>/grubenv; per-variable precedence', async () => {
    const boot = path.join(dir, 'boot');
    const esp = path.join(dir, 'esp');
    env(path.join(boot, 'grub2/grubenv'), 'kernelopts=root=/dev/vda3 ro');
    env(path.join(esp, 'EFI/fedora/grubenv'), 'kernelopts=WRONG', 'tuned_params=nohz=on');
    const r = await loadGrubVars([
      { fs: new HostDirFileSystem(boot), fsId: 'vda:2', esp: false },
      { fs: new HostDirFileSystem(esp, true), fsId: 'vda:1', esp: true },
    ]);
    expect(r.lookup('kernelopts')).toEqual({ value: 'root=/dev/vda3 ro', from: 'vda:2 /grub2/grubenv' });
    expect(r.lookup('tuned_params')).toEqual({ value: 'nohz=on', from: 'vda:1 /EFI/fedora/grubenv' });
    expect(r.files).toEqual(['vda:2 /grub2/grubenv', 'vda:1 /EFI/fedora/grubenv']);
  });

  it('grub.cfg default_kernelopts when no grubenv defines kernelopts', async () => {
    const root = path.join(dir, 'rootfs');
    env(path.join(root, 'boot/grub2/grubenv'), 'saved_entry=x');
    fs.writeFileSync(path.join(root, 'boot/grub2/grub.cfg'), 'set default_kernelopts="root=UUID=abc ro"\nblscfg\n');
    const r = await loadGrubVars([{ fs: new HostDirFileSystem(root), fsId: 'sda:3', esp: false }]);
    expect(r.lookup('kernelopts')).toEqual({
      value: 'root=UUID=abc ro',
      from: 'sda:3 /boot/grub2/grub.cfg (default_kernelopts)',
    });
    expect(r.lookup('saved_entry')?.value).toBe('x');
  });

  it('a damaged grubenv is reported, not fatal', async () => {
    const root = path.join(dir, 'damaged');
    fs.mkdirSync(path.join(root, 'grub2'), { recursive: true });
    fs.writeFileSync(path.join(root, 'grub2/grubenv'), 'kernelopts=x\n');
    const r = await loadGrubVars([{ fs: new HostDirFileSystem(root), fsId: 'sda:1', esp: false }]);
    expect(r.lookup('kernelopts')).toBeUndefined();
    expect(r.diagnostics).toMatchObject([{ severity: 'warning', file: '/grub2/grubenv', fsId: 'sda:1', line: 1 }]);
  });
});
