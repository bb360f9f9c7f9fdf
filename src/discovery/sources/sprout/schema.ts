// The sprout.toml v1 schema (docs/sprout.md §1–§10) as typed data, and the validator that turns a
// parsed (and drop-in merged) TOML object into it. Sprout ignores unknown keys and aborts on
// type errors; we warn on unknown keys (file + line) and drop only the broken item, so the
// rest of the menu survives. Maps iterate in byte order, as sprout's BTreeMaps do.

import { DiagnosticCap } from '../../capped';
import { diag, type Diagnostic } from '../../diagnostics';
import type { KeyPath } from './locate';

export const SOURCE = 'sprout';

export interface Loc {
  readonly file: string;
  readonly line?: number;
}
export type Locate = (path: KeyPath) => Loc;

export type Values = ReadonlyMap<string, string>;

export interface ChainloadCfg {
  readonly path: string;
  readonly options: readonly string[];
  /** sprout: one string; PR sprout#78 (and tendril): an array too. */
  readonly linuxInitrd?: readonly string[];
}
export interface PrintCfg {
  readonly text: string;
}
export interface EderaCfg {
  readonly xen: string;
  readonly kernel: string;
  readonly initrd?: string;
  readonly xenOptions: readonly string[];
  readonly kernelOptions: readonly string[];
}
export type ActionKind = 'chainload' | 'print' | 'edera';
interface ActionBase {
  readonly name: string;
  readonly at: Loc;
}
/**
 * An action as it will run: the kind that runs (the first of chainload → print → edera, as in
 * sprout) with its settings, or `broken` with the reason it cannot run (no known kind, or a
 * required field missing); running a broken action fails its entry.
 */
export type ActionCfg =
  | (ActionBase & { readonly kind: 'chainload'; readonly chainload: ChainloadCfg })
  | (ActionBase & { readonly kind: 'print'; readonly print: PrintCfg })
  | (ActionBase & { readonly kind: 'edera'; readonly edera: EderaCfg })
  | (ActionBase & { readonly kind: 'broken'; readonly problem: string });

export interface EntryTemplate {
  readonly title: string;
  readonly actions: readonly string[];
  readonly values: Values;
  readonly sortKey?: string;
  readonly at: Loc;
}
export interface EntryCfg extends EntryTemplate {
  readonly name: string;
}

export interface ExtractorCfg {
  readonly name: string;
  readonly at: Loc;
  readonly hasLabel?: string;
  readonly hasItem?: string;
  readonly hasPartitionUuid?: string;
  readonly hasPartitionTypeUuid?: string;
  readonly fallback?: string;
  readonly problem?: string;
}

export type GeneratorCfg =
  | {
      readonly kind: 'matrix';
      readonly name: string;
      readonly at: Loc;
      readonly entry: EntryTemplate;
      readonly values: readonly (readonly [string, readonly string[]])[];
    }
  | {
      readonly kind: 'list';
      readonly name: string;
      readonly at: Loc;
      readonly entry: EntryTemplate;
      readonly values: readonly Values[];
    }
  | {
      readonly kind: 'bls';
      readonly name: string;
      readonly at: Loc;
      readonly entry: EntryTemplate;
      readonly path: string;
    }
  | { readonly kind: 'broken'; readonly name: string; readonly at: Loc; readonly problem: string };

export interface PhaseItem {
  readonly actions: readonly string[];
  readonly values: Values;
  readonly at: Loc;
}
export type PhaseName = 'early' | 'startup' | 'late';

export interface DriverCfg {
  readonly name: string;
  readonly path: string;
  readonly at: Loc;
}

export interface SproutOptions {
  readonly defaultEntry?: string;
  readonly menuTimeout: number;
  readonly autoconfigure: boolean;
}

export interface SproutConfig {
  readonly version: 1;
  readonly options: SproutOptions;
  readonly values: Map<string, string>;
  readonly drivers: DriverCfg[];
  readonly extractors: ExtractorCfg[];
  readonly actions: Map<string, ActionCfg>;
  readonly entries: EntryCfg[];
  readonly generators: GeneratorCfg[];
  readonly phases: Record<PhaseName, PhaseItem[]>;
}

