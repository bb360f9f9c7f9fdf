// One sprout config evaluated in sprout's order of operations (docs/sprout.md §12): root values →
// early phase → drivers (ignored) → autoconfigure → extractors → startup phase → entries
// (static, then generators, alphabetical) → descending sort-key sort → late phase → default.
// Errors disable single entries; nothing here aborts the whole config (docs/sprout.md §17.8).

import { diag, errorMessage, type Diagnostic } from '../../diagnostics';
import { entryBytes } from '../../entry-budget';
import { verscmp } from '../../entries/version';
import { originOf, type EntryStatus, type SourceEntry, type TimeoutSetting } from '../../model';
import type { MenuConfigSettings, MountedFs, SourceContext } from '../context';
import { isCanonicalBlsChainload, runActions, type ActionEnv } from './actions';
import { autoconfigure } from './autoconfigure';
import type { MergedConfig } from './dropins';
import { runExtractors, showMarkers } from './extractors';
import { expandGenerator, type EntrySpec } from './generators';
import { nativeBlsTarget } from './native';
import { resolvePath } from './paths';
import { byteOrder, SOURCE, validateConfig, type ActionCfg, type Loc, type PhaseItem, type PhaseName } from './schema';
import { finalize, stamp, StampError, type ValueMap } from './stamp';

export const MAX_ENTRIES = 20_000;

/** sprout's load options (docs/sprout.md §3) and tendril's opt-in fixes (§17.10). */
export interface SproutEvalOptions {
  /** `--menu-timeout N`: overrides options.menu-timeout. */
  readonly menuTimeout?: number;
  /**
   * Fix sprout's known sort bugs (docs/sprout.md §15 items 1 and 6): stamp `sort-key` with the entry's values,
   * and order BLS generator entries by the BLS spec. Off by default: the same config gives
   * the same menu as in sprout.
   */
  readonly fixSortBugs?: boolean;
}

export interface SproutEvaluation {
  /** In sprout's menu order (descending sort key). */
  readonly entries: SourceEntry[];
  /** Entry names, parallel to `entries`. */
  readonly names: string[];
  readonly settings: MenuConfigSettings;
  readonly diagnostics: Diagnostic[];
}

function loc(fsId: string, at: Loc): { fsId: string; file: string; line?: number } {
  return { fsId, file: at.file, ...(at.line !== undefined ? { line: at.line } : {}) };
}

function runPhase(
  phase: PhaseName,
  items: readonly PhaseItem[],
  base: ValueMap,
  actions: ReadonlyMap<string, ActionCfg>,
  fsId: string,
  out: Diagnostic[],
): void {
  for (const item of items) {
    const w = loc(fsId, item.at);
    let values: Map<string, string>;
    try {
      values = finalize(new Map([...base, ...item.values]));
    } catch (e) {
      out.push(diag('error', SOURCE, `${phase} phase: ${(e as Error).message}; item skipped`, w));
      continue;
    }
    for (const name of item.actions) {
      const a = actions.get(name);
      if (!a) {
        out.push(
          diag('warning', SOURCE, `${phase} phase: unknown action '${name}' (sprout would abort boot); skipped`, w),
        );
        continue;
      }
      const aw = loc(fsId, a.at);
      if (a.kind === 'broken') {
        out.push(
          diag(
            'warning',
            SOURCE,
            `${phase} phase: action ${name}: ${a.problem} (sprout would abort boot); skipped`,
            aw,
          ),
        );
      } else if (a.kind === 'print') {
        try {
          out.push(diag('info', SOURCE, `print (${phase} phase): ${showMarkers(stamp(a.print.text, values))}`, aw));
        } catch (e) {
          out.push(diag('error', SOURCE, `${phase} phase: action ${name}: ${(e as Error).message}`, aw));
        }
      } else {
        out.push(
          diag(
            'warning',
            SOURCE,
            `${phase} phase: ${a.kind} action ${name} would start an image; tendril boots only from entries; skipped`,
            aw,
          ),
        );
      }
    }
  }
}

function matchesDefault(pattern: string, name: string, title: string): boolean {
  if (pattern.endsWith('*')) {
    const p = pattern.slice(0, -1);
    return name.startsWith(p) || title.startsWith(p);
  }
  return name === pattern || title === pattern;
}

interface Built {
  readonly name: string;
  readonly sortKey: string;
  readonly isDefault: boolean;
  readonly entry: Omit<SourceEntry, 'sourceId'>;
}

