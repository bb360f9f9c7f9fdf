// The sandboxed GRUB script evaluator. It only reads files through the FileSystem interface
// and never writes: save_env is recorded, loaders are recorded, nothing is executed. Every
// limit (depth, steps, loop iterations, word and command size, environment size, entries)
// ends the current top-level command with a diagnostic naming file, line and limit; the next
// top-level command still runs. The wall-clock budget (src/discovery/budget.ts) is checked at
// every command and loop step; once it is spent the evaluation stops there, once.

import type { Budget } from '../../budget';
import { diag, type Diagnostic, type Severity } from '../../diagnostics';
import { Interner } from '../../entries/intern';
import { FsError, readFileLimited } from '../../fs/types';
import type { SourceContext } from '../context';
import { BUILTINS } from './builtins';
import { type DeviceHook, resolvePath } from './devices';
import type { Cmd, MenuKind, ParsedScript, Word } from './parser';
import { parse } from './parser';
import { parseMenuArgs } from './menuargs';
import { expandGlob } from './glob';
import type { EnvOrigin, GrubHost, ImageOpener, SaveEnvIntent } from './host';
import type { GrubLimits } from './platform';
import {
  type Env,
  type Exec,
  type FsLoc,
  type MenuCtx,
  type MenuDef,
  type Resolved,
  type SourceFile,
  fileKey,
  finalMenu,
} from './state';
import type { FileStat } from '../../fs/types';

export interface GrubOptions {
  readonly limits: GrubLimits;
  /**
   * Opens an ISO 9660 image for `loopback` (an in-process reader). Absent: entries that
   * boot from `(loop)` are listed as not bootable.
   */
  readonly openImage?: ImageOpener;
  /** Device names beyond the discovered disks (network boot's `(tftp)`, `(http,host)`: src/net/grub-net.ts). */
  readonly devices?: DeviceHook;
}

/** Diagnostics kept per entry. */
const MAX_ENTRY_NOTES = 50;

export type ScriptCache = Map<string, ParsedScript | FsError>;

/**
 * Bookkeeping for one evaluated config (one probe location): budgets and diagnostics. The
 * counters are private: commands reach them only through the GrubHost methods.
 */
export class Interp implements GrubHost {
  private steps = 0;
  private loopIterations = 0;
  private entries = 0;
  private readonly hitLimits = new Set<string>();
  private readonly diagnostics: Diagnostic[] = [];
  private dropped = 0;
  /** Which grubenv file each variable was last loaded from (load_env). */
  private readonly origins = new Map<string, EnvOrigin>();
  private readonly intents: SaveEnvIntent[] = [];
  /** Files evaluated as a menu (directly or via configfile) anywhere in this scan. */
  private readonly visited: Set<string>;
  private readonly cache: ScriptCache;
  /** Files and command lines shared by this config's entries (entries/intern.ts). */
  readonly interner = new Interner();
  /** Bytes of entries this config may still build (its disk's budget, entry-budget.ts). */
  entryBytesLeft = Infinity;
  /** Wall-clock budget (from the context; scan.ts may hand entry bodies another). */
  budget: Budget | undefined;
  /** Where the budget ran out, once it has. */
  private outOfTime: { readonly file: SourceFile; readonly line: number } | undefined;

  constructor(
    readonly ctx: SourceContext,
    private readonly opts: GrubOptions,
    visited: Set<string>,
    cache: ScriptCache,
  ) {
    this.visited = visited;
    this.cache = cache;
    this.budget = ctx.budget;
  }

  /** Continue under `budget` (a new share; the next time it runs out is said again). */
  restartBudget(budget: Budget): void {
    this.budget = budget;
    this.outOfTime = undefined;
  }

  /** The budget ran out (and where), or undefined. */
  get stoppedAt(): { readonly file: SourceFile; readonly line: number } | undefined {
    return this.outOfTime;
  }

  get limits(): GrubLimits {
    return this.opts.limits;
  }

  get openImage(): ImageOpener | undefined {
    return this.opts.openImage;
  }

  get devices(): DeviceHook | undefined {
    return this.opts.devices;
  }

  /** Which grubenv file each variable was last loaded from (load_env). */
  get envOrigin(): ReadonlyMap<string, EnvOrigin> {
    return this.origins;
  }

  recordEnvOrigin(name: string, origin: EnvOrigin): void {
    this.origins.set(name, origin);
  }

  /** save_env requests from the config's top level, in order. */
  get saveEnv(): readonly SaveEnvIntent[] {
    return this.intents;
  }

  recordSaveEnv(intent: SaveEnvIntent): void {
    this.intents.push(intent);
  }

