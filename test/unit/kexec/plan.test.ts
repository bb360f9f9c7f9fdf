import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MenuEntry } from '../../../src/discovery/model';
import { KexecError } from '../../../src/kexec/errors';
import { isCompressedHead, isEarlyMicrocodeCpio, layoutInitrd } from '../../../src/kexec/initrd';
import { describePlan, planBoot } from '../../../src/kexec/plan';
import { type BootTree, linuxEntry, makeBootTree } from './helpers';

let t: BootTree;
beforeAll(() => {
  t = makeBootTree();
});
afterAll(() => t.cleanup());
const lookup = (id: string) => (id === 'img:1' ? t.fs : undefined);
const sha = (f: string): string =>
  execFileSync('sha256sum', [path.join(t.dir, f)], { encoding: 'utf8' }).split(' ')[0]!;
const head = (f: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(t.dir, f)).subarray(0, 512));

describe('initrd layout (docs/bls.md §7.2)', () => {
  it('recognises real microcode and compressed archives', () => {
    expect(isEarlyMicrocodeCpio(head('intel-ucode.img'))).toBe(true);
    expect(isEarlyMicrocodeCpio(head('second.img'))).toBe(false);
    expect(isCompressedHead(head('initrd.img'))).toBe(true);
    expect(isCompressedHead(execFileSync('zstd', ['-c', '-q'], { input: Buffer.alloc(100) }))).toBe(true);
    expect(isCompressedHead(execFileSync('xz', ['-c'], { input: Buffer.alloc(100) }))).toBe(true);
  });
  it('pads non-final pieces to 4, skips empty ones, keeps order', () => {
    const l = layoutInitrd([
      { label: 'a', size: 5 },
      { label: 'e', size: 0 },
      { label: 'b', size: 8 },
      { label: 'c', size: 3 },
    ]);
    expect(l.pieces.map((p) => [p.label, p.offset, p.pad])).toEqual([
      ['a', 0, 3],
      ['b', 8, 0],
      ['c', 16, 0],
    ]);
    expect(l.total).toBe(19);
    expect(l.skipped).toEqual(['e']);
  });
  it('warns when microcode comes after a compressed initrd', () => {
    const l = layoutInitrd([
      { label: 'main', size: 10, head: head('initrd.img') },
      { label: 'uc', size: 10, path: '/intel-ucode.img' },
    ]);
    expect(l.warnings[0]).toMatch(/uc: microcode after a compressed initrd/);
  });
});

