// The initramfs builder: `npm run initramfs -- [--kernel-modules-from VERSION] [--out FILE]
// [--compress xz|zstd|none] [--measure] [--no-build] [--bundle FILE]`.
// Assembles node + the libraries its loader resolves, the bundle and terminfo, the addon,
// a static busybox with applet links, kernel modules with dependencies and /init into one
// newc archive (our own writer), compresses it (cached by the archive's hash) and writes a
// size report (stdout + <out>.report.json).

import { createHash, X509Certificate } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpioWriter } from './cpio';
import { icuTrimmedNode } from './icu';
import { sharedLibraries } from './libs';
import { modprobeFiles } from './coldplug';
import {
  LATE_MODULES,
  NET_MODULES,
  ON_DEMAND_MODULES,
  PAYLOAD_MODULES,
  WANTED_MODULES,
  loadModuleDb,
  resolveModules,
} from './modules';
import { type Component, type SizeReport, SizeTally, formatReport } from './report';
import { hostBusybox, hostKernel, hostZstd } from './host';
import { findOvmf, firmwareDescriptors } from '../src/vm/firmware';
import { PAYLOAD_BACKING_FILE } from '../src/discovery/devices';
import { choice, commandArgs, type CommandSpec, flag, text } from '../src/util/args';
import { loadSettings, SETTINGS_FILE } from '../src/settings/load';
import { DEFAULT_CA_FILE } from '../src/settings/schema';
import { DEFAULT_DB_DIR, DEFAULT_KEYS_DIR, loadTrustStore } from '../src/trust/keys';