  // ------------------------------------------------------------------ diagnostics

  report(x: Exec | null, severity: Severity, message: string, line?: number, file?: SourceFile): void {
    const f = file ?? x?.file;
    const d = diag(severity, 'grub', message, {
      ...(f ? { fsId: f.loc.refId, file: f.path, device: f.loc.report.device } : {}),
      ...(line !== undefined ? { line } : {}),
    });
    if (x?.rec) {
      // Per entry too: a loop in an entry body must not grow one entry's list without bound.
      if (x.rec.notes.length < MAX_ENTRY_NOTES) x.rec.notes.push(d);
      else this.dropped++;
      return;
    }
    this.keep(d);
  }

  /**
   * The notes an entry body recorded, when no listed entry will carry them (a submenu, an
   * entry that is not listed): kept for the config, under the same cap.
   */
  adoptNotes(notes: readonly Diagnostic[]): void {
    for (const d of notes) this.keep(d);
  }

  /** The config's cap: past `maxDiagnostics`, diagnostics are only counted (see finish()). */
  private keep(d: Diagnostic): void {
    if (this.diagnostics.length >= this.limits.maxDiagnostics) {
      this.dropped++;
      return;
    }
    this.diagnostics.push(d);
  }

  /** Summarise diagnostics that did not fit. */
  finish(): Diagnostic[] {
    if (this.dropped > 0) {
      this.diagnostics.push(
        diag('warning', 'grub', `${this.dropped} more diagnostics not shown (limit ${this.limits.maxDiagnostics})`),
      );
    }
    return this.diagnostics;
  }

  /** A limit was hit: diagnose (once per limit and place) and abort this top-level command. */
  private limit(x: Exec, which: string, line: number): void {
    const key = `${which}@${fileKey(x.file)}:${line}`;
    if (!this.hitLimits.has(key) && this.hitLimits.size < 64) {
      this.hitLimits.add(key);
      this.report(x, 'error', `limit reached: ${which}; evaluation of this command stopped`, line);
    }
    x.sig = { kind: 'abort' };
  }

  // ------------------------------------------------------------------ variables

  getVar(x: Exec, name: string): string {
    if (/^[0-9]+$/.test(name)) {
      const i = Number(name);
      return i >= 1 && i <= x.params.length ? x.params[i - 1]! : '';
    }
    switch (name) {
      case '#':
        return String(x.params.length);
      case '*':
      case '@':
        return x.params.join(' ');
      case '?':
        return String(x.status);
    }
    return x.env.get(name) ?? '';
  }

