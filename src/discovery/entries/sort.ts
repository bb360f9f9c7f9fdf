// BLS menu order (docs/bls.md §8.1/§8.2): sd-boot's boot_entry_compare() with one deliberate
// difference in step 4, then deterministic tie-breaks so the order never depends on the
// order discovery happened to find things in.
//
// Step 4 (ids, descending by version order): sd-boot compares the ids WITH their suffix
// ('linux.conf' vs 'linux-lts.conf': at '.' vs '-' the '-' is older, so 'linux.conf' is
// listed first). The spec says to compare file names "with the suffix removed" ('linux' vs
// 'linux-lts': the shorter ends first, so 'linux-lts' is newer and listed first). We follow
// the spec, keeping sd-boot's lower-casing and counter stripping (ids already are).

import { namedTarget, type FsId, type SourceEntry } from '../model';
import { verscmp } from './version';

export type FsRole = 'esp' | 'xbootldr' | 'mbr-boot';

export interface SortContext {
  /** The BLS role of a filesystem, for the XBOOTLDR-before-ESP tie-break. */
  readonly roleOf?: (fsId: FsId) => FsRole | undefined;
}

/** strcmp on UTF-8 bytes, which is code-point order; unset and '' compare lowest. */
export function strcmpUtf8(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  const ix = x[Symbol.iterator]();
  const iy = y[Symbol.iterator]();
  for (;;) {
    const cx = ix.next();
    const cy = iy.next();
    if (cx.done || cy.done) return cx.done && cy.done ? 0 : cx.done ? -1 : 1;
    const d = cx.value.codePointAt(0)! - cy.value.codePointAt(0)!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
}

const SUFFIX = /\.(conf|efi)$/i;

/** The id compared in step 4: without '@profile', without '.conf'/'.efi'. */
export function sortId(e: Pick<SourceEntry, 'sourceId' | 'idWithoutProfile'>): string {
  return (e.idWithoutProfile ?? e.sourceId).replace(SUFFIX, '');
}

const isBad = (e: SourceEntry): boolean => e.bootCounter?.triesLeft === 0;
const hasSortKey = (e: SourceEntry): boolean => e.sortKey !== undefined && e.sortKey !== '';
/** Non-UKI entries count as profile 0, so step 5 is a total preorder (sd-boot compares only UKI pairs). */
const profileOf = (e: SourceEntry): number => {
  // A broken UKI entry sorts by the profile it names, like a working one.
  const t = namedTarget(e.status);
  return t?.kind === 'uki' ? t.profile : 0;
};

/** Steps 1-6 of docs/bls.md §8.2 (with the spec's step 4). 0 means "equal as far as BLS cares". */
export function compareBls(a: SourceEntry, b: SourceEntry): number {
  // 1. Entries with no tries left go last.
  let r = Number(isBad(a)) - Number(isBad(b));
  if (r !== 0) return r;
  // 2. An entry with a sort-key goes before one without.
  r = Number(!hasSortKey(a)) - Number(!hasSortKey(b));
  if (r !== 0) return r;
  // 3. Both have one: sort-key ascending, machine-id ascending, version descending.
  if (hasSortKey(a) && hasSortKey(b)) {
    r = strcmpUtf8(a.sortKey, b.sortKey);
    if (r !== 0) return r;
    r = strcmpUtf8(a.machineId, b.machineId);
    if (r !== 0) return r;
    r = -verscmp(a.version, b.version);
    if (r !== 0) return r;
  }
  // 4. Id descending (newest first), suffix stripped.
  r = -verscmp(sortId(a), sortId(b));
  if (r !== 0) return r;
  // 5. Profiles of the same UKI: profile ascending.
  r = cmpNum(profileOf(a), profileOf(b));
  if (r !== 0) return r;
  // 6. More tries left first, then fewer tries done. sd-boot calls an entry without a
  // counter "equal" to any other here, which is not transitive once the tie-breaks below
  // apply (A=B, B<C, C<A happens); we rank "not counted" (good) before counted instead.
  r = cmpNum(triesLeftKey(b), triesLeftKey(a));
  if (r !== 0) return r;
  return cmpNum(triesDoneKey(a), triesDoneKey(b));
}

const cmpNum = (x: number, y: number): number => (x < y ? -1 : x > y ? 1 : 0);
const triesLeftKey = (e: SourceEntry): number => e.bootCounter?.triesLeft ?? Number.POSITIVE_INFINITY;
const triesDoneKey = (e: SourceEntry): number => e.bootCounter?.triesDone ?? -1;

function roleRank(e: SourceEntry, ctx: SortContext | undefined): number {
  const role = ctx?.roleOf?.(e.origin.fsId);
  // $BOOT (XBOOTLDR, or the MBR boot partition) is where OSes install; then the ESP.
  if (role === 'xbootldr' || role === 'mbr-boot') return 0;
  if (role === 'esp') return 1;
  return 2;
}

/** 'vda:10' after 'vda:9': device name by strcmp, partition number numerically. */
export function compareFsId(a: FsId, b: FsId): number {
  const ia = a.lastIndexOf(':');
  const ib = b.lastIndexOf(':');
  const r = strcmpUtf8(ia < 0 ? a : a.slice(0, ia), ib < 0 ? b : b.slice(0, ib));
  if (r !== 0) return r;
  const na = ia < 0 ? NaN : Number(a.slice(ia + 1));
  const nb = ib < 0 ? NaN : Number(b.slice(ib + 1));
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na < nb ? -1 : 1;
  return strcmpUtf8(a, b);
}

/** Total order: BLS rules, then $BOOT before ESP before others, then fsId, path, line, id. */
export function compareEntries(a: SourceEntry, b: SourceEntry, ctx?: SortContext): number {
  let r = compareBls(a, b);
  if (r !== 0) return r;
  r = roleRank(a, ctx) - roleRank(b, ctx);
  if (r !== 0) return r;
  r = compareFsId(a.origin.fsId, b.origin.fsId);
  if (r !== 0) return r;
  r = strcmpUtf8(a.origin.file, b.origin.file);
  if (r !== 0) return r;
  r = (a.origin.line ?? 0) - (b.origin.line ?? 0);
  if (r !== 0) return Math.sign(r);
  return strcmpUtf8(a.sourceId, b.sourceId);
}
