// Pre-fetching `rd.systemd.pull=` images for the OS (docs/net-bootfiles.md §8.3, opt-in with
// net.pull-prefetch). tendril downloads the image that a rewritten pull names, with the checksum
// and signature files systemd-pull would ask for next to it, and hands them over as one more
// uncompressed newc cpio at the end of the initrd: the kernel unpacks it into the initramfs root,
// and the pull's REMOTE becomes a file:// URL there. systemd's import generator and systemd-pull
// accept file:// URLs, find the checksum files by the same rule next to it, and skip the network.

import type { FileRef } from '../discovery/model';
import type { FileSystem } from '../discovery/fs/types';
import { PULL_PREFETCH_MAX_MIB, type NetSettings } from '../settings/schema';
import { NetFileSystem } from './netfs';
import { NetError } from './types';

/** Where the OS finds the files: under /.extra/ as systemd-stub's own cpios (not /run: pid 1 mounts a tmpfs over it). */
export const PULL_DIR = '/.extra/tendril-pull';

/** systemd-pull's own limit for a checksum or signature file (pull-common.c: 1 MiB). */
export const AUX_MAX = 1 << 20;

/** newc's c_filesize has 8 hex digits. */
export const CPIO_FILE_MAX = 0xffffffff;

/** systemd's verify= modes; signature is its default. */
export type PullVerify = 'no' | 'checksum' | 'signature';

export interface PrefetchOptions {
  /** The largest image downloaded (net.pull-prefetch-max). */
  readonly maxBytes: number;
}

/** The plan option net.pull-prefetch and net.pull-prefetch-max ask for (nothing when it is off). */
export function prefetchOption(net: Pick<NetSettings, 'pullPrefetch' | 'pullPrefetchMaxMiB'>): {
  pullPrefetch?: PrefetchOptions;
} {
  return net.pullPrefetch
    ? { pullPrefetch: { maxBytes: (net.pullPrefetchMaxMiB ?? PULL_PREFETCH_MAX_MIB) << 20 } }
    : {};
}

/** Downloads for the prefetch, through the network filesystem of the boot. */
export interface PullFiles {
  /** The image, at most `maxBytes`, as a file a plan reads (a sealed memfd); throws why not. */
  image(
    url: string,
    maxBytes: number,
  ): Promise<{ readonly ref: FileRef; readonly size: number; readonly sha256: string }>;
  /** A checksum or signature file (at most AUX_MAX); undefined when the server does not have it. */
  small(url: string): Promise<Uint8Array | undefined>;
}

/** One piece of the extra cpio: bytes tendril made (headers, small files) or the downloaded image. */
export type ExtraPiece =
  | { readonly kind: 'bytes'; readonly label: string; readonly bytes: Uint8Array }
  | { readonly kind: 'file'; readonly label: string; readonly ref: FileRef; readonly size: number };

export interface PrefetchedPull {
  /** The pull's http(s) URL and the file:// URL the OS gets instead. */
  readonly url: string;
  readonly fileUrl: string;
  readonly size: number;
  readonly sha256: string;
  /** The checksum and signature files put next to it. */
  readonly aux: readonly string[];
}

export interface PrefetchResult {
  readonly cmdline: string;
  /** The extra initrd, in order; empty when nothing was prefetched. */
  readonly pieces: readonly ExtraPiece[];
  readonly prefetched: readonly PrefetchedPull[];
  /** Why a pull kept its http URL (one line each). */
  readonly notes: readonly string[];
}

interface PullWord {
  readonly key: string;
  readonly options: string;
  readonly local: string;
  readonly url: string;
}

/** `rd.systemd.pull=OPTIONS:LOCAL:URL` split at its first two colons; undefined for other words. */
export function parsePullWord(word: string): PullWord | undefined {
  const key = 'rd.systemd.pull=';
  if (!word.startsWith(key)) return undefined;
  const v = word.slice(key.length);
  const c1 = v.indexOf(':');
  const c2 = c1 < 0 ? -1 : v.indexOf(':', c1 + 1);
  if (c2 < 0) return undefined;
  return { key, options: v.slice(0, c1), local: v.slice(c1 + 1, c2), url: v.slice(c2 + 1) };
}

