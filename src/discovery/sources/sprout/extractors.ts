// `filesystem-device-match` against tendril's filesystem inventory (docs/sprout.md §6, §17.3):
// AND of the given criteria, first match in ctx.filesystems order wins, the output is the
// opaque token `tendril-fs:<fsId>/`. No match and no fallback does not abort: the value becomes
// an "unavailable" marker, and every entry whose stamped strings contain it is unavailable.

import { diag, type Diagnostic } from '../../diagnostics';
import { statOrNull } from '../../fs/types';
import type { FsLookup, MountedFs, SourceContext } from '../context';
import { filesystemsFor } from '../evaluations';
import { fsToken } from './paths';
import { SOURCE, type ExtractorCfg } from './schema';
import { stamp, StampError, type ValueMap } from './stamp';

/** Marker for an extractor without a match; never valid in a path (contains NUL). */
export function unavailableMarker(name: string): string {
  return `\u0000unavailable:${name}\u0000`;
}
const MARKER = /\u0000unavailable:([^\u0000]*)\u0000/;

/** Name of the failed extractor whose marker `s` contains, if any. */
export function findUnavailable(s: string): string | undefined {
  return MARKER.exec(s)?.[1];
}

/** For titles: show the marker as the original `$name`. */
export function showMarkers(s: string): string {
  return s.replace(new RegExp(MARKER.source, 'g'), (_m, n: string) => `$${n}`);
}

const GPT_TYPE_HINT = /^[0-9a-f]{8}-/i;

async function matches(
  e: ExtractorCfg,
  m: MountedFs,
  label: string | undefined,
  item: string | undefined,
): Promise<boolean> {
  const r = m.report;
  if (label !== undefined && r.probe?.label !== label) return false;
  // GUID criteria only match GPT partitions (an MBR type is '0x83', its PARTUUID 'sig-nn').
  const isGpt = r.partType !== undefined && GPT_TYPE_HINT.test(r.partType);
  if (e.hasPartitionUuid !== undefined) {
    if (!isGpt || /^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(e.hasPartitionUuid)) return false;
    if (r.partUuid?.toLowerCase() !== e.hasPartitionUuid) return false;
  }
  if (e.hasPartitionTypeUuid !== undefined) {
    if (!isGpt || /^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(e.hasPartitionTypeUuid)) return false;
    if (r.partType?.toLowerCase() !== e.hasPartitionTypeUuid) return false;
  }
  if (item !== undefined) {
    const p = '/' + item.replace(/\\/g, '/');
    let st;
    try {
      st = await statOrNull(m.fs, p);
    } catch {
      return false;
    }
    if (st?.kind !== 'file' && st?.kind !== 'dir') return false;
  }
  return true;
}

/** What `matches` asks of a filesystem, for live discovery (a superset: no GPT-only rule). */
function lookupOf(e: ExtractorCfg, label: string | undefined, item: string | undefined): FsLookup {
  const of: FsLookup[] = [];
  if (label !== undefined) of.push({ kind: 'label', label });
  if (e.hasPartitionUuid !== undefined) of.push({ kind: 'partUuid', partUuid: e.hasPartitionUuid });
  if (e.hasPartitionTypeUuid !== undefined) of.push({ kind: 'partType', partType: e.hasPartitionTypeUuid });
  if (item !== undefined) of.push({ kind: 'file', path: '/' + item.replace(/\\/g, '/') });
  return of.length === 0 ? { kind: 'every' } : { kind: 'and', of };
}

/**
 * Run all extractors (alphabetical, each sees only root values: docs/sprout.md §6 "extractors cannot see
 * each other's outputs"). Returns name → value (token, fallback or unavailable marker).
 */
export async function runExtractors(
  extractors: readonly ExtractorCfg[],
  rootValues: ValueMap,
  ctx: SourceContext,
  fsId: string,
  diagnostics: Diagnostic[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of extractors) {
    const where = { fsId, file: e.at.file, ...(e.at.line !== undefined ? { line: e.at.line } : {}) };
    if (e.problem) {
      diagnostics.push(
        diag('error', SOURCE, `extractor ${e.name}: ${e.problem}; entries using $${e.name} are unavailable`, where),
      );
      out.set(e.name, unavailableMarker(e.name));
      continue;
    }
    let label: string | undefined;
    let item: string | undefined;
    try {
      label = e.hasLabel === undefined ? undefined : stamp(e.hasLabel, rootValues);
      item = e.hasItem === undefined ? undefined : stamp(e.hasItem, rootValues);
    } catch (err) {
      const msg = err instanceof StampError ? err.message : String(err);
      diagnostics.push(diag('error', SOURCE, `extractor ${e.name}: ${msg}`, where));
      out.set(e.name, unavailableMarker(e.name));
      continue;
    }
    let hit: MountedFs | undefined;
    for (const m of filesystemsFor(ctx, lookupOf(e, label, item))) {
      if (await matches(e, m, label, item)) {
        hit = m;
        break;
      }
    }
    if (hit) {
      out.set(e.name, fsToken(hit.report.fsId));
      diagnostics.push(
        diag('info', SOURCE, `extractor ${e.name} matched ${hit.report.fsId} (${hit.report.device})`, where),
      );
    } else if (e.fallback !== undefined) {
      out.set(e.name, e.fallback);
      diagnostics.push(
        diag(
          'info',
          SOURCE,
          `extractor ${e.name}: no filesystem matched; using fallback ${JSON.stringify(e.fallback)}`,
          where,
        ),
      );
    } else {
      out.set(e.name, unavailableMarker(e.name));
      diagnostics.push(
        diag(
          'warning',
          SOURCE,
          `extractor ${e.name}: unable to find matching filesystem (no fallback); entries using $${e.name} are unavailable`,
          where,
        ),
      );
    }
  }
  return out;
}