/** Evaluate a merged config whose home filesystem (for ESP-relative paths) is `home`. */
export async function evaluateSprout(
  merged: MergedConfig,
  home: MountedFs,
  ctx: SourceContext,
  opts: SproutEvalOptions = {},
): Promise<SproutEvaluation> {
  const fsId = home.report.fsId;
  const mainFile = merged.files[0] ?? '/sprout.toml';
  const { config, diagnostics } = validateConfig(merged.raw, merged.locate, fsId);
  const rootValues = new Map(config.values);
  const actions = new Map(config.actions);

  runPhase('early', config.phases.early, rootValues, actions, fsId, diagnostics);

  for (const d of config.drivers) {
    let p = d.path;
    try {
      p = stamp(d.path, rootValues);
    } catch (e) {
      diagnostics.push(diag('warning', SOURCE, `driver ${d.name}: ${(e as Error).message}`, loc(fsId, d.at)));
    }
    diagnostics.push(
      diag('info', SOURCE, `driver ${d.name} (${p}) ignored (native Linux filesystem support)`, loc(fsId, d.at)),
    );
  }

  let generators = [...config.generators];
  let staticEntries = [...config.entries];
  if (config.options.autoconfigure) {
    const at = merged.locate(['options', 'autoconfigure']);
    const auto = await autoconfigure(ctx, fsId, at, diagnostics);
    for (const a of auto.actions) if (!actions.has(a.name)) actions.set(a.name, a);
    const gnames = new Set(generators.map((g) => g.name));
    generators.push(...auto.generators.filter((g) => !gnames.has(g.name)));
    const enames = new Set(staticEntries.map((e) => e.name));
    staticEntries.push(...auto.entries.filter((e) => !enames.has(e.name)));
    if (auto.generators.some((g) => g.kind === 'list') && !rootValues.has('linux-options'))
      rootValues.set('linux-options', 'placeholder');
    generators = generators.sort((a, b) => byteOrder(a.name, b.name));
    staticEntries = staticEntries.sort((a, b) => byteOrder(a.name, b.name));
  }

  const extracted = new Map(rootValues);
  for (const [k, v] of await runExtractors(config.extractors, rootValues, ctx, fsId, diagnostics)) extracted.set(k, v);

  runPhase('startup', config.phases.startup, extracted, actions, fsId, diagnostics);

  const specs: EntrySpec[] = staticEntries.map((e) => ({ name: e.name, template: e, genValues: new Map(), at: e.at }));
  // The time budget (budget.ts) is checked per generator and per entry: finalising one
  // entry's values is bounded (stamp.ts), a config's worth of them is not.
  const outOfTime = (at: Loc, what: string): boolean => {
    const b = ctx.budget;
    if (!b?.expired) return false;
    const spent = b.spent();
    diagnostics.push(
      diag(
        'error',
        SOURCE,
        `evaluation stopped at ${what} after ${spent.ms} ms, the time budget of the ${spent.what}; entries built before are kept`,
        loc(fsId, at),
      ),
    );
    return true;
  };
  for (const g of generators) {
    if (outOfTime(g.at, `generator ${g.name}`)) break;
    if (specs.length >= MAX_ENTRIES) {
      diagnostics.push(
        diag(
          'error',
          SOURCE,
          `more than ${MAX_ENTRIES} entries; generator ${g.name} and later ones skipped`,
          loc(fsId, g.at),
        ),
      );
      break;
    }
    specs.push(...(await expandGenerator(g, extracted, fsId, ctx, diagnostics, opts.fixSortBugs)));
  }

  const env: ActionEnv = { ctx, home: fsId, actions, statCache: new Map(), classCache: new Map() };
  const defaultEntry = config.options.defaultEntry;
  const built: Built[] = [];
  // The home disk's entry budget (entry-budget.ts): count and bytes, checked before each entry.
  const device = home.report.device;
  let entriesLeft = ctx.entryBudget?.left(device) ?? Infinity;
  let bytesLeft = ctx.entryBudget?.bytesLeft(device) ?? Infinity;
  for (const spec of specs.slice(0, MAX_ENTRIES)) {
    if (outOfTime(spec.at, `entry ${spec.name}`)) break;
    if (entriesLeft <= 0 || bytesLeft <= 0) {
      diagnostics.push(
        diag(
          'warning',
          SOURCE,
          `entry ${spec.name} and the rest are not built: this disk already has as many entries as discovery keeps (limits per disk and per run)`,
          loc(fsId, spec.at),
        ),
      );
      break;
    }
    const b = await buildEntry(spec, extracted, env, home, ctx, defaultEntry, opts.fixSortBugs === true);
    if (b) {
      built.push(b);
      entriesLeft--;
      bytesLeft -= entryBytes({ sourceId: '', ...b.entry });
    }
  }
  built.sort((a, b) => -verscmp(a.sortKey, b.sortKey));

  runPhase('late', config.phases.late, extracted, actions, fsId, diagnostics);

  const ids = new Map<string, number>();
  const entries: SourceEntry[] = built.map((b) => {
    const base = `sprout:${fsId}:${b.name}`;
    const n = (ids.get(base) ?? 0) + 1;
    ids.set(base, n);
    if (n > 1)
      diagnostics.push(
        diag(
          'warning',
          SOURCE,
          `entry name ${b.name} used more than once; listed as #${n}`,
          loc(fsId, {
            file: b.entry.origin.file,
            ...(b.entry.origin.line !== undefined ? { line: b.entry.origin.line } : {}),
          }),
        ),
      );
    return { sourceId: n > 1 ? `${base}#${n}` : base, ...b.entry };
  });

  let defaultId: string | undefined;
  const di = built.findIndex((b) => b.isDefault);
  if (di >= 0) defaultId = entries[di]!.sourceId;
  else {
    if (defaultEntry !== undefined) {
      diagnostics.push(
        diag(
          'warning',
          SOURCE,
          `default-entry ${JSON.stringify(defaultEntry)} matches no entry; the first entry is the default`,
          loc(fsId, merged.locate(['options', 'default-entry'])),
        ),
      );
    }
    defaultId = entries[0]?.sourceId;
  }
  const seconds = opts.menuTimeout ?? config.options.menuTimeout;
  const timeout: TimeoutSetting = seconds === 0 ? { kind: 'menu-hidden' } : { kind: 'seconds', seconds };
  const settings: MenuConfigSettings = {
    kind: 'menu-config',
    timeout,
    ...(defaultId ? { defaultId } : {}),
    from: `${fsId} ${mainFile}`,
  };
  return { entries, names: built.map((b) => b.name), settings, diagnostics };
}

