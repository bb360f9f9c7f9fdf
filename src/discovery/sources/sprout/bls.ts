// The `bls` generator's reader (docs/sprout.md §9.3): sprout's own BLS semantics (last initrd and
// options win, no quote stripping, its peculiar sort and synthetic sort key) plus what a
// native boot needs per docs/bls.md (all initrds, all options joined, devicetree, architecture),
// so the canonical chainload can boot the BLS entry natively (docs/sprout.md §17.5).

import { diag, errorMessage, type Diagnostic } from '../../diagnostics';
import { readTextLimited, type FileSystem } from '../../fs/types';
import { verscmp } from '../../entries/version';
import { SOURCE } from './schema';

export const BLS_LIMITS = { files: 4096, bytes: 64 * 1024 } as const;

export interface BlsRecord {
  readonly stem: string;
  readonly path: string;
  // sprout's view (last value wins, verbatim)
  readonly title?: string;
  readonly version?: string;
  readonly machineId?: string;
  readonly sortKey?: string;
  readonly linux?: string;
  readonly efi?: string;
  readonly initrd?: string;
  readonly options?: string;
  // native view (docs/bls.md §2/§3: unquoted, all initrds, all options)
  readonly nativeInitrds: readonly string[];
  readonly nativeOptions: readonly string[];
  readonly devicetree?: string;
  readonly architecture?: string;
}

function unquote(v: string, line: string): string {
  return v.startsWith('"') && line.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : v;
}

export function parseBls(stem: string, path: string, text: string): BlsRecord {
  const r: Record<string, string> = {};
  const initrds: string[] = [];
  const options: string[] = [];
  for (const raw of text.split(/[\r\n]/)) {
    const line = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)[ \t]+(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (
      [
        'title',
        'version',
        'machine-id',
        'sort-key',
        'linux',
        'initrd',
        'efi',
        'options',
        'devicetree',
        'architecture',
      ].includes(key)
    ) {
      r[key] = value;
    }
    if (key === 'initrd') initrds.push(unquote(value, line));
    if (key === 'options') options.push(unquote(value, line));
  }
  return {
    stem,
    path,
    ...(r.title !== undefined ? { title: r.title } : {}),
    ...(r.version !== undefined ? { version: r.version } : {}),
    ...(r['machine-id'] !== undefined ? { machineId: r['machine-id'] } : {}),
    ...(r['sort-key'] !== undefined ? { sortKey: r['sort-key'] } : {}),
    ...(r.linux !== undefined ? { linux: r.linux } : {}),
    ...(r.efi !== undefined ? { efi: r.efi } : {}),
    ...(r.initrd !== undefined ? { initrd: r.initrd } : {}),
    ...(r.options !== undefined ? { options: r.options } : {}),
    nativeInitrds: initrds,
    nativeOptions: options,
    ...(r.devicetree !== undefined ? { devicetree: r.devicetree } : {}),
    ...(r.architecture !== undefined ? { architecture: r.architecture } : {}),
  };
}

/** `/` → `\`, leading `\` stripped (sprout's $chainload / $initrd normalisation). */
function sproutPath(p: string): string {
  return p.replace(/\//g, '\\').replace(/^\\+/, '');
}

/** docs/sprout.md §9.3 variables for one entry. */
export function blsValues(r: BlsRecord): Map<string, string> {
  const titleBase = r.title ?? r.stem;
  const version = r.version ?? '';
  const title = version !== '' && !titleBase.includes(version) ? `${titleBase} ${version}` : titleBase;
  return new Map([
    ['title-base', titleBase],
    ['title', title],
    ['chainload', sproutPath(r.linux ?? r.efi ?? '')],
    ['options', r.options ?? ''],
    ['initrd', sproutPath((r.initrd ?? '').replace(/\$tuned_initrd/g, ''))],
    ['version', version],
    ['machine-id', r.machineId ?? ''],
  ]);
}

function optCmp(a: string | undefined, b: string | undefined): number {
  if (a === undefined) return b === undefined ? 0 : -1;
  if (b === undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * sprout's sort_bls (docs/sprout.md §9.3), with tendril's verscmp for the version compares. `fixed` uses
 * the BLS spec order instead (docs/sprout.md §15.6: entries WITH a sort-key first, versionless last).
 */
export function sortBls(records: BlsRecord[], fixed = false): BlsRecord[] {
  if (fixed) return [...records].sort(specOrder);
  return [...records].sort((a, b) => {
    let c = optCmp(a.sortKey, b.sortKey);
    if (c) return c;
    c = optCmp(a.machineId, b.machineId);
    if (c) return c;
    if (a.version === undefined || b.version === undefined) {
      c = a.version === undefined ? (b.version === undefined ? 0 : -1) : 1;
    } else c = -verscmp(a.version, b.version);
    if (c) return c;
    return -verscmp(a.stem, b.stem);
  });
}

/** docs/bls.md §8.1: sort-key present first (ascending), machine-id, version descending, id descending. */
function specOrder(a: BlsRecord, b: BlsRecord): number {
  const ka = a.sortKey !== undefined && a.sortKey !== '';
  const kb = b.sortKey !== undefined && b.sortKey !== '';
  if (ka !== kb) return ka ? -1 : 1;
  if (ka && kb) {
    const c =
      optCmp(a.sortKey, b.sortKey) || optCmp(a.machineId ?? '', b.machineId ?? '') || -verscmp(a.version, b.version);
    if (c) return c;
  }
  return -verscmp(a.stem, b.stem);
}

/** Read `<dir>/entries/*.conf`; invalid files become diagnostics, not aborts. */
export async function readBlsDir(
  fs: FileSystem,
  dir: string,
  where: { fsId: string; file: string; line?: number },
  diagnostics: Diagnostic[],
): Promise<BlsRecord[]> {
  const entriesDir = `${dir.replace(/\/+$/, '')}/entries`;
  let list;
  try {
    list = await fs.readdir(entriesDir);
  } catch (e) {
    diagnostics.push(diag('warning', SOURCE, `bls generator: cannot read ${entriesDir}: ${errorMessage(e)}`, where));
    return [];
  }
  const out: BlsRecord[] = [];
  const names = list
    .filter((d) => d.kind === 'file' && /\.conf$/i.test(d.name) && d.name.length > 5)
    .map((d) => d.name)
    .sort();
  for (const name of names.slice(0, BLS_LIMITS.files)) {
    const path = `${entriesDir}/${name}`;
    try {
      const text = await readTextLimited(fs, path, BLS_LIMITS.bytes);
      const rec = parseBls(name.slice(0, -5), path, text);
      if (rec.linux === undefined && rec.efi === undefined) {
        diagnostics.push(
          diag('info', SOURCE, 'BLS entry has neither linux nor efi; skipped', { fsId: where.fsId, file: path }),
        );
        continue;
      }
      out.push(rec);
    } catch (e) {
      // sprout aborts boot on a non-UTF-8 file; we skip just that entry.
      diagnostics.push(
        diag('error', SOURCE, `BLS entry skipped: ${errorMessage(e)}`, { fsId: where.fsId, file: path }),
      );
    }
  }
  if (names.length > BLS_LIMITS.files)
    diagnostics.push(diag('error', SOURCE, `more than ${BLS_LIMITS.files} BLS entries; rest ignored`, where));
  return out;
}
