// Find and evaluate every grub.cfg (docs/grub-syslinux.md §A1): ESP `EFI/*/grub.cfg` first (the
// stubs real firmware loads), then /boot/grub, /grub, /grub2, /boot/grub2 on every readable
// filesystem. Files evaluated as a menu are remembered for the whole scan, so a config found
// directly and through a stub's configfile is evaluated once; its entries belong to the
// real file. Probing and each config's evaluation are remembered across live discovery's
// runs (evaluations.ts), and reused while no new filesystem or earlier config changes them.

import { Budget, settleConfig, settleWithin, STOP_GRACE_MS, unsettled } from '../../budget';
import { diag, type Diagnostic } from '../../diagnostics';
import { entryBytes } from '../../entry-budget';
import { CONFIG_BUDGET_MS } from '../../limits';
import { FsError, statOrNull } from '../../fs/types';
import type { FsId, GrubOneShot, SourceEntry, TimeoutSetting } from '../../model';
import type { MountedFs, ProposedSettings, SourceContext } from '../context';
import { EvaluationTable } from '../evaluations';
import { tokenFor } from './devices';
import { Interp, type GrubOptions, type ScriptCache } from './eval';
import type { SaveEnvIntent } from './host';
import { applyUse, newScanState, sameAnswers, viewOf, type StateUse } from './scan-state';
import { buildMenu, firstListed, resolveMenuPath } from './menu';
import { DEFAULT_LIMITS, platformVariables } from './platform';
import { Env, type FsLoc, type SourceFile, fileKey, finalMenu } from './state';

export const GRUB_CONFIG_PATHS = [
  '/boot/grub/grub.cfg',
  '/grub/grub.cfg',
  '/grub2/grub.cfg',
  '/boot/grub2/grub.cfg',
] as const;

export type OneShot = GrubOneShot;

export interface GrubConfigResult {
  /** Where evaluation started (a probe location). */
  readonly probed: { readonly fsId: FsId; readonly path: string };
  /** The file whose menu was used (differs from `probed` after a stub's configfile). */
  readonly file: { readonly fsId: FsId; readonly path: string };
  // The menu tree (MenuNode: definitions and their parsed bodies) is not kept: it costs about
  // ten times the entries themselves and is only needed to pick the default, done here.
  readonly entries: SourceEntry[];
  readonly timeout?: TimeoutSetting;
  readonly defaultId?: string;
  readonly defaultReason: string;
  readonly fallbackIds: string[];
  /** next_entry was used: the boot path must clear it in this grubenv before booting. */
  readonly oneShot?: OneShot;
  /** save_env requests from the config's top level (recorded, never performed). */
  readonly saveEnv: readonly SaveEnvIntent[];
}

export interface GrubScan {
  readonly configs: GrubConfigResult[];
  readonly entries: SourceEntry[];
  readonly settings?: ProposedSettings;
  readonly diagnostics: Diagnostic[];
}

