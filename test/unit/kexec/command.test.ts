import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOT_COMMAND, bootEntries, candidates, timeoutSeconds } from '../../../src/boot/command';
import { trustFrom } from '../../../src/trust/setup';
import { parseCommand } from '../../../src/util/args';
import { blsDisk, blsEntry } from '../../fixtures/boot';
import type { MenuEntry } from '../../../src/discovery/model';
import { type BootTree, linuxEntry, makeBootTree } from './helpers';

const parseBootArgs = (argv: string[]) => {
  const r = parseCommand(BOOT_COMMAND, argv);
  if (r.kind !== 'args') throw new Error('help asked for');
  return r.args;
};

describe('tendril boot arguments', () => {
  it('parses every option', () => {
    expect(
      parseBootArgs([
        '--entry',
        'a.conf',
        '--dry-run',
        '--disk',
        'x.img',
        '--disk=y.img',
        '--append',
        'quiet',
        '--append',
        'rw',
        '--timeout',
        '3',
        '--console-policy',
        'replace',
        '--no-write',
      ]),
    ).toEqual({
      entry: 'a.conf',
      useDefault: false,
      noWrite: true,
      force: false,
      dryRun: true,
      disks: ['x.img', 'y.img'],
      roots: [],
      append: 'quiet rw',
      timeout: 3,
      consolePolicy: 'replace',
      fallback: false,
      vm: { append: 'quiet rw' },
    });
    expect(parseBootArgs(['--default'])).toMatchObject({ useDefault: true, fallback: true, vm: {} });
    expect(parseBootArgs(['--next', 'a.conf', '--force'])).toMatchObject({
      save: { key: 'oneshot', id: 'a.conf' },
      force: true,
    });
    expect(parseBootArgs(['--set-default', 'none'])).toMatchObject({ save: { key: 'default', id: null } });
    expect(
      parseBootArgs([
        '--entry',
        'w.conf',
        '--firmware',
        'CODE.fd',
        '--secure-boot',
        '--vars',
        'v.fd',
        '--cpus',
        '4',
        '--memory',
        '3G',
        '--write-through',
        '--cmdline',
        'x=1',
      ]).vm,
    ).toEqual({
      firmware: 'CODE.fd',
      secureBoot: true,
      vars: 'v.fd',
      cpus: 4,
      ramBytes: 3 * 2 ** 30,
      writeThrough: true,
      replace: 'x=1',
    });
    expect(() => parseBootArgs(['--default', '--cpus', '9'])).toThrow(/^--cpus needs/);
    expect(parseBootArgs(['--default', '--no-fallback'])).toMatchObject({ fallback: false });
  });
  it('refuses bad combinations with a message', () => {
    expect(() => parseBootArgs([])).toThrow(/exactly one of/);
    expect(() => parseBootArgs(['--entry', 'a', '--default'])).toThrow(/exactly one of/);
    expect(() => parseBootArgs(['--entry'])).toThrow(/^--entry needs a value$/);
    expect(() => parseBootArgs(['--entry', ''])).toThrow(/^--entry needs a value$/);
    expect(() => parseBootArgs(['--default', '--timeout', 'x'])).toThrow(/^--timeout needs a number in 0..3600/);
    expect(() => parseBootArgs(['--default', '--timeout', '3601'])).toThrow(/got '3601'/);
    expect(() => parseBootArgs(['--default', '--device-deadline', '99'])).toThrow(/100..600000/);
    expect(() => parseBootArgs(['--default', '--console-policy', 'all'])).toThrow(/^--console-policy must be one of/);
    expect(() => parseBootArgs(['--default', '--bogus'])).toThrow(/^unknown option --bogus$/);
    expect(() => parseBootArgs(['--default', 'stray'])).toThrow(/^unexpected argument 'stray'$/);
  });
  it('orders fallback candidates after the chosen entry, wrapping, bootable only', () => {
    const e = ['a', 'b', 'c', 'd'].map((id) => linuxEntry(id, '/k', [], ''));
    const broken: MenuEntry = { ...e[3]!, status: { ok: false, reason: 'initrd missing' } };
    const list = [e[0]!, e[1]!, e[2]!, broken];
    expect((candidates(list, 'b', true) as { id: string }[]).map((x) => x.id)).toEqual(['b', 'c', 'a']);
    expect((candidates(list, 'b', false) as { id: string }[]).map((x) => x.id)).toEqual(['b']);
    expect(candidates(list, 'zz', true)).toMatch(/no entry with id 'zz'/);
  });
  it('takes the timeout from the settings unless overridden', () => {
    const s = {
      timeout: { kind: 'seconds' as const, seconds: 5 },
      timeoutSource: 'loader.conf',
      editor: true,
      defaultReason: '',
    };
    expect(timeoutSeconds(s)).toBe(5);
    expect(timeoutSeconds(s, 0)).toBe(0);
    expect(timeoutSeconds({ ...s, timeout: { kind: 'menu-force' } })).toBe(0);
  });
});