/** The verify mode systemd's import generator reads from OPTIONS: the last valid verify=, else signature. */
export function verifyOf(options: string): PullVerify {
  let v: PullVerify = 'signature';
  for (const o of options.split(',')) {
    const m = /^verify=(no|checksum|signature)$/.exec(o);
    if (m) v = m[1] as PullVerify;
  }
  return v;
}

/**
 * The image's file name: the URL's last path component, as systemd's import_url_last_component()
 * takes it (query and fragment cut). Only plain names are used, so that the file:// URL needs no
 * escaping and the local image name systemd derives from it is the one it derives from the http URL.
 */
export function imageName(url: string): string | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const name = path.slice(path.lastIndexOf('/') + 1);
  return /^[A-Za-z0-9_+~-][A-Za-z0-9._+~-]{0,199}$/.test(name) && name !== '..' ? name : undefined;
}

/**
 * The files systemd-pull asks for next to an image (src/import/pull-common.c), each list in its
 * order of asking: the first one the server has is the one it uses.
 */
export function auxCandidates(name: string, verify: PullVerify): string[][] {
  const lists: string[][] = [];
  if (verify !== 'no') lists.push([`${name}.sha256`, 'SHA256SUMS']);
  if (verify === 'signature')
    lists.push([`${name}.sha256.asc`, `${name}.sha256.gpg`, 'SHA256SUMS.gpg', 'SHA256SUMS.asc']);
  return lists;
}

const sibling = (url: string, name: string): string => {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  u.pathname = u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1) + name;
  return u.href;
};

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** A newc header with its name and the NULs after it (the data follows, then NULs to 4 bytes). */
export function newcHeader(name: string, mode: number, size: number, ino: number): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'latin1');
  // c_ino c_mode c_uid c_gid c_nlink c_mtime c_filesize c_devmajor c_devminor c_rdevmajor c_rdevminor c_namesize c_check
  const fields = [ino, mode, 0, 0, mode & 0o040000 ? 2 : 1, 0, size, 0, 0, 0, 0, nameBytes.length, 0];
  const head = Buffer.from('070701' + fields.map(hex8).join(''), 'latin1');
  return Buffer.concat([head, nameBytes, Buffer.alloc(pad4(head.length + nameBytes.length))]);
}

const DIR = 0o040755;
const FILE = 0o100444;

/**
 * The extra cpio as pieces. Every piece but the image is a multiple of 4 bytes, and the initrd
 * layout pads each piece to 4 with NULs (src/kexec/initrd.ts): exactly newc's padding after a
 * file's data, so the image is never copied into a buffer of its own.
 */
export function cpioPieces(
  images: readonly {
    readonly n: number;
    readonly name: string;
    readonly ref: FileRef;
    readonly size: number;
    readonly aux: ReadonlyMap<string, Uint8Array>;
  }[],
): ExtraPiece[] {
  const rel = PULL_DIR.slice(1);
  let ino = 1;
  let held: Buffer[] = [];
  const top = rel.split('/');
  for (let i = 1; i <= top.length; i++) held.push(newcHeader(top.slice(0, i).join('/'), DIR, 0, ino++));
  const pieces: ExtraPiece[] = [];
  const flush = (label: string): void => {
    if (held.length) pieces.push({ kind: 'bytes', label, bytes: Buffer.concat(held) });
    held = [];
  };
  for (const im of images) {
    const dir = `${rel}/${im.n}`;
    held.push(newcHeader(dir, DIR, 0, ino++));
    for (const [name, data] of im.aux) {
      held.push(
        newcHeader(`${dir}/${name}`, FILE, data.length, ino++),
        Buffer.from(data),
        Buffer.alloc(pad4(data.length)),
      );
    }
    held.push(newcHeader(`${dir}/${im.name}`, FILE, im.size, ino++));
    flush(`tendril-pull:cpio#${im.n}`);
    pieces.push({ kind: 'file', label: `${im.ref.fsId}:${im.ref.path}`, ref: im.ref, size: im.size });
  }
  held.push(newcHeader('TRAILER!!!', 0, 0, 0));
  flush('tendril-pull:cpio#trailer');
  return pieces;
}

