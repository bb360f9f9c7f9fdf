// SYSLINUX/EXTLINUX/ISOLINUX config parser (docs/grub-syslinux.md §B). It only records what
// the files say; index.ts turns labels into entries. Keywords are case-insensitive,
// INCLUDE is textual (async: included files are read through the caller's reader), CONFIG
// restarts with another file. Limits: include depth, file count, line count, labels,
// restarts, so a loop or a giant file ends in a diagnostic.

import { diag, type Diagnostic } from '../../diagnostics';
import { dirname, joinPath } from '../../fs/types';

export const LIMITS = {
  includeDepth: 16,
  files: 64,
  lines: 100_000,
  labels: 4096,
  restarts: 8,
  lineLength: 4096,
} as const;

export interface Where {
  readonly file: string;
  readonly line: number;
}

export interface KernelDirective extends Where {
  /** Lower-cased directive: 'kernel', 'linux', 'com32', 'boot', 'bss', 'pxe', 'fdimage', 'comboot', 'config'. */
  readonly keyword: string;
  readonly path: string;
  /** Words after the file name on the KERNEL line (prepended to the command line). */
  readonly extra: string;
}

export interface Label extends Where {
  readonly name: string;
  menuLabel?: string;
  menuDefault: boolean;
  hidden: boolean;
  kernel?: KernelDirective;
  initrd?: { readonly files: string[] } & Where;
  /** undefined: no APPEND in the label (the global one applies); '' after `APPEND -`. */
  append?: string;
  fdt?: { readonly path: string } & Where;
  fdtdir?: { readonly path: string } & Where;
  overlays?: { readonly paths: string[] } & Where;
  localboot?: Where;
  /** IPAPPEND / SYSAPPEND bits (PXELINUX: what network facts go on the command line). */
  ipappend?: { readonly bits: number } & Where;
  /** `MENU EXIT` / `MENU GOTO` inside the label: a menu navigation item, not a boot entry. */
  navigation?: boolean;
  /** Titles of the enclosing MENU BEGIN submenus, outermost first, joined by '>'. */
  group?: string;
}

export interface ParsedConfig {
  /** The file the parse started from (after CONFIG restarts: the last one). */
  readonly mainFile: string;
  /** Working directory: relative paths resolve here. */
  readonly cwd: string;
  readonly labels: Label[];
  default?: { readonly value: string } & Where;
  ontimeout?: { readonly value: string } & Where;
  timeout?: { readonly tenths: number } & Where;
  ui?: { readonly value: string } & Where;
  /** Global APPEND (applies to labels without their own); '' after `APPEND -`. */
  globalAppend?: string;
  /** Global IPAPPEND / SYSAPPEND bits (labels without their own use them). */
  ipappend?: { readonly bits: number } & Where;
  /** PXELINUX `PROXY` (the HTTP proxy for the files it names). */
  proxy?: { readonly value: string } & Where;
  readonly diagnostics: Diagnostic[];
}

export type ReadResult = { readonly text: string } | { readonly error: string; readonly missing: boolean };
export type ConfigReader = (path: string) => Promise<ReadResult>;

// Directives that change nothing for us (cosmetic, keyboard, PXE-only, prompts).
const IGNORED = new Set([
  'prompt',
  'totaltimeout',
  'noescape',
  'nocomplete',
  'allowoptions',
  'onerror',
  'say',
  'display',
  'font',
  'kbdmap',
  'serial',
  'console',
  'implicit',
  'path',
  'f1',
  'f2',
  'f3',
  'f4',
  'f5',
  'f6',
  'f7',
  'f8',
  'f9',
  'f10',
  'f11',
  'f12',
  'nohalt',
  'nerfdefault',
  'ldlinux',
  'localboot0',
]);
const IGNORED_MENU = new Set([
  'separator',
  'color',
  'background',
  'width',
  'margin',
  'rows',
  'tabmsgrow',
  'cmdlinerow',
  'endrow',
  'passwordrow',
  'timeoutrow',
  'helpmsgrow',
  'helpmsgendrow',
  'hshift',
  'vshift',
  'resolution',
  'master',
  'passwd',
  'tabmsg',
  'autoboot',
  'notabmsg',
  'passprompt',
  'timeout',
  'vesa',
  'msgcolor',
  'quit',
  'start',
  'immediate',
  'disable',
  'save',
  'nosave',
  'shiftkey',
  'hiddenrow',
  'clear',
  'help',
  'qualifier',
  'indent',
  'hidden',
]);
const KERNEL_KEYWORDS = new Set(['kernel', 'linux', 'com32', 'boot', 'bss', 'pxe', 'fdimage', 'comboot']);

