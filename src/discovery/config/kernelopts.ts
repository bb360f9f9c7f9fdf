// Fedora 30-32 / RHEL 8 BLS snippets carry grub variables (`options $kernelopts
// $tuned_params`, `initrd ... $tuned_initrd`) that grub's blscfg expands (docs/bls.md §7.3).
// Values come from grubenv, with grub.cfg's `set default_kernelopts=` as the fallback for
// kernelopts. Passing them literally panics the kernel (u-root#1835), so we expand them.

import { diag, errorMessage, type Diagnostic } from '../diagnostics';
import { FsError, readFileLimited, type FileSystem } from '../fs/types';
import { GRUBENV_MAX_BYTES, parseGrubenv } from './grubenv';
import { MAX_EXPANSION_BYTES } from '../limits';
import { at, type Where } from './lines';

export interface GrubVar {
  readonly value: string;
  /** 'vda:2 /grub2/grubenv' */
  readonly from: string;
}

export type VarLookup = (name: string) => GrubVar | undefined;

export interface Substitution {
  readonly name: string;
  readonly value: string;
  readonly from?: string;
}

export interface Expansion {
  readonly text: string;
  /** One per `$name` replaced, in order (values are shared, not copied). */
  readonly substitutions: Substitution[];
  /** The result would not fit the budget: `text` is cut there and must not be booted. */
  readonly overflow: boolean;
}

/** Characters of expanded text still allowed; shared by every line of a snippet (or a disk). */
export interface ExpansionBudget {
  left: number;
}

/** Longest expansion of one BLS snippet, all lines together (limits.ts). */
export const MAX_EXPANSION = MAX_EXPANSION_BYTES;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]+|^[?#@*]/;

/** True when `text` contains something expandGrubVars would replace. */
export function hasGrubVars(text: string): boolean {
  return text.includes('$') && expandGrubVars(text, () => undefined).substitutions.length > 0;
}

/**
 * Replace `$name` and `${name}` (grub semantics: undefined → empty). `\$` stays a literal
 * '$'. Quotes are not interpreted; BLS values are not grub script. Values are not expanded
 * again, so a value naming itself cannot recurse; repetition is what grows a result, and the
 * whole result (literal text too) is charged to `budget`, which every budget sharing it sees.
 */
export function expandGrubVars(text: string, lookup: VarLookup, ...budgets: readonly ExpansionBudget[]): Expansion {
  const limits = budgets.length > 0 ? budgets : [{ left: MAX_EXPANSION }];
  const substitutions: Substitution[] = [];
  const out: string[] = [];
  let overflow = false;
  /** Append `s` if every budget has room; otherwise append what fits and stop. */
  const emit = (s: string): boolean => {
    const room = Math.min(...limits.map((b) => b.left));
    const take = Math.min(room, s.length);
    if (take > 0) out.push(take === s.length ? s : s.slice(0, take));
    for (const b of limits) b.left -= take;
    if (take < s.length) overflow = true;
    return !overflow;
  };
  let i = 0;
  let lit = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\' && text[i + 1] === '$') {
      if (!emit(text.slice(lit, i) + '$')) break;
      i += 2;
      lit = i;
      continue;
    }
    if (c !== '$') {
      i++;
      continue;
    }
    let name: string | undefined;
    let len = 0;
    if (text[i + 1] === '{') {
      const close = text.indexOf('}', i + 2);
      if (close > i + 2) {
        name = text.slice(i + 2, close);
        len = close + 1 - i;
      }
    } else {
      const m = NAME.exec(text.slice(i + 1, i + 1 + 256));
      if (m) {
        name = m[0];
        len = 1 + m[0].length;
      }
    }
    if (name === undefined) {
      i++;
      continue;
    }
    if (!emit(text.slice(lit, i))) break;
    const v = lookup(name);
    substitutions.push({ name, value: v?.value ?? '', ...(v ? { from: v.from } : {}) });
    if (!emit(v?.value ?? '')) break;
    i += len;
    lit = i;
  }
  if (!overflow && lit < text.length) emit(text.slice(lit));
  return { text: out.join(''), substitutions, overflow };
}