  setVar(x: Exec, name: string, value: string, line: number): boolean {
    if (value.length > this.limits.maxWordBytes) {
      this.limit(x, `value of ${name} longer than ${this.limits.maxWordBytes} bytes`, line);
      return false;
    }
    if (!x.env.set(name, value, this.limits.maxEnvBytes)) {
      this.limit(x, `variables larger than ${this.limits.maxEnvBytes} bytes in total`, line);
      return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ expansion

  /** Expand words into fields: quoted text stays whole, unquoted $var splits on blanks. */
  expand(x: Exec, words: readonly Word[], line: number, globs?: boolean[]): string[] | null {
    const out: string[] = [];
    const max = this.limits.maxWordBytes;
    // All fields together: `$big $big …` repeats a value thousands of times.
    const maxTotal = this.limits.maxCommandBytes;
    let total = 0;
    for (const w of words) {
      let cur: string | null = null;
      const push = (): void => {
        if (cur !== null) {
          out.push(cur);
          total += cur.length + 1;
          globs?.push(w.glob);
        }
        cur = null;
      };
      for (const p of w.parts) {
        if (p.kind === 'lit') {
          cur = (cur ?? '') + p.v;
        } else if (p.quoted) {
          if (p.name === '@' && x.params.length > 0) {
            x.params.forEach((v, i) => {
              if (i > 0) push();
              cur = (cur ?? '') + v;
            });
          } else if (p.name !== '@' || cur !== null) {
            cur = (cur ?? '') + this.getVar(x, p.name);
          } else {
            // "$@" with no parameters is no word at all, as in sh.
          }
        } else {
          const v = this.getVar(x, p.name);
          if (v === '') continue;
          const fields = v.split(/[ \t\n]+/);
          // A leading blank ends the word before; a trailing blank ends this one.
          fields.forEach((f, i) => {
            if (i > 0) push();
            if (f !== '') cur = (cur ?? '') + f;
          });
          if (fields[fields.length - 1] === '') push();
        }
        if (cur !== null && cur.length > max) {
          this.limit(x, `word longer than ${max} bytes after expansion`, line);
          return null;
        }
        if (total + (cur?.length ?? 0) > maxTotal) {
          this.limit(x, `command longer than ${maxTotal} bytes after expansion`, line);
          return null;
        }
      }
      push();
    }
    return out;
  }

  /** expand(), then grub's wildcard expansion of words with unquoted * ? [ (from index `from`). */
  async expandArgs(x: Exec, words: readonly Word[], line: number, from = 0): Promise<string[] | null> {
    const globs: boolean[] = [];
    const fields = this.expand(x, words, line, globs);
    if (!fields || !globs.some(Boolean)) return fields;
    const out: string[] = [];
    for (let i = 0; i < fields.length; i++) {
      if (i >= from && globs[i]) out.push(...(await expandGlob(this, x, fields[i]!, line)));
      else out.push(fields[i]!);
    }
    return out;
  }

  // ------------------------------------------------------------------ execution

  /** False (and the evaluation stops, said once) when the wall-clock budget is spent. */
  private inTime(x: Exec, line: number): boolean {
    if (!this.budget?.expired) return true;
    if (!this.outOfTime) {
      this.outOfTime = { file: x.file, line };
      const b = this.budget.spent();
      const f = x.file;
      // Past the per-config cap too: this one says why the rest is missing.
      this.diagnostics.push(
        diag(
          'error',
          'grub',
          `evaluation stopped here after ${b.ms} ms, the time budget of the ${b.what}; what was evaluated before is kept`,
          { fsId: f.loc.refId, file: f.path, device: f.loc.report.device, line },
        ),
      );
    }
    x.sig = { kind: 'abort' };
    return false;
  }

  private step(x: Exec, line: number): boolean {
    if (!this.inTime(x, line)) return false;
    if (++this.steps > this.limits.maxSteps) {
      this.limit(x, `more than ${this.limits.maxSteps} commands executed for this config`, line);
      return false;
    }
    return true;
  }

  private loopTick(x: Exec, line: number): boolean {
    if (!this.inTime(x, line)) return false;
    if (++this.loopIterations > this.limits.maxLoopIterations) {
      this.limit(x, `more than ${this.limits.maxLoopIterations} loop iterations for this config`, line);
      return false;
    }
    return true;
  }

  /** Run top-level commands of a file or body: an aborted command does not stop the next. */
  async runTop(x: Exec, cmds: readonly Cmd[]): Promise<void> {
    for (const c of cmds) {
      await this.run(x, c);
      if (x.sig?.kind === 'abort' && this.budget?.expired) return;
      if (x.sig?.kind === 'abort') {
        x.sig = null;
        x.status = 1;
        continue;
      }
      if (x.sig) return;
    }
  }

  async runList(x: Exec, cmds: readonly Cmd[]): Promise<void> {
    for (const c of cmds) {
      await this.run(x, c);
      if (x.sig) return;
    }
  }

  async run(x: Exec, c: Cmd): Promise<void> {
    if (!this.step(x, c.line)) return;
    switch (c.kind) {
      case 'simple':
        x.status = await this.simple(x, c.words, c.line);
        return;
      case 'block':
        return this.runList(x, c.body);
      case 'not':
        await this.run(x, c.cmd);
        x.status = x.status === 0 ? 1 : 0;
        return;
      case 'if': {
        for (const cl of c.clauses) {
          await this.runList(x, cl.cond);
          if (x.sig) return;
          if (x.status === 0) return this.runList(x, cl.body);
        }
        if (c.otherwise) return this.runList(x, c.otherwise);
        x.status = 0;
        return;
      }
      case 'for': {
        const items = await this.expandArgs(x, c.items, c.line);
        if (!items) return;
        x.status = 0;
        for (const item of items) {
          if (!this.loopTick(x, c.line)) return;
          if (!this.setVar(x, c.name, item, c.line)) return;
          await this.runList(x, c.body);
          if (this.loopSignal(x)) return;
        }
        return;
      }
      case 'while': {
        x.status = 0;
        for (;;) {
          if (!this.loopTick(x, c.line)) return;
          await this.runList(x, c.cond);
          if (x.sig) return;
          if ((x.status === 0) === c.until) break;
          await this.runList(x, c.body);
          if (this.loopSignal(x)) return;
        }
        x.status = 0;
        return;
      }
      case 'function':
        x.env.funcs.set(c.name, { name: c.name, body: c.body, file: x.file, line: c.line });
        x.status = 0;
        return;
      case 'menu':
        x.status = await this.defineMenu(x, c.menuKind, c.args, c.body, c.line);
        return;
    }
  }

  /** After a loop body: true when the loop must stop (break, or a signal for an outer level). */
  private loopSignal(x: Exec): boolean {
    const s = x.sig;
    if (!s) return false;
    if (s.kind === 'break') {
      x.sig = s.n > 1 ? { kind: 'break', n: s.n - 1 } : null;
      return true;
    }
    if (s.kind === 'continue') {
      if (s.n > 1) {
        x.sig = { kind: 'continue', n: s.n - 1 };
        return true;
      }
      x.sig = null;
      return false;
    }
    return true;
  }

  private async simple(x: Exec, words: readonly Word[], line: number): Promise<number> {
    const argv = await this.expandArgs(x, words, line, 1);
    if (!argv) return 1;
    if (argv.length === 0) return 0;
    const name = argv[0]!;
    const b = BUILTINS.get(name);
    if (b && !b.soft) return b.run(this, x, argv, line);
    const fn = x.env.funcs.get(name);
    if (fn) return this.callFunction(x, fn.body, fn.file, argv.slice(1), line, name);
    if (b) return b.run(this, x, argv, line);
    const eq = name.indexOf('=');
    if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name.slice(0, eq))) {
      // grub accepts `name=value` as an assignment (00_header writes menuentry_id_option=...).
      return this.setVar(x, name.slice(0, eq), name.slice(eq + 1), line) ? 0 : 1;
    }
    this.report(x, 'warning', `unknown command '${name.slice(0, 60)}' (ignored, status 1)`, line);
    return 1;
  }