const why = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Prefetch the images of the rewritten `rd.systemd.pull=` words (`urls`: their http(s) URLs, as
 * rewriteBootOriginPulls made them) and point those words at the copies. A pull whose image or
 * required checksum files cannot be had keeps its http URL, with a note: the OS downloads it then.
 * `systemd.pull=` (no `rd.`) is not touched: it runs after switch-root, when the initramfs is gone.
 */
export async function prefetchPulls(
  cmdline: string,
  words: readonly string[],
  files: PullFiles,
  opts: PrefetchOptions,
): Promise<PrefetchResult> {
  const notes: string[] = [];
  const prefetched: PrefetchedPull[] = [];
  const images: Parameters<typeof cpioPieces>[0][number][] = [];
  const replace = new Map<string, string>();
  const byUrl = new Map<string, string>();
  const maxBytes = Math.min(opts.maxBytes, CPIO_FILE_MAX);
  for (const word of words) {
    if (replace.has(word)) continue;
    const p = parsePullWord(word);
    if (!p) continue;
    const name = imageName(p.url);
    if (!name) {
      notes.push(`${p.url}: not prefetched: its file name is not a plain name a file:// URL can carry`);
      continue;
    }
    let fileUrl = byUrl.get(p.url);
    if (fileUrl === undefined) {
      const n = images.length;
      const aux = new Map<string, Uint8Array>();
      try {
        for (const list of auxCandidates(name, verifyOf(p.options))) {
          let found = false;
          for (const f of list) {
            const b = await files.small(sibling(p.url, f));
            if (b === undefined) continue;
            aux.set(f, b);
            found = true;
            break;
          }
          if (!found)
            throw new Error(
              `the server has none of ${list.join(', ')} next to it, which verify=${verifyOf(p.options)} needs`,
            );
        }
        const im = await files.image(p.url, maxBytes);
        images.push({ n, name, ref: im.ref, size: im.size, aux });
        fileUrl = `file://${PULL_DIR}/${n}/${name}`;
        byUrl.set(p.url, fileUrl);
        prefetched.push({ url: p.url, fileUrl, size: im.size, sha256: im.sha256, aux: [...aux.keys()] });
      } catch (e) {
        notes.push(`${p.url}: not prefetched (the OS downloads it): ${why(e)}`);
        continue;
      }
    }
    replace.set(word, `${p.key}${p.options}:${p.local}:${fileUrl}`);
  }
  if (!images.length) return { cmdline, pieces: [], prefetched: [], notes };
  const parts = cmdline.split(/([ \t\n]+)/);
  for (let i = 0; i < parts.length; i += 2) parts[i] = replace.get(parts[i]!) ?? parts[i]!;
  return { cmdline: parts.join(''), pieces: cpioPieces(images), prefetched, notes };
}

/**
 * PullFiles over the boot's network filesystem: `resolve` names a URL as a file there (it may bring
 * the network up, as for `uki-url`), `lookup` finds that filesystem.
 */
export function netPullFiles(
  resolve: (url: string) => Promise<FileRef>,
  lookup: (fsId: string) => FileSystem | undefined,
): PullFiles {
  const netFs = async (url: string): Promise<{ fs: NetFileSystem; ref: FileRef }> => {
    const ref = await resolve(url);
    const fs = lookup(ref.fsId);
    if (!(fs instanceof NetFileSystem)) throw new Error(`${url}: no network filesystem ${ref.fsId} to fetch it with`);
    return { fs, ref };
  };
  return {
    image: async (url, maxBytes) => {
      const { fs, ref } = await netFs(url);
      const got = await fs.prefetch(url, maxBytes);
      return { ref, ...got };
    },
    small: async (url) => {
      const { fs } = await netFs(url);
      try {
        return (await fs.fetchUrl(url, AUX_MAX)).bytes;
      } catch (e) {
        if (e instanceof NetError && e.notFound) return undefined;
        throw e;
      }
    },
  };
}
