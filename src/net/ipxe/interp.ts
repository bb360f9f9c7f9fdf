// The iPXE interpreter (docs/net-bootfiles.md §4): runs a script unattended and says what it
// boots. Commands run as iPXE runs them: `${}` expanded as each command runs, `&&`/`||`/`;` by
// the previous return code, a failing line ends the script. A `choose` takes its answer from
// `choices`; with none left it stops and reports the menu, so the caller can run once per item
// (docs/net-bootfiles.md §4.4).
// Everything is bounded: steps, chain depth, images, menu items; a limit is an IpxeError.

import { classifyBootFile } from '../classify';
import { type UrlPolicy, resolveUrl, urlBasename } from '../url';
import { NetError } from '../types';
import {
  SettingError,
  SettingLimitError,
  SettingStore,
  type Builtins,
  builtinSettings,
  expand,
  parseRef,
} from './settings';
import { IpxeError, type OptSpec, type Script, UsageError, parseOptions, parseScript, splitWords } from './script';

export const RUN_LIMITS = {
  /** Commands executed (goto loops end here). */
  steps: 100_000,
  /** Nested `chain` of scripts. */
  chainDepth: 8,
  images: 32,
  menuItems: 256,
  menus: 64,
  notes: 64,
} as const;

export interface IpxeImage {
  readonly url: string;
  readonly name: string;
  readonly args: string;
}

export interface At {
  readonly url: string;
  readonly line: number;
}

export interface MenuItem {
  readonly label: string;
  readonly text: string;
}

export interface MenuSpec {
  readonly title: string;
  readonly items: readonly MenuItem[];
  readonly default?: string;
  readonly timeoutMs?: number;
}

export type IpxeOutcome =
  | { readonly kind: 'linux'; readonly kernel: IpxeImage; readonly initrds: readonly IpxeImage[]; readonly at: At }
  | { readonly kind: 'uki'; readonly image: IpxeImage; readonly at: At }
  | { readonly kind: 'efi'; readonly image: IpxeImage; readonly at: At }
  /** `exit` at the top level: nothing to boot, back to tendril's menu. */
  | { readonly kind: 'exit'; readonly at: At }
  /** The script ran to its end without booting. */
  | { readonly kind: 'end'; readonly at: At }
  /** A `choose` with no answer given: the menu it offers, and which `choose` it was. */
  | { readonly kind: 'menu'; readonly menu: MenuSpec; readonly at: At; readonly setting: string }
  /** `sanboot` of an http(s) URL: a disk image scanned as a network disk (docs/net-bootfiles.md §9.6);
   *  of an `nvme+tcp://` one: an NVMe/TCP target connected and scanned (docs/net-nvme.md §4). */
  | { readonly kind: 'sanboot'; readonly image: IpxeImage; readonly at: At }
  /** Something tendril will not do (a SAN protocol, an unknown boot file), with the reason. */
  | { readonly kind: 'refused'; readonly reason: string; readonly at: At }
  | { readonly kind: 'error'; readonly error: IpxeError };

export interface Note {
  readonly at: At;
  readonly message: string;
}

export interface RunOptions {
  readonly builtins: Builtins;
  /** Fetch a file a script names with `chain` (cached by the caller). Rejects with NetError. */
  readonly fetchFile: (url: string) => Promise<Uint8Array>;
  /** Answers for the `choose` commands met, in order. */
  readonly choices?: readonly string[];
  readonly policy?: UrlPolicy;
}

export interface RunResult {
  readonly outcome: IpxeOutcome;
  readonly notes: readonly Note[];
  /** The item texts of the choices taken, for titles. */
  readonly taken: readonly string[];
  /** Commands run (for a budget over several runs). */
  readonly steps: number;
}

/** Ends a script (not an error): boot, exit, or a menu to report. */
class Stop extends Error {
  constructor(readonly outcome: IpxeOutcome) {
    super(outcome.kind);
  }
}
/** A `goto` ends the processing of its line (iPXE: shell_stop(SHELL_STOP_COMMAND)). */
class Goto extends Error {
  constructor() {
    super('goto');
  }
}
/** `exit` inside a chained script: returns `rc` to the `chain` that ran it. */
class ExitScript extends Error {
  constructor(readonly rc: number) {
    super(`exit ${rc}`);
  }
}