  async callFunction(
    x: Exec,
    body: readonly Cmd[],
    file: SourceFile,
    params: string[],
    line: number,
    name: string,
  ): Promise<number> {
    if (x.depth + 1 > this.limits.maxDepth) {
      this.limit(x, `nesting deeper than ${this.limits.maxDepth} (calling function ${name})`, line);
      return 1;
    }
    const fx: Exec = { ...x, file, params, depth: x.depth + 1, sig: null, status: 0 };
    await this.runList(fx, body);
    x.env = fx.env;
    if (fx.sig?.kind === 'abort' || fx.sig?.kind === 'exit') x.sig = fx.sig;
    return fx.status;
  }

  /** `eval`: parse text as script and run it here (counts as one nesting level). */
  async evalString(x: Exec, text: string, line: number): Promise<number> {
    if (x.depth + 1 > this.limits.maxDepth) {
      this.limit(x, `nesting deeper than ${this.limits.maxDepth} (eval)`, line);
      return 1;
    }
    const script = parse(text, line);
    for (const e of script.errors) this.report(x, 'error', `eval: parse error: ${e.message}`, line);
    if (script.errors.length) return 1;
    const ex: Exec = { ...x, depth: x.depth + 1, sig: null, status: 0 };
    await this.runList(ex, script.cmds);
    x.env = ex.env;
    x.params = ex.params;
    if (ex.sig) x.sig = ex.sig;
    return ex.status;
  }

  // ------------------------------------------------------------------ menus

  private async defineMenu(
    x: Exec,
    kind: MenuKind,
    argWords: readonly Word[],
    body: readonly Cmd[],
    line: number,
  ): Promise<number> {
    const argv = this.expand(x, argWords, line);
    if (!argv) return 1;
    const { menu, warnings } = parseMenuArgs(kind, argv);
    for (const w of warnings) this.report(x, menu ? 'warning' : 'error', w, line);
    if (!menu) return 1;
    if (!this.countEntry(x, line)) return 1;
    this.addDef(x, { kind, ...menu, body, file: x.file, line });
    return 0;
  }

  countEntry(x: Exec, line: number): boolean {
    if (++this.entries > this.limits.maxEntries) {
      this.limit(x, `more than ${this.limits.maxEntries} menu entries`, line);
      return false;
    }
    return true;
  }

  addDef(x: Exec, def: MenuDef): void {
    if (x.rec) x.rec.children.push(def);
    else x.menu.defs.push(def);
  }

  // ------------------------------------------------------------------ files

  resolve(x: Exec, spec: string): Resolved {
    return resolvePath(this.ctx, x.env, x.file, spec, this.opts.devices);
  }

  private readonly stats = new Map<string, Promise<FileStat | FsError>>();

  /** stat through a per-config cache: many entries name the same kernel; files do not change mid-scan. */
  statFile(loc: FsLoc, path: string): Promise<FileStat | FsError> {
    const key = `${loc.refId}:${path}`;
    let p = this.stats.get(key);
    if (!p) {
      p = loc.fs.stat(path).catch((e: unknown) => {
        if (e instanceof FsError) return e;
        throw e;
      });
      if (this.stats.size < 10_000) this.stats.set(key, p);
    }
    return p;
  }

