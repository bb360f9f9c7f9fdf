// The menu as a pure state machine: entries in, key names in, actions out. No terminal,
// no I/O, no timers: the UI feeds it keys and one `tick()` a second, and draws `view()`.
// That keeps every key testable and guarantees a keypress never waits on a disk.

import { isBootable, namedTarget, type MenuEntry, type MenuSettings } from '../discovery/model';
import { LineEditor } from './editor';

export interface Row {
  readonly entry: MenuEntry;
  /** 0 = top level (a single entry or a group's newest), 1 = older member of an open group. */
  readonly depth: 0 | 1;
  /** Members in the group this row heads (1 = no group). */
  readonly groupSize: number;
  readonly groupKey?: string;
  readonly expanded: boolean;
}

export type Mode =
  | { readonly kind: 'list' }
  | { readonly kind: 'search'; readonly query: LineEditor }
  | { readonly kind: 'editor'; readonly entry: MenuEntry; readonly editor: LineEditor }
  | { readonly kind: 'details'; readonly entry: MenuEntry }
  | { readonly kind: 'log' }
  | { readonly kind: 'help' }
  | {
      readonly kind: 'password';
      readonly then: Guarded;
      readonly input: LineEditor;
      readonly error?: string;
    }
  | { readonly kind: 'confirm'; readonly action: 'reboot' | 'poweroff' }
  /** The explicit confirmation before a VM may write to the disk holding an efi entry's loader. */
  | { readonly kind: 'write-through'; readonly entry: MenuEntry }
  | { readonly kind: 'loading'; readonly entry: MenuEntry; readonly progress: string }
  | { readonly kind: 'error'; readonly title: string; readonly lines: readonly string[] };

/** What the menu password guards. */
export type Guarded = 'editor' | 'shell' | 'write-through';

export type Action =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'boot';
      readonly entry: MenuEntry;
      readonly cmdline?: string;
      /** An efi entry's VM writes through to the loader's disk (confirmed on the write-through screen). */
      readonly writeThrough?: true;
    }
  | { readonly kind: 'shell' }
  | { readonly kind: 'reboot' }
  | { readonly kind: 'poweroff' }
  | { readonly kind: 'rescan' }
  | { readonly kind: 'details'; readonly entry: MenuEntry }
  /** `d`: make the entry the saved default, or clear it when it already is (sd-boot's `d`). */
  | { readonly kind: 'save-default'; readonly entry: MenuEntry }
  | { readonly kind: 'verify-password'; readonly password: string; readonly then: Guarded }
  /** Measured boot: extend PCR 4 before the editor opens (docs/measured-boot.md §2), then recoveryMeasured(). */
  | { readonly kind: 'recovery'; readonly then: 'editor' }
  | { readonly kind: 'quit' };

const NONE: Action = { kind: 'none' };

/**
 * The command line the editor starts from: what the entry would boot with (a broken entry:
 * what it declares, if anything; booting it is refused anyway).
 */
export function editableCmdline(e: MenuEntry): string {
  const t = namedTarget(e.status);
  if (!t) return '';
  switch (t.kind) {
    case 'linux':
    case 'multiboot':
      return t.cmdline;
    case 'uki':
      return t.cmdlineOverride ?? t.embeddedCmdline ?? '';
    case 'efi':
      return t.options ?? '';
    case 'uki-url':
      return t.cmdlineOverride ?? '';
  }
}

function groupKeyOf(e: MenuEntry): string | undefined {
  if (e.machineId) return `m:${e.machineId}`;
  if (e.sortKey) return `s:${e.sortKey}:${e.origin.source}`;
  return undefined;
}

export interface MenuOptions {
  readonly passwordRequired?: boolean;
  readonly editorAllowed?: boolean;
  /** Whether `q`/Esc may leave the menu (not when tendril is PID 1). */
  readonly canQuit?: boolean;
  /** A TPM measures this boot: the editor opens only after the UI extended PCR 4. */
  readonly measureRecovery?: boolean;
}

