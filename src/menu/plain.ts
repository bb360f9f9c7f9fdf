// Line mode for dumb terminals (`tendril menu --plain`, TERM=dumb): numbered entries,
// one prompt, no cursor addressing. Same MenuState, fed whole lines instead of keys. This is
// the serial-console mode: every disk string is printed printable (src/util/printable.ts).

import * as readline from 'node:readline';
import type { MenuState } from './state';
import { detailLines, HELP_TEXT } from './view';
import { namedTarget, type MenuEntry } from '../discovery/model';
import { printable, printableLines } from '../util/printable';

export type PlainCommand =
  | { readonly kind: 'boot'; readonly entry: MenuEntry; readonly cmdline?: string }
  | { readonly kind: 'shell' }
  | { readonly kind: 'rescan' }
  | { readonly kind: 'reboot' }
  | { readonly kind: 'poweroff' }
  | { readonly kind: 'quit' }
  | { readonly kind: 'show'; readonly text: string }
  | { readonly kind: 'save-default'; readonly entry: MenuEntry };

export function listText(st: MenuState): string {
  const defId = st.settings?.defaultId;
  const visible = st.entries.filter((e) => st.showHidden || !e.hidden);
  const lines = ['tendril boot menu'];
  visible.forEach((e, i) => {
    const s = e.status;
    const marks = [!s.ok ? 'BROKEN' : '', e.bootCounter?.triesLeft === 0 ? 'bad' : '', e.hidden ? 'hidden' : '']
      .filter(Boolean)
      .join(',');
    lines.push(
      `${String(i + 1).padStart(3)}) ${e.id === defId ? '*' : ' '} ${printable(e.displayTitle)}${marks ? ` [${marks}]` : ''}${st.trustMarks.has(e.id) ? ` ${st.trustMarks.get(e.id)}` : ''}${s.ok ? '' : `: ${printable(s.reason)}`}`,
    );
  });
  if (visible.length === 0) lines.push('  (no boot entries)');
  lines.push(
    'commands: N boot entry N | e N edit then boot | i N details | H hidden | r rescan | s shell | R reboot | P poweroff | h help',
  );
  return lines.join('\n') + '\n';
}

/** Interpret one input line. `ask` reads a follow-up line (the edited command line). */
export async function plainCommand(
  st: MenuState,
  line: string,
  ask: (prompt: string, initial: string) => Promise<string>,
): Promise<PlainCommand> {
  const visible = st.entries.filter((e) => st.showHidden || !e.hidden);
  const pick = (s: string | undefined): MenuEntry | undefined => {
    const n = Number(s);
    return Number.isInteger(n) && n >= 1 ? visible[n - 1] : undefined;
  };
  const [cmd = '', arg] = line.trim().split(/\s+/);
  if (cmd === '') {
    const d = st.defaultEntry;
    return d ? { kind: 'boot', entry: d } : { kind: 'show', text: 'no default entry\n' };
  }
  if (/^\d+$/.test(cmd)) {
    const e = pick(cmd);
    return e ? { kind: 'boot', entry: e } : { kind: 'show', text: `no entry ${cmd}\n` };
  }
  switch (cmd) {
    case 'e': {
      const e = pick(arg);
      if (!e) return { kind: 'show', text: 'usage: e N\n' };
      if (st.settings?.editor === false) return { kind: 'show', text: 'editor disabled by configuration\n' };
      const t = namedTarget(e.status);
      const initial =
        t?.kind === 'linux' || t?.kind === 'multiboot'
          ? t.cmdline
          : t?.kind === 'uki'
            ? (t.cmdlineOverride ?? t.embeddedCmdline ?? '')
            : '';
      const edited = await ask('cmdline> ', initial);
      return { kind: 'boot', entry: e, cmdline: edited };
    }
    case 'd': {
      const e = pick(arg);
      return e ? { kind: 'save-default', entry: e } : { kind: 'show', text: 'usage: d N\n' };
    }
    case 'i': {
      const e = pick(arg);
      return { kind: 'show', text: e ? printableLines(detailLines(e)).join('\n') + '\n' : 'usage: i N\n' };
    }
    case 'H':
      st.showHidden = !st.showHidden;
      return { kind: 'show', text: listText(st) };
    case 'r':
      return { kind: 'rescan' };
    case 's':
      return { kind: 'shell' };
    case 'R':
      return { kind: 'reboot' };
    case 'P':
      return { kind: 'poweroff' };
    case 'q':
      return { kind: 'quit' };
    case 'h':
    case '?':
      return { kind: 'show', text: HELP_TEXT.join('\n') + '\n' };
    default:
      return { kind: 'show', text: `unknown command '${printable(cmd)}' (h for help)\n` };
  }
}

export function readLines(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): {
  next(prompt: string): Promise<string | null>;
  ask(prompt: string, initial: string): Promise<string>;
  close(): void;
} {
  const rl = readline.createInterface({ input, output, terminal: false });
  const queue: string[] = [];
  const waiters: Array<(l: string | null) => void> = [];
  let closed = false;
  rl.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  rl.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w(null);
  });
  const next = (prompt: string): Promise<string | null> => {
    output.write(prompt);
    const q = queue.shift();
    if (q !== undefined) return Promise.resolve(q);
    if (closed) return Promise.resolve(null);
    return new Promise((r) => waiters.push(r));
  };
  return {
    next,
    async ask(prompt, initial) {
      output.write(`current: ${printable(initial)}\n(enter the full new command line; empty keeps it)\n`);
      const l = await next(prompt);
      return l === null || l.trim() === '' ? initial : l;
    },
    close: () => rl.close(),
  };
}
