// The blessed front end: one full-screen box whose content is the rendered Frame. blessed
// does the terminal work (raw input, key parsing, terminfo, resize, minimal redraws);
// layout and text are ours, so serial lines get ASCII and no attribute is load-bearing.

import type { Frame, Glyphs } from './view';

// blessed is CommonJS with an `export =` declaration.
import blessed = require('blessed');

export interface Terminal {
  readonly width: number;
  readonly height: number;
  draw(frame: Frame): void;
  onKey(fn: (name: string) => void): void;
  onResize(fn: () => void): void;
  /** Give the terminal to `fn` (rescue shell), then take it back and redraw. */
  suspend(fn: () => Promise<void>): Promise<void>;
  destroy(): void;
}

const NAMED = new Set([
  'up',
  'down',
  'left',
  'right',
  'pageup',
  'pagedown',
  'home',
  'end',
  'enter',
  'escape',
  'backspace',
  'delete',
  'tab',
  'space',
  'insert',
]);

/** blessed key event → our key names: 'up', 'enter', 'C-a', 'R', 'x', ... */
export function keyName(
  ch: string | undefined,
  key: { name?: string; ctrl?: boolean; full?: string } | undefined,
): string | undefined {
  // blessed reports '\r' twice, as 'enter' and then as 'return': take only the first.
  if (key?.name === 'return') return undefined;
  const name = key?.name === 'linefeed' ? 'enter' : key?.name;
  if (key?.ctrl && name && /^[a-z]$/.test(name)) return `C-${name}`;
  if (name && NAMED.has(name)) return name;
  if (ch && [...ch].length === 1 && ch >= ' ' && ch !== '\x7f') return ch;
  return undefined;
}

/**
 * Serial consoles report a 0x0 window (nothing sets TIOCSWINSZ on ttyS0) and blessed would
 * draw into 1x1: assume the classic 80x24 there ($COLUMNS/$LINES override).
 */
export function fixZeroSize(out: { columns?: number; rows?: number }, env: NodeJS.ProcessEnv): void {
  if (!out.columns || out.columns < 2) out.columns = Number(env.COLUMNS) > 1 ? Number(env.COLUMNS) : 80;
  if (!out.rows || out.rows < 2) out.rows = Number(env.LINES) > 1 ? Number(env.LINES) : 24;
}

export function createTerminal(glyphs: Glyphs): Terminal {
  fixZeroSize(process.stdout, process.env);
  // vt100/vt220 terminfo draws ACS as letters on many serial consoles; we never use ACS,
  // and this keeps blessed from emitting it anywhere (docs/packages.md §6).
  if (glyphs.h === '-') process.env.NCURSES_NO_UTF8_ACS = '1';
  const screen = blessed.screen({
    smartCSR: true,
    fullUnicode: glyphs.h !== '-',
    warnings: false,
    autoPadding: false,
    dockBorders: false,
    ...(process.env.TERM ? { terminal: process.env.TERM } : {}),
  });
  const body = blessed.box({ top: 0, left: 0, width: '100%', height: '100%', tags: true, wrap: false });
  screen.append(body);
  let keyFn: (name: string) => void = () => {};
  let resizeFn: () => void = () => {};
  let lastFrame: Frame | undefined;
  let suspended = false;

  screen.on('keypress', (ch: string | undefined, key: { name?: string; ctrl?: boolean; full?: string }) => {
    if (suspended) return;
    if (key?.ctrl && key.name === 'l') {
      // Garbage on a serial line: throw the screen model away and repaint everything.
      screen.realloc();
      if (lastFrame) t.draw(lastFrame);
      return;
    }
    const k = keyName(ch, key);
    if (k) keyFn(k);
  });
  screen.on('resize', () => resizeFn());
  // A terminal that goes away (serial cable, hung-up pty) must not crash the boot manager.
  process.stdin.on('error', () => {});

  const t: Terminal = {
    get width() {
      return screen.width as number;
    },
    get height() {
      return screen.height as number;
    },
    draw(frame: Frame): void {
      lastFrame = frame;
      if (suspended) return;
      const content = frame.lines
        .map((l) => {
          const text = blessed.escape(l.text);
          switch (l.style) {
            case 'selected':
              return `{inverse}${text}{/inverse}`;
            case 'dim':
              return `{gray-fg}${text}{/gray-fg}`;
            case 'title':
              return `{bold}${text}{/bold}`;
            default:
              return text;
          }
        })
        .join('\n');
      body.setContent(content);
      screen.render();
      if (frame.cursor) {
        screen.program.showCursor();
        screen.program.cup(frame.cursor.row, frame.cursor.col);
      } else screen.program.hideCursor();
    },
    onKey(fn) {
      keyFn = fn;
    },
    onResize(fn) {
      resizeFn = fn;
    },
    async suspend(fn) {
      suspended = true;
      // enter()/leave() exist on blessed's Screen but are missing from @types/blessed.
      const raw = screen as unknown as { enter(): void; leave(): void };
      raw.leave();
      // Hand the terminal over completely: stop reading it (a shell that takes the
      // foreground would make our reads fail with EIO) and give it back in cooked mode.
      const stdin = process.stdin as NodeJS.ReadStream & { setRawMode?: (on: boolean) => void };
      stdin.pause();
      stdin.setRawMode?.(false);
      try {
        await fn();
      } finally {
        stdin.setRawMode?.(true);
        stdin.resume();
        raw.enter();
        suspended = false;
        screen.realloc();
        if (lastFrame) t.draw(lastFrame);
      }
    },
    destroy() {
      screen.destroy();
    },
  };
  return t;
}