export const DEFAULT_MENU_TIMEOUT = 10;

type Raw = Record<string, unknown>;

export function isTable(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'datetime';
  if (isTable(v)) return 'table';
  return typeof v === 'number' && Number.isInteger(v) ? 'integer' : typeof v;
}

function showPath(path: KeyPath): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z0-9_-]+$/.test(p) ? p : JSON.stringify(p)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** Validator state: where diagnostics go (capped per file as they come) and how keys are located. */
class V {
  private readonly cap = new DiagnosticCap();
  constructor(
    readonly locate: Locate,
    readonly fsId: string | undefined,
  ) {}

  get diagnostics(): Diagnostic[] {
    return this.cap.list();
  }

  report(severity: Diagnostic['severity'], path: KeyPath, message: string): void {
    const l = this.locate(path);
    this.cap.push(
      diag(severity, SOURCE, message, {
        ...(this.fsId ? { fsId: this.fsId } : {}),
        file: l.file,
        ...(l.line !== undefined ? { line: l.line } : {}),
      }),
    );
  }

  unknownKeys(t: Raw, path: KeyPath, known: readonly string[]): void {
    for (const k of Object.keys(t)) {
      if (!known.includes(k)) {
        const where = path.length ? `[${showPath(path)}]` : 'the top level';
        this.report('warning', [...path, k], `unknown key "${k}" in ${where} ignored`);
      }
    }
  }