export class MenuState {
  entries: readonly MenuEntry[] = [];
  settings: MenuSettings | undefined;
  mode: Mode = { kind: 'list' };
  /** Seconds left before the default boots; null once stopped or with no timeout. */
  countdown: number | null = null;
  /** Devices still being scanned (for the spinner). */
  pending = 0;
  /** Discovery has not finished yet (the device list may not even be known). */
  discovering = true;
  showHidden = false;
  selected = 0;
  private readonly expanded = new Set<string>();
  private unlocked = false;
  private recoveryDone = false;
  private touched = false;
  /** Lines of the details view once computed (sizes need I/O, done outside). */
  details: readonly string[] | undefined;
  /** Why this host cannot run efi entries in a VM (the KVM check), or undefined when it can. */
  vmUnavailable: string | undefined;
  /** Signature marks by entry id (`[unsigned]`, `[bad sig]`), filled in the background (menu/trust-marks.ts). */
  readonly trustMarks = new Map<string, string>();
  scroll = 0;

  constructor(private readonly opts: MenuOptions = {}) {}

  /** Replace the entry list (live discovery), keeping the selected entry where possible. */
  setEntries(entries: readonly MenuEntry[], settings?: MenuSettings): void {
    const keep = this.rows()[this.selected]?.entry.id;
    this.entries = entries;
    if (settings) this.settings = settings;
    const rows = this.rows();
    let i = keep ? rows.findIndex((r) => r.entry.id === keep) : -1;
    if (i < 0 || !this.touched) i = this.defaultRowIndex();
    this.selected = Math.max(0, Math.min(i, rows.length - 1));
  }

  /** Start the countdown (call once discovery is complete and settings are final). */
  startCountdown(seconds: number | null): void {
    this.countdown = this.touched ? null : seconds;
  }

  get defaultEntry(): MenuEntry | undefined {
    const id = this.settings?.defaultId;
    return this.entries.find((e) => e.id === id) ?? this.entries.find((e) => isBootable(e) && !e.hidden);
  }

  private defaultRowIndex(): number {
    const d = this.defaultEntry;
    if (!d) return 0;
    const k = groupKeyOf(d);
    const rows = this.rows();
    const direct = rows.findIndex((r) => r.entry.id === d.id);
    if (direct >= 0) return direct;
    if (k) {
      this.expanded.add(k);
      return this.rows().findIndex((r) => r.entry.id === d.id);
    }
    return 0;
  }

  private rowsCache: { key: string; entries: readonly MenuEntry[]; rows: Row[] } | undefined;

  /** Visible rows: groups folded unless expanded, hidden entries only on request, search filter. */
  rows(): Row[] {
    // Several calls per keypress; recompute only when what rows depend on changed.
    const key = `${this.showHidden}|${[...this.expanded].join(',')}|${this.mode.kind === 'search' ? this.mode.query.value : '\0'}`;
    const c = this.rowsCache;
    if (c && c.entries === this.entries && c.key === key) return c.rows;
    const rows = this.computeRows();
    this.rowsCache = { key, entries: this.entries, rows };
    return rows;
  }

  private computeRows(): Row[] {
    const visible = this.entries.filter((e) => this.showHidden || !e.hidden);
    const q = this.mode.kind === 'search' ? this.mode.query.value.toLowerCase() : '';
    if (q) {
      return visible
        .filter((e) => e.displayTitle.toLowerCase().includes(q))
        .map((entry) => ({ entry, depth: 0, groupSize: 1, expanded: false }));
    }
    const groups = new Map<string, MenuEntry[]>();
    for (const e of visible) {
      const k = groupKeyOf(e);
      if (k) groups.set(k, [...(groups.get(k) ?? []), e]);
    }
    const rows: Row[] = [];
    const done = new Set<string>();
    for (const e of visible) {
      const k = groupKeyOf(e);
      const members = k ? groups.get(k)! : [e];
      if (!k || members.length === 1) {
        rows.push({ entry: e, depth: 0, groupSize: 1, expanded: false });
        continue;
      }
      if (done.has(k)) continue;
      done.add(k);
      const open = this.expanded.has(k);
      rows.push({ entry: members[0]!, depth: 0, groupSize: members.length, groupKey: k, expanded: open });
      if (open)
        for (const m of members.slice(1)) rows.push({ entry: m, depth: 1, groupSize: 1, groupKey: k, expanded: true });
    }
    return rows;
  }

  get current(): MenuEntry | undefined {
    return this.rows()[this.selected]?.entry;
  }

  /** One second passed. Returns a boot action when the countdown ends. */
  tick(): Action {
    if (this.countdown === null || this.mode.kind !== 'list') return NONE;
    this.countdown = Math.max(0, this.countdown - 1);
    if (this.countdown > 0) return NONE;
    this.countdown = null;
    const d = this.defaultEntry;
    return d ? { kind: 'boot', entry: d } : NONE;
  }

