// Sprout path strings → files on discovered filesystems (docs/sprout.md §11, §17.4):
//   1. `tendril-fs:<fsId>/<file>`: the token our extractors and autoconfigure produce;
//   2. first node without '(' → a file on the config's home ESP (`\EFI\x`, `vmlinuz`);
//   3. device-path text: HD(n,GPT,<guid>,…) → PARTUUID; HD(n,MBR,0x<sig>,…) → the MBR
//      PARTUUID Linux forms ('<sig>-<nn>'); PciRoot/Pci/NVMe/… nodes are skipped.
// The file part: '\' → '/', normalised, never above the filesystem root.

import { normalizePath } from '../../fs/types';
import type { FileRef, FsId } from '../../model';
import type { SourceContext } from '../context';
import { filesystemsFor } from '../evaluations';

export const TOKEN_PREFIX = 'tendril-fs:';

export function fsToken(fsId: FsId): string {
  return `${TOKEN_PREFIX}${fsId}/`;
}

export type Resolved = { readonly ok: true; readonly ref: FileRef } | { readonly ok: false; readonly reason: string };

function filePart(text: string): string {
  return normalizePath('/' + text.replace(/\\/g, '/'));
}

/** Resolve a stamped sprout path. `home` is the fs holding sprout.toml. */
export function resolvePath(
  text: string,
  home: FsId,
  ctx: Pick<SourceContext, 'filesystems' | 'get' | 'lookups'>,
): Resolved {
  try {
    if (text.startsWith(TOKEN_PREFIX)) {
      const rest = text.slice(TOKEN_PREFIX.length);
      const slash = rest.indexOf('/');
      const fsId = slash < 0 ? rest : rest.slice(0, slash);
      if (!ctx.get(fsId)) return { ok: false, reason: `filesystem ${fsId} is not available` };
      return { ok: true, ref: { fsId, path: filePart(slash < 0 ? '' : rest.slice(slash + 1)) } };
    }
    const firstSlash = text.indexOf('/');
    const firstNode = firstSlash < 0 ? text : text.slice(0, firstSlash);
    if (!firstNode.includes('(')) return { ok: true, ref: { fsId: home, path: filePart(text) } };
    return resolveDevicePath(text, ctx);
  } catch (e) {
    return { ok: false, reason: `path ${JSON.stringify(text.slice(0, 200))}: ${(e as Error).message}` };
  }
}

function resolveDevicePath(text: string, ctx: Pick<SourceContext, 'filesystems' | 'get' | 'lookups'>): Resolved {
  const nodes = text.split('/');
  let i = 0;
  let hd: string[] | undefined;
  for (; i < nodes.length; i++) {
    const m = /^([A-Za-z0-9]+)\((.*)\)$/.exec(nodes[i]!.trim());
    if (!m) break;
    if (m[1]!.toUpperCase() === 'HD') hd = m[2]!.split(',').map((s) => s.trim());
  }
  const file = nodes.slice(i).join('/');
  if (!hd)
    return {
      ok: false,
      reason: `device path ${JSON.stringify(text.slice(0, 200))} has no HD() node; only partitions can be resolved`,
    };
  const [num, scheme, sig] = hd;
  const n = Number(num);
  if (!Number.isInteger(n) || n < 1 || !scheme || !sig)
    return { ok: false, reason: `bad HD() node: HD(${hd.join(',')})` };
  let want: string;
  if (scheme.toUpperCase() === 'GPT') want = sig.toLowerCase();
  else if (scheme.toUpperCase() === 'MBR') {
    const s = /^(?:0x)?([0-9a-f]{1,8})$/i.exec(sig);
    if (!s) return { ok: false, reason: `bad MBR signature in HD(${hd.join(',')})` };
    want = `${s[1]!.toLowerCase().padStart(8, '0')}-${n.toString(16).padStart(2, '0')}`;
  } else return { ok: false, reason: `unknown partition scheme ${scheme} in HD() node` };
  const hit = filesystemsFor(ctx, { kind: 'partUuid', partUuid: want }).find(
    (m) => m.report.partUuid?.toLowerCase() === want,
  );
  if (!hit) return { ok: false, reason: `no discovered partition matches HD(${hd.join(',')})` };
  return { ok: true, ref: { fsId: hit.report.fsId, path: filePart(file) } };
}
