// Booting a `bls` generator entry natively (docs/sprout.md §17.5): when its action is the
// canonical chainload, the BLS file itself says what to boot, with docs/bls.md's rules (every
// initrd, every options line, devicetree, architecture) instead of sprout's last-one-wins.

import { diag, type Diagnostic } from '../../diagnostics';
import { normalizePath, statOrNull } from '../../fs/types';
import { statusOf, type BootTarget, type EntryStatus, type FileRef } from '../../model';
import type { EfiArch, MountedFs } from '../context';
import type { BlsRecord } from './bls';
import { SOURCE } from './schema';

export type NativeResult =
  | { readonly kind: 'target'; readonly status: EntryStatus; readonly diagnostics: Diagnostic[] }
  | { readonly kind: 'skip'; readonly diagnostics: Diagnostic[] };

interface Check {
  readonly ds: Diagnostic[];
  /** The first reason the entry cannot boot. */
  reason?: string;
}

/**
 * docs/bls.md §5: relative to the snippet's fs root, with the `/boot/` prefix fallbacks. A missing
 * file is reported (and is the reason, if the first) but keeps its place, the path as the
 * snippet gave it; undefined when the value is no path at all.
 */
async function blsFile(m: MountedFs, rec: BlsRecord, p: string, what: string, c: Check): Promise<FileRef | undefined> {
  const w = { fsId: m.report.fsId, file: rec.path };
  const fail = (message: string): void => {
    c.reason ??= message;
    c.ds.push(diag('error', SOURCE, message, w));
  };
  let path: string;
  try {
    path = normalizePath('/' + p);
  } catch (e) {
    fail(`${what} ${JSON.stringify(p)}: ${(e as Error).message}`);
    return undefined;
  }
  const candidates = [path];
  if (path.startsWith('/boot/')) candidates.push(path.slice(5));
  else if (rec.path.startsWith('/boot/loader/entries/')) candidates.push('/boot' + path);
  for (const [i, cand] of candidates.entries()) {
    if ((await statOrNull(m.fs, cand))?.kind === 'file') {
      if (i > 0) c.ds.push(diag('info', SOURCE, `${what} ${path} found as ${cand}`, w));
      return { fsId: m.report.fsId, path: cand };
    }
  }
  fail(`${what} ${path} not found`);
  return { fsId: m.report.fsId, path };
}

export async function nativeBlsTarget(m: MountedFs, rec: BlsRecord, arch: EfiArch): Promise<NativeResult> {
  const c: Check = { ds: [] };
  const ds = c.ds;
  const w = { fsId: m.report.fsId, file: rec.path };
  if (rec.architecture !== undefined && rec.architecture.toLowerCase() !== arch) {
    ds.push(diag('info', SOURCE, `BLS entry for architecture ${rec.architecture} skipped (running ${arch})`, w));
    return { kind: 'skip', diagnostics: ds };
  }
  const opts = rec.nativeOptions.join(' ');
  if (rec.linux === undefined) {
    const image = await blsFile(m, rec, rec.efi!, 'efi', c);
    const target: BootTarget | undefined = image && { kind: 'efi', image, ...(opts ? { options: opts } : {}) };
    return { kind: 'target', status: statusOf(target, c.reason), diagnostics: ds };
  }
  // Every file the snippet names has a place (found or not): the target can be shown.
  const kernel = await blsFile(m, rec, rec.linux, 'linux', c);
  let located = kernel !== undefined;
  const initrds: FileRef[] = [];
  for (const line of rec.nativeInitrds) {
    for (const p of line
      .replace(/\$tuned_initrd/g, '')
      .split(/\s+/)
      .filter(Boolean)) {
      const r = await blsFile(m, rec, p, 'initrd', c);
      if (r) initrds.push(r);
      else located = false;
    }
  }
  let devicetree: FileRef | undefined;
  if (rec.devicetree !== undefined) {
    devicetree = await blsFile(m, rec, rec.devicetree, 'devicetree', c);
    if (!devicetree) located = false;
  }
  if (/\$(kernelopts|tuned_params)/.test(opts)) {
    ds.push(
      diag(
        'warning',
        SOURCE,
        'options contain grub variables ($kernelopts/$tuned_params) that sprout passes literally',
        w,
      ),
    );
  }
  const diffs: string[] = [];
  if (initrds.length > 1) diffs.push(`${initrds.length} initrds (sprout uses only the last initrd line)`);
  if (rec.nativeOptions.length > 1)
    diffs.push(`${rec.nativeOptions.length} options lines joined (sprout uses only the last)`);
  if (devicetree) diffs.push('devicetree passed (sprout ignores it)');
  if (diffs.length) ds.push(diag('info', SOURCE, `booted natively as BLS: ${diffs.join('; ')}`, w));
  const target: BootTarget | undefined =
    kernel && located
      ? { kind: 'linux', kernel, initrds, cmdline: opts, ...(devicetree ? { devicetree } : {}) }
      : undefined;
  return { kind: 'target', status: statusOf(target, c.reason), diagnostics: ds };
}