  private move(delta: number): void {
    const n = this.rows().length;
    if (n === 0) return;
    this.selected = Math.max(0, Math.min(n - 1, this.selected + delta));
  }

  /** Unlock after the UI verified the password. */
  passwordAccepted(then: Guarded): Action {
    this.unlocked = true;
    this.mode = { kind: 'list' };
    if (then === 'shell') return { kind: 'shell' };
    return then === 'editor' ? this.openEditor() : this.openWriteThrough();
  }

  /** PCR 4 was extended (or already was this boot): open what asked for it. */
  recoveryMeasured(then: 'editor'): Action {
    this.recoveryDone = true;
    return then === 'editor' ? this.openEditor() : NONE;
  }

  passwordRejected(then: Guarded): void {
    this.mode = { kind: 'password', then, input: new LineEditor(''), error: 'wrong password' };
  }

  private openEditor(): Action {
    const e = this.current;
    if (!e) return NONE;
    if (this.opts.editorAllowed === false || this.settings?.editor === false) {
      this.mode = {
        kind: 'error',
        title: 'Editor disabled',
        lines: ['The configuration (loader.conf "editor no") disables editing.'],
      };
      return NONE;
    }
    if (this.opts.passwordRequired && !this.unlocked) {
      this.mode = { kind: 'password', then: 'editor', input: new LineEditor('') };
      return NONE;
    }
    if (this.opts.measureRecovery && !this.recoveryDone) return { kind: 'recovery', then: 'editor' };
    this.mode = { kind: 'editor', entry: e, editor: new LineEditor(editableCmdline(e)) };
    return NONE;
  }

  /** `w` on an efi entry: the confirmation screen (behind the password, when one is set). */
  private openWriteThrough(): Action {
    const e = this.current;
    if (!e) return NONE;
    if (!(e.status.ok && e.status.target.kind === 'efi')) {
      this.mode = {
        kind: 'error',
        title: 'Write-through is for VM entries',
        lines: ['Only an entry booted in the VM (marked VM) can write to its disk; kexec never writes a disk.'],
      };
      return NONE;
    }
    if (this.opts.passwordRequired && !this.unlocked) {
      this.mode = { kind: 'password', then: 'write-through', input: new LineEditor('') };
      return NONE;
    }
    this.mode = { kind: 'write-through', entry: e };
    return NONE;
  }

  showError(title: string, lines: readonly string[]): void {
    this.mode = { kind: 'error', title, lines };
  }

  showLoading(entry: MenuEntry, progress: string): void {
    this.mode = { kind: 'loading', entry, progress };
  }

  /** Feed one key (names as blessed reports them: 'up', 'enter', 'C-a', 'x', ...). */
  key(k: string): Action {
    // Any key stops the countdown (systemd-boot semantics).
    this.countdown = null;
    this.touched = true;
    const m = this.mode;
    switch (m.kind) {
      case 'list':
        return this.listKey(k);
      case 'search':
        return this.searchKey(m.query, k);
      case 'editor':
        return this.editKey(m.entry, m.editor, k);
      case 'password':
        if (k === 'escape') this.mode = { kind: 'list' };
        else if (k === 'enter') return { kind: 'verify-password', password: m.input.value, then: m.then };
        else editKeys(m.input, k);
        return NONE;
      case 'confirm':
        this.mode = { kind: 'list' };
        return k === 'y' || k === 'Y' ? { kind: m.action } : NONE;
      case 'write-through':
        // Only an explicit 'y' writes; any other key (Enter included) goes back.
        this.mode = { kind: 'list' };
        return k === 'y' || k === 'Y' ? { kind: 'boot', entry: m.entry, writeThrough: true } : NONE;
      case 'details':
      case 'log':
      case 'help':
        if (k === 'up') this.scroll = Math.max(0, this.scroll - 1);
        else if (k === 'down') this.scroll++;
        else if (k === 'pageup') this.scroll = Math.max(0, this.scroll - 10);
        else if (k === 'pagedown') this.scroll += 10;
        else this.mode = { kind: 'list' };
        return NONE;
      case 'error':
        this.mode = { kind: 'list' };
        return NONE;
      case 'loading':
        return NONE;
    }
  }

