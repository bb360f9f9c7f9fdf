// Issue 16, finding 12 (the boot side): `boot` said ENOENT for every broken entry, while its
// hint said ELOOP or "escapes the filesystem root". An ext4 image (mke2fs -d) with a symlink
// loop, a symlink out of the filesystem, a '..' path above the root and a missing initrd next
// to a healthy entry: `boot --dry-run` and the plain menu name the errno discovery found
// (docs/kexec.md §4.1), the healthy entry still plans, the image is unchanged.
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListJson } from '../../../src/discovery/json';
import { type HostileImage, KERNEL, hostileExt4, sha256Of } from '../../fixtures/hostile-disks';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');

let img: HostileImage;
let before = '';

beforeAll(() => {
  img = hostileExt4({
    vmlinuz: { copyOf: KERNEL },
    loop1: { symlink: 'loop2' },
    loop2: { symlink: 'loop1' },
    out: { symlink: '../../vmlinuz' },
    'loader/entries/ok.conf': 'title Healthy\nlinux /vmlinuz\n',
    'loader/entries/loop.conf': 'title Loop\nlinux /loop1\n',
    'loader/entries/out.conf': 'title Out\nlinux /out\n',
    'loader/entries/dotdot.conf': 'title Dotdot\nlinux /../../vmlinuz\n',
    'loader/entries/missing.conf': 'title Missing\nlinux /vmlinuz\ninitrd /gone.img\n',
  });
  before = sha256Of(img.image);
});
afterAll(() => img.cleanup());

function run(args: string[], input = ''): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [BIN, ...args, '--disk', img.image], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

describe('a broken entry is refused with the errno behind its reason', () => {
  const cases = [
    [
      'loop.conf',
      'ELOOP',
      "linux /loop1: ELOOP (more than 40 symlinks, the kernel's MAXSYMLINKS)",
      'disk.img:0:/loop1',
    ],
    ['out.conf', 'EACCES', 'linux /out: EACCES (symlink target escapes the filesystem root)', 'disk.img:0:/out'],
    ['dotdot.conf', 'EACCES', "linux /../../vmlinuz: '..' escapes the filesystem root", '(none; entry dotdot.conf)'],
    ['missing.conf', 'ENOENT', 'initrd /gone.img: not found (tried /gone.img)', 'disk.img:0:/vmlinuz'],
  ] as const;
  for (const [id, errno, reason, kernel] of cases) {
    it(`${id}: plan: ${errno}`, () => {
      const r = run(['boot', '--dry-run', '--entry', id]);
      expect(r.status).toBe(1);
      expect(r.err).toContain(`tendril: entry '${id}': boot failed: plan: ${errno} (${constants.errno[errno]})\n`);
      expect(r.err).toContain(`  hint: entry not bootable: ${reason} on disk.img:0\n`);
      expect(r.err).toContain(`  kernel: ${kernel}\n`);
      if (errno !== 'ENOENT') expect(r.err).not.toContain('ENOENT');
    });
  }

  it('the list says the same, the healthy entry plans, and the menu shows the errno', () => {
    const list = JSON.parse(run(['list', '--json', '--no-sys']).out) as ListJson;
    expect(list.entries.find((e) => e.id === 'loop.conf')?.reason).toBe(
      "linux /loop1: ELOOP (more than 40 symlinks, the kernel's MAXSYMLINKS) on disk.img:0",
    );
    const ok = run(['boot', '--dry-run', '--entry', 'ok.conf']);
    expect(ok.status).toBe(0);
    expect(ok.out).toContain('entry: ok.conf (Healthy)');
    const menu = run(['menu', '--plain', '--dry-run', '--no-sys'], '\n');
    const n = /(\d+)\) {3}Loop/.exec(menu.out)?.[1];
    expect(n).toBeDefined();
    const boot = run(['menu', '--plain', '--dry-run', '--no-sys'], `\n${n}\n`);
    expect(boot.out).toContain(`Cannot boot Loop\nboot failed: plan: ELOOP (${constants.errno.ELOOP})\n`);
    expect(sha256Of(img.image)).toBe(before);
  });
});
