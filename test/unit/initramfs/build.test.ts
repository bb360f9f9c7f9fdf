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
const SETTINGS = '[net]\nidentity = "http"\n';
let report: ReturnType<typeof buildInitramfs>['report'];
/** A copy of the host's kvm-amd.ko with bytes appended: the builder must ship it instead of Debian's. */
let override: string;
const KVM_AMD = () => path.join('/lib/modules', hostKernel().version, 'kernel/arch/x86/kvm/kvm-amd.ko');

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'native/build/Release/tendril.node')))
    execFileSync('sh', [path.join(ROOT, 'scripts/build-native.sh')]);
  if (!fs.existsSync(path.join(ROOT, 'dist/tendril.js')))
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-initramfs-'));
  out = path.join(dir, 'initramfs.cpio');
  fs.writeFileSync(path.join(dir, 'tendril.toml'), SETTINGS);
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'],
      ...['-subj', '/CN=tendril-test-ca', '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.pem')],
    ],
    { stdio: 'ignore' },
  );
  // The owner's signature keys (docs/signatures.md §5): a db certificate and an ssh key.
  fs.mkdirSync(path.join(dir, 'db'));
  fs.mkdirSync(path.join(dir, 'keys'));
  fs.copyFileSync(path.join(dir, 'ca.pem'), path.join(dir, 'db', 'owner.pem'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'owner', '-f', path.join(dir, 'owner')]);
  fs.copyFileSync(path.join(dir, 'owner.pub'), path.join(dir, 'keys', 'owner.pub'));
  fs.mkdirSync(path.join(dir, 'patched'));
  override = path.join(dir, 'patched', 'kvm-amd.ko');
  fs.writeFileSync(override, Buffer.concat([fs.readFileSync(KVM_AMD()), Buffer.from('tendril-test-override')]));
  report = buildInitramfs(
    resolveBuildOptions({
      out,
      compress: 'none',
      noBuild: true,
      settings: path.join(dir, 'tendril.toml'),
      netbootCa: path.join(dir, 'ca.pem'),
      trustDb: path.join(dir, 'db'),
      trustKeys: path.join(dir, 'keys'),
      moduleOverrides: [override],
      log: () => {},
    }),
  ).report;
  fs.mkdirSync(path.join(dir, 'root'));
  // Concatenated archives, as the kernel reads them: GNU cpio stops at the first trailer, so
  // extract each one; then the squashfs payload where /init mounts it.
  for (const part of splitArchives(fs.readFileSync(out))) {
    execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], {
      cwd: path.join(dir, 'root'),
      input: part,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
  }
  execFileSync('unsquashfs', [
    '-q',
    '-n',
    '-d',
    path.join(dir, 'root', 'payload'),
    path.join(dir, 'root', 'tendril.sqfs'),
  ]);
}, 120_000);

/** Walks newc headers (magic, namesize, filesize) to split concatenated uncompressed archives. */
function splitArchives(all: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  let i = 0;
  const field = (at: number, n: number): number =>
    parseInt(all.subarray(at + 6 + n * 8, at + 14 + n * 8).toString(), 16);
  while (i < all.length) {
    if (all.subarray(i, i + 6).toString() !== '070701') throw new Error(`no cpio header at ${i}`);
    const nameSize = field(i, 11);
    const fileSize = field(i, 6);
    const name = all.subarray(i + 110, i + 110 + nameSize - 1).toString();
    i = Math.ceil((i + 110 + nameSize) / 4) * 4;
    i = Math.ceil((i + fileSize) / 4) * 4;
    if (name === 'TRAILER!!!') {
      parts.push(all.subarray(start, i));
      while (i < all.length && all[i] === 0) i++;
      start = i;
    }
  }
  return parts;
}

/** `p` inside the unpacked tree, following symlinks as the guest would (absolute targets are
 *  the tree's own paths, such as /payload/bin/node). */