/** The checkout root: this file may run bundled from .cache/run, so search upwards. */
function findRoot(): string {
  for (const start of [__dirname, process.cwd()]) {
    let d = path.resolve(start);
    for (;;) {
      if (fs.existsSync(path.join(d, 'initramfs', 'init.sh')) && fs.existsSync(path.join(d, 'package.json'))) return d;
      const up = path.dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  throw new Error('cannot find the tendril checkout (initramfs/init.sh)');
}
const root = findRoot();
const fromRoot = (...p: string[]): string => path.join(root, ...p);

export type Compression = 'xz' | 'zstd' | 'none';
/** `squashfs`: node, its libraries, the late modules and the firmware live in a squashfs image
 *  that /init mounts, so the kernel unpacks only what runs before tendril and node's pages are
 *  decompressed when first touched; `cpio`: everything in the compressed archives (the old
 *  layout: the smallest image with xz, and for kernels without squashfs/loop). */
export type Layout = 'squashfs' | 'cpio';

export interface BuildOptions {
  readonly kernelVersion: string;
  readonly out: string;
  readonly compress: Compression;
  readonly layout: Layout;
  /** Also compress with the other method and time decompression of both (for the report). */
  readonly measure: boolean;
  /** Skip `node scripts/build.mjs` and the addon build (use what is there). */
  readonly noBuild: boolean;
  readonly bundle: string;
  readonly nodeBinary: string;
  readonly busybox: string;
  readonly cacheDir: string;
  /** tendril's settings (README "Settings"), checked here and baked in as SETTINGS_FILE. */
  readonly settings?: string;
  /** The PEM bundle https downloads trust, baked in as DEFAULT_CA_FILE. */
  readonly netbootCa?: string;
  /** Directories whose `*.pem` / `*.pub` become /etc/tendril/db and /etc/tendril/keys (docs/signatures.md §5). */
  readonly trustDb?: string;
  readonly trustKeys?: string;
  /** Kernel modules (`.ko`) that replace the distribution's module of the same file name. */
  readonly moduleOverrides?: readonly string[];
  readonly log: (s: string) => void;
}

function sha256(b: Uint8Array | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The settings file's bytes; a problem the running tendril would only log fails the build. */
function checkedSettings(file: string): Buffer {
  if (!fs.existsSync(file)) throw new Error(`--settings ${file}: no such file`);
  const { problems } = loadSettings({ file, cmdline: '' });
  if (problems.length) throw new Error(`--settings ${file}:\n  ${problems.join('\n  ')}`);
  return fs.readFileSync(file);
}

/** A PEM bundle with at least one certificate that parses. */
function checkedPem(file: string): Buffer {
  const pem = fs.readFileSync(file);
  const certs = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (!certs.length) throw new Error(`--netboot-ca ${file}: no PEM certificate in it`);
  for (const c of certs) new X509Certificate(c);
  return pem;
}

/** The `*.pem` (db) or `*.pub` (keys) files of a directory, each parsed as tendril will; a problem fails the build. */
function checkedTrustDir(dir: string, kind: 'db' | 'keys'): { name: string; data: Buffer }[] {
  const flag = kind === 'db' ? '--trust-db' : '--trust-keys';
  const ext = kind === 'db' ? '.pem' : '.pub';
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${flag} ${dir}: not a directory`);
  const s = kind === 'db' ? loadTrustStore(dir, null) : loadTrustStore(null, dir);
  if (s.problems.length) throw new Error(`${flag} ${dir}:\n  ${s.problems.join('\n  ')}`);
  if ((kind === 'db' ? s.db.length : s.minisign.length + s.ssh.length) === 0)
    throw new Error(`${flag} ${dir}: no ${ext} ${kind === 'db' ? 'certificate' : 'key'} in it`);
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(ext))
    .sort()
    .map((name) => ({ name, data: fs.readFileSync(path.join(dir, name)) }));
}

/** A stripped copy of node, cached by the original's identity. */
function strippedNode(bin: string, cacheDir: string): string {
  const st = fs.statSync(bin);
  const out = path.join(
    cacheDir,
    `node-stripped-${sha256(`${fs.realpathSync(bin)}:${st.size}:${st.mtimeMs}`).slice(0, 16)}`,
  );
  if (!fs.existsSync(out)) {
    const tmp = `${out}.tmp${process.pid}`;
    execFileSync('strip', ['--strip-all', '-o', tmp, bin]);
    fs.renameSync(tmp, out);
  }
  return out;
}

interface Compressed {
  readonly file: string;
  readonly seconds: number;
}

const COMPRESSORS: Record<Exclude<Compression, 'none'>, { args: string[]; ext: string; decompress: string[] }> = {
  // --check=crc32: the kernel's XZ decoder (XZ Embedded) does not verify CRC64/SHA-256;
  // --x86 BCJ filter: node's machine code compresses ~10% better; -T2 keeps it fast
  // (multi-block .xz files are fine for the kernel decoder).
  xz: { args: ['--check=crc32', '--x86', '--lzma2=preset=9e', '-T2', '-c'], ext: 'xz', decompress: ['xz', '-dc'] },
  zstd: { args: ['-19', '-T2', '-q', '-c'], ext: 'zst', decompress: ['zstd', '-dcq'] },
};

/** `out`, made once by `make(tmp)` (renamed into place when it returns) and kept with how long
 *  that took, so a cache hit reports the original build time. */
function timedCached(out: string, make: (tmp: string) => void): Compressed {
  const timing = `${out}.seconds`;
  if (fs.existsSync(out) && fs.existsSync(timing))
    return { file: out, seconds: Number(fs.readFileSync(timing, 'utf8')) };
  const t0 = process.hrtime.bigint();
  const tmp = `${out}.tmp${process.pid}`;
  make(tmp);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.renameSync(tmp, out);
  fs.writeFileSync(timing, String(seconds));
  return { file: out, seconds };
}

function compress(cpioFile: string, key: string, method: Exclude<Compression, 'none'>, cacheDir: string): Compressed {
  const c = COMPRESSORS[method];
  return timedCached(path.join(cacheDir, `initramfs-${key.slice(0, 24)}.cpio.${c.ext}`), (tmp) => {
    const fd = fs.openSync(tmp, 'w');
    const r = spawnSync(method, [...c.args, cpioFile], { stdio: ['ignore', fd, 'inherit'] });
    fs.closeSync(fd);
    if (r.status !== 0) throw new Error(`${method} failed with status ${r.status}`);
  });
}

function decompressSeconds(file: string, method: Exclude<Compression, 'none'>): number {
  const [cmd, ...args] = COMPRESSORS[method].decompress;
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd!, [...args, file], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`${cmd} -d failed`);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

/** mksquashfs flags: the archives' compressor in 1 MiB blocks (close to a solid stream's ratio;
 *  node touches most of its binary at start-up, so smaller blocks gained nothing, measured in
 *  initramfs/README.md), xz with the x86 BCJ filter for node's machine code, and everything that
 *  would vary between builds pinned (owner, times, xattrs) so equal inputs give equal images.
 *  Debian's squashfs module reads both (CONFIG_SQUASHFS_XZ, CONFIG_SQUASHFS_ZSTD). */
export function squashfsArgs(c: Exclude<Compression, 'none'>): string[] {
  const comp = c === 'xz' ? ['-comp', 'xz', '-Xbcj', 'x86'] : ['-comp', 'zstd', '-Xcompression-level', '19'];
  return [...comp, '-b', '1M', '-noappend', '-no-xattrs', '-all-root', '-mkfs-time', '0', '-all-time', '0', '-quiet'];
}

/** Where /init mounts the payload image; payload files are reached through symlinks. */
export const PAYLOAD_MOUNT = 'payload';
/** The image's name in the archive; discovery skips the loop device over it. */
export const PAYLOAD_IMAGE = PAYLOAD_BACKING_FILE.slice(1);

/** Files that go into the squashfs payload, with their modes. */
class Payload {
  readonly files = new Map<string, { data: Uint8Array; mode: number }>();
}

/** The payload as a squashfs image, cached by its contents and the flags. */
function squashfs(p: Payload, args: string[], cacheDir: string): Compressed {
  const h = createHash('sha256').update(args.join(' '));
  const names = [...p.files.keys()].sort();
  for (const n of names) {
    const f = p.files.get(n)!;
    h.update(`\0${n}\0${f.mode}\0${sha256(f.data)}`);
  }
  return timedCached(path.join(cacheDir, `payload-${h.digest('hex').slice(0, 24)}.sqfs`), (tmp) => {
    const stage = fs.mkdtempSync(path.join(cacheDir, 'payload-stage-'));
    try {
      for (const n of names) {
        const f = p.files.get(n)!;
        fs.mkdirSync(path.join(stage, path.dirname(n)), { recursive: true });
        fs.writeFileSync(path.join(stage, n), f.data, { mode: f.mode });
        fs.chmodSync(path.join(stage, n), f.mode);
      }
      const r = spawnSync('mksquashfs', [stage, tmp, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.error) throw new Error(`mksquashfs: ${r.error.message} (install squashfs-tools)`);
      if (r.status !== 0) throw new Error(`mksquashfs failed with status ${r.status}: ${r.stderr.toString().trim()}`);
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });
}

class Tree {
  readonly w = new CpioWriter();
  readonly tally = new SizeTally();
  private readonly dirs = new Set<string>();

  dir(p: string): void {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (this.dirs.has(d)) continue;
      this.dirs.add(d);
      this.w.add({ kind: 'dir', path: d });
    }
  }
  file(p: string, data: Uint8Array, mode: number, comp: Component): void {
    this.dir(path.posix.dirname(p));
    this.w.add({ kind: 'file', path: p, data, mode });
    this.tally.add(comp, data.length);
  }
  link(p: string, target: string): void {
    if (this.w.has(p)) return;
    this.dir(path.posix.dirname(p));
    this.w.add({ kind: 'symlink', path: p, target });
  }
}

export interface BuildResult {
  readonly out: string;
  readonly report: SizeReport;
  readonly cpioSha256: string;
}

/** The two archives: `base` (node, libraries, busybox, modules: changes rarely, compressed
 *  hard and cached) and `app` (init, bundle, addon, terminfo: changes with every commit,
 *  small). The kernel unpacks concatenated compressed archives in order (buffer-format.rst). */
function assemble(o: BuildOptions): {
  base: Tree;
  app: Tree;
  payload: Payload | undefined;
  builtin: string[];
  missing: string[];
  modules: number;
} {
  const addon = fromRoot('native', 'build', 'Release', 'tendril.node');
  for (const f of [o.bundle, addon, o.nodeBinary, o.busybox]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing`);
  }
  const base = new Tree();
  const payload = o.layout === 'squashfs' ? new Payload() : undefined;
  /** A file read only once node runs: into the payload (reached by a symlink) or the base. */
  const late = (p: string, data: Uint8Array, mode: number, comp: Component): void => {
    if (!payload) return base.file(p, data, mode, comp);
    payload.files.set(p, { data, mode });
    base.tally.add(comp, data.length);
    base.link(p, `/${PAYLOAD_MOUNT}/${p}`);
  };
  for (const d of [
    'dev',
    'proc',
    'sys',
    'run',
    'tmp',
    'root',
    'etc',
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'lib/modules',
  ])
    base.dir(d);
  base.w.add({ kind: 'char', path: 'dev/console', major: 5, minor: 1, mode: 0o600 });
  base.file('bin/busybox', fs.readFileSync(o.busybox), 0o755, 'busybox');
  const applets = execFileSync(o.busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) base.link(a, '/bin/busybox');

  // node: stripped copy + the libraries the dynamic loader resolves for the original.
  const node = icuTrimmedNode(strippedNode(o.nodeBinary, o.cacheDir), o.cacheDir, o.log);
  late('bin/node', fs.readFileSync(node), 0o755, 'node');
  const libsOf = (binary: string): void => {
    for (const lib of sharedLibraries(binary)) {
      const real = lib.realPath.slice(1);
      if (!base.w.has(real)) late(real, fs.readFileSync(lib.realPath), 0o755, 'libs');
      if (lib.path !== lib.realPath) base.link(lib.path, lib.realPath);
    }
  };
  libsOf(o.nodeBinary);
  // zstd, for `.zst` network disk images (src/net/decompress.ts): busybox has no zstd applet.
  const zstd = hostZstd();
  late('usr/bin/zstd', fs.readFileSync(zstd), 0o755, 'tools');
  libsOf(zstd);

  // Kernel modules (uncompressed in Debian 6.1; the whole archive is compressed anyway).
  const db = loadModuleDb(o.kernelVersion);
  // Four lists, each in load order: what mounting the payload needs, the disk and input
  // drivers, the NIC drivers, and the rest (each list without what an earlier one loads).
  const first = payload ? PAYLOAD_MODULES : [];
  const payloadOrder = resolveModules(db, first).order;
  const sel = resolveModules(db, [...first, ...WANTED_MODULES]);
  const earlyOrder = sel.order.filter((m) => !payloadOrder.includes(m));
  const early = new Set(sel.order);
  const withNet = resolveModules(db, [...first, ...WANTED_MODULES, ...NET_MODULES]);
  const netOrder = withNet.order.filter((m) => !early.has(m));
  const all = resolveModules(db, [...first, ...WANTED_MODULES, ...NET_MODULES, ...LATE_MODULES]);
  const lateModules = all.order.filter((m) => !early.has(m) && !netOrder.includes(m));
  // Shipped and in modules.dep, loaded by tendril's own modprobe when a feature needs them.
  const whole = resolveModules(db, [
    ...first,
    ...WANTED_MODULES,
    ...NET_MODULES,
    ...LATE_MODULES,
    ...ON_DEMAND_MODULES,
  ]);
  const onDemand = whole.order.filter((m) => !all.order.includes(m));
  const overrides = checkedModuleOverrides(o.moduleOverrides ?? [], o.kernelVersion);
  for (const rel of [...sel.order, ...netOrder, ...lateModules, ...onDemand]) {
    let data: Uint8Array = fs.readFileSync(path.join(db.dir, rel));
    let name = rel;
    const override = overrides.get(path.basename(rel).replace(/\.(xz|zst)$/, ''));
    if (override) {
      [data, name] = [override.data, rel.replace(/\.(xz|zst)$/, '')];
      override.used = true;
    } else if (rel.endsWith('.xz'))
      [data, name] = [execFileSync('xz', ['-dc', path.join(db.dir, rel)], { maxBuffer: 1 << 28 }), rel.slice(0, -3)];
    else if (rel.endsWith('.zst'))
      [data, name] = [execFileSync('zstd', ['-dcq', path.join(db.dir, rel)], { maxBuffer: 1 << 28 }), rel.slice(0, -4)];
    if (early.has(rel)) base.file(`lib/modules/${name}`, data, 0o644, 'modules');
    else late(`lib/modules/${name}`, data, 0o644, 'modules');
  }
  const unused = [...overrides.values()].filter((v) => !v.used).map((v) => v.file);
  if (unused.length)
    throw new Error(`--module ${unused.join(', ')}: not a module this image ships (initramfs/modules.ts)`);
  const list = (l: string[]): string => l.map((r) => r.replace(/\.(xz|zst|gz)$/, '')).join('\n') + '\n';
  if (payload) base.file('etc/tendril/modules.payload', Buffer.from(list(payloadOrder)), 0o644, 'modules');
  base.file('etc/tendril/modules.order', Buffer.from(list(earlyOrder)), 0o644, 'modules');
  base.file('etc/tendril/modules.net', Buffer.from(list(netOrder)), 0o644, 'modules');
  base.file('etc/tendril/modules.late', Buffer.from(list(lateModules)), 0o644, 'modules');
  // What busybox modprobe reads, for /init's drivers by device (coldplug.ts): it looks in
  // /lib/modules/<release>, which is /lib/modules itself here.
  const modprobe = modprobeFiles(db, {
    shipped: [...sel.order, ...netOrder, ...lateModules, ...onDemand],
    candidates: [...earlyOrder, ...netOrder],
    wanted: [...WANTED_MODULES, ...NET_MODULES],
  });
  base.file('lib/modules/modules.dep', Buffer.from(modprobe.dep), 0o644, 'modules');
  base.file('lib/modules/modules.alias', Buffer.from(modprobe.alias), 0o644, 'modules');
  base.link(`lib/modules/${o.kernelVersion}`, '.');
  base.file('etc/tendril/modules.buses', Buffer.from(`${modprobe.buses.join('\n')}\n`), 0o644, 'modules');
  base.file('etc/tendril/modules.features', Buffer.from(`${modprobe.features.join('\n')}\n`), 0o644, 'modules');

  // The owner's settings and trust go into flash with the image, never onto a disk tendril reads.
  if (o.settings !== undefined) base.file(SETTINGS_FILE.slice(1), checkedSettings(o.settings), 0o644, 'other');
  if (o.netbootCa !== undefined) base.file(DEFAULT_CA_FILE.slice(1), checkedPem(o.netbootCa), 0o644, 'other');
  if (o.trustDb !== undefined)
    for (const f of checkedTrustDir(o.trustDb, 'db'))
      base.file(`${DEFAULT_DB_DIR.slice(1)}/${f.name}`, f.data, 0o644, 'other');
  if (o.trustKeys !== undefined)
    for (const f of checkedTrustDir(o.trustKeys, 'keys'))
      base.file(`${DEFAULT_KEYS_DIR.slice(1)}/${f.name}`, f.data, 0o644, 'other');
  base.file(
    'etc/tendril/modules.json',
    Buffer.from(
      JSON.stringify({ kernelModulesFrom: o.kernelVersion, builtin: whole.builtin, missing: whole.missing }, null, 1),
    ),
    0o644,
    'modules',
  );

  // UEFI firmware for the VM path (efi entries): Debian's non-SMM OVMF CODE image, its empty
  // variable store and the Secure Boot template, at the paths the ovmf package uses, with the
  // QEMU firmware descriptors that name them, so findOvmf() looks them up as on the build host.
  const ovmf = findOvmf();
  const shipped = new Set([ovmf.code, ovmf.vars, ...(ovmf.varsSecureBoot !== undefined ? [ovmf.varsSecureBoot] : [])]);
  for (const f of shipped) late(f.slice(1), fs.readFileSync(f), 0o644, 'firmware');
  // Only descriptors whose files ship: the others would name images the initramfs lacks.
  for (const d of firmwareDescriptors())
    if (d.names.length > 0 && d.names.every((f) => shipped.has(f)))
      base.file(d.file.slice(1), Buffer.from(d.text), 0o644, 'firmware');

  // The app: /init, bundle, terminfo next to it (the bundle looks in <dir>/blessed-usr), addon.
  const app = new Tree();
  app.file('init', fs.readFileSync(fromRoot('initramfs', 'init.sh')), 0o755, 'init');
  app.file('etc/tendril/hotplug', fs.readFileSync(fromRoot('initramfs', 'hotplug.sh')), 0o755, 'init');
  // /tendril.js is the launcher (initramfs/start.js): it runs the bundle with a V8 code cache
  // made by the node that ships.
  const bundle = fs.readFileSync(o.bundle);
  const start = fs.readFileSync(fromRoot('initramfs', 'start.js'));
  app.file('tendril.js', start, 0o644, 'bundle');
  app.file('tendril-bundle.js', bundle, 0o644, 'bundle');
  const cache = codeCache(node, start, bundle, addon, o.cacheDir, o.log);
  if (cache) app.file('tendril-bundle.js.cache', cache, 0o644, 'bundle');
  const usr = path.join(path.dirname(o.bundle), 'blessed-usr');
  if (fs.existsSync(usr)) {
    for (const f of fs.readdirSync(usr).sort())
      app.file(`blessed-usr/${f}`, fs.readFileSync(path.join(usr, f)), 0o644, 'terminfo');
  }
  app.file('tendril.node', fs.readFileSync(addon), 0o755, 'addon');
  app.file('bin/tendril', Buffer.from('#!/bin/sh\nexec node /tendril.js "$@"\n'), 0o755, 'init');
  return { base, app, payload, builtin: whole.builtin, missing: whole.missing, modules: whole.order.length };
}

/** The command whose compiled functions go into the code cache: a dry-run boot of a BLS entry
 *  (discovery, entries, the boot plan), in-process (TENDRIL_WORKERS=0) so that the scanning
 *  code is compiled on this thread too. */
const CACHE_WORKLOAD = ['boot', '--dry-run', '--default'];

/**
 * The V8 code cache for the bundle, made by running `node` (the very binary that ships: V8
 * rejects a cache from another version or other flags) with the launcher `start` on a small BLS
 * tree and writing the cache at exit (initramfs/start.js). Kept by node, bundle, launcher and
 * workload, so rebuilds reuse the same bytes (V8's output itself differs from run to run).
 * Undefined (with a log line) when the run fails: the image then works without it, only slower.
 */
function codeCache(
  node: string,
  start: Buffer,
  bundle: Buffer,
  addon: string,
  cacheDir: string,
  log: (s: string) => void,
): Buffer | undefined {
  const st = fs.statSync(node);
  const key = sha256(
    `${fs.realpathSync(node)}:${st.size}:${st.mtimeMs}:${sha256(bundle)}:${sha256(start)}:${CACHE_WORKLOAD.join(' ')}`,
  );
  const out = path.join(cacheDir, `code-cache-${key.slice(0, 24)}.bin`);
  if (fs.existsSync(out)) return fs.readFileSync(out);
  const stage = fs.mkdtempSync(path.join(cacheDir, 'code-cache-stage-'));
  try {
    fs.writeFileSync(path.join(stage, 'tendril.js'), start);
    fs.writeFileSync(path.join(stage, 'tendril-bundle.js'), bundle);
    fs.copyFileSync(addon, path.join(stage, 'tendril.node'));
    const tree = path.join(stage, 'esp');
    fs.mkdirSync(path.join(tree, 'loader', 'entries'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'loader', 'loader.conf'), 'default a.conf\ntimeout 3\n');
    fs.writeFileSync(
      path.join(tree, 'loader', 'entries', 'a.conf'),
      'title A\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=/dev/vda2 ro quiet\n',
    );
    fs.writeFileSync(path.join(tree, 'vmlinuz'), Buffer.alloc(4096));
    fs.writeFileSync(path.join(tree, 'initrd.img'), Buffer.alloc(4096));
    const tmp = `${out}.tmp${process.pid}`;
    const r = spawnSync(node, [path.join(stage, 'tendril.js'), ...CACHE_WORKLOAD, '--root', tree], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TENDRIL_WORKERS: '0', TENDRIL_CODE_CACHE_WRITE: tmp },
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (!fs.existsSync(tmp)) {
      log(
        `no code cache: ${node} ${CACHE_WORKLOAD.join(' ')} exited ${r.status}: ${(r.stderr || r.error?.message || '').trim()}`,
      );
      return undefined;
    }
    fs.renameSync(tmp, out);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * `--module FILE.ko`: a module replacing the distribution's one of the same file name (a patched
 * driver). Refused before the build unless it is an ELF object whose vermagic names this kernel,
 * since the kernel would refuse to load it at boot, where nobody sees why.
 */
function checkedModuleOverrides(
  files: readonly string[],
  kernelVersion: string,
): Map<string, { file: string; data: Buffer; used: boolean }> {
  const out = new Map<string, { file: string; data: Buffer; used: boolean }>();
  for (const file of files) {
    const base = path.basename(file);
    if (!base.endsWith('.ko')) throw new Error(`--module ${file}: expected an uncompressed .ko file`);
    const data = fs.readFileSync(file);
    if (data.subarray(0, 4).toString('latin1') !== '\x7fELF') throw new Error(`--module ${file}: not an ELF object`);
    const at = data.indexOf('vermagic=');
    const end = at < 0 ? -1 : data.indexOf(0, at);
    const vermagic = at < 0 || end < 0 ? null : data.subarray(at + 9, end).toString('latin1');
    if (vermagic === null || !vermagic.startsWith(`${kernelVersion} `))
      throw new Error(
        `--module ${file}: vermagic ${vermagic === null ? 'missing' : `'${vermagic}'`}, not for kernel ${kernelVersion}`,
      );
    out.set(base, { file, data, used: false });
  }
  return out;
}

function writeCached(cpio: Buffer, cacheDir: string): { key: string; file: string } {
  const key = sha256(cpio);
  const file = path.join(cacheDir, `initramfs-${key.slice(0, 24)}.cpio`);
  if (!fs.existsSync(file)) {
    fs.writeFileSync(`${file}.tmp${process.pid}`, cpio);
    fs.renameSync(`${file}.tmp${process.pid}`, file);
  }
  return { key, file };
}

export function buildInitramfs(o: BuildOptions): BuildResult {
  // Refused before minutes of work, not after.
  if (o.settings !== undefined) checkedSettings(o.settings);
  if (o.netbootCa !== undefined) checkedPem(o.netbootCa);
  if (o.trustDb !== undefined) checkedTrustDir(o.trustDb, 'db');
  if (o.trustKeys !== undefined) checkedTrustDir(o.trustKeys, 'keys');
  checkedModuleOverrides(o.moduleOverrides ?? [], o.kernelVersion);
  fs.mkdirSync(o.cacheDir, { recursive: true });
  if (!o.noBuild) {
    o.log('building bundle (scripts/build.mjs) and addon (scripts/build-native.sh)');
    execFileSync(process.execPath, [fromRoot('scripts', 'build.mjs')], { stdio: 'inherit' });
    execFileSync('sh', [fromRoot('scripts', 'build-native.sh')], { stdio: 'inherit' });
  }
  const a = assemble(o);
  if (a.missing.length) o.log(`modules not found for ${o.kernelVersion}: ${a.missing.join(', ')}`);
  o.log(`${a.modules} modules (${a.builtin.length} wanted ones are built in)`);
  const baseCpio = Buffer.concat(a.base.w.finish());
  const appCpio = Buffer.concat(a.app.w.finish());
  const base = writeCached(baseCpio, o.cacheDir);
  const app = writeCached(appCpio, o.cacheDir);
  const tally = mergeTallies(a.base.tally.result(), a.app.tally.result());
  // The payload image goes in an uncompressed archive of its own: it is compressed already,
  // and the kernel only copies it.
  let payload: { cpio: Buffer; key: string; file: string; sqfs: Compressed; files: number } | undefined;
  const sqfsArgs = squashfsArgs(o.compress === 'zstd' ? 'zstd' : 'xz');
  if (a.payload) {
    o.log(`building the squashfs payload (${a.payload.files.size} files, cached by content)`);
    const sqfs = squashfs(a.payload, sqfsArgs, o.cacheDir);
    const w = new CpioWriter();
    w.add({ kind: 'file', path: PAYLOAD_IMAGE, data: fs.readFileSync(sqfs.file), mode: 0o444 });
    const cpio = Buffer.concat(w.finish());
    payload = { cpio, ...writeCached(cpio, o.cacheDir), sqfs, files: a.payload.files.size };
  }
  const cpioBytes = baseCpio.length + appCpio.length + (payload?.cpio.length ?? 0);

  let parts: string[];
  let compressed: SizeReport['compressed'];
  const alternatives: NonNullable<SizeReport['alternatives']> = [];
  const describe = (m: Exclude<Compression, 'none'>): string =>
    `${m} ${COMPRESSORS[m].args.filter((x) => x !== '-c' && x !== '-q').join(' ')}`;
  if (o.compress === 'none') {
    parts = [base.file, app.file];
    compressed = { method: 'none', bytes: cpioBytes, seconds: 0 };
  } else {
    o.log(
      `compressing ${((baseCpio.length + appCpio.length) / 2 ** 20).toFixed(1)} MiB with ${o.compress} (each archive cached by its content hash)`,
    );
    const cb = compress(base.file, base.key, o.compress, o.cacheDir);
    const ca = compress(app.file, app.key, o.compress, o.cacheDir);
    parts = [cb.file, ca.file];
    compressed = { method: describe(o.compress), bytes: 0, seconds: cb.seconds + ca.seconds };
  }
  if (payload) parts.push(payload.file);
  if (o.measure) {
    for (const m of ['xz', 'zstd'] as const) {
      const cb = compress(base.file, base.key, m, o.cacheDir);
      const ca = compress(app.file, app.key, m, o.cacheDir);
      alternatives.push({
        method: describe(m),
        bytes: fs.statSync(cb.file).size + fs.statSync(ca.file).size,
        compressSeconds: cb.seconds + ca.seconds,
        decompressSeconds: decompressSeconds(cb.file, m) + decompressSeconds(ca.file, m),
      });
    }
  }
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  // Concatenate (each compressed stream is self-delimiting; pad to 4 for uncompressed cpio).
  const tmp = `${o.out}.tmp${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  for (const f of parts) {
    const b = fs.readFileSync(f);
    fs.writeSync(fd, b);
    if (b.length % 4) fs.writeSync(fd, Buffer.alloc(4 - (b.length % 4)));
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, o.out);
  const report: SizeReport = {
    components: tally,
    cpioBytes,
    compressed: { ...compressed, bytes: fs.statSync(o.out).size },
    ...(alternatives.length ? { alternatives } : {}),
    ...(payload
      ? {
          payload: {
            method: `squashfs ${sqfsArgs.slice(0, 6).join(' ')}`,
            files: payload.files,
            bytes: fs.statSync(payload.sqfs.file).size,
            seconds: payload.sqfs.seconds,
          },
        }
      : {}),
    kernelModulesFrom: o.kernelVersion,
  };
  const key = sha256(`${base.key}:${app.key}:${payload?.key ?? ''}`);
  fs.writeFileSync(
    `${o.out}.report.json`,
    JSON.stringify(
      { ...report, baseSha256: base.key, appSha256: app.key, ...(payload ? { payloadSha256: payload.key } : {}) },
      null,
      1,
    ) + '\n',
  );
  return { out: o.out, report, cpioSha256: key };
}

function mergeTallies(a: SizeReport['components'], b: SizeReport['components']): SizeReport['components'] {
  const out = { ...a };
  for (const k of Object.keys(b) as Component[])
    out[k] = { files: a[k].files + b[k].files, bytes: a[k].bytes + b[k].bytes };
  return out;
}

const BUILD_OPTIONS = {
  kernelModulesFrom: text({ metavar: 'VERSION', help: "kernel release whose modules go in (default: this host's)" }),
  out: text({ metavar: 'FILE', help: 'the image (default out/tendril-initramfs.cpio.zst, .xz with --compress xz)' }),
  compress: choice({
    values: ['xz', 'zstd', 'none'],
    help: 'compression of the archives and the payload (default zstd: fastest to menu; xz with --layout cpio is smallest)',
  }),
  layout: choice({
    values: ['squashfs', 'cpio'],
    help: 'squashfs: node, libraries, late modules and firmware in a squashfs image mounted by /init (default); cpio: all in the archives',
  }),
  measure: flag({ help: 'also compress with the other method and time both decompressions (for the report)' }),
  noBuild: flag({ help: 'use the bundle and addon as they are (no rebuild)' }),
  bundle: text({ metavar: 'FILE', help: 'the tendril bundle (default dist/tendril.js)' }),
  cache: text({ metavar: 'DIR', help: 'cache directory (default $TENDRIL_INITRAMFS_CACHE or .cache/initramfs)' }),
  settings: text({ metavar: 'FILE', help: 'tendril.toml to bake in as /etc/tendril/tendril.toml (checked first)' }),
  netbootCa: text({
    metavar: 'FILE',
    help: 'PEM bundle https network boot trusts, baked in as /etc/tendril/netboot-ca.pem',
  }),
  trustDb: text({
    metavar: 'DIR',
    help: 'X.509 certificates (*.pem) UKI signatures must chain to, baked in as /etc/tendril/db (docs/signatures.md)',
  }),
  trustKeys: text({
    metavar: 'DIR',
    help: 'minisign / OpenSSH public keys (*.pub) for detached signatures, baked in as /etc/tendril/keys',
  }),
  module: text({
    metavar: 'FILE.ko',
    repeat: true,
    help: "a kernel module that replaces the distribution's module of the same file name (a patched driver); its vermagic must name the kernel",
  }),
};

export const BUILD_COMMAND: CommandSpec<typeof BUILD_OPTIONS, Partial<BuildOptions>> = {
  name: 'initramfs',
  invocation: 'npm run initramfs --',
  label: 'initramfs',
  synopsis:
    '[--kernel-modules-from VERSION] [--out FILE] [--compress xz|zstd|none] [--layout squashfs|cpio] [--measure] [--no-build] [--bundle FILE] [--cache DIR] [--settings FILE] [--netboot-ca FILE] [--trust-db DIR] [--trust-keys DIR] [--module FILE.ko]...',
  summary: 'Build the tendril initramfs (see initramfs/README.md).',
  options: BUILD_OPTIONS,
  build: ({ opts: o }) => ({
    ...(o.kernelModulesFrom !== undefined ? { kernelVersion: o.kernelModulesFrom } : {}),
    ...(o.out !== undefined ? { out: o.out } : {}),
    ...(o.compress !== undefined ? { compress: o.compress } : {}),
    ...(o.layout !== undefined ? { layout: o.layout } : {}),
    ...(o.measure ? { measure: true } : {}),
    ...(o.noBuild ? { noBuild: true } : {}),
    ...(o.bundle !== undefined ? { bundle: o.bundle } : {}),
    ...(o.cache !== undefined ? { cacheDir: o.cache } : {}),
    ...(o.settings !== undefined ? { settings: o.settings } : {}),
    ...(o.netbootCa !== undefined ? { netbootCa: o.netbootCa } : {}),
    ...(o.trustDb !== undefined ? { trustDb: o.trustDb } : {}),
    ...(o.trustKeys !== undefined ? { trustKeys: o.trustKeys } : {}),
    ...(o.module.length ? { moduleOverrides: o.module } : {}),
  }),
};

export function resolveBuildOptions(p: Partial<BuildOptions>): BuildOptions {
  return {
    kernelVersion: p.kernelVersion ?? hostKernel().version,
    out:
      p.out ??
      fromRoot('out', `tendril-initramfs.cpio.${p.compress === 'xz' ? 'xz' : p.compress === 'none' ? 'none' : 'zst'}`),
    compress: p.compress ?? 'zstd',
    layout: p.layout ?? 'squashfs',
    measure: p.measure ?? false,
    noBuild: p.noBuild ?? false,
    bundle: p.bundle ?? fromRoot('dist', 'tendril.js'),
    nodeBinary: p.nodeBinary ?? fs.realpathSync(process.execPath),
    busybox: p.busybox ?? hostBusybox(),
    cacheDir: p.cacheDir ?? process.env.TENDRIL_INITRAMFS_CACHE ?? fromRoot('.cache', 'initramfs'),
    ...(p.settings !== undefined ? { settings: p.settings } : {}),
    ...(p.netbootCa !== undefined ? { netbootCa: p.netbootCa } : {}),
    ...(p.trustDb !== undefined ? { trustDb: p.trustDb } : {}),
    ...(p.trustKeys !== undefined ? { trustKeys: p.trustKeys } : {}),
    ...(p.moduleOverrides !== undefined ? { moduleOverrides: p.moduleOverrides } : {}),
    log: p.log ?? ((s) => process.stderr.write(`initramfs: ${s}\n`)),
  };
}

function main(): number {
  const p = commandArgs(BUILD_COMMAND, process.argv.slice(2));
  if ('exit' in p) return p.exit;
  const o = resolveBuildOptions(p.args);
  const r = buildInitramfs(o);
  process.stdout.write(formatReport(r.report) + '\n');
  process.stdout.write(`wrote ${r.out} (${r.report.compressed.bytes} bytes) and ${r.out}.report.json\n`);
  return 0;
}

// Run only as the entry (run-ts bundles importers such as test fixtures into one module too).
if (require.main === module && /(^|[\\/])build\.(cjs|js|ts)$/.test(process.argv[1] ?? '')) {
  try {
    process.exitCode = main();
  } catch (e) {
    process.stderr.write(`initramfs: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