/** Thrown to unwind to the top level when CONFIG restarts parsing with another file. */
class Restart extends Error {
  constructor(
    readonly file: string,
    readonly dir: string | undefined,
    readonly where: Where,
  ) {
    super(`CONFIG ${file}`);
  }
}

interface State {
  cfg: ParsedConfig;
  cur?: Label | undefined;
  files: number;
  lines: number;
  stack: string[];
  reader: ConfigReader;
  inText: boolean;
  stopped: boolean;
  /** Open MENU BEGIN blocks: tag name and display text (MENU LABEL > tag > MENU TITLE). */
  menus: { tag: string; title?: string }[];
}

function splitWord(s: string): [string, string] {
  const m = /^(\S+)\s*(.*)$/s.exec(s);
  return m ? [m[1]!, m[2]!.trim()] : ['', ''];
}

/** Parse `path` and everything it includes. Never throws for bad input. */
export async function parseSyslinux(
  path: string,
  reader: ConfigReader,
  source = 'syslinux',
  /** Where relative names resolve (PXELINUX: the path prefix, not the config's directory). */
  startCwd?: string,
): Promise<ParsedConfig> {
  const diagnostics: Diagnostic[] = [];
  let file = path;
  let cwd = startCwd ?? dirname(path);
  for (let restart = 0; ; restart++) {
    const cfg: ParsedConfig = { mainFile: file, cwd, labels: [], diagnostics };
    const st: State = { cfg, files: 0, lines: 0, stack: [], reader, inText: false, stopped: false, menus: [] };
    try {
      await parseOne(st, file, 0, source, undefined);
      return cfg;
    } catch (e) {
      if (!(e instanceof Restart)) throw e;
      if (restart + 1 >= LIMITS.restarts) {
        diagnostics.push(
          diag('error', source, `CONFIG restarted more than ${LIMITS.restarts} times; stopped`, e.where),
        );
        return cfg;
      }
      diagnostics.push(diag('info', source, `CONFIG: restarting with ${e.file}`, e.where));
      file = e.file;
      cwd = e.dir ?? dirname(e.file);
    }
  }
}

async function parseOne(
  st: State,
  file: string,
  depth: number,
  source: string,
  from: Where | undefined,
): Promise<void> {
  const d = st.cfg.diagnostics;
  if (st.stack.includes(file)) {
    d.push(diag('warning', source, `include loop: ${file} is already being read; skipped`, from ?? {}));
    return;
  }
  if (depth > LIMITS.includeDepth) {
    d.push(diag('error', source, `include depth limit ${LIMITS.includeDepth} reached at ${file}`, from ?? {}));
    return;
  }
  if (++st.files > LIMITS.files) {
    d.push(diag('error', source, `more than ${LIMITS.files} config files; ${file} skipped`, from ?? {}));
    return;
  }
  const r = await st.reader(file);
  if ('error' in r) {
    if (from && r.missing) d.push(diag('info', source, `included file ${file} not found; ignored`, from));
    else d.push(diag(from ? 'warning' : 'error', source, `cannot read ${file}: ${r.error}`, from ?? { file }));
    return;
  }
  st.stack.push(file);
  try {
    const lines = r.text.split('\n');
    for (let i = 0; i < lines.length && !st.stopped; i++) {
      if (++st.lines > LIMITS.lines) {
        d.push(diag('error', source, `more than ${LIMITS.lines} config lines; rest ignored`, { file, line: i + 1 }));
        st.stopped = true;
        return;
      }
      let text = lines[i]!.replace(/\r$/, '');
      if (text.length > LIMITS.lineLength) {
        d.push(
          diag('warning', source, `line longer than ${LIMITS.lineLength} characters; truncated`, { file, line: i + 1 }),
        );
        text = text.slice(0, LIMITS.lineLength);
      }
      await directive(st, text.trim(), { file, line: i + 1 }, depth, source);
    }
  } finally {
    st.stack.pop();
  }
}

