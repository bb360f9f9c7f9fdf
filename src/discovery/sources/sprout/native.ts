// Booting a `bls` generator entry natively (docs/sprout.md §17.5): when its action is the
// canonical chainload, the BLS file itself says what to boot, with docs/bls.md's rules (every
// initrd, every options line, devicetree, architecture) instead of sprout's last-one-wins.

import { diag, type Diagnostic } from '../../diagnostics';
import { normalizePath, statOrNull } from '../../fs/types';
import type { BootTarget, FileRef } from '../../model';
import type { EfiArch, MountedFs } from '../context';
import type { BlsRecord } from './bls';
import { SOURCE } from './schema';

export type NativeResult =
  | {
      readonly kind: 'target';
      readonly target: BootTarget;
      readonly bootable: boolean;
      readonly diagnostics: Diagnostic[];
    }
  | { readonly kind: 'skip'; readonly diagnostics: Diagnostic[] };

/** docs/bls.md §5: relative to the snippet's fs root, with the `/boot/` prefix fallbacks. */
async function blsFile(
  m: MountedFs,
  rec: BlsRecord,
  p: string,
  what: string,
  ds: Diagnostic[],
): Promise<FileRef | undefined> {
  const w = { fsId: m.report.fsId, file: rec.path };
  let path: string;
  try {
    path = normalizePath('/' + p);
  } catch (e) {
    ds.push(diag('error', SOURCE, `${what} ${JSON.stringify(p)}: ${(e as Error).message}`, w));
    return undefined;
  }
  const candidates = [path];
  if (path.startsWith('/boot/')) candidates.push(path.slice(5));
  else if (rec.path.startsWith('/boot/loader/entries/')) candidates.push('/boot' + path);
  for (const [i, c] of candidates.entries()) {
    if ((await statOrNull(m.fs, c))?.kind === 'file') {
      if (i > 0) ds.push(diag('info', SOURCE, `${what} ${path} found as ${c}`, w));
      return { fsId: m.report.fsId, path: c };
    }
  }
  ds.push(diag('error', SOURCE, `${what} ${path} not found`, w));
  return undefined;
}

export async function nativeBlsTarget(m: MountedFs, rec: BlsRecord, arch: EfiArch): Promise<NativeResult> {
  const ds: Diagnostic[] = [];
  const w = { fsId: m.report.fsId, file: rec.path };
  if (rec.architecture !== undefined && rec.architecture.toLowerCase() !== arch) {
    ds.push(diag('info', SOURCE, `BLS entry for architecture ${rec.architecture} skipped (running ${arch})`, w));
    return { kind: 'skip', diagnostics: ds };
  }
  const opts = rec.nativeOptions.join(' ');
  if (rec.linux === undefined) {
    const image = await blsFile(m, rec, rec.efi!, 'efi', ds);
    return {
      kind: 'target',
      target: {
        kind: 'efi',
        image: image ?? { fsId: m.report.fsId, path: rec.efi! },
        ...(opts ? { options: opts } : {}),
      },
      bootable: image !== undefined,
      diagnostics: ds,
    };
  }
  let ok = true;
  const kernel = await blsFile(m, rec, rec.linux, 'linux', ds);
  if (!kernel) ok = false;
  const initrds: FileRef[] = [];
  for (const line of rec.nativeInitrds) {
    for (const p of line
      .replace(/\$tuned_initrd/g, '')
      .split(/\s+/)
      .filter(Boolean)) {
      const r = await blsFile(m, rec, p, 'initrd', ds);
      if (r) initrds.push(r);
      else ok = false;
    }
  }
  let devicetree: FileRef | undefined;
  if (rec.devicetree !== undefined) {
    devicetree = await blsFile(m, rec, rec.devicetree, 'devicetree', ds);
    if (!devicetree) ok = false;
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
  return {
    kind: 'target',
    target: {
      kind: 'linux',
      kernel: kernel ?? { fsId: m.report.fsId, path: rec.linux },
      initrds,
      cmdline: opts,
      ...(devicetree ? { devicetree } : {}),
    },
    bootable: ok,
    diagnostics: ds,
  };
}