  async readBytes(loc: FsLoc, path: string, max: number): Promise<Uint8Array> {
    return readFileLimited(loc.fs, path, max);
  }

  /** Read and parse a script once per scan; parse errors are reported at each load. */
  async load(x: Exec, file: SourceFile, line?: number): Promise<ParsedScript | null> {
    const key = fileKey(file);
    let got = this.cache.get(key);
    if (got === undefined) {
      try {
        const bytes = await readFileLimited(file.loc.fs, file.path, this.limits.maxFileBytes);
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          text = new TextDecoder('latin1').decode(bytes);
          this.report(x, 'warning', 'not valid UTF-8; read as Latin-1', undefined, file);
        }
        got = parse(text);
      } catch (e) {
        if (!(e instanceof FsError)) throw e;
        got = e;
      }
      this.cache.set(key, got);
      if (!(got instanceof FsError)) {
        for (const err of got.errors) this.report(null, 'error', `parse error: ${err.message}`, err.line, file);
      }
    }
    if (got instanceof FsError) {
      this.report(
        x,
        'error',
        `cannot read ${file.path}: ${got.code}${got.message.includes('(') ? ' ' + got.message.slice(got.message.indexOf('(')) : ''}`,
        line,
      );
      return null;
    }
    return got;
  }

  /** `source FILE`: same context, same menu. */
  async source(x: Exec, file: SourceFile, line: number): Promise<number> {
    const key = fileKey(file);
    if (x.depth + 1 > this.limits.maxDepth) {
      this.limit(x, `nesting deeper than ${this.limits.maxDepth} (source ${file.path})`, line);
      return 1;
    }
    if (x.stack.includes(key)) {
      this.report(x, 'error', `include loop: ${[...x.stack, key].join(' → ')}; not sourced again`, line);
      return 1;
    }
    const script = await this.load(x, file, line);
    if (!script) return 1;
    const sx: Exec = { ...x, file, depth: x.depth + 1, stack: [...x.stack, key], sig: null, status: 0 };
    await this.runTop(sx, script.cmds);
    x.env = sx.env;
    if (sx.sig?.kind === 'exit') x.sig = sx.sig;
    return sx.status;
  }

  /**
   * `configfile FILE`: a new menu whose environment starts as a copy of this one. A non-empty
   * menu replaces the current one (grub shows it and never returns); an empty one is dropped.
   */
  async configfile(x: Exec, file: SourceFile, line: number): Promise<number> {
    const key = fileKey(file);
    if (x.depth + 1 > this.limits.maxDepth) {
      this.limit(x, `nesting deeper than ${this.limits.maxDepth} (configfile ${file.path})`, line);
      return 1;
    }
    if (x.stack.includes(key)) {
      this.report(x, 'error', `include loop: ${[...x.stack, key].join(' → ')}; configfile ignored`, line);
      return 1;
    }
    if (this.visited.has(key)) {
      this.report(
        x,
        'info',
        `configfile ${file.path}: already evaluated in this scan; its entries are listed once`,
        line,
      );
      x.sig = { kind: 'exit' };
      return 0;
    }
    const nested = await this.evalMenuFile(file, x.env.clone(), x.depth + 1, x.stack, x, line);
    if (!nested) return 1;
    const fin = finalMenu(nested);
    if (fin.defs.length === 0) return 0;
    if (x.rec) x.rec.nested = nested;
    else x.menu.replacedBy = nested;
    x.sig = { kind: 'exit' };
    return 0;
  }

  /** Evaluate a file as the top level of a new menu. */
  async evalMenuFile(
    file: SourceFile,
    env: Env,
    depth: number,
    stack: readonly string[],
    from: Exec | null,
    line?: number,
  ): Promise<MenuCtx | null> {
    const key = fileKey(file);
    const script = await this.load(from ?? this.bareExec(file, env), file, line);
    if (!script) return null;
    this.visited.add(key);
    const menu: MenuCtx = { env, defs: [], file };
    const x: Exec = {
      env,
      menu,
      file,
      params: [],
      rec: null,
      depth,
      stack: [...stack, key],
      sig: null,
      status: 0,
    };
    await this.runTop(x, script.cmds);
    return menu;
  }

  bareExec(file: SourceFile, env: Env): Exec {
    return {
      env,
      menu: { env, defs: [], file },
      file,
      params: [],
      rec: null,
      depth: 0,
      stack: [],
      sig: null,
      status: 0,
    };
  }
}
