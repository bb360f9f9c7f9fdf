// The builder's output, unpacked by GNU cpio and run with chroot: node, its libraries, the
// bundle and busybox must work from the archive alone (no host files).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_COMMAND, buildInitramfs, resolveBuildOptions } from '../../../initramfs/build';
import { parseCommand } from '../../../src/util/args';
import { hostKernel } from '../../../initramfs/host';
import { efiGptDisk } from '../../fixtures/efi-disks';
import { findOvmf } from '../../../src/vm/firmware';

const ROOT = path.join(__dirname, '..', '..', '..');
let dir: string;
let out: string;
let report: ReturnType<typeof buildInitramfs>['report'];

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'native/build/Release/tendril.node')))
    execFileSync('sh', [path.join(ROOT, 'scripts/build-native.sh')]);
  if (!fs.existsSync(path.join(ROOT, 'dist/tendril.js')))
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-initramfs-'));
  out = path.join(dir, 'initramfs.cpio');
  report = buildInitramfs(resolveBuildOptions({ out, compress: 'none', noBuild: true, log: () => {} })).report;
  fs.mkdirSync(path.join(dir, 'root'));
  // Two concatenated archives, as the kernel reads them: GNU cpio stops at the first trailer,
  // so extract each one (the base ends at its 4-aligned TRAILER!!!).
  const all = fs.readFileSync(out);
  // The first real trailer entry (busybox itself contains the string 'TRAILER!!!').
  let trailer = -1;
  for (let i = all.indexOf('TRAILER!!!\0'); i >= 0; i = all.indexOf('TRAILER!!!\0', i + 1)) {
    if (all.subarray(i - 110, i - 104).toString() === '070701') {
      trailer = i;
      break;
    }
  }
  const baseEnd = Math.ceil((trailer + 11) / 4) * 4;
  for (const part of [all.subarray(0, baseEnd), all.subarray(baseEnd)]) {
    execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], {
      cwd: path.join(dir, 'root'),
      input: part,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
  }
}, 120_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('initramfs builder', () => {
  it('parses its options', () => {
    const parseBuildArgs = (argv: string[]) => parseCommand(BUILD_COMMAND, argv);
    expect(parseBuildArgs(['--kernel-modules-from', '6.1', '--out', 'x', '--compress', 'zstd'])).toEqual({
      kind: 'args',
      args: { kernelVersion: '6.1', out: 'x', compress: 'zstd' },
    });
    expect(() => parseBuildArgs(['--compress', 'lz4'])).toThrow("--compress must be one of xz, zstd, none, got 'lz4'");
    expect(() => parseBuildArgs(['--out'])).toThrow('--out needs a value');
  });
  it('has /init, the bundle, the addon, terminfo and modules.order', () => {
    const r = path.join(dir, 'root');
    expect(fs.statSync(path.join(r, 'init')).mode & 0o111).not.toBe(0);
    for (const f of [
      'tendril.js',
      'tendril.node',
      'bin/node',
      'bin/busybox',
      'blessed-usr/linux',
      'etc/tendril/modules.order',
    ])
      expect(fs.existsSync(path.join(r, f))).toBe(true);
    const order = fs.readFileSync(path.join(r, 'etc/tendril/modules.order'), 'utf8').trim().split('\n');
    for (const m of order) expect(fs.existsSync(path.join(r, 'lib/modules', m))).toBe(true);
    expect(order.some((m) => m.endsWith('/virtio_blk.ko'))).toBe(true);
    // Filesystems and KVM load in the background, after their own dependencies.
    const late = fs.readFileSync(path.join(r, 'etc/tendril/modules.late'), 'utf8').trim().split('\n');
    for (const m of late) expect(fs.existsSync(path.join(r, 'lib/modules', m))).toBe(true);
    expect(late.some((m) => m.endsWith('/ext4.ko'))).toBe(true);
    expect(late.indexOf(late.find((m) => m.endsWith('/jbd2.ko'))!)).toBeLessThan(
      late.indexOf(late.find((m) => m.endsWith('/ext4.ko'))!),
    );
    expect(late.filter((m) => order.includes(m))).toEqual([]);
    expect(report.kernelModulesFrom).toBe(hostKernel().version);
  });
  it('node runs the bundle inside the unpacked tree (chroot): libraries are complete', () => {
    // A clean environment, as /init gives node (no NODE_EXTRA_CA_CERTS pointing at host files).
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    const r = spawnSync('chroot', [path.join(dir, 'root'), '/bin/node', '/tendril.js', 'help'], {
      encoding: 'utf8',
      env,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/usage: tendril <command>/);
    const addon = spawnSync(
      'chroot',
      [
        path.join(dir, 'root'),
        '/bin/node',
        '-e',
        "process.dlopen({exports:{}}, '/tendril.node'); console.log('addon ok')",
      ],
      { encoding: 'utf8', env },
    );
    expect(addon.stdout.trim()).toBe('addon ok');
  });
  it('/init parses under busybox sh', () => {
    const r = spawnSync('/bin/busybox', ['sh', '-n', path.join(ROOT, 'initramfs', 'init.sh')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
  it('busybox applets work through their links', () => {
    const r = spawnSync('chroot', [path.join(dir, 'root'), '/bin/sh', '-c', 'echo $((6*7)); ls /sbin/insmod'], {
      encoding: 'utf8',
    });
    expect(r.stdout).toBe('42\n/sbin/insmod\n');
  });
  it('ships the UEFI firmware the VM path looks up: the dry run of an efi entry names it, from the archive alone', () => {
    const host = findOvmf();
    for (const f of [host.code, host.vars])
      expect(fs.readFileSync(path.join(dir, 'root', f)).equals(fs.readFileSync(f)), f).toBe(true);
    expect(report.components.firmware.files).toBeGreaterThanOrEqual(3);
    fs.copyFileSync(efiGptDisk(), path.join(dir, 'root', 'tmp', 'disk.img'));
    // No /dev in the chroot: KVM is unavailable, and the dry run says so next to the plan it would run.
    const r = spawnSync(
      'chroot',
      [
        path.join(dir, 'root'),
        '/bin/node',
        '/tendril.js',
        'boot',
        '--dry-run',
        '--disk',
        '/tmp/disk.img',
        '--entry',
        'tendril-efi.conf',
      ],
      { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
    );
    const out = r.stdout + r.stderr;
    expect(out).toContain(`firmware: ${host.code} (CODE image)`);
    expect(out).toContain('/dev/kvm');
    expect(r.status, out).toBe(1);
  });
  it('the size report adds up to the archive', () => {
    const sum = Object.values(report.components).reduce((s, c) => s + c.bytes, 0);
    expect(sum).toBeLessThan(report.cpioBytes);
    expect(report.cpioBytes).toBe(fs.statSync(out).size);
    expect(report.components.node.bytes).toBeGreaterThan(10 << 20);
    expect(report.components.libs.files).toBeGreaterThanOrEqual(3);
  });
});
