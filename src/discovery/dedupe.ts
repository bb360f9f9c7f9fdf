// The same boot found twice: Fedora's grub.cfg `blscfg` re-reads the BLS snippets the BLS
// source already read, and sprout's autoconfigure does the same. Entries that would boot
// exactly the same bytes with the same command line are one entry; the more specific
// source is kept (BLS > UKI > sprout > syslinux > grub > the automatic ESP entries) and any default naming the dropped
// id is pointed at the kept one.

import { diag, type Diagnostic } from './diagnostics';
import { namedTarget, type BootTarget, type FileRef, type SourceEntry } from './model';
import type { ProposedSettings } from './sources/context';

const RANK: Record<SourceEntry['origin']['source'], number> = {
  bls: 0,
  uki: 1,
  sprout: 2,
  syslinux: 3,
  grub: 4,
  // A config that names the same program (a BLS `efi` or grub `chainloader` of bootmgfw.efi) says more.
  esp: 5,
  // Network entries name files on `net:<iface>`, which no disk entry names: they never collide with disk ones.
  pxelinux: 6,
  ipxe: 7,
  net: 8,
};

function ref(r: FileRef): string {
  return `${r.fsId}\0${r.path}`;
}

/**
 * Identity of what an entry boots, or for a broken entry what it declares (so a broken BLS
 * entry and its blscfg twin stay one); undefined = never merged (no target named).
 */
export function payloadKey(t: BootTarget | undefined): string | undefined {
  if (!t) return undefined;
  const norm = (s: string): string =>
    s
      .trim()
      .split(/\s+/)
      .filter((x) => !x.startsWith('BOOT_IMAGE='))
      .join(' ');
  switch (t.kind) {
    case 'linux':
      return ['linux', ref(t.kernel), ...t.initrds.map(ref), norm(t.cmdline)].join('\x01');
    case 'uki':
      return ['uki', ref(t.image), t.profile, t.cmdlineOverride ?? ''].join('\x01');
    case 'efi':
      return ['efi', ref(t.image), t.options ?? ''].join('\x01');
    default:
      return undefined;
  }
}

export function dedupeTargets(
  entries: readonly SourceEntry[],
  proposals: readonly ProposedSettings[],
  diagnostics: Diagnostic[],
): { entries: SourceEntry[]; proposals: ProposedSettings[] } {
  const best = new Map<string, SourceEntry>();
  for (const e of entries) {
    const k = payloadKey(namedTarget(e.status));
    if (!k) continue;
    const cur = best.get(k);
    if (!cur || RANK[e.origin.source] < RANK[cur.origin.source]) best.set(k, e);
  }
  const renamed = new Map<string, string>();
  const kept: SourceEntry[] = [];
  for (const e of entries) {
    const k = payloadKey(namedTarget(e.status));
    const winner = k ? best.get(k) : undefined;
    if (!winner || winner === e) {
      kept.push(e);
      continue;
    }
    // Two entries of one source (two grub menuentries for one kernel) stay distinct.
    if (winner.origin.source === e.origin.source) {
      kept.push(e);
      continue;
    }
    renamed.set(e.sourceId, winner.sourceId);
    diagnostics.push(
      diag(
        'info',
        'discovery',
        `'${e.title}' from ${e.origin.source} boots the same as ${winner.origin.source} entry ${winner.sourceId}; shown once`,
        {
          fsId: e.origin.fsId,
          file: e.origin.file,
          ...(e.origin.line !== undefined ? { line: e.origin.line } : {}),
        },
      ),
    );
  }
  const fixed = proposals.map((p) =>
    p.kind === 'menu-config' && p.defaultId && renamed.has(p.defaultId)
      ? { ...p, defaultId: renamed.get(p.defaultId)! }
      : p,
  );
  return { entries: kept, proposals: fixed };
}
