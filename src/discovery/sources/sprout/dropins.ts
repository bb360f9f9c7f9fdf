// Loading sprout.toml plus drop-ins (a tendril extension; sprout itself has none).
//
// DROP-IN FORMAT
// - Files: `sprout.d/*.toml` in the directory of `sprout.toml`, regular files only, applied
//   after the main file in byte order of their names (`10-base.toml` before `20-local.toml`).
// - Merge: tables merge key by key, recursively; a later file's scalar or array replaces the
//   earlier value (arrays are never concatenated: `actions = [...]` and `[[phases.x]]` lists
//   are replaced as a whole).
// - Masking: a drop-in may contain a top-level `[mask]` table whose keys name a schema table and
//   whose values are arrays of names to remove from what earlier files defined:
//       [mask]
//       entries = ["debug"]          # removes [entries.debug]
//       actions = ["linux-debug"]
//       values = ["cmdline"]         # removes one [values] key
//       phases = ["startup"]         # removes all [[phases.startup]] items
//   Allowed keys: values, drivers, extractors, actions, entries, generators, options, phases.
//   The mask is applied BEFORE the same file's own tables are merged, so "mask + redefine" in
//   one drop-in replaces a table wholesale instead of merging into it. `[mask]` is valid TOML and
//   sprout ignores unknown top-level tables, so it cannot collide with sprout's schema; in the
//   main sprout.toml it has nothing to act on and is reported.
// - Version: every file's `version` (missing = 1) must be 1, like the main file; a drop-in that
//   disagrees or does not parse is skipped with an error naming file and line; the rest apply.
// - Limits: 64 drop-ins, 1 MiB per file.

import { parse, TomlError } from 'smol-toml';
import { diag, errorMessage, type Diagnostic } from '../../diagnostics';
import { FsError, readTextLimited, type FileSystem } from '../../fs/types';
import { KeyLocator, type KeyPath } from './locate';
import { isTable, SOURCE, type Loc, type Locate } from './schema';

export const DROPIN_LIMITS = { files: 64, bytes: 1 << 20, depth: 32 } as const;

/** Deepest table/array nesting (iterative: a 500,000-level `[a.a.a…]` must not recurse). */
function nestingDepth(root: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > limit) return max;
    if (Array.isArray(v)) for (const x of v) stack.push([x, d + 1]);
    else if (isTable(v)) for (const k of Object.keys(v)) stack.push([v[k], d + 1]);
  }
  return max;
}
export const MASKABLE = [
  'values',
  'drivers',
  'extractors',
  'actions',
  'entries',
  'generators',
  'options',
  'phases',
] as const;

type Raw = Record<string, unknown>;

export interface SourceFile {
  readonly file: string;
  readonly text: string;
}

interface ParsedFile {
  readonly file: string;
  readonly raw: Raw;
  readonly locator: KeyLocator;
}

export interface MergedConfig {
  readonly raw: Raw;
  readonly locate: Locate;
  /** Files that contributed, main first. */
  readonly files: readonly string[];
}

/** Parse one TOML document and check its version gate (docs/sprout.md §1). */
export function parseDocument(
  f: SourceFile,
  fsId: string | undefined,
  diagnostics: Diagnostic[],
): ParsedFile | undefined {
  const where = (line?: number) => ({
    ...(fsId ? { fsId } : {}),
    file: f.file,
    ...(line !== undefined ? { line } : {}),
  });
  let raw: Raw;
  try {
    raw = parse(f.text);
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0] ?? e.message;
      diagnostics.push(diag('error', SOURCE, `TOML syntax error at column ${e.column}: ${first}`, where(e.line)));
    } else diagnostics.push(diag('error', SOURCE, `TOML parse failed: ${errorMessage(e)}`, where()));
    return undefined;
  }
  if (nestingDepth(raw, DROPIN_LIMITS.depth) > DROPIN_LIMITS.depth) {
    diagnostics.push(
      diag('error', SOURCE, `tables nested deeper than ${DROPIN_LIMITS.depth} levels; file not used`, where()),
    );
    return undefined;
  }
  const locator = new KeyLocator(f.text);
  const v = raw.version;
  if (v !== undefined) {
    if (typeof v !== 'number' && typeof v !== 'bigint') {
      diagnostics.push(diag('error', SOURCE, 'unable to get configuration version', where(locator.line(['version']))));
      return undefined;
    }
    if (Number(v) !== 1) {
      diagnostics.push(
        diag('error', SOURCE, `unsupported configuration version: ${String(v)}`, where(locator.line(['version']))),
      );
      return undefined;
    }
  }
  return { file: f.file, raw, locator };
}

function newTable(): Raw {
  return Object.create(null) as Raw;
}

function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (isTable(v)) {
    const t = newTable();
    for (const k of Object.keys(v)) t[k] = clone(v[k]);
    return t;
  }
  return v;
}

function mergeInto(dst: Raw, src: Raw): void {
  for (const k of Object.keys(src)) {
    const s = src[k];
    const d = dst[k];
    if (isTable(s) && isTable(d)) mergeInto(d, s);
    else dst[k] = clone(s);
  }
}

function has(raw: unknown, path: KeyPath): boolean {
  let cur: unknown = raw;
  for (const p of path) {
    if (typeof p === 'number') {
      if (!Array.isArray(cur) || p >= cur.length) return false;
      cur = cur[p];
    } else {
      if (!isTable(cur) || !Object.prototype.hasOwnProperty.call(cur, p)) return false;
      cur = cur[p];
    }
  }
  return true;
}