async function buildEntry(
  spec: EntrySpec,
  extracted: ValueMap,
  env: ActionEnv,
  home: MountedFs,
  ctx: SourceContext,
  defaultEntry: string | undefined,
  fixSortBugs: boolean,
): Promise<Built | undefined> {
  const fsId = home.report.fsId;
  const w = loc(fsId, spec.at);
  const ds: Diagnostic[] = [];
  let sortKey = spec.runtimeSortKey ?? spec.template.sortKey ?? spec.name;
  let title = spec.template.title;
  let status: EntryStatus;
  const rec = spec.bls?.record;
  try {
    if (spec.problem) throw new StampError(spec.problem);
    const values = finalize(new Map([...extracted, ...spec.genValues, ...spec.template.values]));
    title = showMarkers(stamp(spec.template.title, values));
    // docs/sprout.md §15.1: sprout never stamps sort-key (autoconfigured kernels all sort as "$kernel").
    if (fixSortBugs && spec.runtimeSortKey === undefined && spec.template.sortKey !== undefined)
      sortKey = stamp(spec.template.sortKey, values);
    const names = spec.template.actions.map((a) => stamp(a, values));
    const native = spec.bls ? await nativeIfCanonical(spec, names, values, env, ctx) : undefined;
    if (native?.kind === 'skip') return undefined;
    const out = native ?? (await runActions(names, values, env, spec.at));
    status = out.status;
    ds.push(...out.diagnostics);
  } catch (e) {
    // StampError (limits), or an I/O error from a disk: this entry only, never the config.
    const reason = `entry ${spec.name}: ${errorMessage(e)}`;
    ds.push(diag('error', SOURCE, reason, w));
    status = { ok: false, reason };
  }
  const isDefault = defaultEntry !== undefined && matchesDefault(defaultEntry, spec.name, title);
  return {
    name: spec.name,
    sortKey,
    isDefault,
    entry: {
      title,
      ...(rec?.version ? { version: rec.version } : {}),
      ...(rec?.machineId ? { machineId: rec.machineId } : {}),
      ...(rec?.architecture ? { architecture: rec.architecture } : {}),
      origin: originOf('sprout', home.report, spec.at.file, spec.at.line),
      status,
      diagnostics: ds,
    },
  };
}

/** docs/sprout.md §17.5: a BLS generator entry whose boot action is the canonical chainload boots natively. */
async function nativeIfCanonical(
  spec: EntrySpec,
  names: readonly string[],
  values: ValueMap,
  env: ActionEnv,
  ctx: SourceContext,
): Promise<Awaited<ReturnType<typeof nativeBlsTarget>> | undefined> {
  const first = names.map((n) => env.actions.get(n)).find((a) => a?.kind !== 'print');
  if (first?.kind !== 'chainload' || !isCanonicalBlsChainload(first)) return undefined;
  const prefix = stamp(first.chainload.path.slice(0, -'$chainload'.length), values);
  const r = resolvePath(prefix, env.home, ctx);
  if (!r.ok || r.ref.fsId !== spec.bls!.fsId || r.ref.path !== '/') return undefined;
  const m = ctx.get(r.ref.fsId);
  if (!m) return undefined;
  const res = await nativeBlsTarget(m, spec.bls!.record, ctx.arch);
  const prints: Diagnostic[] = [];
  for (const n of names) {
    const a = env.actions.get(n);
    if (a === first) break;
    if (a?.kind === 'print')
      prints.push(diag('info', SOURCE, `print: ${showMarkers(stamp(a.print.text, values))}`, loc(env.home, a.at)));
  }
  res.diagnostics.unshift(...prints);
  return res;
}