  str(t: Raw, key: string, path: KeyPath, required: boolean): string | undefined {
    const v = t[key];
    if (v === undefined) {
      if (required) this.report('error', path, `[${showPath(path)}] needs "${key}"`);
      return undefined;
    }
    if (typeof v !== 'string') {
      this.report('error', [...path, key], `${showPath([...path, key])} must be a string, not ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  strArray(t: Raw, key: string, path: KeyPath): string[] | undefined {
    const v = t[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      this.report('error', [...path, key], `${showPath([...path, key])} must be an array of strings`);
      return undefined;
    }
    return v as string[];
  }

  /** string→string map; non-string values are reported and skipped (not an abort). */
  strMap(v: unknown, path: KeyPath): Map<string, string> {
    const out = new Map<string, string>();
    if (v === undefined) return out;
    if (!isTable(v)) {
      this.report('error', path, `${showPath(path)} must be a table of strings, not ${typeName(v)}`);
      return out;
    }
    for (const k of Object.keys(v).sort(byteOrder)) {
      const x = v[k];
      if (typeof x === 'string') out.set(k, x);
      else this.report('warning', [...path, k], `value "${k}" must be a string, not ${typeName(x)}; ignored`);
    }
    return out;
  }

  table(v: unknown, path: KeyPath): Raw | undefined {
    if (v === undefined) return undefined;
    if (!isTable(v)) {
      this.report('error', path, `${showPath(path)} must be a table, not ${typeName(v)}`);
      return undefined;
    }
    return v;
  }
}

const TOP_KEYS = [
  'version',
  'options',
  'values',
  'drivers',
  'extractors',
  'actions',
  'entries',
  'generators',
  'phases',
];

/** Validate a parsed document. `version` must already have been checked (dropins.ts). */
export function validateConfig(
  raw: Raw,
  locate: Locate,
  fsId?: string,
): { config: SproutConfig; diagnostics: Diagnostic[] } {
  const v = new V(locate, fsId);
  v.unknownKeys(raw, [], TOP_KEYS);
  const config: SproutConfig = {
    version: 1,
    options: options(v, raw.options),
    values: v.strMap(raw.values, ['values']),
    drivers: named(v, raw.drivers, ['drivers'], (t, p, name) => driver(v, t, p, name)),
    extractors: named(v, raw.extractors, ['extractors'], (t, p, name) => extractor(v, t, p, name)),
    actions: new Map(named(v, raw.actions, ['actions'], (t, p, name) => action(v, t, p, name)).map((a) => [a.name, a])),
    entries: named(v, raw.entries, ['entries'], (t, p, name) => {
      const e = template(v, t, p, true);
      return e ? { ...e, name } : undefined;
    }),
    generators: named(v, raw.generators, ['generators'], (t, p, name) => generator(v, t, p, name)),
    phases: phases(v, raw.phases),
  };
  return { config, diagnostics: v.diagnostics };
}

function named<T>(v: V, x: unknown, path: KeyPath, f: (t: Raw, p: KeyPath, name: string) => T | undefined): T[] {
  const t = v.table(x, path);
  if (!t) return [];
  const out: T[] = [];
  for (const name of Object.keys(t).sort(byteOrder)) {
    const p = [...path, name];
    const item = v.table(t[name], p);
    if (!item) continue;
    const r = f(item, p, name);
    if (r !== undefined) out.push(r);
  }
  return out;
}

function options(v: V, x: unknown): SproutOptions {
  const t = v.table(x, ['options']);
  if (!t) return { menuTimeout: DEFAULT_MENU_TIMEOUT, autoconfigure: false };
  v.unknownKeys(t, ['options'], ['default-entry', 'menu-timeout', 'autoconfigure']);
  const defaultEntry = v.str(t, 'default-entry', ['options'], false);
  let menuTimeout = DEFAULT_MENU_TIMEOUT;
  const mt = t['menu-timeout'];
  if (mt !== undefined) {
    if (typeof mt === 'number' && Number.isSafeInteger(mt) && mt >= 0) menuTimeout = mt;
    else
      v.report(
        'error',
        ['options', 'menu-timeout'],
        `options.menu-timeout must be a non-negative integer; using ${DEFAULT_MENU_TIMEOUT}`,
      );
  }
  let autoconfigure = false;
  const ac = t.autoconfigure;
  if (ac !== undefined) {
    if (typeof ac === 'boolean') autoconfigure = ac;
    else v.report('error', ['options', 'autoconfigure'], 'options.autoconfigure must be a boolean');
  }
  return { ...(defaultEntry !== undefined ? { defaultEntry } : {}), menuTimeout, autoconfigure };
}

function at(v: V, path: KeyPath): Loc {
  return v.locate(path);
}

function driver(v: V, t: Raw, p: KeyPath, name: string): DriverCfg | undefined {
  v.unknownKeys(t, p, ['path']);
  const path = v.str(t, 'path', p, true);
  return path === undefined ? undefined : { name, path, at: at(v, p) };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function extractor(v: V, t: Raw, p: KeyPath, name: string): ExtractorCfg {
  v.unknownKeys(t, p, ['filesystem-device-match']);
  const base = { name, at: at(v, p) };
  const m = v.table(t['filesystem-device-match'], [...p, 'filesystem-device-match']);
  if (!m) return { ...base, problem: 'unknown extractor configuration' };
  const mp = [...p, 'filesystem-device-match'];
  v.unknownKeys(m, mp, ['has-label', 'has-item', 'has-partition-uuid', 'has-partition-type-uuid', 'fallback']);
  const e: {
    -readonly [K in keyof ExtractorCfg]: ExtractorCfg[K];
  } = { ...base };
  const hasLabel = v.str(m, 'has-label', mp, false);
  const hasItem = v.str(m, 'has-item', mp, false);
  const uuid = v.str(m, 'has-partition-uuid', mp, false);
  const type = v.str(m, 'has-partition-type-uuid', mp, false);
  const fallback = v.str(m, 'fallback', mp, false);
  if (hasLabel !== undefined) e.hasLabel = hasLabel;
  if (hasItem !== undefined) e.hasItem = hasItem;
  if (fallback !== undefined) e.fallback = fallback;
  for (const [key, val] of [
    ['has-partition-uuid', uuid],
    ['has-partition-type-uuid', type],
  ] as const) {
    if (val === undefined) continue;
    if (!GUID.test(val)) {
      v.report('error', [...mp, key], `${key} ${JSON.stringify(val)} is not a GUID`);
      e.problem = `${key} is not a GUID`;
    } else if (key === 'has-partition-uuid') e.hasPartitionUuid = val.toLowerCase();
    else e.hasPartitionTypeUuid = val.toLowerCase();
  }
  if (m['has-label'] === undefined && m['has-item'] === undefined && uuid === undefined && type === undefined) {
    v.report('error', mp, `extractor ${name}: at least one criteria is required`);
    e.problem = 'at least one criteria is required';
  }
  return e;
}

function action(v: V, t: Raw, p: KeyPath, name: string): ActionCfg {
  v.unknownKeys(t, p, ['chainload', 'print', 'edera']);
  const base = { name, at: at(v, p) };
  // Every kind present is validated (and warned about); the first one is the action.
  const found: { kind: ActionKind; cfg: ActionCfg }[] = [];
  const c = v.table(t.chainload, [...p, 'chainload']);
  if (c) {
    const cp = [...p, 'chainload'];
    v.unknownKeys(c, cp, ['path', 'options', 'linux-initrd']);
    const path = v.str(c, 'path', cp, true);
    const opts = v.strArray(c, 'options', cp);
    let initrd: string[] | undefined;
    const li = c['linux-initrd'];
    if (typeof li === 'string') initrd = [li];
    else if (Array.isArray(li) && li.every((x) => typeof x === 'string')) initrd = li;
    else if (li !== undefined)
      v.report('error', [...cp, 'linux-initrd'], 'chainload.linux-initrd must be a string or an array of strings');
    found.push({
      kind: 'chainload',
      cfg:
        path === undefined || opts === undefined
          ? { ...base, kind: 'broken', problem: 'chainload needs a string "path" and string "options"' }
          : {
              ...base,
              kind: 'chainload',
              chainload: { path, options: opts, ...(initrd ? { linuxInitrd: initrd } : {}) },
            },
    });
  }
  const pr = v.table(t.print, [...p, 'print']);
  if (pr) {
    v.unknownKeys(pr, [...p, 'print'], ['text']);
    found.push({
      kind: 'print',
      cfg: { ...base, kind: 'print', print: { text: v.str(pr, 'text', [...p, 'print'], false) ?? '' } },
    });
  }
  const ed = v.table(t.edera, [...p, 'edera']);
  if (ed) {
    const ep = [...p, 'edera'];
    v.unknownKeys(ed, ep, ['xen', 'kernel', 'initrd', 'xen-options', 'kernel-options']);
    const xen = v.str(ed, 'xen', ep, true);
    const kernel = v.str(ed, 'kernel', ep, true);
    const initrd = v.str(ed, 'initrd', ep, false);
    const xo = v.strArray(ed, 'xen-options', ep);
    const ko = v.strArray(ed, 'kernel-options', ep);
    found.push({
      kind: 'edera',
      cfg:
        xen === undefined || kernel === undefined || xo === undefined || ko === undefined
          ? { ...base, kind: 'broken', problem: 'edera needs "xen" and "kernel"' }
          : {
              ...base,
              kind: 'edera',
              edera: { xen, kernel, ...(initrd !== undefined ? { initrd } : {}), xenOptions: xo, kernelOptions: ko },
            },
    });
  }
  if (found.length > 1) {
    v.report(
      'warning',
      p,
      `action ${name} has several kinds (${found.map((f) => f.kind).join(', ')}); only ${found[0]!.kind} runs, as in sprout`,
    );
  }
  return found[0]?.cfg ?? { ...base, kind: 'broken', problem: 'unknown action configuration' };
}

function template(v: V, t: Raw, p: KeyPath, isEntry: boolean): EntryTemplate | undefined {
  v.unknownKeys(t, p, ['title', 'actions', 'values', 'sort-key']);
  const title = v.str(t, 'title', p, true);
  const actions = v.strArray(t, 'actions', p) ?? [];
  const values = v.strMap(t.values, [...p, 'values']);
  const sortKey = v.str(t, 'sort-key', p, false);
  if (title === undefined) {
    if (isEntry) v.report('error', p, `${showPath(p)} skipped: "title" is required`);
    return undefined;
  }
  return { title, actions, values, ...(sortKey !== undefined ? { sortKey } : {}), at: at(v, p) };
}

function generator(v: V, t: Raw, p: KeyPath, name: string): GeneratorCfg {
  v.unknownKeys(t, p, ['matrix', 'bls', 'list']);
  const base = { name, at: at(v, p) };
  const kinds = (['matrix', 'bls', 'list'] as const).filter((k) => t[k] !== undefined);
  if (kinds.length === 0) {
    v.report('error', p, `generator ${name}: unknown generator configuration`);
    return { kind: 'broken', ...base, problem: 'unknown generator configuration' };
  }
  if (kinds.length > 1)
    v.report(
      'warning',
      p,
      `generator ${name} has several kinds (${kinds.join(', ')}); only ${kinds[0]} runs, as in sprout`,
    );
  const kind = kinds[0]!;
  const gp = [...p, kind];
  const g = v.table(t[kind], gp);
  if (!g) return { kind: 'broken', ...base, problem: `${kind} must be a table` };
  v.unknownKeys(g, gp, kind === 'bls' ? ['path', 'entry'] : ['entry', 'values']);
  const et = v.table(g.entry, [...gp, 'entry']);
  if (!et) {
    v.report('error', gp, `generator ${name}: "entry" is required`);
    return { kind: 'broken', ...base, problem: 'entry is required' };
  }
  const entry = template(v, et, [...gp, 'entry'], false);
  if (!entry) {
    v.report('error', [...gp, 'entry'], `generator ${name}: entry "title" is required`);
    return { kind: 'broken', ...base, problem: 'entry title is required' };
  }
  if (kind === 'bls') {
    const path = v.str(g, 'path', gp, false) ?? '\\loader';
    return { kind, ...base, entry, path };
  }
  if (kind === 'matrix') {
    const vt = v.table(g.values, [...gp, 'values']) ?? {};
    const values: [string, string[]][] = [];
    for (const k of Object.keys(vt).sort(byteOrder)) {
      const arr = vt[k];
      if (Array.isArray(arr) && arr.every((x) => typeof x === 'string')) values.push([k, arr]);
      else {
        v.report('error', [...gp, 'values', k], `matrix value "${k}" must be an array of strings`);
        return { kind: 'broken', ...base, problem: `matrix value ${k} is not an array of strings` };
      }
    }
    return { kind, ...base, entry, values };
  }
  const lv = g.values;
  const maps: Values[] = [];
  if (lv !== undefined && !Array.isArray(lv)) {
    v.report('error', [...gp, 'values'], 'list values must be an array of tables');
    return { kind: 'broken', ...base, problem: 'list values must be an array of tables' };
  }
  for (const [i, m] of ((lv as unknown[] | undefined) ?? []).entries()) maps.push(v.strMap(m, [...gp, 'values', i]));
  return { kind: 'list', ...base, entry, values: maps };
}

function phases(v: V, x: unknown): Record<PhaseName, PhaseItem[]> {
  const out: Record<PhaseName, PhaseItem[]> = { early: [], startup: [], late: [] };
  const t = v.table(x, ['phases']);
  if (!t) return out;
  v.unknownKeys(t, ['phases'], ['early', 'startup', 'late']);
  for (const name of ['early', 'startup', 'late'] as const) {
    const arr = t[name];
    if (arr === undefined) continue;
    if (!Array.isArray(arr)) {
      v.report('error', ['phases', name], `phases.${name} must be an array of tables ([[phases.${name}]])`);
      continue;
    }
    for (const [i, item] of arr.entries()) {
      const p = ['phases', name, i];
      const it = v.table(item, p);
      if (!it) continue;
      v.unknownKeys(it, p, ['actions', 'values']);
      out[name].push({
        actions: v.strArray(it, 'actions', p) ?? [],
        values: v.strMap(it.values, [...p, 'values']),
        at: at(v, p),
      });
    }
  }
  return out;
}
