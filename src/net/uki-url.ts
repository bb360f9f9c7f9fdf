// Network files for `uki-url` entries (docs/net-bootfiles.md §8): a BLS entry on a local disk names a
// UKI by URL, so a command that found it on a disk brings the network up when such an entry is
// planned, once, and reads the UKI through the first lease's NetFileSystem like any network file.

import type { FileRef, FsId } from '../discovery/model';
import type { FileSystem } from '../discovery/fs/types';
import type { NetSettings, TrustSettings } from '../settings/schema';
import { runNetwork, type NetMenu } from './boot';
import { createFetch, downloadToMemfd, type FetchConfig } from './fetch';
import { parseIpArg } from './manual';
import { netRef } from './netentry';
import { NetFileSystem, netFsId } from './netfs';
import type { FetchOptions, Lease } from './types';

export interface UkiUrlFiles {
  /** The URL as a FileRef that `fs` finds; brings the network up on first use (throws why it could not). */
  readonly resolve: (url: string) => Promise<FileRef>;
  /** The filesystem of the interface used, once there is one. */
  readonly fs: (fsId: FsId) => FileSystem | undefined;
  /** The lease's boot file URL, once the network is up: the origin when net.origin is not set. */
  readonly leaseOrigin: () => string | undefined;
}

/**
 * uki-url files on the network of an existing menu (`tendril netboot`, the menu); `started`, when
 * given, is the first lease stage, awaited before the menu is asked for a lease.
 */
export function menuUkiUrlFiles(
  menu: () => NetMenu | undefined,
  started?: () => Promise<unknown> | undefined,
): UkiUrlFiles {
  return {
    resolve: async (url) => {
      await started?.();
      const lease = menu()?.sources[0]?.lease;
      if (!lease) throw new Error('no network interface has a lease');
      return netRef(lease.iface, url);
    },
    fs: (id) => menu()?.fs(id),
    leaseOrigin: () => menuOrigin(menu()),
  };
}

/** The URL a network menu came from: the first boot file's (a kernel, UKI, script or GRUB image). */
export function menuOrigin(m: NetMenu | undefined): string | undefined {
  const s = m?.sources[0];
  return s?.bootFile?.url ?? s?.lease.bootUrl;
}

/** An ip= naming an interface (`ip=eth1:dhcp`, a static one on eth1) brings up that interface alone. */
function namedIface(net: NetSettings): { ifaces?: string[] } {
  if (net.mode.kind !== 'ip') return {};
  try {
    const iface = parseIpArg(net.mode.spec).iface;
    return iface !== undefined ? { ifaces: [iface] } : {};
  } catch {
    return {}; // runNetwork reports the bad ip= itself
  }
}

/** uki-url files for a command that has no network yet (`tendril boot`): DHCP on first use, as net.* say. */
export function lazyUkiUrlFiles(
  net: NetSettings,
  opts: {
    readonly trust?: TrustSettings;
    readonly log?: (line: string) => void;
    readonly onProgress?: FetchOptions['onProgress'];
  } = {},
): UkiUrlFiles {
  let up: Promise<{ fs: NetFileSystem; lease: Lease }> | undefined;
  let ready: { fs: NetFileSystem; lease: Lease } | undefined;
  const bringUp = async (): Promise<{ fs: NetFileSystem; lease: Lease }> => {
    const run = await runNetwork(net, {
      leasesOnly: true,
      ...namedIface(net),
      ...(opts.trust ? { trust: opts.trust } : {}),
      ...(opts.log ? { verbose: opts.log } : {}),
    });
    const lease = run.leases[0];
    if (!lease) throw new Error(run.errors.map((e) => e.message).join('; ') || 'no network interface got a lease');
    const cfg: FetchConfig = {
      http: {
        ca: net.ca.kind === 'system' ? 'system' : net.ca.path,
        ...(net.proxy !== undefined ? { proxy: net.proxy } : {}),
        ...(net.noProxy !== undefined ? { noProxy: net.noProxy } : {}),
      },
      ...(opts.log ? { onInfo: opts.log } : {}),
    };
    const fs = new NetFileSystem(netFsId(lease.iface), createFetch(cfg), {
      maxBytes: 1 << 30,
      pins: net.pins,
      requireVerified: net.requireVerified,
      download: (url, o) => downloadToMemfd(url, o, cfg),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    ready = { fs, lease };
    return ready;
  };
  return {
    resolve: async (url) => {
      up ??= bringUp();
      const { lease } = await up;
      return netRef(lease.iface, url);
    },
    fs: (id) => (ready && ready.fs.fsId === id ? ready.fs : undefined),
    leaseOrigin: () => ready?.lease.bootUrl,
  };
}