function applyMask(acc: Raw, mask: unknown, pf: ParsedFile, fsId: string | undefined, diagnostics: Diagnostic[]): void {
  const where = (path: KeyPath) => {
    const line = pf.locator.line(path);
    return { ...(fsId ? { fsId } : {}), file: pf.file, ...(line !== undefined ? { line } : {}) };
  };
  if (!isTable(mask)) {
    diagnostics.push(diag('error', SOURCE, '[mask] must be a table of name arrays', where(['mask'])));
    return;
  }
  for (const section of Object.keys(mask)) {
    const names = mask[section];
    const p = ['mask', section];
    if (!(MASKABLE as readonly string[]).includes(section)) {
      diagnostics.push(
        diag(
          'warning',
          SOURCE,
          `unknown key "${section}" in [mask] ignored (allowed: ${MASKABLE.join(', ')})`,
          where(p),
        ),
      );
      continue;
    }
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
      diagnostics.push(diag('error', SOURCE, `mask.${section} must be an array of names`, where(p)));
      continue;
    }
    const t = acc[section];
    for (const name of names as string[]) {
      if (isTable(t) && Object.prototype.hasOwnProperty.call(t, name)) {
        delete t[name];
        diagnostics.push(diag('info', SOURCE, `drop-in masks ${section}.${name}`, where(p)));
      } else diagnostics.push(diag('info', SOURCE, `mask ${section}.${name}: nothing to mask`, where(p)));
    }
  }
}

/** Merge the main document and its drop-ins (already in application order). */
export function mergeDocuments(
  files: readonly SourceFile[],
  fsId: string | undefined,
  diagnostics: Diagnostic[],
): MergedConfig | undefined {
  const parsed: ParsedFile[] = [];
  const acc = newTable();
  for (const [i, f] of files.entries()) {
    const pf = parseDocument(f, fsId, diagnostics);
    if (!pf) {
      if (i === 0) return undefined;
      diagnostics.push(diag('error', SOURCE, 'drop-in skipped', { ...(fsId ? { fsId } : {}), file: f.file }));
      continue;
    }
    const { mask, ...rest } = pf.raw;
    if (mask !== undefined) {
      if (i === 0) {
        diagnostics.push(
          diag(
            'warning',
            SOURCE,
            '[mask] in the main config has nothing to mask (use it in sprout.d/*.toml); ignored',
            {
              ...(fsId ? { fsId } : {}),
              file: pf.file,
              line: pf.locator.line(['mask']),
            },
          ),
        );
      } else applyMask(acc, mask, pf, fsId, diagnostics);
    }
    mergeInto(acc, rest);
    parsed.push(pf);
  }
  const locate: Locate = (path: KeyPath): Loc => {
    for (let n = path.length; n > 0; n--) {
      const prefix = path.slice(0, n);
      for (let j = parsed.length - 1; j >= 0; j--) {
        const pf = parsed[j]!;
        if (has(pf.raw, prefix)) {
          const line = pf.locator.line(path);
          return line !== undefined ? { file: pf.file, line } : { file: pf.file };
        }
      }
    }
    return { file: parsed[0]?.file ?? files[0]?.file ?? '' };
  };
  return { raw: acc, locate, files: parsed.map((p) => p.file) };
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** List `sprout.d/*.toml` next to `configPath`, in application order. */
export async function listDropins(
  fs: FileSystem,
  configPath: string,
  diagnostics: Diagnostic[],
  fsId?: string,
): Promise<string[]> {
  const dir = `${dirOf(configPath).replace(/\/$/, '')}/sprout.d`;
  let names: string[];
  try {
    names = (await fs.readdir(dir))
      .filter((d) => d.kind === 'file' && /\.toml$/i.test(d.name) && d.name.length > 5)
      .map((d) => d.name);
  } catch (e) {
    if (!(e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR'))) {
      diagnostics.push(
        diag('warning', SOURCE, `cannot list ${dir}: ${errorMessage(e)}`, { ...(fsId ? { fsId } : {}), file: dir }),
      );
    }
    return [];
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length > DROPIN_LIMITS.files) {
    diagnostics.push(
      diag(
        'error',
        SOURCE,
        `more than ${DROPIN_LIMITS.files} drop-ins; only the first ${DROPIN_LIMITS.files} are used`,
        { ...(fsId ? { fsId } : {}), file: dir },
      ),
    );
    names = names.slice(0, DROPIN_LIMITS.files);
  }
  return names.map((n) => `${dir}/${n}`);
}

/** Read the main config and its drop-ins from `fs` and merge them. */
export async function loadConfig(
  fs: FileSystem,
  configPath: string,
  fsId: string | undefined,
  diagnostics: Diagnostic[],
): Promise<MergedConfig | undefined> {
  const files: SourceFile[] = [];
  for (const path of [configPath, ...(await listDropins(fs, configPath, diagnostics, fsId))]) {
    try {
      files.push({ file: path, text: await readTextLimited(fs, path, DROPIN_LIMITS.bytes) });
    } catch (e) {
      diagnostics.push(
        diag('error', SOURCE, `cannot read: ${errorMessage(e)}`, { ...(fsId ? { fsId } : {}), file: path }),
      );
      if (path === configPath) return undefined;
    }
  }
  return mergeDocuments(files, fsId, diagnostics);
}
