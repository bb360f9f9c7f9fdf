// GRUB device and path syntax (docs/grub-syslinux.md §A6), resolved against the filesystems
// discovery found. BIOS disk numbers cannot be known from userspace, so:
//   - `search`/`probe` results are opaque tokens `tendril:<fsId>` naming one filesystem;
//   - `hdN,gptM` / `hdN,msdosM` / `hdN,M` mean partition M of the disk holding the config;
//   - `hdN` alone is that disk's whole-disk filesystem;
//   - `loop` (any loopback name) is the image mapped by `loopback`;
//   - a DeviceHook (GrubOptions.devices) may claim other names: network boot resolves `tftp`,
//     `http,host` … to the files of a NetFileSystem (src/net/grub-net.ts);
//   - anything else (cd0, memdisk, lvm/…, md/…, tftp/http without a hook) is unresolved, with the reason.

import { FsError, normalizePath, statOrNull } from '../../fs/types';
import type { FsReport } from '../../model';
import type { FsLookup, SourceContext } from '../context';
import { filesystemsFor } from '../evaluations';
import type { Env, FsLoc, Resolved, SourceFile } from './state';

const TOKEN_PREFIX = 'tendril:';

export function tokenFor(fsId: string): string {
  return TOKEN_PREFIX + encodeURIComponent(fsId);
}

export function locOf(ctx: SourceContext, report: FsReport): FsLoc | undefined {
  const m = ctx.get(report.fsId);
  return m ? { fs: m.fs, report: m.report, refId: m.report.fsId } : undefined;
}

/** Strip one pair of parentheses: `(hd0,gpt2)` → `hd0,gpt2`. */
export function stripParens(dev: string): string {
  return dev.startsWith('(') && dev.endsWith(')') ? dev.slice(1, -1) : dev;
}

