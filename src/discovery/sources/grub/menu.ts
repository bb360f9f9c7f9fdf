// Menus: run each entry body lazily (in a copy of the menu's final environment, as grub does
// when the entry is chosen), flatten submenus into groups, and resolve `default`/`fallback`
// (index, --id, title, or a '>' path through submenus; '>>' is a literal '>') as
// grub-core/normal/menu.c does. An unmatched default means entry 0.

import { entryBytes } from '../../entry-budget';
import type { SourceEntry } from '../../model';
import { buildEntry } from './entries';
import { inspectEfiProgram } from '../../pe/efiapp';
import type { Interp } from './eval';
import { type Exec, type MenuCtx, type MenuDef, Recorder, finalMenu, type SourceFile } from './state';

export interface MenuNode {
  readonly def: MenuDef;
  readonly children?: readonly MenuNode[];
  readonly entry?: SourceEntry;
}

/** Escape a menu path component as grub's default syntax does. */
function esc(s: string): string {
  return s.replace(/>/g, '>>');
}

export interface MenuBuild {
  readonly nodes: MenuNode[];
  readonly entries: SourceEntry[];
}

/** Evaluate every entry of `menu` (and its submenus) into a tree and a flat list. */
export async function buildMenu(it: Interp, top: MenuCtx, root: SourceFile): Promise<MenuBuild> {
  const entries: SourceEntry[] = [];
  const used = new Set<string>();
  let budgetSaid = false;
  const prefix = `grub:${root.loc.refId}:${root.path}:`;

  const walk = async (
    menu: MenuCtx,
    depth: number,
    path: string[],
    groups: string[],
    chosen: string[],
  ): Promise<MenuNode[]> => {
    const nodes: MenuNode[] = [];
    for (const def of menu.defs) {
      const key = esc(def.id ?? def.title);
      if (depth + 1 > it.limits.maxDepth) {
        it.report(
          null,
          'error',
          `limit reached: submenus nested deeper than ${it.limits.maxDepth}; '${def.title.slice(0, 80)}' skipped`,
          def.line,
          def.file,
        );
        nodes.push({ def });
        continue;
      }
      if (def.kind !== 'submenu' && it.entryBytesLeft <= 0) {
        // The disk's entry budget is spent: the body is not even run.
        if (!budgetSaid) {
          budgetSaid = true;
          it.report(
            null,
            'warning',
            `entry '${def.title.slice(0, 80)}' and the rest are not built: this disk already has as many entries as discovery keeps (limits per disk and per run)`,
            def.line,
            def.file,
          );
        }
        nodes.push({ def });
        continue;
      }
      const rec = new Recorder();
      const x: Exec = {
        env: menu.env.clone(),
        menu,
        file: def.file,
        // grub passes the title as $1 and the extra arguments as $2… (menuentry.c)
        params: [def.title, ...def.args],
        rec,
        depth: depth + 1,
        stack: [],
        sig: null,
        status: 0,
      };
      // grub sets `chosen` to the entry's --id (or title), after its submenus' (menu.c).
      x.env.set('chosen', [...chosen, def.id ?? def.title].join('>'), it.limits.maxEnvBytes);
      await it.runTop(x, def.body);
      if (def.kind === 'submenu' || rec.children.length > 0 || rec.nested) {
        const child: MenuCtx = rec.nested ? finalMenu(rec.nested) : { env: x.env, defs: rec.children, file: def.file };
        it.adoptNotes(rec.notes);
        const children = await walk(
          child,
          depth + 1,
          [...path, key],
          [...groups, def.title],
          [...chosen, def.id ?? def.title],
        );
        nodes.push({ def, children });
        continue;
      }
      let id = def.bls ? def.bls.id : prefix + [...path, key].join('>');
      if (used.has(id)) {
        let n = 2;
        while (used.has(`${id}#${n}`)) n++;
        id = `${id}#${n}`;
      }
      used.add(id);
      const built = await buildEntry(
        def,
        rec,
        {
          id,
          hidden: def.kind === 'hiddenentry',
          ...(groups.length ? { group: groups.join('>') } : {}),
        },
        (loc, p) => it.statFile(loc, p),
        it.interner,
        async (loc, p) => {
          const app = await inspectEfiProgram(loc.fs, p, it.ctx.arch);
          return app.ok ? undefined : app.reason;
        },
      );
      if (typeof built === 'string') {
        it.report(null, 'info', `entry '${def.title.slice(0, 80)}' not listed: ${built}`, def.line, def.file);
        it.adoptNotes(rec.notes);
        nodes.push({ def });
        continue;
      }
      entries.push(built);
      it.entryBytesLeft -= entryBytes(built);
      nodes.push({ def, entry: built });
    }
    return nodes;
  };

  const nodes = await walk(top, 0, [], [], []);
  return { nodes, entries };
}

/** Split a default path at single '>' ('>>' stands for a literal '>'). */
export function splitMenuPath(spec: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (c === '>') {
      if (spec[i + 1] === '>') {
        cur += '>';
        i++;
        continue;
      }
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

function firstEntry(node: MenuNode): SourceEntry | undefined {
  if (node.entry) return node.entry;
  for (const c of node.children ?? []) {
    const e = firstEntry(c);
    if (e) return e;
  }
  return undefined;
}

export type DefaultMatch =
  | { readonly kind: 'matched'; readonly entry: SourceEntry | undefined; readonly node: MenuNode }
  | { readonly kind: 'unmatched' };

/** Resolve a grub `default`/`fallback` value against the menu tree. */
export function resolveMenuPath(nodes: readonly MenuNode[], spec: string): DefaultMatch {
  let level = nodes;
  const parts = splitMenuPath(spec.trim());
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    let node: MenuNode | undefined;
    if (/^[0-9]+$/.test(p)) node = level[Number(p)];
    else node = level.find((n) => n.def.title === p || n.def.id === p);
    if (!node) return { kind: 'unmatched' };
    if (i === parts.length - 1 || !node.children) return { kind: 'matched', entry: firstEntry(node), node };
    level = node.children;
  }
  return { kind: 'unmatched' };
}

export function firstListed(nodes: readonly MenuNode[]): SourceEntry | undefined {
  for (const n of nodes) {
    const e = firstEntry(n);
    if (e) return e;
  }
  return undefined;
}