interface Frame {
  readonly script: Script;
  pc: number;
}

const IMAGE_OPTS: OptSpec = {
  name: { value: true, short: 'n' },
  timeout: { value: true, short: 't' },
  autofree: { value: false, short: 'a' },
  replace: { value: false, short: 'r' },
};

/** Run a fetched script. Never throws: failures are an `error` outcome naming URL and line. */
export async function runIpxe(url: string, bytes: Uint8Array, opts: RunOptions): Promise<RunResult> {
  const r = new Run(opts);
  let outcome: IpxeOutcome;
  try {
    const script = parseScript(url, bytes);
    outcome = await r.runScript(script, 0, '');
  } catch (e) {
    if (e instanceof Stop) outcome = e.outcome;
    else if (e instanceof IpxeError) outcome = { kind: 'error', error: e };
    else if (e instanceof ExitScript) outcome = { kind: 'exit', at: { url, line: 0 } };
    else throw e;
  }
  return { outcome, notes: r.notes, taken: r.taken, steps: r.steps };
}

class Run {
  readonly notes: Note[] = [];
  readonly taken: string[] = [];
  private readonly store: SettingStore;
  steps = 0;
  private choiceIndex = 0;
  private images: IpxeImage[] = [];
  private kernel: IpxeImage | undefined;
  /** Menus by name: title, items, and the label of an `item --default`. */
  private readonly menus = new Map<string, { title: string; items: MenuItem[]; flagged?: string }>();
  private at: At = { url: '', line: 0 };

  constructor(private readonly opts: RunOptions) {
    this.store = new SettingStore(builtinSettings(opts.builtins), new Set(['net0', 'netX', opts.builtins.lease.iface]));
  }

  private note(message: string): void {
    if (this.notes.length < RUN_LIMITS.notes) this.notes.push({ at: this.at, message });
  }

  private limit(reason: string): never {
    throw new IpxeError(this.at.url, this.at.line, reason, true);
  }

  /** Run a script to its end; returns 'end' (or throws Stop / ExitScript / IpxeError). */
  async runScript(script: Script, depth: number, args: string): Promise<IpxeOutcome> {
    if (depth > RUN_LIMITS.chainDepth) this.limit(`chain depth over ${RUN_LIMITS.chainDepth}`);
    // A chained script sees its arguments as ${0}, ${1}, ... as iPXE passes them.
    splitWords(args).forEach((a, i) => this.trySet(String(i + 1), a));
    const f: Frame = { script, pc: 0 };
    while (f.pc < script.lines.length) {
      const l = script.lines[f.pc++]!;
      this.at = { url: script.url, line: l.line };
      const rc = await this.runLine(l.text, f, depth);
      if (rc !== 0) throw new IpxeError(script.url, l.line, this.lastError ?? 'failed');
    }
    return { kind: 'end', at: { url: script.url, line: script.lines.at(-1)?.line ?? 1 } };
  }

  private trySet(name: string, value: string): void {
    try {
      this.store.set({ name }, value);
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
    }
  }

  private lastError: string | undefined;

  /**
   * One line: split into words, cut at `||` `&&` `;`; each command's words are expanded only
   * when it runs and one by one, never split again (iPXE's expand_tokens): `choose x && goto
   * ${x}` sees the new `x`, an unset `${x}` is an empty argument, a value with blanks is one.
   */
  private async runLine(text: string, f: Frame, depth: number): Promise<number> {
    const words = splitWords(text);
    let rc = 0;
    let process = true;
    let start = 0;
    this.lastError = undefined;
    for (;;) {
      let end = start;
      while (end < words.length && !['||', '&&', ';'].includes(words[end]!)) end++;
      const raw = words.slice(start, end);
      if (process && raw.length > 0) {
        if (++this.steps > RUN_LIMITS.steps) this.limit(`more than ${RUN_LIMITS.steps} commands run (a goto loop?)`);
        let cmd: string[];
        try {
          cmd = raw.map((w) => expand(w, this.store));
        } catch (e) {
          if (e instanceof SettingLimitError) this.limit(e.message);
          throw e;
        }
        try {
          rc = await this.command(cmd, f, depth);
        } catch (e) {
          if (e instanceof Goto) return 0;
          throw e;
        }
      } else if (process) rc = 0;
      if (end >= words.length) return rc;
      const t = words[end];
      process = t === '||' ? rc !== 0 : t === '&&' ? rc === 0 : true;
      start = end + 1;
    }
  }