describe('planBoot', () => {
  it('plans a BLS-style entry and the dry-run text carries sizes and real sha256s', async () => {
    const e = linuxEntry(
      'a.conf',
      '/vmlinuz',
      ['/intel-ucode.img', '/initrd.img', '/empty.img', '/second.img'],
      'root=/dev/vda2 initrd=/x BOOT_IMAGE=/v',
    );
    const plan = await planBoot(e, lookup, { ownConsoles: ['ttyS0'] });
    expect(plan.initrds.map((f) => f.path)).toEqual(['/intel-ucode.img', '/initrd.img', '/second.img']);
    expect(plan.cmdline).toBe('root=/dev/vda2 console=ttyS0');
    expect(plan.warnings).toEqual(['img:1:/empty.img: empty initrd skipped']);
    const text = await describePlan(plan, lookup);
    const st = (f: string) => fs.statSync(path.join(t.dir, f)).size;
    expect(text).toContain(`kernel: img:1:/vmlinuz size ${st('vmlinuz')} sha256 ${sha('vmlinuz')}`);
    expect(text).toContain(`initrd[1]: img:1:/initrd.img size ${st('initrd.img')} sha256 ${sha('initrd.img')}`);
    expect(text).toContain('syscall: kexec_file_load');
    expect(text).toContain('cmdline (28/2047 bytes): root=/dev/vda2 console=ttyS0');
  });
  it('a missing kernel names the file and ENOENT', async () => {
    const err = await planBoot(linuxEntry('m.conf', '/nope', [], ''), lookup).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KexecError);
    const f = (err as KexecError).failure;
    expect(f).toMatchObject({ syscall: 'open', errno: 'ENOENT', code: constants.errno.ENOENT, kernel: 'img:1:/nope' });
    expect(f.hint).toMatch(/kernel img:1:\/nope is missing/);
  });
  it('a missing initrd fails the plan, naming the initrd', async () => {
    const err = (await planBoot(linuxEntry('m.conf', '/vmlinuz', ['/gone.img'], ''), lookup).catch(
      (e: unknown) => e,
    )) as KexecError;
    expect(err.failure.hint).toMatch(/initrd img:1:\/gone.img is missing/);
  });
  it('a corrupt kernel is refused before any syscall with the probe detail', async () => {
    const err = (await planBoot(linuxEntry('c.conf', '/corrupt-vmlinuz', [], ''), lookup).catch(
      (e: unknown) => e,
    )) as KexecError;
    expect(err.failure).toMatchObject({ syscall: 'probe', errno: 'ENOEXEC', code: constants.errno.ENOEXEC });
    expect(err.failure.hint).toMatch(
      /^kernel image not loadable by kexec_file_load: img:1:\/corrupt-vmlinuz: not a Linux bzImage/,
    );
  });
  it('a command line over the kernel limit is refused with both numbers', async () => {
    const err = (await planBoot(linuxEntry('l.conf', '/vmlinuz', [], 'x'.repeat(3000)), lookup).catch(
      (e: unknown) => e,
    )) as KexecError;
    expect(err.failure).toMatchObject({ errno: 'EINVAL', cmdlineLength: 3000, cmdlineLimit: 2047 });
  });
  it('unknown filesystem and non-linux targets are errors, not crashes', async () => {
    const e = linuxEntry('x.conf', '/vmlinuz', [], '', 'other:1');
    expect(((await planBoot(e, lookup).catch((x: unknown) => x)) as KexecError).failure.errno).toBe('ENODEV');
    const efi = {
      ...e,
      status: { ok: true as const, target: { kind: 'efi' as const, image: { fsId: 'img:1', path: '/shell.efi' } } },
    };
    expect(((await planBoot(efi, lookup).catch((x: unknown) => x)) as KexecError).failure.hint).toMatch(/efi/);
  });
  it('refuses a broken entry with its reason and never loads what it declares', async () => {
    // Every file of the declared target is there: only the status keeps it from booting.
    const ok = linuxEntry('x.conf', '/vmlinuz', ['/initrd.img'], 'root=x');
    if (!ok.status.ok) throw new Error('fixture entry is not bootable');
    const reason = 'initrd /gone.img: not found on img:1';
    const entry: MenuEntry = { ...ok, status: { ok: false, reason, declared: ok.status.target } };
    const err = (await planBoot(entry, lookup).catch((x: unknown) => x)) as KexecError;
    expect(err).toBeInstanceOf(KexecError);
    expect(err.failure.hint).toBe(`entry not bootable: ${reason}`);
    // Its files are all there and discovery named no lookup error: nothing loadable, not ENOENT.
    expect(err.failure).toMatchObject({ syscall: 'plan', errno: 'ENOEXEC', kernel: 'img:1:/vmlinuz' });
  });
  it("carries discovery's errno for a broken entry, else the readers' answer for what it declares", async () => {
    const ok = linuxEntry('x.conf', '/vmlinuz', ['/gone.img'], 'root=x');
    if (!ok.status.ok || ok.status.target.kind !== 'linux')
      throw new Error('fixture entry is not a bootable linux one');
    const declared = ok.status.target;
    const refuse = async (status: MenuEntry['status']) =>
      ((await planBoot({ ...ok, status }, lookup).catch((x: unknown) => x)) as KexecError).failure;
    // Discovery's own errno wins (a symlink loop it met while resolving).
    expect(await refuse({ ok: false, reason: 'linux /l: ELOOP', declared, errno: 'ELOOP' })).toMatchObject({
      errno: 'ELOOP',
      code: constants.errno.ELOOP,
      kernel: 'img:1:/vmlinuz',
      initrds: ['img:1:/gone.img'],
    });
    // A source that records none: the declared files are looked up (never read) again.
    expect(await refuse({ ok: false, reason: 'initrd missing', declared })).toMatchObject({ errno: 'ENOENT' });
    expect(
      await refuse({
        ok: false,
        reason: 'disk gone',
        declared: { ...declared, kernel: { fsId: 'nope:1', path: '/k' } },
      }),
    ).toMatchObject({ errno: 'ENODEV' });
    // No declared target, no errno: the config names nothing tendril can load.
    expect(await refuse({ ok: false, reason: 'chainloader +1 boots a BIOS boot sector' })).toMatchObject({
      errno: 'ENOEXEC',
      kernel: '(none; entry x.conf)',
      initrds: [],
    });
  });
});