function inRoot(p: string, hops = 0): string {
  const r = path.join(dir, 'root');
  const parts = p.split('/').filter(Boolean);
  let cur = r;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(cur, parts[i]!);
    const st = fs.lstatSync(next, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) {
      if (hops > 20) throw new Error(`symlink loop at ${p}`);
      const t = fs.readlinkSync(next);
      const base = t.startsWith('/') ? t : path.posix.join(path.relative(r, cur), t);
      return inRoot([base, ...parts.slice(i + 1)].join('/'), hops + 1);
    }
    cur = next;
  }
  return cur;
}

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
      expect(fs.existsSync(inRoot(f)), f).toBe(true);
    const order = fs.readFileSync(path.join(r, 'etc/tendril/modules.order'), 'utf8').trim().split('\n');
    for (const m of order) expect(fs.existsSync(path.join(r, 'lib/modules', m))).toBe(true);
    expect(order.some((m) => m.endsWith('/virtio_blk.ko'))).toBe(true);
    // Filesystems and KVM load in the background, after their own dependencies.
    const late = fs.readFileSync(path.join(r, 'etc/tendril/modules.late'), 'utf8').trim().split('\n');
    for (const m of late) expect(fs.existsSync(inRoot(`lib/modules/${m}`))).toBe(true);
    expect(late.some((m) => m.endsWith('/ext4.ko'))).toBe(true);
    expect(late.indexOf(late.find((m) => m.endsWith('/jbd2.ko'))!)).toBeLessThan(
      late.indexOf(late.find((m) => m.endsWith('/ext4.ko'))!),
    );
    expect(late.filter((m) => order.includes(m))).toEqual([]);
    // The NIC drivers have their own list (loaded beside the disk drivers), with their
    // dependencies first and nothing another list loads.
    const net = fs.readFileSync(path.join(r, 'etc/tendril/modules.net'), 'utf8').trim().split('\n');
    for (const m of net) expect(fs.existsSync(inRoot(`lib/modules/${m}`)), m).toBe(true);
    for (const d of ['virtio_net', 'e1000', 'e1000e', 'igb', 'r8169', 'ixgbe', 'i40e'])
      expect(
        net.some((m) => path.basename(m) === `${d}.ko`),
        d,
      ).toBe(true);
    expect(net.indexOf(net.find((m) => m.endsWith('/net_failover.ko'))!)).toBeLessThan(
      net.indexOf(net.find((m) => m.endsWith('/virtio_net.ko'))!),
    );
    expect(net.filter((m) => order.includes(m) || late.includes(m))).toEqual([]);
    expect(report.kernelModulesFrom).toBe(hostKernel().version);
  });
  it("bakes in the owner's settings, CA bundle and signature keys, and refuses bad ones before building", () => {
    expect(fs.readFileSync(inRoot('etc/tendril/tendril.toml'), 'utf8')).toBe(SETTINGS);
    expect(fs.readFileSync(inRoot('etc/tendril/netboot-ca.pem'))).toEqual(fs.readFileSync(path.join(dir, 'ca.pem')));
    const bad = path.join(dir, 'bad.toml');
    fs.writeFileSync(bad, '[net]\ntimeout = "soon"\n');
    const build = (p: Partial<Parameters<typeof resolveBuildOptions>[0]>) => () =>
      buildInitramfs(resolveBuildOptions({ out: path.join(dir, 'never'), noBuild: true, log: () => {}, ...p }));
    expect(build({ settings: bad })).toThrow(`${bad}:2: net.timeout: expected whole seconds from 1 to 3600`);
    expect(build({ netbootCa: bad })).toThrow('no PEM certificate in it');
    // Signature keys: baked in where tendril reads them; a file tendril would skip fails the build.
    expect(fs.readFileSync(inRoot('etc/tendril/db/owner.pem'))).toEqual(fs.readFileSync(path.join(dir, 'ca.pem')));
    expect(fs.readFileSync(inRoot('etc/tendril/keys/owner.pub'))).toEqual(fs.readFileSync(path.join(dir, 'owner.pub')));
    fs.mkdirSync(path.join(dir, 'badkeys'));
    fs.writeFileSync(path.join(dir, 'badkeys', 'x.pub'), 'ssh-rsa AAAA x\n');
    expect(build({ trustKeys: path.join(dir, 'badkeys') })).toThrow(/--trust-keys .*badkeys:\n {2}.*x\.pub line 1/);
    expect(build({ trustDb: path.join(dir, 'keys') })).toThrow(/no \.pem certificate in it/);
    expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
  });
  it('--module replaces the distribution module of that name, and refuses one for another kernel or not shipped', () => {
    const late = fs.readFileSync(inRoot('etc/tendril/modules.late'), 'utf8').trim().split('\n');
    const rel = late.find((m) => m.endsWith('/kvm-amd.ko'));
    expect(rel).toBeDefined();
    expect(fs.readFileSync(inRoot(`lib/modules/${rel}`))).toEqual(fs.readFileSync(override));
    // Its neighbour is still Debian's.
    const kvm = late.find((m) => m.endsWith('/kvm.ko'))!;
    expect(fs.readFileSync(inRoot(`lib/modules/${kvm}`))).toEqual(
      fs.readFileSync(path.join(path.dirname(KVM_AMD()), 'kvm.ko')),
    );
    const build = (files: string[]) => () =>
      buildInitramfs(
        resolveBuildOptions({ out: path.join(dir, 'never'), noBuild: true, log: () => {}, moduleOverrides: files }),
      );
    const notElf = path.join(dir, 'patched', 'plain.ko');
    fs.writeFileSync(notElf, 'not a module');
    expect(build([notElf])).toThrow(`--module ${notElf}: not an ELF object`);
    // The same module with its vermagic naming another kernel (same length, so the ELF stays intact).
    const v = hostKernel().version;
    const other = path.join(dir, 'patched', 'other', 'kvm-amd.ko');
    fs.mkdirSync(path.dirname(other));
    const bytes = fs.readFileSync(KVM_AMD());
    const at = bytes.indexOf(`vermagic=${v} `) + 'vermagic='.length;
    bytes.write('9'.repeat(v.length), at, 'latin1');
    fs.writeFileSync(other, bytes);
    expect(build([other])).toThrow(new RegExp(`--module ${other}: vermagic '9+ .*', not for kernel ${v}`));
    const stranger = path.join(dir, 'patched', 'not-shipped.ko');
    fs.copyFileSync(KVM_AMD(), stranger);
    expect(build([stranger])).toThrow(`--module ${stranger}: not a module this image ships`);
    expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
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
  it('puts node, its libraries, the late modules and the firmware in the squashfs payload, reached by symlinks', () => {
    const r = path.join(dir, 'root');
    expect(fs.lstatSync(path.join(r, 'bin/node')).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(path.join(r, 'bin/node'))).toBe('/payload/bin/node');
    expect(fs.statSync(path.join(r, 'payload/bin/node')).size).toBe(report.components.node.bytes);
    const late = fs.readFileSync(path.join(r, 'etc/tendril/modules.late'), 'utf8').trim().split('\n');
    for (const m of late) expect(fs.readlinkSync(path.join(r, 'lib/modules', m))).toBe(`/payload/lib/modules/${m}`);
    const host = findOvmf();
    expect(fs.readlinkSync(path.join(r, host.code.slice(1)))).toBe(`/payload${host.code}`);
    // What runs before the mount stays in the archive: busybox, /init, the early modules.
    expect(fs.lstatSync(path.join(r, 'bin/busybox')).isFile()).toBe(true);
    const order = fs.readFileSync(path.join(r, 'etc/tendril/modules.order'), 'utf8').trim().split('\n');
    for (const m of order) expect(fs.lstatSync(path.join(r, 'lib/modules', m)).isFile()).toBe(true);
    // loop and squashfs (modules in Debian's kernel) load first, from their own list, then the
    // disk drivers (in the background while node starts).
    const payloadOrder = fs.readFileSync(path.join(r, 'etc/tendril/modules.payload'), 'utf8').trim().split('\n');
    expect(payloadOrder.map((m) => path.basename(m)).sort()).toEqual(['loop.ko', 'squashfs.ko']);
    for (const m of payloadOrder) expect(fs.lstatSync(path.join(r, 'lib/modules', m)).isFile()).toBe(true);
    expect(order.filter((m) => payloadOrder.includes(m))).toEqual([]);
    expect(report.payload?.bytes).toBe(fs.statSync(path.join(r, 'tendril.sqfs')).size);
    expect(report.payload?.method).toMatch(/^squashfs -comp xz/);
    // /init mounts it before anything runs node.
    const init = fs.readFileSync(path.join(r, 'init'), 'utf8');
    expect(init.indexOf('mount -t squashfs -o ro,loop /tendril.sqfs /payload')).toBeGreaterThan(-1);
    expect(init.indexOf('load_modules /etc/tendril/modules.payload')).toBeLessThan(
      init.indexOf('/tendril.sqfs /payload'),
    );
    expect(init.indexOf('/tendril.sqfs /payload')).toBeLessThan(init.indexOf('node /tendril.js'));
  });
  it('--layout cpio keeps everything in the archives (no payload image)', () => {
    const o = path.join(dir, 'cpio-layout.cpio');
    const rep = buildInitramfs(
      resolveBuildOptions({ out: o, compress: 'none', layout: 'cpio', noBuild: true, log: () => {} }),
    ).report;
    expect(rep.payload).toBeUndefined();
    const listing = splitArchives(fs.readFileSync(o))
      .map((part) => execFileSync('cpio', ['-itv', '--quiet'], { input: part, encoding: 'utf8' }))
      .join('');
    expect(listing).not.toMatch(/tendril\.sqfs/);
    expect(listing).toMatch(/^-rwxr-xr-x .* bin\/node$/m);
    fs.rmSync(o);
  }, 120_000);
  it('ships a V8 code cache that the shipped node accepts; a broken cache only costs time', () => {
    const r = path.join(dir, 'root');
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    const check = [
      "const fs = require('fs'), vm = require('vm');",
      "const src = `(function (exports, require, module, __filename, __dirname) {${fs.readFileSync('/tendril-bundle.js', 'utf8')}\\n})`;",
      "const s = new vm.Script(src, { filename: '/tendril-bundle.js', cachedData: fs.readFileSync('/tendril-bundle.js.cache') });",
      'console.log(s.cachedDataRejected);',
    ].join('\n');
    const ok = spawnSync('chroot', [r, '/bin/node', '-e', check], { encoding: 'utf8', env });
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe('false');
    expect(report.components.bundle.files).toBe(3);
    const cache = path.join(r, 'tendril-bundle.js.cache');
    const good = fs.readFileSync(cache);
    try {
      fs.writeFileSync(cache, Buffer.alloc(good.length, 0x5a));
      const bad = spawnSync('chroot', [r, '/bin/node', '/tendril.js', 'help'], {
        encoding: 'utf8',
        env: { ...env, TENDRIL_STAGES: '1' },
      });
      expect(bad.stdout).toMatch(/usage: tendril <command>/);
      expect(bad.stderr).toBe(
        'tendril: /tendril-bundle.js.cache rejected by this node (version or flags differ); loading without it\n',
      );
    } finally {
      fs.writeFileSync(cache, good);
    }
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
  it('ships zstd with its libraries for .zst network disk images: it decompresses from the archive alone', () => {
    const r = path.join(dir, 'root');
    const data = Buffer.from('tendril zstd round trip\n'.repeat(1000));
    const packed = execFileSync('zstd', ['-q', '-c'], { input: data });
    const out = spawnSync('chroot', [r, '/usr/bin/zstd', '-dcq'], { input: packed });
    expect(out.stderr.toString()).toBe('');
    expect(out.status).toBe(0);
    expect(Buffer.compare(out.stdout, data)).toBe(0);
    expect(report.components.tools.files).toBe(1);
  });
  it("drivers by device: the image's busybox modprobe matches modaliases against the shipped modules only", () => {
    const r = path.join(dir, 'root');
    // busybox looks in /lib/modules/<running release>: here the host's, not the image's kernel.
    const release = os.release();
    if (!fs.existsSync(path.join(r, 'lib/modules', release))) fs.symlinkSync('.', path.join(r, 'lib/modules', release));
    expect(fs.readlinkSync(path.join(r, 'lib/modules', hostKernel().version))).toBe('.');
    const modprobe = (...aliases: string[]) =>
      spawnSync('chroot', [r, '/sbin/modprobe', '-D', '-a', ...aliases], { encoding: 'utf8' });
    // A virtio NIC as PCI finds virtio_pci, and on the virtio bus virtio_net, each after its
    // dependencies; an Intel 82574L finds e1000e; a SATA controller by class finds ahci.
    const out = modprobe(
      'pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00',
      'virtio:d00000001v00001AF4',
      'pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00',
      'pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01',
    ).stdout.split('\n');
    const at = (m: string) => out.findIndex((l) => l.endsWith(`/${m}.ko`));
    for (const m of ['virtio_pci', 'virtio_net', 'e1000e', 'ahci'])
      expect(at(m), `${m} in\n${out.join('\n')}`).toBeGreaterThan(-1);
    expect(at('virtio_ring')).toBeLessThan(at('virtio_pci'));
    expect(at('net_failover')).toBeLessThan(at('virtio_net'));
    expect(at('libahci')).toBeLessThan(at('ahci'));
    // A host bridge matches nothing; a CPU's features do not pull in KVM early (late modules
    // load by their own list); VLANs load by the kernel's request for their link type.
    const none = modprobe(
      'pci:v00008086d00001237sv00001AF4sd00001100bc06sc00i00',
      'cpu:type:x86,ven0000fam0006mod003F:feature:,0085',
    );
    expect(none.stdout).toBe('');
    expect(none.status).not.toBe(0);
    expect(modprobe('rtnl-link-vlan').stdout).toMatch(/\/8021q\.ko$/m);
    const features = fs.readFileSync(inRoot('etc/tendril/modules.features'), 'utf8').trim().split('\n');
    expect(features).toEqual(expect.arrayContaining(['8021q', 'bonding']));
    const buses = fs.readFileSync(inRoot('etc/tendril/modules.buses'), 'utf8').trim().split('\n');
    expect(buses).toEqual(expect.arrayContaining(['pci', 'usb', 'virtio', 'scsi']));
    expect(buses).not.toContain('cpu');
  });
  it('ships the UEFI firmware the VM path looks up: the dry run of an efi entry names it, from the archive alone', () => {
    const host = findOvmf();
    for (const f of [host.code, host.vars]) expect(fs.readFileSync(inRoot(f)).equals(fs.readFileSync(f)), f).toBe(true);
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
    // Every regular file of the tree and the payload is counted once, uncompressed.
    const sum = Object.values(report.components).reduce((s, c) => s + c.bytes, 0);
    let files = 0;
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = path.join(d, e.name);
        if (f === path.join(dir, 'root', 'tmp')) continue; // a test's scratch disk
        if (e.isDirectory()) walk(f);
        else if (e.isFile() && f !== path.join(dir, 'root', 'tendril.sqfs')) files += fs.statSync(f).size;
      }
    };
    walk(path.join(dir, 'root'));
    expect(sum).toBe(files);
    expect(report.cpioBytes).toBe(fs.statSync(out).size);
    expect(report.components.node.bytes).toBeGreaterThan(10 << 20);
    expect(report.components.libs.files).toBeGreaterThanOrEqual(3);
  });
});