  /** Run one command; returns its return code (0 = success). */
  private async command(argv: string[], f: Frame, depth: number): Promise<number> {
    const [name, ...args] = argv as [string, ...string[]];
    const fail = (why: string): number => {
      this.lastError = `${name}: ${why}`;
      return 1;
    };
    this.lastError = `${name}: failed`;
    try {
      return await this.dispatch(name, args, f, depth, fail);
    } catch (e) {
      if (e instanceof UsageError || e instanceof SettingError) return fail(e.message);
      if (e instanceof SettingLimitError) this.limit(`${name}: ${e.message}`);
      if (e instanceof NetError) return fail(e.message);
      throw e;
    }
  }

  private async dispatch(
    name: string,
    args: string[],
    f: Frame,
    depth: number,
    fail: (why: string) => number,
  ): Promise<number> {
    switch (name) {
      case 'set': {
        const [ref, ...v] = args;
        if (!ref) return fail('usage: set <setting> [<value>]');
        this.store.set(parseRef(ref), v.join(' '));
        return 0;
      }
      case 'clear': {
        if (!args[0]) return fail('usage: clear <setting>');
        this.store.clear(parseRef(args[0]));
        return 0;
      }
      case 'inc': {
        const [ref, by] = args;
        if (!ref) return fail('usage: inc <setting> [<increment>]');
        const r = parseRef(ref);
        const cur = Number(this.store.format({ ...r, type: 'string' }) || '0');
        const n = Number(by ?? '1');
        if (!Number.isSafeInteger(cur) || !Number.isSafeInteger(n)) return fail('not a number');
        this.store.set({ name: r.name, ...(r.scope ? { scope: r.scope } : {}), type: 'string' }, String(cur + n));
        return 0;
      }
      case 'isset':
        return args.length > 0 && args[0] !== '' ? 0 : 1;
      case 'iseq':
        if (args.length !== 2) return fail('usage: iseq <value> <value>');
        return args[0] === args[1] ? 0 : 1;
      case 'goto': {
        const label = args[0];
        if (label === undefined || args.length !== 1) return fail('usage: goto <label>');
        const i = f.script.lines.findIndex((l) => l.label === label);
        if (i < 0) return fail(`no label ${JSON.stringify(label)}`);
        // Execution resumes at the label's line (its command runs), and the rest of this line is dropped.
        f.pc = i;
        throw new Goto();
      }
      case 'echo':
        this.note(`echo: ${(args[0] === '-n' ? args.slice(1) : args).join(' ')}`);
        return 0;
      case 'sleep':
      case 'ntp':
      case 'dhcp':
      case 'ifconf':
      case 'ifopen':
      case 'ifstat':
      case 'route':
      case 'md5sum':
      case 'sha1sum':
      case 'sha256sum':
        this.note(`${name}: not needed here (tendril has the network up and its own clock); skipped`);
        return 0;
      case 'prompt': {
        // With --timeout nobody presses a key in time: it fails. Without, iPXE waits for a key; go on.
        const { opts } = parseOptions(args, { key: { value: true, short: 'k' }, timeout: { value: true, short: 't' } });
        this.note(
          `prompt: nobody answers while tendril reads the script; taken as ${opts.has('timeout') ? 'a timeout' : 'a key press'}`,
        );
        return opts.has('timeout') ? 1 : 0;
      }
      case 'read':
      case 'login':
        this.note(`${name}: nobody answers while tendril reads the script; taken as no answer`);
        return 1;
      case 'cpuid':
        // `cpuid --ext 29` (long mode): tendril runs on x86_64. Other bits are not known here.
        return args.join(' ') === '--ext 29' ? 0 : fail(`${args.join(' ')}: not known to tendril`);
      case 'exit': {
        const rc = Number(args[0] ?? '0');
        if (depth > 0) throw new ExitScript(Number.isSafeInteger(rc) ? rc : 1);
        throw new Stop({ kind: 'exit', at: this.at });
      }
      case 'menu':
        return this.menu(args);
      case 'item':
        return this.item(args);
      case 'choose':
        return this.choose(args);
      case 'kernel':
      case 'imgselect':
      case 'imgload': {
        const { opts, rest } = parseOptions(args, IMAGE_OPTS);
        const img = this.image(rest, opts);
        if (!img) return fail('usage: kernel <uri> [<args>...]');
        this.kernel = img;
        return 0;
      }
      case 'initrd':
      case 'module':
      case 'imgfetch': {
        const { opts, rest } = parseOptions(args, IMAGE_OPTS);
        const img = this.image(rest, opts);
        if (!img) return fail(`usage: ${name} <uri> [<args>...]`);
        if (this.images.length >= RUN_LIMITS.images) this.limit(`more than ${RUN_LIMITS.images} images`);
        this.images.push(img);
        return 0;
      }
      case 'imgargs': {
        const [img, ...rest] = args;
        if (!img) return fail('usage: imgargs <image> [<args>...]');
        if (this.kernel?.name === img) this.kernel = { ...this.kernel, args: rest.join(' ') };
        else {
          const i = this.images.findIndex((m) => m.name === img);
          if (i < 0) return fail(`no image ${JSON.stringify(img)}`);
          this.images[i] = { ...this.images[i]!, args: rest.join(' ') };
        }
        return 0;
      }
      case 'imgfree':
        if (args[0]) {
          if (this.kernel?.name === args[0]) this.kernel = undefined;
          this.images = this.images.filter((m) => m.name !== args[0]);
        } else {
          this.kernel = undefined;
          this.images = [];
        }
        return 0;
      case 'boot':
      case 'imgexec': {
        if (args[0] && this.kernel?.name !== args[0]) return fail(`no kernel image ${JSON.stringify(args[0])}`);
        if (!this.kernel) return fail('no kernel image selected');
        throw new Stop({ kind: 'linux', kernel: this.kernel, initrds: this.images, at: this.at });
      }
      case 'chain':
        return this.chain(args, depth, fail);
      case 'sanboot': {
        // iPXE's options (--drive, --no-describe, --keep, --filename, --extra) change nothing here.
        const uris = args.filter((a) => !a.startsWith('-'));
        const url = uris.length === 1 && /^(https?|nvme\+tcp):\/\//i.test(uris[0]!) ? uris[0]! : undefined;
        if (url === undefined)
          throw new Stop({
            kind: 'refused',
            reason: `sanboot ${args.join(' ')}: only one http or https disk image or nvme+tcp:// target is supported (no iSCSI, AoE, FCP or multipath)`,
            at: this.at,
          });
        // An NVMe/TCP target is not fetched: tendril connects to it (docs/net-nvme.md §4).
        if (/^nvme\+tcp:/i.test(url))
          throw new Stop({ kind: 'sanboot', image: { url, name: url, args: '' }, at: this.at });
        const img = this.image([url], new Map());
        if (!img) return fail('usage: sanboot <uri>');
        throw new Stop({ kind: 'sanboot', image: img, at: this.at });
      }
      case 'shell':
        return fail('no iPXE shell in tendril (the rescue shell is in its menu)');
      default:
        return fail("command not found in tendril's iPXE subset");
    }
  }

