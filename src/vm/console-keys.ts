// Turns what a terminal sends down a serial console into key presses for the PS/2 keyboard
// (i8042.ts), assuming a US layout: printable ASCII, the C0 controls (Enter, Tab, Backspace,
// Ctrl-letter), ESC-prefixed Alt, and the ANSI/xterm/VT220/Linux-console escape sequences for
// the cursor and editing keys and F1–F12. Sources: ECMA-48 (CSI/SS3 syntax), the xterm "Control
// Sequences" document (PC-style function keys and their modifier parameter), the Linux console's
// console_codes(4) (ESC [ [ A..E for F1–F5).
//
// Bounded: at most MAX_SEQUENCE bytes of an escape sequence are held; a longer one is skipped to
// its final byte without being buffered, and an unrecognised one is dropped.
import { KEY, type KeyCode } from './i8042';

export interface KeyStroke {
  readonly code: KeyCode;
  readonly shift: boolean;
  readonly ctrl: boolean;
  readonly alt: boolean;
}

/** Parameter/intermediate bytes kept for one escape sequence; xterm's longest is "24;16". */
export const MAX_SEQUENCE = 16;

const ESC = 0x1b;

type State = 'ground' | 'esc' | 'csi' | 'ss3' | 'linux-fkey' | 'skip';

const LETTERS: readonly KeyCode[] = [
  KEY.A,
  KEY.B,
  KEY.C,
  KEY.D,
  KEY.E,
  KEY.F,
  KEY.G,
  KEY.H,
  KEY.I,
  KEY.J,
  KEY.K,
  KEY.L,
  KEY.M,
  KEY.N,
  KEY.O,
  KEY.P,
  KEY.Q,
  KEY.R,
  KEY.S,
  KEY.T,
  KEY.U,
  KEY.V,
  KEY.W,
  KEY.X,
  KEY.Y,
  KEY.Z,
];

// US layout: each printable character's key, and whether it needs Shift.
const PRINTABLE: ReadonlyMap<number, readonly [KeyCode, boolean]> = (() => {
  const m = new Map<number, readonly [KeyCode, boolean]>();
  LETTERS.forEach((code, i) => {
    m.set(0x61 + i, [code, false]);
    m.set(0x41 + i, [code, true]);
  });
  const pairs: ReadonlyArray<readonly [string, string, KeyCode]> = [
    ['1', '!', KEY[1]],
    ['2', '@', KEY[2]],
    ['3', '#', KEY[3]],
    ['4', '$', KEY[4]],
    ['5', '%', KEY[5]],
    ['6', '^', KEY[6]],
    ['7', '&', KEY[7]],
    ['8', '*', KEY[8]],
    ['9', '(', KEY[9]],
    ['0', ')', KEY[0]],
    ['-', '_', KEY.MINUS],
    ['=', '+', KEY.EQUAL],
    ['[', '{', KEY.LEFTBRACE],
    [']', '}', KEY.RIGHTBRACE],
    ['\\', '|', KEY.BACKSLASH],
    [';', ':', KEY.SEMICOLON],
    ["'", '"', KEY.APOSTROPHE],
    ['`', '~', KEY.GRAVE],
    [',', '<', KEY.COMMA],
    ['.', '>', KEY.DOT],
    ['/', '?', KEY.SLASH],
  ];
  for (const [plain, shifted, code] of pairs) {
    m.set(plain.charCodeAt(0), [code, false]);
    m.set(shifted.charCodeAt(0), [code, true]);
  }
  m.set(0x20, [KEY.SPACE, false]);
  return m;
})();

// CSI <n> ~ (VT220/xterm; 7 and 8 are rxvt's Home and End).
const TILDE: ReadonlyMap<number, KeyCode> = new Map<number, KeyCode>([
  [1, KEY.HOME],
  [2, KEY.INSERT],
  [3, KEY.DELETE],
  [4, KEY.END],
  [5, KEY.PAGEUP],
  [6, KEY.PAGEDOWN],
  [7, KEY.HOME],
  [8, KEY.END],
  [11, KEY.F1],
  [12, KEY.F2],
  [13, KEY.F3],
  [14, KEY.F4],
  [15, KEY.F5],
  [17, KEY.F6],
  [18, KEY.F7],
  [19, KEY.F8],
  [20, KEY.F9],
  [21, KEY.F10],
  [23, KEY.F11],
  [24, KEY.F12],
]);

// Final bytes shared by CSI (normal cursor mode) and SS3 (application cursor mode).
const CURSOR: ReadonlyMap<number, KeyCode> = new Map<number, KeyCode>([
  [0x41, KEY.UP], // A
  [0x42, KEY.DOWN], // B
  [0x43, KEY.RIGHT], // C
  [0x44, KEY.LEFT], // D
  [0x48, KEY.HOME], // H
  [0x46, KEY.END], // F
  [0x50, KEY.F1], // P
  [0x51, KEY.F2], // Q
  [0x52, KEY.F3], // R
  [0x53, KEY.F4], // S
]);

