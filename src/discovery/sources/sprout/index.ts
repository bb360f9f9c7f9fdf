// sproutSource: `/sprout.toml` (plus `sprout.d/*.toml` drop-ins) at the root of every FAT ESP,
// each evaluated separately with that ESP as its home filesystem (docs/sprout.md §17.1). Entries
// come back in sprout's own menu order, one config after another, ids `sprout:<fsId>:<name>`.
// Under live discovery each ESP's evaluation is remembered until a new filesystem could
// change what its extractors, paths or autoconfigure found (evaluations.ts).

import { settleConfig, unsettled } from '../../budget';
import { diag, errorMessage, type Diagnostic } from '../../diagnostics';
import { CONFIG_BUDGET_MS } from '../../limits';
import { statOrNull } from '../../fs/types';
import type { SourceEntry } from '../../model';
import type { EntrySourceFn, MountedFs, ProposedSettings, SourceContext, SourceResult } from '../context';
import { EvaluationTable } from '../evaluations';
import { loadConfig, type MergedConfig } from './dropins';
import { evaluateSprout, type SproutEvalOptions, type SproutEvaluation } from './evaluate';
import { SOURCE } from './schema';

export const CONFIG_PATH = '/sprout.toml';

function isEsp(m: MountedFs): boolean {
  return m.report.role === 'esp' || m.report.probe?.type === 'vfat';
}

/** sprout's load options (docs/sprout.md §3) as tendril options; all optional. */
export interface SproutSourceOptions extends SproutEvalOptions {
  /** `--config PATH`: another file on each ESP ('/'-separated; '\\' accepted). */
  readonly configPath?: string;
  /** `--autoconfigure`: ignore config files; autoconfigure once, with the first ESP as home. */
  readonly autoconfigureOnly?: boolean;
}

/** The empty config plus autoconfigure that `--autoconfigure` means (docs/sprout.md §1). */
function autoconfigOnly(): MergedConfig {
  const raw = { options: { autoconfigure: true } };
  return { raw, locate: () => ({ file: '(--autoconfigure)' }), files: ['(--autoconfigure)'] };
}

export function createSproutSource(opts: SproutSourceOptions = {}): EntrySourceFn {
  const configPath = '/' + (opts.configPath ?? CONFIG_PATH).replace(/\\/g, '/').replace(/^\/+/, '');
  const runs = new EvaluationTable<ConfigRun>();
  const autoRuns = new EvaluationTable<SproutEvaluation>();
  return async function sproutSource(ctx: SourceContext): Promise<SourceResult> {
    if (opts.autoconfigureOnly) {
      const home = ctx.filesystems.find(isEsp) ?? ctx.filesystems[0];
      if (!home) return { entries: [], diagnostics: [] };
      const r = await autoRuns.run(ctx, home.report.fsId, (ectx) => evaluateSprout(autoconfigOnly(), home, ectx, opts));
      return { entries: r.entries, diagnostics: r.diagnostics, settings: r.settings };
    }
    return scanConfigs(ctx, configPath, opts, runs);
  };
}

export const sproutSource: EntrySourceFn = createSproutSource();

/**
 * One ESP's config: absent, or its diagnostics and (when it loaded and ran) evaluation.
 * A failed one (an error escaped the evaluation) is never reused: the disk may answer next time.
 */
type ConfigRun =
  | { readonly found: false }
  | {
      readonly found: true;
      readonly diagnostics: Diagnostic[];
      readonly evaluation?: SproutEvaluation;
      readonly failed?: true;
    };

async function runConfig(
  ctx: SourceContext,
  m: MountedFs,
  configPath: string,
  opts: SproutEvalOptions,
): Promise<ConfigRun> {
  const fsId = m.report.fsId;
  const diagnostics: Diagnostic[] = [];
  try {
    if ((await statOrNull(m.fs, configPath))?.kind !== 'file') return { found: false };
    const merged = await loadConfig(m.fs, configPath, fsId, diagnostics);
    if (!merged) {
      diagnostics.push(diag('error', SOURCE, 'config not used; no sprout entries from it', { fsId, file: configPath }));
      return { found: true, diagnostics };
    }
    return { found: true, diagnostics, evaluation: await evaluateSprout(merged, m, ctx, opts) };
  } catch (e) {
    diagnostics.push(diag('error', SOURCE, `evaluation failed: ${errorMessage(e)}`, { fsId, file: configPath }));
    return { found: true, diagnostics, failed: true };
  }
}

async function scanConfigs(
  ctx: SourceContext,
  configPath: string,
  opts: SproutEvalOptions,
  runs: EvaluationTable<ConfigRun>,
): Promise<SourceResult> {
  const entries: SourceEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  let settings: ProposedSettings | undefined;
  const esps = ctx.filesystems.filter(isEsp);
  for (const [k, m] of esps.entries()) {
    const fsId = m.report.fsId;
    ctx.progress?.({ fsId, file: configPath });
    if (runs.stillRunning(ctx, fsId)) {
      diagnostics.push(
        diag('error', SOURCE, 'not evaluated again: its evaluation of an earlier pass still waits for a read', {
          fsId,
          file: configPath,
        }),
      );
      continue;
    }
    // A fair share of the source's time budget per ESP (budget.ts); a hard stop for reads.
    const source = ctx.budget;
    if (source?.expired) {
      const d = diag(
        'error',
        SOURCE,
        `not evaluated: the time budget of the ${source.what} (${source.ms} ms) is spent`,
        {
          fsId,
          file: configPath,
        },
      );
      diagnostics.push(d);
      continue;
    }
    const budget = source?.child(
      Math.min(CONFIG_BUDGET_MS, source.left() / (esps.length - k)),
      `sprout config ${fsId} ${configPath}`,
    );
    const work = runs.run(
      budget ? { ...ctx, budget } : ctx,
      fsId,
      (ectx) => runConfig(ectx, m, configPath, opts),
      (previous) => !previous.found || previous.failed !== true,
    );
    const settled = await settleConfig(work, budget);
    if (!settled.done) {
      diagnostics.push(diag('error', SOURCE, unsettled('evaluation', budget), { fsId, file: configPath }));
      continue;
    }
    const run = settled.value;
    if (!run.found) continue;
    const part: Diagnostic[] = [...run.diagnostics];
    const r = run.evaluation;
    if (r) {
      entries.push(...r.entries);
      part.push(...r.diagnostics);
      if (!settings) settings = r.settings;
      else
        part.push(
          diag('info', SOURCE, `timeout/default of ${r.settings.from} not used; ${settings.from} came first`, {
            fsId,
            file: configPath,
          }),
        );
    }
    diagnostics.push(...part);
    // This config is done: if the source's run is cut off later, its entries stay.
    ctx.partial?.({
      entries: r?.entries ?? [],
      diagnostics: part,
      ...(r && settings === r.settings ? { settings } : {}),
    });
  }
  return settings ? { entries, diagnostics, settings } : { entries, diagnostics };
}