async function directive(st: State, text: string, at: Where, depth: number, source: string): Promise<void> {
  const cfg = st.cfg;
  const d = cfg.diagnostics;
  if (st.inText) {
    if (/^endtext$/i.test(text)) st.inText = false;
    return;
  }
  if (text === '' || text.startsWith('#')) return;
  const [kw0, args] = splitWord(text);
  const kw = kw0.toLowerCase();
  const cur = st.cur;
  const needLabel = (what: string): Label | undefined => {
    if (!cur) d.push(diag('warning', source, `${what} outside a LABEL; ignored`, at));
    return cur;
  };
  const resolve = (p: string): string | undefined => {
    try {
      return joinPath(cfg.cwd, p);
    } catch (e) {
      d.push(diag('error', source, `bad path ${JSON.stringify(p)}: ${(e as Error).message}`, at));
      return undefined;
    }
  };
  switch (kw) {
    case 'label': {
      if (!args) {
        d.push(diag('warning', source, 'LABEL without a name; ignored', at));
        return;
      }
      if (cfg.labels.length >= LIMITS.labels) {
        d.push(diag('error', source, `more than ${LIMITS.labels} labels; rest ignored`, at));
        st.stopped = true;
        return;
      }
      st.cur = { name: args, ...at, menuDefault: false, hidden: false };
      if (st.menus.length) st.cur.group = st.menus.map((m) => m.title ?? m.tag).join('>');
      cfg.labels.push(st.cur);
      return;
    }
    case 'default':
      cfg.default = { value: args, ...at };
      return;
    case 'ontimeout':
      cfg.ontimeout = { value: args, ...at };
      return;
    case 'ui':
      cfg.ui = { value: args, ...at };
      return;
    case 'timeout': {
      const n = /^\d+$/.test(args) ? Number(args) : NaN;
      if (!Number.isSafeInteger(n))
        d.push(diag('warning', source, `TIMEOUT ${JSON.stringify(args)} is not a number; ignored`, at));
      else cfg.timeout = { tenths: Math.min(n, 35996), ...at };
      return;
    }
    case 'append': {
      const v = args === '-' ? '' : args;
      if (cur) cur.append = v;
      else cfg.globalAppend = v;
      return;
    }
    case 'initrd': {
      const l = needLabel('INITRD');
      if (l)
        l.initrd = {
          files: args
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          ...at,
        };
      return;
    }
    case 'fdt':
    case 'devicetree': {
      const l = needLabel(kw.toUpperCase());
      if (l && args) l.fdt = { path: splitWord(args)[0], ...at };
      return;
    }
    case 'fdtdir': {
      const l = needLabel('FDTDIR');
      if (l && args) l.fdtdir = { path: splitWord(args)[0], ...at };
      return;
    }
    case 'fdtoverlays': {
      const l = needLabel('FDTOVERLAYS');
      if (l) l.overlays = { paths: args.split(/\s+/).filter(Boolean), ...at };
      return;
    }
    case 'localboot': {
      const l = needLabel('LOCALBOOT');
      if (l) l.localboot = at;
      return;
    }
    case 'ipappend':
    case 'sysappend': {
      const bits = Number(args.split(/\s+/)[0]);
      if (!Number.isSafeInteger(bits) || bits < 0) {
        d.push(diag('warning', source, `${kw.toUpperCase()} ${JSON.stringify(args)} is not a number; ignored`, at));
        return;
      }
      // SYSAPPEND bits add to IPAPPEND's (PXELINUX: both OR into one mask).
      const old = (cur ? cur.ipappend : cfg.ipappend)?.bits ?? 0;
      const v = { bits: kw === 'sysappend' ? old | bits : bits, ...at };
      if (cur) cur.ipappend = v;
      else cfg.ipappend = v;
      return;
    }
    case 'proxy':
      cfg.proxy = { value: args, ...at };
      return;
    case 'include': {
      const [f] = splitWord(args);
      const p = f ? resolve(f) : undefined;
      if (p) await parseOne(st, p, depth + 1, source, at);
      return;
    }
    case 'config': {
      const [f, rest] = splitWord(args);
      const p = f ? resolve(f) : undefined;
      if (!p) return;
      if (cur) {
        cur.kernel = { keyword: 'config', path: p, extra: '', ...at };
        return;
      }
      const dir = rest ? resolve(splitWord(rest)[0]) : undefined;
      throw new Restart(p, dir, at);
    }
    case 'text':
      st.inText = true;
      return;
    case 'menu':
      return menuDirective(st, args, at, depth, source);
  }
  if (KERNEL_KEYWORDS.has(kw)) {
    const l = needLabel(kw.toUpperCase());
    const [f, extra] = splitWord(args);
    if (l && f) l.kernel = { keyword: kw, path: f, extra, ...at };
    else if (l) d.push(diag('warning', source, `${kw.toUpperCase()} without a file`, at));
    return;
  }
  if (IGNORED.has(kw)) return;
  d.push(diag('info', source, `unknown directive ${JSON.stringify(kw0)} ignored`, at));
}