// SS3 in application keypad mode.
const KEYPAD: ReadonlyMap<number, KeyCode> = new Map<number, KeyCode>([
  [0x4d, KEY.KPENTER], // M
  [0x6a, KEY.KPASTERISK], // j
  [0x6b, KEY.KPPLUS], // k
  [0x6d, KEY.KPMINUS], // m
  [0x6e, KEY.KPDOT], // n
  [0x6f, KEY.KPSLASH], // o
  [0x70, KEY.KP0],
  [0x71, KEY.KP1],
  [0x72, KEY.KP2],
  [0x73, KEY.KP3],
  [0x74, KEY.KP4],
  [0x75, KEY.KP5],
  [0x76, KEY.KP6],
  [0x77, KEY.KP7],
  [0x78, KEY.KP8],
  [0x79, KEY.KP9],
]);

function stroke(code: KeyCode, shift = false, ctrl = false, alt = false): KeyStroke {
  return { code, shift, ctrl, alt };
}

/** xterm's modifier parameter: 1 + (Shift 1 | Alt 2 | Ctrl 4 | Meta 8). */
function withModifiers(code: KeyCode, param: number | undefined): KeyStroke {
  const m = param !== undefined && param >= 2 && param <= 16 ? param - 1 : 0;
  return stroke(code, (m & 1) !== 0, (m & 4) !== 0, (m & 2) !== 0);
}

/** Decimal parameters separated by ';', or undefined if the sequence has anything else
 *  (private markers such as '?', intermediates): such sequences are not keys. */
function parameters(seq: readonly number[]): Array<number | undefined> | undefined {
  const out: Array<number | undefined> = [];
  let cur: number | undefined;
  for (const b of seq) {
    if (b >= 0x30 && b <= 0x39) cur = Math.min((cur ?? 0) * 10 + (b - 0x30), 9999);
    else if (b === 0x3b) {
      out.push(cur);
      cur = undefined;
    } else return undefined;
  }
  out.push(cur);
  return out;
}

/** A stateful decoder of a terminal's input bytes. A lone ESC is ambiguous until a following
 *  byte arrives (ESC x is Alt-x); call `flush()` once input has gone idle to resolve it. */
export class ConsoleKeys {
  private state: State = 'ground';
  private seq: number[] = [];
  /** The previous byte was CR, so an LF right after it is the same Enter. */
  private afterCR = false;

  feed(bytes: Uint8Array): KeyStroke[] {
    const out: KeyStroke[] = [];
    for (const b of bytes) this.byte(b, out);
    return out;
  }

  /** Input went idle: a pending ESC is the Escape key, ESC [ and ESC O are Alt-[ and Alt-O,
   *  and any longer unfinished sequence is dropped. */
  flush(): KeyStroke[] {
    const out: KeyStroke[] = [];
    if (this.state === 'esc') out.push(stroke(KEY.ESC));
    else if (this.state === 'csi' && this.seq.length === 0) out.push(stroke(KEY.LEFTBRACE, false, false, true));
    else if (this.state === 'ss3' && this.seq.length === 0) out.push(stroke(KEY.O, true, false, true));
    this.reset();
    return out;
  }

  /** Escape-sequence bytes held (at most MAX_SEQUENCE). */
  get buffered(): number {
    return this.seq.length;
  }

  private reset(): void {
    this.state = 'ground';
    this.seq = [];
  }

  private byte(b: number, out: KeyStroke[]): void {
    const afterCR = this.afterCR;
    this.afterCR = false;
    switch (this.state) {
      case 'ground':
        return this.ground(b, out, false, afterCR);
      case 'esc':
        if (b === 0x5b) {
          this.state = 'csi';
          return;
        }
        if (b === 0x4f) {
          this.state = 'ss3';
          return;
        }
        if (b === ESC) {
          out.push(stroke(KEY.ESC)); // ESC ESC: the first was the key; the second starts anew
          return;
        }
        this.state = 'ground';
        if (b >= 0x80) {
          out.push(stroke(KEY.ESC)); // no Alt form; the byte itself is dropped as always
          return;
        }
        return this.ground(b, out, true, afterCR);
      case 'csi':
        if (this.interrupted(b, out, afterCR)) return;
        if (b < 0x40) return this.collect(b);
        // "ESC [ [" is the Linux console's F1–F5 prefix.
        if (b === 0x5b && this.seq.length === 0) {
          this.state = 'linux-fkey';
          return;
        }
        this.csiFinal(b, out);
        return this.reset();
      case 'ss3':
        if (this.interrupted(b, out, afterCR)) return;
        if (b < 0x40) return this.collect(b);
        this.ss3Final(b, out);
        return this.reset();
      case 'linux-fkey':
        if (this.interrupted(b, out, afterCR)) return;
        if (b >= 0x41 && b <= 0x45) out.push(stroke([KEY.F1, KEY.F2, KEY.F3, KEY.F4, KEY.F5][b - 0x41]!));
        return this.reset();
      case 'skip':
        // An overlong sequence: swallow it up to its final byte without holding any of it.
        if (this.interrupted(b, out, afterCR)) return;
        if (b >= 0x40) this.reset();
        return;
    }
  }