  private image(rest: string[], opts: Map<string, string>): IpxeImage | undefined {
    const [ref, ...words] = rest;
    if (!ref) return undefined;
    const url = resolveUrl(ref, this.at.url, this.opts.policy);
    return { url, name: opts.get('name') || urlBasename(url), args: words.join(' ') };
  }

  private async chain(args: string[], depth: number, fail: (why: string) => number): Promise<number> {
    const { opts, rest } = parseOptions(args, IMAGE_OPTS);
    const img = this.image(rest, opts);
    if (!img) return fail('usage: chain <uri> [<args>...]');
    if (/\.efi$/i.test(new URL(img.url).pathname)) throw new Stop({ kind: 'efi', image: img, at: this.at });
    const bytes = await this.opts.fetchFile(img.url);
    const kind = classifyBootFile(img.url, bytes);
    switch (kind.kind) {
      case 'ipxe-script': {
        const script = parseScript(img.url, bytes);
        const at = this.at;
        try {
          await this.runScript(script, depth + 1, img.args);
          return 0;
        } catch (e) {
          if (e instanceof ExitScript) return e.rc;
          // A failing chained script fails the chain command, as in iPXE; limits still end everything.
          if (e instanceof IpxeError && !e.limit) {
            this.at = at;
            return fail(e.message);
          }
          throw e;
        } finally {
          this.at = at;
        }
      }
      case 'bzimage':
        throw new Stop({ kind: 'linux', kernel: img, initrds: this.images, at: this.at });
      case 'uki':
        throw new Stop({ kind: 'uki', image: img, at: this.at });
      case 'efi':
        throw new Stop({ kind: 'efi', image: img, at: this.at });
      case 'pxelinux':
        return fail(`${img.url} is PXELINUX; have DHCP name it instead`);
      case 'disk-image':
        return fail(
          `${img.url} is a disk image: only a boot file DHCP names is scanned as one (docs/net-bootfiles.md §9)`,
        );
      case 'unknown':
        return fail(`${img.url}: ${kind.reason}`);
    }
  }