async function candidates(m: MountedFs): Promise<{ esp: string[]; other: string[] }> {
  const esp: string[] = [];
  try {
    const top = await m.fs.readdir('/');
    for (const efi of top.filter((e) => e.name.toLowerCase() === 'efi' && e.kind === 'dir')) {
      const vendors = (await m.fs.readdir('/' + efi.name))
        .filter((e) => e.kind === 'dir')
        .map((e) => e.name)
        .sort();
      for (const v of vendors) {
        for (const name of ['grub.cfg', 'GRUB.CFG']) {
          const p = `/${efi.name}/${v}/${name}`;
          const st = await statOrNull(m.fs, p);
          if (st?.kind === 'file') {
            esp.push(p);
            break;
          }
        }
      }
    }
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
  }
  const other: string[] = [];
  for (const p of GRUB_CONFIG_PATHS) {
    const st = await statOrNull(m.fs, p);
    if (st?.kind === 'file') other.push(p);
  }
  return { esp, other };
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function timeoutOf(env: Env): TimeoutSetting {
  const t = env.get('timeout');
  if (t === undefined || t.trim() === '') return { kind: 'menu-force' };
  const n = Number.parseInt(t.trim(), 10);
  if (!Number.isFinite(n) || n < 0) return { kind: 'menu-force' };
  if (env.get('timeout_style') === 'hidden') return { kind: 'menu-hidden' };
  return { kind: 'seconds', seconds: n };
}

/**
 * Evaluate one config as a menu. `vars` are set after the platform's and the config's own
 * root/prefix/cmdpath, and override them (network boot sets GRUB's net_* variables and a
 * `(tftp,<server>)` root: src/net/grub-net.ts).
 */
export async function evaluateGrubConfig(
  ctx: SourceContext,
  opts: GrubOptions,
  m: MountedFs,
  path: string,
  visited: Set<string>,
  cache: ScriptCache,
  entryBytesLeft: number,
  vars: ReadonlyArray<readonly [string, string]> = [],
): Promise<{ result?: GrubConfigResult; diagnostics: Diagnostic[] }> {
  const it = new Interp(ctx, opts, visited, cache);
  it.entryBytesLeft = entryBytesLeft;
  const loc: FsLoc = { fs: m.fs, report: m.report, refId: m.report.fsId };
  const file: SourceFile = { loc, path };
  const env = new Env();
  const dev = `(${tokenFor(m.report.fsId)})`;
  for (const [k, v] of [
    ...platformVariables(ctx.arch),
    ['root', tokenFor(m.report.fsId)] as const,
    ['prefix', dev + dirOf(path)] as const,
    ['cmdpath', dev + dirOf(path)] as const,
    ...vars,
  ]) {
    env.set(k, v, opts.limits.maxEnvBytes);
    env.exported.add(k);
  }
  const top = await it.evalMenuFile(file, env, 0, [], null);
  if (!top) return { diagnostics: it.finish() };
  // Entries defined before the budget ran out still need their bodies run to be entries.
  if (it.budget?.expired) it.restartBudget(new Budget(STOP_GRACE_MS, 'grub entry bodies (after the config budget)'));
  const fin = finalMenu(top);
  const build = await buildMenu(it, fin, fin.file);
  const fenv = fin.env;

  // Default (docs/grub-syslinux.md §A7).
  let defaultId: string | undefined;
  let defaultReason: string;
  const spec = fenv.get('default');
  const nextEntry = it.envOrigin.get('next_entry');
  const savedEntry = it.envOrigin.get('saved_entry');
  const where = `${fin.file.loc.refId} ${fin.file.path}`;
  let why = `default=${JSON.stringify(spec ?? '')} in ${where}`;
  if (spec !== undefined && spec !== '' && nextEntry && nextEntry.value === spec) {
    why = `next_entry=${JSON.stringify(spec)} (one-shot) from ${nextEntry.fsId} ${nextEntry.path}`;
  } else if (spec !== undefined && spec !== '' && savedEntry && savedEntry.value === spec) {
    why = `saved_entry=${JSON.stringify(spec)} from ${savedEntry.fsId} ${savedEntry.path}`;
  }
  if (spec === undefined || spec.trim() === '') {
    defaultId = firstListed(build.nodes)?.sourceId;
    defaultReason = `no default set in ${where}: grub uses entry 0`;
  } else {
    const r = resolveMenuPath(build.nodes, spec);
    if (r.kind === 'matched' && r.entry) {
      defaultId = r.entry.sourceId;
      defaultReason = why;
    } else {
      defaultId = firstListed(build.nodes)?.sourceId;
      defaultReason =
        r.kind === 'matched'
          ? `${why} names '${r.node.def.title}', which tendril cannot list; using the first entry`
          : `${why} matches no entry: grub uses entry 0`;
      it.report(null, 'warning', defaultReason, undefined, fin.file);
    }
  }
  const fallbackIds: string[] = [];
  for (const f of (fenv.get('fallback') ?? '').split(/\s+/).filter(Boolean)) {
    const r = resolveMenuPath(build.nodes, f);
    if (r.kind === 'matched' && r.entry) fallbackIds.push(r.entry.sourceId);
  }
  // The value the config's own `save_env next_entry` writes back (the last such request).
  const writeBack = it.saveEnv
    .filter((s) => s.values.has('next_entry'))
    .pop()
    ?.values.get('next_entry');
  const usedOneShot = nextEntry !== undefined && nextEntry.value !== '' && writeBack !== undefined;
  const result: GrubConfigResult = {
    probed: { fsId: m.report.fsId, path },
    file: { fsId: fin.file.loc.refId, path: fin.file.path },
    entries: build.entries,
    timeout: timeoutOf(fenv),
    ...(defaultId !== undefined ? { defaultId } : {}),
    defaultReason,
    fallbackIds,
    ...(usedOneShot
      ? {
          oneShot: {
            fsId: nextEntry.fsId,
            path: nextEntry.path,
            variable: 'next_entry',
            value: nextEntry.value,
            writeBack: writeBack,
          },
        }
      : {}),
    saveEnv: it.saveEnv,
  };
  if (build.entries.length > 0) {
    it.report(null, 'info', `${build.entries.length} entries; default: ${defaultReason}`, undefined, fin.file);
  }
  return { result, diagnostics: it.finish() };
}

type Probe = { readonly esp: string[]; readonly other: string[] } | { readonly failed: string };

/** One config's evaluation and what it used of the scan's shared state. */
interface ConfigRun {
  readonly outcome:
    { readonly result?: GrubConfigResult; readonly diagnostics: Diagnostic[] } | { readonly failed: string };
  readonly use: StateUse;
}

/**
 * The evaluations one grub source remembers across a live discovery (one options set). A
 * failed one (a reader error) is never reused: the disk may answer the next time.
 */
export class GrubMemory {
  readonly probes = new EvaluationTable<Probe>();
  readonly configs = new EvaluationTable<ConfigRun>();
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const ok = (r: object): boolean => !('failed' in r);

/** The settings the first config with entries proposes. */
function settingsOf(first: GrubConfigResult): ProposedSettings {
  return {
    kind: 'menu-config',
    ...(first.timeout ? { timeout: first.timeout } : {}),
    ...(first.defaultId !== undefined ? { defaultId: first.defaultId } : {}),
    ...(first.oneShot ? { oneShot: first.oneShot } : {}),
    from: `${first.file.fsId} ${first.file.path}`,
  };
}

/**
 * Evaluate every grub.cfg on the context's filesystems. Under a source budget (budget.ts)
 * each config gets a fair share of what is left, at most CONFIG_BUDGET_MS, so one config
 * that loops cannot starve the configs after it; under an entry budget a disk that is full
 * has no more of its configs evaluated.
 */
export async function scanGrub(
  ctx: SourceContext,
  options: Partial<GrubOptions> = {},
  memory: GrubMemory = new GrubMemory(),
): Promise<GrubScan> {
  const opts: GrubOptions = {
    limits: options.limits ?? DEFAULT_LIMITS,
    ...(options.openImage ? { openImage: options.openImage } : {}),
  };
  const state = newScanState();
  const diagnostics: Diagnostic[] = [];
  const configs: GrubConfigResult[] = [];
  const found: { m: MountedFs; esp: string[]; other: string[] }[] = [];
  for (const [i, m] of ctx.filesystems.entries()) {
    ctx.progress?.({ fsId: m.report.fsId });
    if (memory.probes.stillRunning(ctx, m.report.fsId)) {
      diagnostics.push(
        diag(
          'error',
          'grub',
          'not looked at again: looking for grub.cfg here in an earlier pass still waits for a read',
          {
            fsId: m.report.fsId,
          },
        ),
      );
      continue;
    }
    const work = memory.probes.run(
      ctx,
      m.report.fsId,
      async () => {
        try {
          return await candidates(m);
        } catch (e) {
          return { failed: message(e) };
        }
      },
      ok,
    );
    // Looking on a slow disk must not use up the time of the disks after it (half a fair share).
    const share = ctx.budget ? Math.min(CONFIG_BUDGET_MS, ctx.budget.left() / (ctx.filesystems.length - i) / 2) : 0;
    const settled = ctx.budget ? await settleWithin(work, share) : { done: true as const, value: await work };
    if (!settled.done) {
      diagnostics.push(
        diag('error', 'grub', `looking for grub.cfg here did not finish within ${Math.round(share)} ms; skipped`, {
          fsId: m.report.fsId,
        }),
      );
      continue;
    }
    const probe = settled.value;
    if ('failed' in probe) {
      diagnostics.push(diag('error', 'grub', `probing for grub.cfg failed: ${probe.failed}`, { fsId: m.report.fsId }));
      continue;
    }
    found.push({ m, ...probe });
  }
  const order = [
    ...found.flatMap((f) => f.esp.map((p) => ({ m: f.m, p }))),
    ...found.flatMap((f) => f.other.map((p) => ({ m: f.m, p }))),
  ];
  /** Entries (and their bytes) this scan found per disk, against the disk's budget. */
  const perDisk = new Map<string, { entries: number; bytes: number }>();
  for (const [k, { m, p }] of order.entries()) {
    const key = fileKey({ loc: { fs: m.fs, report: m.report, refId: m.report.fsId }, path: p });
    if (state.visited.has(key)) continue;
    const fsId = m.report.fsId;
    const device = m.report.device;
    const where = { fsId, file: p, device };
    ctx.progress?.({ fsId, file: p });
    const mine = perDisk.get(device) ?? { entries: 0, bytes: 0 };
    const eb = ctx.entryBudget;
    if (eb && (eb.left(device) - mine.entries <= 0 || eb.bytesLeft(device) - mine.bytes <= 0)) {
      diagnostics.push(
        diag(
          'warning',
          'grub',
          'not evaluated: this disk already has as many entries as discovery keeps (limits per disk and per run)',
          where,
        ),
      );
      continue;
    }
    if (memory.configs.stillRunning(ctx, key)) {
      diagnostics.push(
        diag('error', 'grub', 'not evaluated again: its evaluation of an earlier pass still waits for a read', where),
      );
      continue;
    }
    // A fair share of what is left of the source's budget, at most CONFIG_BUDGET_MS.
    const source = ctx.budget;
    if (source?.expired) {
      diagnostics.push(
        diag('error', 'grub', `not evaluated: the time budget of the ${source.what} (${source.ms} ms) is spent`, where),
      );
      continue;
    }
    const budget = source?.child(
      Math.min(CONFIG_BUDGET_MS, source.left() / (order.length - k)),
      `grub config ${fsId} ${p}`,
    );
    const work = memory.configs.run(
      budget ? { ...ctx, budget } : ctx,
      key,
      async (ectx) => {
        const { view, use } = viewOf(state);
        try {
          const bytesLeft = eb ? eb.bytesLeft(device) - mine.bytes : Infinity;
          return {
            outcome: await evaluateGrubConfig(ectx, opts, m, p, view.visited, view.cache, bytesLeft),
            use: use(),
          };
        } catch (e) {
          return { outcome: { failed: message(e) }, use: use() };
        }
      },
      (previous) => ok(previous.outcome) && sameAnswers(previous.use, state),
    );
    // The interpreter stops itself when the budget is spent; a read that never answers does not.
    const settled = await settleConfig(work, budget);
    if (!settled.done) {
      diagnostics.push(diag('error', 'grub', unsettled('evaluation', budget), where));
      continue;
    }
    const run = settled.value;
    applyUse(run.use, state);
    if ('failed' in run.outcome) {
      // A reader failure (I/O error on a damaged disk) costs this config, not the scan.
      const d = diag('error', 'grub', `evaluation stopped: ${run.outcome.failed}`, { fsId, file: p });
      diagnostics.push(d);
      ctx.partial?.({ entries: [], diagnostics: [d] });
      continue;
    }
    diagnostics.push(...run.outcome.diagnostics);
    const r = run.outcome.result;
    if (r && r.entries.length > 0) {
      configs.push(r);
      perDisk.set(device, {
        entries: mine.entries + r.entries.length,
        bytes: mine.bytes + r.entries.reduce((n, e) => n + entryBytes(e), 0),
      });
    }
    // This config is done: if the source's run is cut off later, its entries stay.
    const first = r && configs.length === 1 && r === configs[0] ? settingsOf(r) : undefined;
    ctx.partial?.({
      entries: r && r.entries.length > 0 ? r.entries : [],
      diagnostics: run.outcome.diagnostics,
      ...(first ? { settings: first } : {}),
    });
  }
  const entries = configs.flatMap((c) => c.entries);
  const first = configs[0];
  const settings = first ? settingsOf(first) : undefined;
  return { configs, entries, ...(settings ? { settings } : {}), diagnostics };
}
