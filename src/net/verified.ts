// Which network files of an entry are verified, and how (docs/net-transfer.md §9): for
// `tendril netboot --json` and the dry run. Computed from the URLs alone, nothing is fetched.

import { errorMessage } from '../discovery/diagnostics';
import type { FileSystem } from '../discovery/fs/types';
import { type EntryStatus, type FileRef, type FsId, type MenuEntry, namedTarget } from '../discovery/model';
import { describeVerifier } from './entry-sums';
import { NetFileSystem, pathToUrl } from './netfs';

export interface FileVerification {
  readonly url: string;
  /** null: nothing vouches for it (a pin and sums that disagree give `error`). */
  readonly verified: 'pin' | 'sums' | null;
  readonly sha256?: string;
  /** The SHA256SUMS URL and its signer, for `sums`. */
  readonly sums?: string;
  readonly signer?: string;
  readonly error?: string;
}

/** The kernel and initrds, or the image, an entry's status names (empty for other targets). */
export function targetRefs(status: EntryStatus): FileRef[] {
  const t = namedTarget(status);
  if (!t) return [];
  if (t.kind === 'linux') return [t.kernel, ...t.initrds];
  if (t.kind === 'uki' || t.kind === 'efi') return [t.image];
  return [];
}

/** The entry's kernel, initrds or image on a network filesystem, each with what vouches for it. */
export function entryVerification(entry: MenuEntry, lookup: (id: FsId) => FileSystem | undefined): FileVerification[] {
  const out: FileVerification[] = [];
  for (const r of targetRefs(entry.status)) {
    const fs = lookup(r.fsId);
    if (!(fs instanceof NetFileSystem)) continue;
    let url: string;
    try {
      url = pathToUrl(r.path);
    } catch {
      continue;
    }
    try {
      const v = fs.verifier(url);
      if (!v) out.push({ url, verified: null });
      else if (v.by === 'pin') out.push({ url, verified: 'pin', sha256: v.sha256 });
      else out.push({ url, verified: 'sums', sha256: v.sha256, sums: v.sums, signer: v.signer });
    } catch (e) {
      out.push({ url, verified: null, error: errorMessage(e) });
    }
  }
  return out;
}

/** Dry-run lines: `network file URL: verified by …` per file. */
export function describeVerification(files: readonly FileVerification[]): string[] {
  return files.map((f) => {
    if (f.error) return `network file ${f.url}: not verified: ${f.error}`;
    if (f.verified === 'pin') return `network file ${f.url}: ${describeVerifier({ by: 'pin', sha256: f.sha256! })}`;
    if (f.verified === 'sums')
      return `network file ${f.url}: ${describeVerifier({ by: 'sums', sha256: f.sha256!, sums: f.sums!, signer: f.signer! })}`;
    return `network file ${f.url}: not verified`;
  });
}