export type DeviceResult =
  | {
      readonly ok: true;
      readonly loc: FsLoc;
      /** The directory of `loc.fs` the device's `/` stands for (a network device: '/tftp/<host>'). */
      readonly base?: string;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * Claims device names the discovered disks do not have (without parentheses): a result, or
 * undefined for a name that is not its own. `env` gives the variables it may default from.
 */
export type DeviceHook = (dev: string, env: Env) => DeviceResult | undefined;

/** Resolve a device name (without parentheses) for a config file `from`. */
export function resolveDevice(
  ctx: SourceContext,
  env: Env,
  from: SourceFile,
  dev: string,
  hook?: DeviceHook,
): DeviceResult {
  const claimed = hook?.(dev, env);
  if (claimed) return claimed;
  if (dev.startsWith(TOKEN_PREFIX)) {
    let fsId: string;
    try {
      fsId = decodeURIComponent(dev.slice(TOKEN_PREFIX.length));
    } catch {
      return { ok: false, reason: `bad device token '${dev}'` };
    }
    const m = ctx.get(fsId);
    if (!m) return { ok: false, reason: `device '${dev}' names no discovered filesystem` };
    return { ok: true, loc: { fs: m.fs, report: m.report, refId: m.report.fsId } };
  }
  const loop = env.loops.get(dev);
  if (loop) return loop.ok ? { ok: true, loc: loop.loc } : { ok: false, reason: loop.reason };
  const hd = /^hd(\d+)(?:,(?:gpt|msdos)?(\d+))?$/.exec(dev);
  if (hd) {
    const part = hd[2] === undefined ? 0 : Number(hd[2]);
    const disk = from.loc.report.device;
    const m = filesystemsFor(ctx, { kind: 'partition', device: disk, partition: part }).find(
      (f) => f.report.device === disk && f.report.partition === part,
    );
    if (!m) {
      return {
        ok: false,
        reason: `device (${dev}): no readable filesystem ${part === 0 ? 'on the whole disk' : `in partition ${part}`} of ${disk}, the disk holding ${from.path} (BIOS disk numbers are mapped to the config's disk)`,
      };
    }
    return { ok: true, loc: { fs: m.fs, report: m.report, refId: m.report.fsId } };
  }
  if (/^(cd|fd)\d+$/.test(dev)) return { ok: false, reason: `device (${dev}): optical/floppy drives are not mapped` };
  if (dev === 'memdisk') return { ok: false, reason: 'device (memdisk): a grub memdisk does not exist outside grub' };
  if (/^(tftp|http|https|pxe)(,|$)/.test(dev))
    return { ok: false, reason: `device (${dev}): network devices are not supported in grub.cfg` };
  if (/^(lvm|md|mduuid|cryptouuid|lvmid)\//.test(dev))
    return { ok: false, reason: `device (${dev}): LVM/RAID/crypto devices are not mapped` };
  if (dev === '') return { ok: false, reason: 'empty device name' };
  return { ok: false, reason: `unknown device (${dev.slice(0, 80)})` };
}

/** The device `$root` names, defaulting to the config's own filesystem. */
export function rootDevice(ctx: SourceContext, env: Env, from: SourceFile, hook?: DeviceHook): DeviceResult {
  const root = env.get('root');
  if (root === undefined || root === '') return { ok: true, loc: from.loc };
  return resolveDevice(ctx, env, from, stripParens(root), hook);
}

/**
 * Resolve a file name: `(dev)/path`, `/path` (on `$root`). grub rejects names that are
 * neither (`vmlinuz` alone), and so do we.
 */
export function resolvePath(ctx: SourceContext, env: Env, from: SourceFile, spec: string, hook?: DeviceHook): Resolved {
  let dev: DeviceResult;
  let rest: string;
  if (spec.startsWith('(')) {
    const close = spec.indexOf(')');
    if (close < 0) return { ok: false, reason: `missing ')' in '${spec.slice(0, 80)}'` };
    dev = resolveDevice(ctx, env, from, spec.slice(1, close), hook);
    rest = spec.slice(close + 1);
    if (rest === '') rest = '/';
  } else if (spec.startsWith('/')) {
    dev = rootDevice(ctx, env, from, hook);
    rest = spec;
  } else {
    return {
      ok: false,
      reason: `'${spec.slice(0, 80)}' is not an absolute path or (device)/path (grub: invalid file name)`,
    };
  }
  if (!dev.ok) return dev;
  if (!rest.startsWith('/')) rest = '/' + rest;
  try {
    // Normalised on its own first: '..' cannot leave the device's directory.
    const path = normalizePath(rest);
    return { ok: true, loc: dev.loc, path: dev.base ? normalizePath(dev.base + path) : path };
  } catch (e) {
    return { ok: false, reason: e instanceof FsError ? e.message : String(e) };
  }
}

export type SearchKind = 'uuid' | 'label' | 'file';

/**
 * grub `search`: every filesystem matching, the config's own first (grub takes the first
 * match; with several we prefer the device holding the config), then discovery order.
 */
export async function search(ctx: SourceContext, from: SourceFile, kind: SearchKind, key: string): Promise<FsLoc[]> {
  const out: FsLoc[] = [];
  let path = '';
  if (kind === 'file') {
    try {
      path = normalizePath(key);
    } catch {
      return out;
    }
  }
  const lookup: FsLookup =
    kind === 'uuid' ? { kind, uuid: key } : kind === 'label' ? { kind, label: key } : { kind, path };
  const own = from.loc.loopImage === undefined ? from.loc.report.fsId : undefined;
  const ordered = [...filesystemsFor(ctx, lookup)].sort(
    (a, b) => (a.report.fsId === own ? -1 : 0) - (b.report.fsId === own ? -1 : 0),
  );
  for (const m of ordered) {
    const p = m.report.probe;
    let hit = false;
    if (kind === 'uuid') hit = p?.uuid !== undefined && p.uuid.toLowerCase() === key.toLowerCase();
    else if (kind === 'label') hit = p?.label !== undefined && p.label === key;
    else hit = (await statOrNull(m.fs, path)) !== null;
    if (hit) out.push({ fs: m.fs, report: m.report, refId: m.report.fsId });
  }
  return out;
}

/** The token a search result or `probe` target is stored as. */
export function deviceName(loc: FsLoc, env: Env): string {
  if (loc.loopImage !== undefined) {
    for (const [name, d] of env.loops) if (d.ok && d.loc === loc) return name;
  }
  return tokenFor(loc.report.fsId);
}