/** A value as a diagnostic quotes it: at most 120 characters, then how long it really is. */
function quoted(value: string): string {
  if (value.length <= 120) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, 120))}… (${value.length} characters)`;
}

/**
 * One info diagnostic per variable substituted on a line (not per use), naming its value
 * (quoted short) and where it came from.
 */
export function substitutionDiagnostics(
  subs: readonly Substitution[],
  where: Where,
  line: number,
  source = 'bls',
): Diagnostic[] {
  const uses = new Map<string, { s: Substitution; n: number }>();
  for (const s of subs) {
    const u = uses.get(s.name);
    if (u) u.n++;
    else uses.set(s.name, { s, n: 1 });
  }
  return [...uses.values()].map(({ s, n }) =>
    diag(
      'info',
      source,
      (s.from !== undefined
        ? `$${s.name} → ${quoted(s.value)} (from ${s.from})`
        : `$${s.name} is not defined anywhere; expanded to nothing (grub semantics)`) +
        (n > 1 ? `; used ${n} times on this line` : ''),
      at(where, line),
    ),
  );
}

/** `set default_kernelopts="..."` in a grub.cfg (the last one wins, as grub runs them in order). */
export function parseDefaultKernelopts(cfg: string): string | undefined {
  const re = /^[ \t]*set[ \t]+default_kernelopts=(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))[ \t]*(?:#.*)?$/gm;
  let found: string | undefined;
  for (let m = re.exec(cfg); m; m = re.exec(cfg)) {
    if (m[1] !== undefined) found = m[1].replace(/\\(.)/g, '$1');
    else found = m[2] ?? m[3] ?? '';
  }
  return found;
}

/** grubenv locations on a /boot or root filesystem (docs/bls.md §7.3, docs/grub-syslinux.md §A8). */
export const GRUBENV_PATHS = ['/grub2/grubenv', '/boot/grub2/grubenv', '/grub/grubenv', '/boot/grub/grubenv'] as const;
export const GRUBCFG_PATHS = [
  '/grub2/grub.cfg',
  '/boot/grub2/grub.cfg',
  '/grub/grub.cfg',
  '/boot/grub/grub.cfg',
] as const;
export const GRUBCFG_MAX_BYTES = 1024 * 1024;

export interface VarFs {
  readonly fs: FileSystem;
  readonly fsId: string;
  /** ESPs also hold `EFI/<vendor>/grubenv` and `EFI/<vendor>/grub.cfg` (older Fedora EFI installs). */
  readonly esp: boolean;
}

export interface LoadedVars {
  readonly lookup: VarLookup;
  readonly diagnostics: Diagnostic[];
  /** The files read, in precedence order ('vda:2 /grub2/grubenv'). */
  readonly files: string[];
}

async function candidatePaths(v: VarFs, names: readonly string[], leaf: string): Promise<string[]> {
  const out = [...names];
  if (v.esp) {
    try {
      const vendors = await v.fs.readdir('/EFI');
      for (const d of vendors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        if (d.kind === 'dir' && d.name.toUpperCase() !== 'BOOT') out.push(`/EFI/${d.name}/${leaf}`);
      }
    } catch {
      // No /EFI: nothing more to look at.
    }
  }
  return out;
}

async function readIfPresent(
  v: VarFs,
  p: string,
  max: number,
  diagnostics: Diagnostic[],
): Promise<Uint8Array | undefined> {
  try {
    return await readFileLimited(v.fs, p, max);
  } catch (e) {
    if (e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return undefined;
    diagnostics.push(diag('warning', 'bls', `cannot read ${p}: ${errorMessage(e)}`, { fsId: v.fsId, file: p }));
    return undefined;
  }
}

/**
 * Collect grub variables from every grubenv on `filesystems` (earlier filesystems and
 * earlier candidate paths take precedence per variable), then fall back to grub.cfg's
 * default_kernelopts for kernelopts.
 */
export async function loadGrubVars(filesystems: readonly VarFs[]): Promise<LoadedVars> {
  const diagnostics: Diagnostic[] = [];
  const vars = new Map<string, GrubVar>();
  const files: string[] = [];
  for (const v of filesystems) {
    for (const p of await candidatePaths(v, GRUBENV_PATHS, 'grubenv')) {
      const bytes = await readIfPresent(v, p, GRUBENV_MAX_BYTES, diagnostics);
      if (!bytes) continue;
      const from = `${v.fsId} ${p}`;
      files.push(from);
      const parsed = parseGrubenv(bytes, { file: p, fsId: v.fsId });
      diagnostics.push(...parsed.diagnostics.filter((d) => d.severity !== 'info'));
      for (const [k, val] of parsed.vars) if (!vars.has(k)) vars.set(k, { value: val, from });
    }
  }
  if (!vars.has('kernelopts')) {
    outer: for (const v of filesystems) {
      for (const p of await candidatePaths(v, GRUBCFG_PATHS, 'grub.cfg')) {
        const bytes = await readIfPresent(v, p, GRUBCFG_MAX_BYTES, diagnostics);
        if (!bytes) continue;
        const dk = parseDefaultKernelopts(new TextDecoder('utf-8').decode(bytes));
        if (dk !== undefined) {
          const from = `${v.fsId} ${p} (default_kernelopts)`;
          files.push(from);
          vars.set('kernelopts', { value: dk, from });
          break outer;
        }
      }
    }
  }
  return { lookup: (name) => vars.get(name), diagnostics, files };
}
