// The state one scan shares between its configs, in probe order: files already evaluated as
// a menu (a later `configfile` of one only notes it) and scripts already parsed (parse
// errors are reported once). A config evaluation sees it through a view that remembers
// every question asked of what earlier configs left, so live discovery can tell whether a
// remembered evaluation would still run the same at its place in a later scan. Only small
// scripts are shared: a parsed script costs about a hundred times its text, and six copies
// of a dense 1 MiB grub.cfg kept for the whole scan (and live discovery's memory) would cost
// close to a gigabyte; a large one is parsed again by a config that needs it.

import type { FsError } from '../../fs/types';
import type { ScriptCache } from './eval';
import type { Cmd, ParsedScript } from './parser';

type Script = ParsedScript | FsError;

export interface ScanState {
  readonly visited: Set<string>;
  readonly cache: ScriptCache;
}

export function newScanState(): ScanState {
  return { visited: new Set(), cache: new Map() };
}

/** What one evaluation asked of the state before it, and what it added. */
export interface StateUse {
  readonly askedVisited: ReadonlyMap<string, boolean>;
  readonly askedCache: ReadonlyMap<string, boolean>;
  readonly added: readonly string[];
  readonly parsed: ReadonlyMap<string, Script>;
}

/** The evaluator uses `has`/`add` only: this evaluation's additions over `before`. */
class VisitedView extends Set<string> {
  readonly asked = new Map<string, boolean>();
  constructor(private readonly before: ReadonlySet<string>) {
    super();
  }

  override has(key: string): boolean {
    if (super.has(key)) return true;
    const was = this.before.has(key);
    if (!this.asked.has(key)) this.asked.set(key, was);
    return was;
  }
}

/** The evaluator uses `get`/`set` only: this evaluation's parses over `before`. */
class CacheView extends Map<string, Script> {
  readonly asked = new Map<string, boolean>();
  constructor(private readonly before: ReadonlyMap<string, Script>) {
    super();
  }

  override get(key: string): Script | undefined {
    const own = super.get(key);
    if (own !== undefined) return own;
    const was = this.before.get(key);
    if (!this.asked.has(key)) this.asked.set(key, was !== undefined);
    return was;
  }
}

/** Commands a parsed script may have and still be shared between configs. */
export const MAX_SHARED_COMMANDS = 20_000;

/** Does the script have at most `MAX_SHARED_COMMANDS` commands (counting nested ones)? */
export function isSmall(script: ParsedScript): boolean {
  let n = 0;
  const stack: (readonly Cmd[])[] = [script.cmds];
  for (let list = stack.pop(); list; list = stack.pop()) {
    n += list.length;
    if (n > MAX_SHARED_COMMANDS) return false;
    for (const c of list) {
      switch (c.kind) {
        case 'if':
          for (const cl of c.clauses) stack.push(cl.cond, cl.body);
          if (c.otherwise) stack.push(c.otherwise);
          break;
        case 'for':
        case 'while':
        case 'function':
        case 'menu':
        case 'block':
          stack.push(c.body);
          if (c.kind === 'while') stack.push(c.cond);
          break;
        case 'not':
          stack.push([c.cmd]);
          break;
        case 'simple':
          break;
      }
    }
  }
  return true;
}

/** A view of `state` for one evaluation; `use()` once it is done. */
export function viewOf(state: ScanState): { readonly view: ScanState; readonly use: () => StateUse } {
  const visited = new VisitedView(state.visited);
  const cache = new CacheView(state.cache);
  return {
    view: { visited, cache },
    use: () => ({
      askedVisited: visited.asked,
      askedCache: cache.asked,
      added: [...visited],
      parsed: new Map([...cache].filter(([, v]) => !('cmds' in v) || isSmall(v))),
    }),
  };
}

/** Would the evaluation get the same answers from `state`? */
export function sameAnswers(use: StateUse, state: ScanState): boolean {
  for (const [k, v] of use.askedVisited) if (state.visited.has(k) !== v) return false;
  for (const [k, v] of use.askedCache) if (state.cache.has(k) !== v) return false;
  return true;
}

/** Add what the evaluation added, as if it had run on `state` itself. */
export function applyUse(use: StateUse, state: ScanState): void {
  for (const k of use.added) state.visited.add(k);
  for (const [k, v] of use.parsed) state.cache.set(k, v);
}