async function menuDirective(st: State, text: string, at: Where, depth: number, source: string): Promise<void> {
  const [sub0, args] = splitWord(text);
  const sub = sub0.toLowerCase();
  const cur = st.cur;
  const d = st.cfg.diagnostics;
  switch (sub) {
    case 'label':
      if (cur) cur.menuLabel = args.replace(/\^/g, '');
      else if (st.menus.length) st.menus[st.menus.length - 1]!.title = args.replace(/\^/g, '');
      else d.push(diag('warning', source, 'MENU LABEL outside a LABEL; ignored', at));
      return;
    case 'title':
      if (!cur && st.menus.length) st.menus[st.menus.length - 1]!.title ??= args;
      return;
    case 'begin':
      st.cur = undefined;
      // The tag doubles as the parent menu's text (Fedora writes `MENU BEGIN ^Troubleshooting`).
      st.menus.push(args ? { tag: args, title: args.replace(/\^/g, '') } : { tag: 'submenu' });
      return;
    case 'end':
      st.cur = undefined;
      st.menus.pop();
      return;
    case 'default':
      if (cur) cur.menuDefault = true;
      else d.push(diag('warning', source, 'MENU DEFAULT outside a LABEL; ignored', at));
      return;
    case 'hide':
      if (cur) cur.hidden = true;
      return;
    case 'exit':
    case 'goto':
      if (cur) cur.navigation = true;
      return;
    case 'include': {
      const [f] = splitWord(args);
      if (!f) return;
      let p: string;
      try {
        p = joinPath(st.cfg.cwd, f);
      } catch (e) {
        d.push(diag('error', source, `bad path ${JSON.stringify(f)}: ${(e as Error).message}`, at));
        return;
      }
      await parseOne(st, p, depth + 1, source, at);
      return;
    }
  }
  if (IGNORED_MENU.has(sub) || sub === '') return;
  d.push(diag('info', source, `unknown directive "MENU ${sub0}" ignored`, at));
}