  /** ESC restarts a sequence; C0 controls and non-ASCII abandon it and count on their own. */
  private interrupted(b: number, out: KeyStroke[], afterCR: boolean): boolean {
    if (b === ESC) {
      this.seq = [];
      this.state = 'esc';
      return true;
    }
    if (b < 0x20 || b >= 0x7f) {
      this.reset();
      this.ground(b, out, false, afterCR);
      return true;
    }
    return false;
  }

  private collect(b: number): void {
    if (this.seq.length >= MAX_SEQUENCE) {
      this.seq = [];
      this.state = 'skip';
    } else {
      this.seq.push(b);
    }
  }

  private csiFinal(final: number, out: KeyStroke[]): void {
    const params = parameters(this.seq);
    if (!params) return;
    const [first, mods] = params;
    if (final === 0x7e) {
      const code = first !== undefined ? TILDE.get(first) : undefined;
      if (code !== undefined) out.push(withModifiers(code, mods));
      return;
    }
    if (final === 0x5a) {
      out.push(stroke(KEY.TAB, true)); // CSI Z: back-tab
      return;
    }
    const code = CURSOR.get(final);
    // CSI 1 ; m A is a modified arrow; any other first parameter is not a key.
    if (code !== undefined && (first === undefined || first === 1)) out.push(withModifiers(code, mods));
  }

  private ss3Final(final: number, out: KeyStroke[]): void {
    const params = parameters(this.seq);
    if (!params) return;
    // Old xterm and some terminals send ESC O <modifier> P; newer ones ESC O 1 ; <modifier> P.
    const mods = params.length > 1 ? params[1] : params[0];
    const code = CURSOR.get(final) ?? KEYPAD.get(final);
    if (code !== undefined) out.push(withModifiers(code, mods));
  }

  private ground(b: number, out: KeyStroke[], alt: boolean, afterCR: boolean): void {
    if (b === ESC) {
      this.state = 'esc';
      return;
    }
    if (b === 0x0d) {
      out.push(stroke(KEY.ENTER, false, false, alt));
      this.afterCR = true;
      return;
    }
    if (b === 0x0a) {
      if (!afterCR) out.push(stroke(KEY.ENTER, false, false, alt));
      return;
    }
    const s = this.plain(b);
    if (s) out.push(alt ? { ...s, alt } : s);
  }

  /** The key for a byte outside any sequence; none for UTF-8 and C1, which have no US key. */
  private plain(b: number): KeyStroke | undefined {
    if (b === 0x7f || b === 0x08) return stroke(KEY.BACKSPACE);
    if (b === 0x09) return stroke(KEY.TAB);
    if (b === 0x00) return stroke(KEY.SPACE, false, true); // Ctrl-Space, Ctrl-@
    if (b <= 0x1a) return stroke(LETTERS[b - 1]!, false, true);
    // Ctrl-\ Ctrl-] Ctrl-^ Ctrl-_ on a US layout.
    if (b === 0x1c) return stroke(KEY.BACKSLASH, false, true);
    if (b === 0x1d) return stroke(KEY.RIGHTBRACE, false, true);
    if (b === 0x1e) return stroke(KEY[6], true, true);
    if (b === 0x1f) return stroke(KEY.MINUS, true, true);
    const p = PRINTABLE.get(b);
    return p ? stroke(p[0], p[1]) : undefined;
  }
}

/** A stroke as key events: modifiers down, the key down and up, modifiers up in reverse. */
export function strokeEvents(s: KeyStroke): Array<{ code: KeyCode; down: boolean }> {
  const mods: KeyCode[] = [];
  if (s.ctrl) mods.push(KEY.LEFTCTRL);
  if (s.alt) mods.push(KEY.LEFTALT);
  if (s.shift) mods.push(KEY.LEFTSHIFT);
  return [
    ...mods.map((code) => ({ code, down: true })),
    { code: s.code, down: true },
    { code: s.code, down: false },
    ...mods.reverse().map((code) => ({ code, down: false })),
  ];
}
