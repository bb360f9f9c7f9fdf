// Running entry sources over a set of filesystems: the per-disk (local) ones over one scanned
// device, where its readers live (its scan worker, or in-process), and the cross-disk ones
// over every device on the main thread. Results are plain data. Each source's diagnostics
// and each entry's are capped per file here (capped.ts), whatever the source did; a source
// with a budget is given up on once the budget and a grace period have passed, keeping the
// parts it finished (budget.ts explains the design).

import { Budget, settleWithin, STOP_GRACE_MS } from './budget';
import { capPerFile } from './capped';
import { diag, errorMessage, type Diagnostic } from './diagnostics';
import type { EntryBudget } from './entry-budget';
import type { SourceEntry } from './model';
import type {
  EfiArch,
  EntrySourceFn,
  EvaluationSession,
  MountedFs,
  ProposedSettings,
  SourceContext,
  SourceResult,
} from './sources/context';
import type { ScannedDevice } from './scan-device';

export interface LocalResult {
  readonly entries: SourceEntry[];
  readonly proposals: ProposedSettings[];
  readonly diagnostics: Diagnostic[];
}

export function mountsOf(dev: ScannedDevice): MountedFs[] {
  const out: MountedFs[] = [];
  for (const report of dev.report.filesystems) {
    const fs = dev.readers.get(report.fsId);
    if (fs) out.push({ report, fs });
  }
  return out;
}

export interface RunOptions {
  /** Every filesystem `ctx.get` may reach (default: the ones the sources run over). */
  readonly all?: readonly MountedFs[];
  /** Live discovery's memory: sources reuse what the filesystems added since cannot change. */
  readonly session?: EvaluationSession;
  /** Each source's wall-clock budget in ms (absent: unbounded). */
  readonly budgetMs?: number;
  /** Entries per disk and per run, for sources to stop reading early. */
  readonly entryBudget?: EntryBudget;
  /** Each finished part of any source, as it completes (the scan worker streams them). */
  readonly onPartial?: (part: LocalResult) => void;
  /** The boot origin for `uki-url :name` entries (SourceContext.originUrl). */
  readonly originUrl?: string;
}

/** A source's result with its diagnostics and its entries' capped per file. */
export function capResult(r: SourceResult): SourceResult {
  const entries = r.entries.map((e) => {
    const d = capPerFile(e.diagnostics);
    return d === e.diagnostics ? e : { ...e, diagnostics: d };
  });
  return { ...r, entries, diagnostics: capPerFile(r.diagnostics) };
}

function asLocal(r: SourceResult): LocalResult {
  return { entries: r.entries, proposals: r.settings ? [r.settings] : [], diagnostics: r.diagnostics };
}

/** The parts a source finished, merged, for when the whole run does not come back. */
function mergeParts(parts: readonly SourceResult[]): SourceResult {
  const entries: SourceEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  let settings: ProposedSettings | undefined;
  for (const p of parts) {
    for (const e of p.entries) entries.push(e);
    for (const d of p.diagnostics) diagnostics.push(d);
    settings ??= p.settings;
  }
  return { entries, diagnostics, ...(settings ? { settings } : {}) };
}

/** 'grub' for grubSource, 'sprout' for sproutSource2 (a bundler's rename). */
function nameOf(src: EntrySourceFn): string {
  return src.name.replace(/Source\d*$/, '') || 'unnamed';
}

async function runOne(src: EntrySourceFn, base: SourceContext, opts: RunOptions): Promise<SourceResult> {
  const name = nameOf(src);
  const parts: SourceResult[] = [];
  let doing: { readonly fsId: string; readonly file?: string } | undefined;
  const budget = opts.budgetMs !== undefined ? new Budget(opts.budgetMs, `${name} source`) : undefined;
  const ctx: SourceContext = {
    ...base,
    ...(budget ? { budget } : {}),
    partial: (part) => {
      const capped = capResult(part);
      parts.push(capped);
      opts.onPartial?.(asLocal(capped));
    },
    progress: (what) => {
      doing = what;
    },
  };
  const failed = (e: unknown): SourceResult => ({
    entries: [],
    // A source must report, not throw; if one does, keep the others' entries.
    diagnostics: [diag('error', 'discovery', `entry source ${name} failed: ${errorMessage(e)}`)],
  });
  const work = src(ctx).catch(failed);
  if (!budget) return capResult(await work);
  const r = await settleWithin(work, budget.ms + STOP_GRACE_MS);
  if (r.done) return capResult(r.value);
  const kept = capResult(mergeParts(parts));
  const where = doing ? ` while it was on ${doing.fsId}${doing.file !== undefined ? ` ${doing.file}` : ''}` : '';
  return {
    ...kept,
    diagnostics: [
      ...kept.diagnostics,
      diag(
        'error',
        'discovery',
        `entry source ${name} did not finish within its budget of ${budget.ms} ms${where} (its reads did not answer in time); ` +
          `the ${kept.entries.length} entries of what it finished are kept, the rest are not listed`,
        doing ?? {},
      ),
    ],
  };
}

export async function runSourcesOver(
  sources: readonly EntrySourceFn[],
  filesystems: readonly MountedFs[],
  arch: EfiArch,
  opts: RunOptions = {},
): Promise<LocalResult> {
  const byId = new Map((opts.all ?? filesystems).map((m) => [m.report.fsId, m] as const));
  const ctx: SourceContext = {
    filesystems,
    get: (id) => byId.get(id),
    arch,
    ...(opts.originUrl !== undefined ? { originUrl: opts.originUrl } : {}),
    ...(opts.session ? { session: opts.session } : {}),
    ...(opts.entryBudget ? { entryBudget: opts.entryBudget } : {}),
  };
  const results = await Promise.all(sources.map((src) => runOne(src, ctx, opts)));
  const out: LocalResult = { entries: [], proposals: [], diagnostics: [] };
  for (const r of results) {
    for (const e of r.entries) out.entries.push(e);
    if (r.settings) out.proposals.push(r.settings);
    for (const d of r.diagnostics) out.diagnostics.push(d);
  }
  return out;
}