  private listKey(k: string): Action {
    const rows = this.rows();
    switch (k) {
      case 'up':
      case 'k':
        this.move(-1);
        return NONE;
      case 'down':
      case 'j':
        this.move(1);
        return NONE;
      case 'pageup':
        this.move(-10);
        return NONE;
      case 'pagedown':
        this.move(10);
        return NONE;
      case 'home':
        this.selected = 0;
        return NONE;
      case 'end':
        this.selected = Math.max(0, rows.length - 1);
        return NONE;
      case 'right': {
        const r = rows[this.selected];
        if (r?.groupKey && r.depth === 0 && !r.expanded) this.expanded.add(r.groupKey);
        return NONE;
      }
      case 'left': {
        const r = rows[this.selected];
        if (r?.groupKey && this.expanded.has(r.groupKey)) {
          this.expanded.delete(r.groupKey);
          this.selected = this.rows().findIndex((x) => x.groupKey === r.groupKey && x.depth === 0);
        }
        return NONE;
      }
      case 'enter': {
        const e = this.current;
        return e ? { kind: 'boot', entry: e } : NONE;
      }
      case '/':
        this.mode = { kind: 'search', query: new LineEditor('') };
        this.selected = 0;
        return NONE;
      case 'e':
        return this.openEditor();
      case 'w':
        return this.openWriteThrough();
      case 'd': {
        const e = this.current;
        return e ? { kind: 'save-default', entry: e } : NONE;
      }
      case 'i': {
        const e = this.current;
        if (!e) return NONE;
        this.mode = { kind: 'details', entry: e };
        this.details = undefined;
        this.scroll = 0;
        return { kind: 'details', entry: e };
      }
      case 'l':
        this.mode = { kind: 'log' };
        this.scroll = 0;
        return NONE;
      case 'h':
      case '?':
        this.mode = { kind: 'help' };
        this.scroll = 0;
        return NONE;
      case 'H':
        this.showHidden = !this.showHidden;
        this.selected = Math.min(this.selected, Math.max(0, this.rows().length - 1));
        return NONE;
      case 'r':
        return { kind: 'rescan' };
      case 's':
        if (this.opts.passwordRequired && !this.unlocked) {
          this.mode = { kind: 'password', then: 'shell', input: new LineEditor('') };
          return NONE;
        }
        return { kind: 'shell' };
      case 'R':
        this.mode = { kind: 'confirm', action: 'reboot' };
        return NONE;
      case 'P':
        this.mode = { kind: 'confirm', action: 'poweroff' };
        return NONE;
      case 'q':
      case 'escape':
        return this.opts.canQuit ? { kind: 'quit' } : NONE;
      default:
        if (/^[1-9]$/.test(k)) {
          const i = Number(k) - 1;
          if (i < rows.length) this.selected = i;
        }
        return NONE;
    }
  }

  private searchKey(q: LineEditor, k: string): Action {
    if (k === 'escape') {
      this.mode = { kind: 'list' };
      this.selected = this.defaultRowIndex();
      return NONE;
    }
    if (k === 'up' || k === 'down') {
      this.move(k === 'up' ? -1 : 1);
      return NONE;
    }
    if (k === 'enter') {
      const hit = this.current;
      this.mode = { kind: 'list' };
      if (hit) {
        const gk = groupKeyOf(hit);
        if (gk && this.rows().findIndex((r) => r.entry.id === hit.id) < 0) this.expanded.add(gk);
        this.selected = Math.max(
          0,
          this.rows().findIndex((r) => r.entry.id === hit.id),
        );
      }
      return NONE;
    }
    editKeys(q, k);
    this.selected = 0;
    return NONE;
  }

  private editKey(entry: MenuEntry, ed: LineEditor, k: string): Action {
    if (k === 'escape') {
      this.mode = { kind: 'list' };
      return NONE;
    }
    if (k === 'enter') {
      this.mode = { kind: 'list' };
      return { kind: 'boot', entry, cmdline: ed.value };
    }
    editKeys(ed, k);
    return NONE;
  }
}

/** Editing keys shared by the editor, the search field and the password prompt. */
export function editKeys(ed: LineEditor, k: string): void {
  switch (k) {
    case 'left':
      return ed.left();
    case 'right':
      return ed.right();
    case 'home':
    case 'C-a':
      return ed.home();
    case 'end':
    case 'C-e':
      return ed.end();
    case 'backspace':
      return ed.backspace();
    case 'delete':
    case 'C-d':
      return ed.del();
    case 'C-k':
      return ed.killToEnd();
    case 'C-u':
      return ed.killToStart();
    case 'C-w':
      return ed.killWord();
    case 'space':
      return ed.insert(' ');
    default:
      if ([...k].length === 1 && k >= ' ') ed.insert(k);
  }
}