  private menu(args: string[]): number {
    const { opts, rest } = parseOptions(args, {
      name: { value: true, short: 'n' },
      delete: { value: false, short: 'd' },
    });
    const name = opts.get('name') ?? '';
    if (opts.has('delete')) {
      this.menus.delete(name);
      return 0;
    }
    if (!this.menus.has(name) && this.menus.size >= RUN_LIMITS.menus) this.limit(`more than ${RUN_LIMITS.menus} menus`);
    this.menus.set(name, { title: rest.join(' '), items: [] });
    return 0;
  }

  private item(args: string[]): number {
    const { opts, rest } = parseOptions(args, {
      menu: { value: true, short: 'm' },
      key: { value: true, short: 'k' },
      default: { value: false, short: 'd' },
      gap: { value: false, short: 'g' },
    });
    const m = this.menus.get(opts.get('menu') ?? '');
    if (!m) throw new UsageError('no menu defined');
    if (m.items.length >= RUN_LIMITS.menuItems) this.limit(`more than ${RUN_LIMITS.menuItems} menu items`);
    const [label, ...text] = rest;
    if (opts.has('gap') || !label) return 0;
    m.items.push({ label, text: text.join(' ').trim() || label });
    if (opts.has('default')) m.flagged = label;
    return 0;
  }

  private choose(args: string[]): number {
    const { opts, rest } = parseOptions(args, {
      menu: { value: true, short: 'm' },
      default: { value: true, short: 'd' },
      timeout: { value: true, short: 't' },
      keep: { value: false, short: 'k' },
    });
    const setting = rest[0];
    if (!setting) throw new UsageError('usage: choose <setting>');
    const menuName = opts.get('menu') ?? '';
    const m = this.menus.get(menuName);
    if (!m) throw new UsageError('no menu defined');
    const answer = this.opts.choices?.[this.choiceIndex];
    if (answer === undefined) {
      const timeout = Number(opts.get('timeout'));
      const timed = Number.isSafeInteger(timeout) && timeout > 0;
      // iPXE highlights the --default label (no match: the first item), else an `item --default`,
      // else the first item; that is what boots unattended when a default or timeout is given.
      const given = opts.get('default');
      const first = m.items[0]?.label;
      const highlighted =
        given !== undefined ? (m.items.some((i) => i.label === given) ? given : first) : (m.flagged ?? first);
      const def = given !== undefined || m.flagged !== undefined || timed ? highlighted : undefined;
      throw new Stop({
        kind: 'menu',
        menu: {
          title: m.title,
          items: [...m.items],
          ...(def !== undefined ? { default: def } : {}),
          ...(timed ? { timeoutMs: timeout } : {}),
        },
        at: this.at,
        setting,
      });
    }
    this.choiceIndex++;
    const item = m.items.find((i) => i.label === answer);
    if (!item) throw new UsageError(`no item ${JSON.stringify(answer)}`);
    this.taken.push(item.text);
    this.store.set(parseRef(setting), item.label);
    if (!opts.has('keep')) this.menus.delete(menuName);
    return 0;
  }
}
