// Generators (docs/sprout.md §9): `list` (one entry per value map, named <gen>-<i>), `matrix`
// (cartesian product, keys alphabetical, first key slowest, then the list logic) and `bls`
// (one pinned entry per Type #1 file, in sprout's BLS order frozen into a synthetic sort key).

import { diag, type Diagnostic } from '../../diagnostics';
import type { SourceContext } from '../context';
import { blsValues, readBlsDir, sortBls, type BlsRecord } from './bls';
import { findUnavailable } from './extractors';
import { resolvePath } from './paths';
import { SOURCE, type EntryTemplate, type GeneratorCfg, type Loc, type Values } from './schema';
import { finalize, stamp, StampError } from './stamp';

export const GENERATOR_LIMITS = { entriesPerGenerator: 10_000 } as const;

/** One entry before evaluation. */
export interface EntrySpec {
  readonly name: string;
  readonly template: EntryTemplate;
  /** Generator layer (list map, matrix combination, BLS variables). */
  readonly genValues: Values;
  /** BLS synthetic key (docs/sprout.md §9.3); wins over template.sortKey. */
  readonly runtimeSortKey?: string;
  readonly bls?: { readonly record: BlsRecord; readonly fsId: string };
  readonly at: Loc;
  /** Set when the generator could not produce this entry properly. */
  readonly problem?: string;
}

function where(fsId: string, at: Loc): { fsId: string; file: string; line?: number } {
  return { fsId, file: at.file, ...(at.line !== undefined ? { line: at.line } : {}) };
}

/** Cartesian product, first key slowest; undefined when it would exceed `limit`. */
export function matrixProduct(
  values: readonly (readonly [string, readonly string[]])[],
  limit: number,
): Map<string, string>[] | undefined {
  if (values.length === 0 || values.some(([, a]) => a.length === 0)) return [];
  let count = 1;
  for (const [, a] of values) {
    count *= a.length;
    if (count > limit) return undefined;
  }
  const out: Map<string, string>[] = [];
  const idx = values.map(() => 0);
  for (let n = 0; n < count; n++) {
    out.push(new Map(values.map(([k, a], i) => [k, a[idx[i]!]!])));
    for (let i = values.length - 1; i >= 0; i--) {
      if (++idx[i]! < values[i]![1].length) break;
      idx[i] = 0;
    }
  }
  return out;
}

function listEntries(gen: string, entry: EntryTemplate, maps: readonly Values[], at: Loc): EntrySpec[] {
  return maps.map((m, i) => {
    // docs/sprout.md §9.1: entry.actions are stamped with map i at generation time.
    let actions = entry.actions;
    let problem: string | undefined;
    try {
      actions = entry.actions.map((a) => stamp(a, m));
    } catch (e) {
      problem = e instanceof StampError ? e.message : String(e);
    }
    return { name: `${gen}-${i}`, template: { ...entry, actions }, genValues: m, at, ...(problem ? { problem } : {}) };
  });
}

export async function expandGenerator(
  g: GeneratorCfg,
  extracted: Values,
  home: string,
  ctx: SourceContext,
  diagnostics: Diagnostic[],
  fixSortBugs = false,
): Promise<EntrySpec[]> {
  const w = where(home, g.at);
  switch (g.kind) {
    case 'broken':
      diagnostics.push(diag('error', SOURCE, `generator ${g.name}: ${g.problem}; no entries`, w));
      return [];
    case 'list':
      if (g.values.length > GENERATOR_LIMITS.entriesPerGenerator) {
        diagnostics.push(
          diag(
            'error',
            SOURCE,
            `generator ${g.name}: more than ${GENERATOR_LIMITS.entriesPerGenerator} entries; none produced`,
            w,
          ),
        );
        return [];
      }
      return listEntries(g.name, g.entry, g.values, g.at);
    case 'matrix': {
      const maps = matrixProduct(g.values, GENERATOR_LIMITS.entriesPerGenerator);
      if (!maps) {
        diagnostics.push(
          diag(
            'error',
            SOURCE,
            `generator ${g.name}: matrix has more than ${GENERATOR_LIMITS.entriesPerGenerator} combinations; none produced`,
            w,
          ),
        );
        return [];
      }
      return listEntries(g.name, g.entry, maps, g.at);
    }
    case 'bls':
      return blsEntries(g, extracted, home, ctx, diagnostics, fixSortBugs);
  }
}

async function blsEntries(
  g: Extract<GeneratorCfg, { kind: 'bls' }>,
  extracted: Values,
  home: string,
  ctx: SourceContext,
  diagnostics: Diagnostic[],
  fixSortBugs: boolean,
): Promise<EntrySpec[]> {
  const w = where(home, g.at);
  let path: string;
  try {
    path = stamp(g.path, finalize(extracted));
  } catch (e) {
    diagnostics.push(diag('error', SOURCE, `generator ${g.name}: ${e instanceof Error ? e.message : String(e)}`, w));
    return [];
  }
  const failed = findUnavailable(path);
  if (failed !== undefined) {
    diagnostics.push(
      diag('warning', SOURCE, `generator ${g.name}: $${failed} matched no filesystem; no BLS entries`, w),
    );
    return [];
  }
  const r = resolvePath(path, home, ctx);
  if (!r.ok) {
    diagnostics.push(diag('error', SOURCE, `generator ${g.name}: ${r.reason}`, w));
    return [];
  }
  const m = ctx.get(r.ref.fsId);
  if (!m) return [];
  const records = sortBls(await readBlsDir(m.fs, r.ref.path, w, diagnostics), fixSortBugs);
  const n = records.length;
  return records.map((rec, i) => ({
    name: rec.stem,
    template: g.entry,
    genValues: blsValues(rec),
    runtimeSortKey: `bls-${path}-${n - 1 - i}`,
    bls: { record: rec, fsId: r.ref.fsId },
    at: g.at,
  }));
}