describe('bootEntries (dry run)', () => {
  let t: BootTree;
  beforeAll(() => {
    t = makeBootTree();
  });
  afterAll(() => t.cleanup());
  it('reports a broken entry and plans the next one', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: { write: (s: string) => out.push(s) },
      err: { write: (s: string) => err.push(s) },
      sleep: async () => {},
    };
    const list = [
      linuxEntry('bad', '/corrupt-vmlinuz', [], ''),
      linuxEntry('good', '/vmlinuz', ['/second.img'], 'root=x'),
    ];
    const code = await bootEntries(
      list,
      { lookup: (id) => (id === 'img:1' ? t.fs : undefined), devices: [] },
      true,
      io,
    );
    expect(code).toBe(0);
    expect(err.join('')).toMatch(/entry 'bad': boot failed: probe: ENOEXEC \(8\)\n\s+hint: kernel image not loadable/);
    expect(err.join('')).toMatch(/trying next entry 'good'/);
    expect(out.join('')).toMatch(/^entry: good/);
  });
  it('prints the signature verdicts under trust.policy = warn (docs/signatures.md §4)', async () => {
    const out: string[] = [];
    const io = { out: { write: (s: string) => out.push(s) }, err: { write: () => 0 }, sleep: async () => {} };
    const trust = trustFrom({ policy: 'warn', db: '/nonexistent', keys: '/nonexistent' });
    const code = await bootEntries(
      [linuxEntry('good', '/vmlinuz', ['/second.img'], 'root=x')],
      { lookup: (id) => (id === 'img:1' ? t.fs : undefined), devices: [] },
      true,
      io,
      undefined,
      trust,
    );
    expect(code).toBe(0);
    expect(out.join('')).toMatch(
      /signatures \(trust\.policy = warn\): bad\n {2}img:1:\/vmlinuz: BAD signature: .*signed by Debian Secure Boot Signer[^\n]*\n {2}img:1:\/second\.img: unsigned: no \/second\.img\.sig\n/,
    );
  });
  it('returns non-zero when nothing can be booted', async () => {
    const io = { out: { write: () => 0 }, err: { write: () => 0 }, sleep: async () => {} };
    expect(await bootEntries([linuxEntry('bad', '/nope', [], '')], { lookup: () => t.fs, devices: [] }, true, io)).toBe(
      1,
    );
  });
});

describe('tendril boot --dry-run through the bundle on a real BLS disk', () => {
  it('plans the loader.conf default with sizes and sha256 that match the disk files', () => {
    const disk = blsDisk('timeout 1\ndefault two.conf\n', {
      'one.conf': blsEntry({ title: 'One', linux: '/vmlinuz', initrds: ['/initrd-main.img'], options: 'one' }),
      'two.conf': blsEntry({
        title: 'Two',
        linux: '/vmlinuz',
        initrds: ['/intel-ucode.img', '/initrd-second.img'],
        options: 'two console=ttyS1',
      }),
    });
    const bin = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');
    const r = spawnSync(process.execPath, [bin, 'boot', '--default', '--dry-run', '--disk', disk], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^entry: two\.conf \(Two\)/);
    // The kernel on the disk is a copy of the host kernel: its sha256 must match sha256sum(1).
    const kernel = /kernel: (\S+):\/vmlinuz size (\d+) sha256 ([0-9a-f]{64})/.exec(r.stdout);
    expect(kernel).not.toBeNull();
    const sha = execFileSync('sh', ['-c', `sha256sum $(ls /boot/vmlinuz-* | sort -V | tail -1)`], {
      encoding: 'utf8',
    }).split(' ')[0];
    expect(kernel![3]).toBe(sha);
    expect(r.stdout).toMatch(/initrd\[0\]: \S+:\/intel-ucode.img/);
    expect(r.stdout).toMatch(/initrd\[1\]: \S+:\/initrd-second.img/);
    expect(r.stdout).toMatch(/cmdline \(\d+\/2047 bytes\): two console=ttyS1\n/);
    expect(r.stdout).toMatch(/syscall: kexec_file_load/);
  });
});
