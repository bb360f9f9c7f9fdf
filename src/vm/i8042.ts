// Intel 8042 keyboard controller (data port 0x60, status/command port 0x64) with a PS/2 keyboard
// (scan code set 2, translated to set 1 by the controller as on PCs) and a PS/2 mouse (plus the
// IntelliMouse and IntelliMouse Explorer wheel protocols) behind it (docs/vmm-platform.md §9.1).
// 0xFE to 0x64 resets the machine, as OVMF's warm reset expects.
//
// Sources: IBM Personal System/2 Hardware Interface Technical Reference (keyboard/auxiliary
// device controller, keyboard and pointing device command sets), Andries Brouwer's "Keyboard
// scancodes" (set 2 codes and the 8042 translation table), Microsoft's IntelliMouse PS/2
// protocol notes (the sample-rate knocks), linux/input-event-codes.h (key codes, so evdev input
// maps straight through), and what the drivers actually send: OVMF's Ps2KeyboardDxe and
// Ps2MouseDxe, Linux's i8042, atkbd, libps2 and psmouse, Windows' i8042prt. QEMU's pckbd/ps2
// models were the reference for behaviour the documents leave open (which bytes raise which
// line, write-to-keyboard re-enabling the keyboard interface).
//
// Model: one output buffer (OBF) fed, in priority order, from the controller's own replies, the
// keyboard, then the mouse. Each device holds a bounded queue of whole sequences (a key's make or
// break bytes, a mouse packet) plus a small reply queue; replies overtake queued input but never
// split a sequence that is already on its way. A device whose interface is disabled in the
// command byte keeps its bytes until it is enabled again, as a real device behind an inhibited
// clock line does. Transfers are instantaneous, so IBF is always 0.
import type { PortDevice } from './bus';
import { allOnes } from './bus';
import type { VmEvents } from './events';

/** Linux input key codes (linux/input-event-codes.h, without the KEY_ prefix) of the keys the
 *  keyboard has: a US 104-key board plus the ISO 102nd key and a few ACPI/media keys. */
export const KEY = {
  ESC: 1,
  1: 2,
  2: 3,
  3: 4,
  4: 5,
  5: 6,
  6: 7,
  7: 8,
  8: 9,
  9: 10,
  0: 11,
  MINUS: 12,
  EQUAL: 13,
  BACKSPACE: 14,
  TAB: 15,
  Q: 16,
  W: 17,
  E: 18,
  R: 19,
  T: 20,
  Y: 21,
  U: 22,
  I: 23,
  O: 24,
  P: 25,
  LEFTBRACE: 26,
  RIGHTBRACE: 27,
  ENTER: 28,
  LEFTCTRL: 29,
  A: 30,
  S: 31,
  D: 32,
  F: 33,
  G: 34,
  H: 35,
  J: 36,
  K: 37,
  L: 38,
  SEMICOLON: 39,
  APOSTROPHE: 40,
  GRAVE: 41,
  LEFTSHIFT: 42,
  BACKSLASH: 43,
  Z: 44,
  X: 45,
  C: 46,
  V: 47,
  B: 48,
  N: 49,
  M: 50,
  COMMA: 51,
  DOT: 52,
  SLASH: 53,
  RIGHTSHIFT: 54,
  KPASTERISK: 55,
  LEFTALT: 56,
  SPACE: 57,
  CAPSLOCK: 58,
  F1: 59,
  F2: 60,
  F3: 61,
  F4: 62,
  F5: 63,
  F6: 64,
  F7: 65,
  F8: 66,
  F9: 67,
  F10: 68,
  NUMLOCK: 69,
  SCROLLLOCK: 70,
  KP7: 71,
  KP8: 72,
  KP9: 73,
  KPMINUS: 74,
  KP4: 75,
  KP5: 76,
  KP6: 77,
  KPPLUS: 78,
  KP1: 79,
  KP2: 80,
  KP3: 81,
  KP0: 82,
  KPDOT: 83,
  '102ND': 86,
  F11: 87,
  F12: 88,
  KPENTER: 96,
  RIGHTCTRL: 97,
  KPSLASH: 98,
  SYSRQ: 99,
  RIGHTALT: 100,
  HOME: 102,
  UP: 103,
  PAGEUP: 104,
  LEFT: 105,
  RIGHT: 106,
  END: 107,
  DOWN: 108,
  PAGEDOWN: 109,
  INSERT: 110,
  DELETE: 111,
  MUTE: 113,
  VOLUMEDOWN: 114,
  VOLUMEUP: 115,
  POWER: 116,
  PAUSE: 119,
  LEFTMETA: 125,
  RIGHTMETA: 126,
  COMPOSE: 127,
  SLEEP: 142,
  WAKEUP: 143,
} as const;

/** A Linux input key code the keyboard can send. */
export type KeyCode = (typeof KEY)[keyof typeof KEY];

const KEY_CODES: ReadonlySet<number> = new Set<number>(Object.values(KEY));

/** Narrows a host (evdev) key code to one the keyboard has. */
export function isKeyCode(n: number): n is KeyCode {
  return KEY_CODES.has(n);
}

/** Mouse button bits for `mouseMove` (the PS/2 packet's order; SIDE/EXTRA only reach the guest
 *  in the Explorer protocol, ID 4). */
export const MouseButton = { LEFT: 0x01, RIGHT: 0x02, MIDDLE: 0x04, SIDE: 0x08, EXTRA: 0x10 } as const;

/** A key's set-2 bytes: one byte, 0xE0-prefixed when written 0xE0xx, or explicit make/break. */
type Set2 = number | { readonly make: readonly number[]; readonly brk: readonly number[] };

// Scan code set 2 (Brouwer's tables; IBM PS/2 Technical Reference, 101/102-key keyboard).
const SET2: Readonly<Record<KeyCode, Set2>> = {
  [KEY.ESC]: 0x76,
  [KEY[1]]: 0x16,
  [KEY[2]]: 0x1e,
  [KEY[3]]: 0x26,
  [KEY[4]]: 0x25,
  [KEY[5]]: 0x2e,
  [KEY[6]]: 0x36,
  [KEY[7]]: 0x3d,
  [KEY[8]]: 0x3e,
  [KEY[9]]: 0x46,
  [KEY[0]]: 0x45,
  [KEY.MINUS]: 0x4e,
  [KEY.EQUAL]: 0x55,
  [KEY.BACKSPACE]: 0x66,
  [KEY.TAB]: 0x0d,
  [KEY.Q]: 0x15,
  [KEY.W]: 0x1d,
  [KEY.E]: 0x24,
  [KEY.R]: 0x2d,
  [KEY.T]: 0x2c,
  [KEY.Y]: 0x35,
  [KEY.U]: 0x3c,
  [KEY.I]: 0x43,
  [KEY.O]: 0x44,
  [KEY.P]: 0x4d,
  [KEY.LEFTBRACE]: 0x54,
  [KEY.RIGHTBRACE]: 0x5b,
  [KEY.ENTER]: 0x5a,
  [KEY.LEFTCTRL]: 0x14,
  [KEY.A]: 0x1c,
  [KEY.S]: 0x1b,
  [KEY.D]: 0x23,
  [KEY.F]: 0x2b,
  [KEY.G]: 0x34,
  [KEY.H]: 0x33,
  [KEY.J]: 0x3b,
  [KEY.K]: 0x42,
  [KEY.L]: 0x4b,
  [KEY.SEMICOLON]: 0x4c,
  [KEY.APOSTROPHE]: 0x52,
  [KEY.GRAVE]: 0x0e,
  [KEY.LEFTSHIFT]: 0x12,
  [KEY.BACKSLASH]: 0x5d,
  [KEY.Z]: 0x1a,
  [KEY.X]: 0x22,
  [KEY.C]: 0x21,
  [KEY.V]: 0x2a,
  [KEY.B]: 0x32,
  [KEY.N]: 0x31,
  [KEY.M]: 0x3a,
  [KEY.COMMA]: 0x41,
  [KEY.DOT]: 0x49,
  [KEY.SLASH]: 0x4a,
  [KEY.RIGHTSHIFT]: 0x59,
  [KEY.KPASTERISK]: 0x7c,
  [KEY.LEFTALT]: 0x11,
  [KEY.SPACE]: 0x29,
  [KEY.CAPSLOCK]: 0x58,
  [KEY.F1]: 0x05,
  [KEY.F2]: 0x06,
  [KEY.F3]: 0x04,
  [KEY.F4]: 0x0c,
  [KEY.F5]: 0x03,
  [KEY.F6]: 0x0b,
  [KEY.F7]: 0x83,
  [KEY.F8]: 0x0a,
  [KEY.F9]: 0x01,
  [KEY.F10]: 0x09,
  [KEY.NUMLOCK]: 0x77,
  [KEY.SCROLLLOCK]: 0x7e,
  [KEY.KP7]: 0x6c,
  [KEY.KP8]: 0x75,
  [KEY.KP9]: 0x7d,
  [KEY.KPMINUS]: 0x7b,
  [KEY.KP4]: 0x6b,
  [KEY.KP5]: 0x73,
  [KEY.KP6]: 0x74,
  [KEY.KPPLUS]: 0x79,
  [KEY.KP1]: 0x69,
  [KEY.KP2]: 0x72,
  [KEY.KP3]: 0x7a,
  [KEY.KP0]: 0x70,
  [KEY.KPDOT]: 0x71,
  [KEY['102ND']]: 0x61,
  [KEY.F11]: 0x78,
  [KEY.F12]: 0x07,
  [KEY.KPENTER]: 0xe05a,
  [KEY.RIGHTCTRL]: 0xe014,
  [KEY.KPSLASH]: 0xe04a,
  // Print Screen on its own sends a fake left shift around its code.
  [KEY.SYSRQ]: { make: [0xe0, 0x12, 0xe0, 0x7c], brk: [0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12] },
  [KEY.RIGHTALT]: 0xe011,
  [KEY.HOME]: 0xe06c,
  [KEY.UP]: 0xe075,
  [KEY.PAGEUP]: 0xe07d,
  [KEY.LEFT]: 0xe06b,
  [KEY.RIGHT]: 0xe074,
  [KEY.END]: 0xe069,
  [KEY.DOWN]: 0xe072,
  [KEY.PAGEDOWN]: 0xe07a,
  [KEY.INSERT]: 0xe070,
  [KEY.DELETE]: 0xe071,
  [KEY.MUTE]: 0xe023,
  [KEY.VOLUMEDOWN]: 0xe021,
  [KEY.VOLUMEUP]: 0xe032,
  [KEY.POWER]: 0xe037,
  // Pause sends make and break at once on press and nothing on release.
  [KEY.PAUSE]: { make: [0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77], brk: [] },
  [KEY.LEFTMETA]: 0xe01f,
  [KEY.RIGHTMETA]: 0xe027,
  [KEY.COMPOSE]: 0xe02f,
  [KEY.SLEEP]: 0xe03f,
  [KEY.WAKEUP]: 0xe05e,
};

function set2Make(code: KeyCode): readonly number[] {
  const k = SET2[code];
  if (typeof k !== 'number') return k.make;
  return k > 0xff ? [0xe0, k & 0xff] : [k];
}

function set2Break(code: KeyCode): readonly number[] {
  const k = SET2[code];
  if (typeof k !== 'number') return k.brk;
  return k > 0xff ? [0xe0, 0xf0, k & 0xff] : [0xf0, k];
}

// The 8042's set 2 → set 1 translation table (Brouwer, "Keyboard scancodes"; the same table is
// in every PC-compatible keyboard controller). Bytes 0x80 and up pass through except 0x83 (F7)
// and 0x84 (Alt+SysRq); 0xF0 never reaches it: it sets bit 7 of the byte after it.
const XLATE: Uint8Array = (() => {
  const low = [
    [0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59],
    [0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b],
    [0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d],
    [0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f],
    [0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61],
    [0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76],
    [0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f],
    [0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54],
  ].flat();
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) t[i] = i < 0x80 ? low[i]! : i;
  t[0x83] = 0x41;
  t[0x84] = 0x54;
  return t;
})();

/** Set-2 bytes → set-1 bytes, as the controller's translation does (and a keyboard in set 1). */
export function translateSet2(bytes: readonly number[]): number[] {
  const out: number[] = [];
  let brk = false;
  for (const b of bytes) {
    if (b === 0xf0) brk = true;
    else {
      out.push(XLATE[b & 0xff]! | (brk ? 0x80 : 0));
      brk = false;
    }
  }
  return out;
}

const ACK = 0xfa;
const RESEND = 0xfe;
const BAT_OK = 0xaa;

const STS_OBF = 0x01;
const STS_SYS = 0x04;
const STS_CMD = 0x08; // last write went to 0x64
const STS_UNLOCKED = 0x10; // keyboard inhibit switch off
const STS_AUX_OBF = 0x20;

const CTR_KBD_INT = 0x01;
const CTR_AUX_INT = 0x02;
const CTR_SYS = 0x04;
const CTR_KBD_DIS = 0x10;
const CTR_AUX_DIS = 0x20;
const CTR_XLATE = 0x40;

/** The command byte at power-on: both interrupts, both interfaces, translation; no system flag
 *  until the firmware's self-test (0xAA) sets it, which makes it 0x47. OVMF keys its first-time
 *  controller setup off that flag. */
export const POWER_ON_COMMAND_BYTE = CTR_XLATE | CTR_AUX_INT | CTR_KBD_INT;

// Output port: bit 0 is the CPU reset line (0 resets), bit 1 the A20 gate (KVM has no A20 mask,
// so it is only remembered), bits 4/5 mirror the two OBF lines. Bits 2, 3, 6, 7 read as 1.
const OUTPORT_DEFAULT = 0xcf;
// Input port: keyboard not inhibited (what QEMU reports); nothing reads the other bits.
const INPORT = 0x80;

/** Bytes of queued input (key sequences, mouse packets) per device, by default. */
export const DEVICE_QUEUE_BYTES = 256;
/** Bytes of command replies per device; a driver that floods commands without reading loses them. */
export const REPLY_QUEUE_BYTES = 16;
/** Bytes of controller replies (0x20, 0xAA, 0xD2/0xD3 loopback, ...) not yet in the OBF. */
export const CONTROLLER_QUEUE_BYTES = 16;

// A mouse movement larger than this many packets' worth is sent with the overflow bits set.
const MAX_PACKETS_PER_MOVE = 8;
// Host deltas are clamped so that nothing below loops on absurd input.
const MAX_DELTA = 1 << 16;

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function toDelta(v: number): number {
  return Number.isFinite(v) ? clamp(Math.trunc(v), -MAX_DELTA, MAX_DELTA) : 0;
}

/** What a device has to send: command replies, and whole input sequences. */
class DeviceQueue {
  private replies: number[] = [];
  private data: number[][] = [];
  /** The sequence being transferred; nothing may cut into it. */
  private current: number[] = [];
  private dataBytes = 0;

  constructor(readonly capacity: number) {}

  reply(...bytes: number[]): void {
    for (const b of bytes) if (this.replies.length < REPLY_QUEUE_BYTES) this.replies.push(b & 0xff);
  }

  /** Room for `n` more bytes of input? */
  fits(n: number): boolean {
    return this.dataBytes + n <= this.capacity;
  }

  /** Queues a whole sequence, or nothing (a partial one would desynchronise the guest). */
  send(seq: readonly number[]): boolean {
    if (!this.fits(seq.length)) return false;
    if (seq.length) this.data.push(seq.map((b) => b & 0xff));
    this.dataBytes += seq.length;
    return true;
  }

  next(): number | undefined {
    if (this.current.length === 0) {
      const r = this.replies.shift();
      if (r !== undefined) return r;
      this.current = this.data.shift() ?? [];
    }
    const b = this.current.shift();
    if (b !== undefined) this.dataBytes--;
    return b;
  }

  /** A device reset: queued replies and input go; a sequence already on the wire finishes. */
  clear(): void {
    this.replies = [];
    this.data = [];
    this.dataBytes = this.current.length;
  }

  powerOn(): void {
    this.clear();
    this.current = [];
    this.dataBytes = 0;
  }

  get depth(): { replies: number; data: number } {
    return { replies: this.replies.length, data: this.dataBytes };
  }
}

/** The PS/2 keyboard: commands from the IBM keyboard command set; input in set 2 (or set 1). */
class Keyboard {
  readonly q: DeviceQueue;
  private scanSet: 1 | 2 = 2;
  private scanning = true;
  leds = 0;
  private awaiting: 0xed | 0xf3 | 0xf0 | null = null;
  /** Keys whose make the guest will see, with the bytes their break needs: that room is kept
   *  free, so a release is never dropped and no key sticks down in the guest. */
  private readonly down = new Map<KeyCode, number>();
  private owed = 0;

  constructor(capacity: number) {
    this.q = new DeviceQueue(capacity);
  }

  powerOn(): void {
    this.q.powerOn();
    this.awaiting = null;
    this.defaults();
    this.scanning = true;
  }

  /** Drops queued input, restores the defaults, scans or not. */
  private restart(scanning: boolean): void {
    this.q.clear();
    this.defaults();
    this.scanning = scanning;
  }

  private defaults(): void {
    this.scanSet = 2;
    this.leds = 0;
    this.forget();
  }

  private forget(): void {
    this.down.clear();
    this.owed = 0;
  }

  private encode(set2: readonly number[]): readonly number[] {
    return this.scanSet === 1 ? translateSet2(set2) : set2;
  }

  /** `enabled`: the controller's keyboard interface is enabled. */
  keyDown(code: KeyCode, enabled: boolean): boolean {
    if (!this.scanning || !enabled) return false;
    const make = this.encode(set2Make(code));
    const held = this.down.has(code); // typematic repeat: the break is already owed
    const brk = held ? 0 : this.encode(set2Break(code)).length;
    if (!this.q.fits(make.length + this.owed + brk)) return false;
    this.q.send(make);
    if (!held) {
      this.down.set(code, brk);
      this.owed += brk;
    }
    return true;
  }

  /** A release is queued even while the interface is disabled; it waits for re-enabling. */
  keyUp(code: KeyCode): boolean {
    const brk = this.down.get(code);
    if (brk === undefined) return false; // the guest never saw the press
    this.down.delete(code);
    this.owed -= brk;
    return this.q.send(this.encode(set2Break(code)));
  }

  write(b: number): void {
    const awaiting = this.awaiting;
    this.awaiting = null;
    if (awaiting !== null) return this.parameter(awaiting, b);
    switch (b) {
      case 0xed: // set LEDs
      case 0xf3: // set typematic rate/delay
      case 0xf0: // get/set scan code set
        this.awaiting = b;
        this.q.reply(ACK);
        return;
      case 0xee: // echo
        this.q.reply(0xee);
        return;
      case 0xf2: // identify: MF2 keyboard (the controller turns 0x83 into 0x41 when translating)
        this.q.reply(ACK, 0xab, 0x83);
        return;
      case 0xf4: // enable scanning
        this.scanning = true;
        this.q.reply(ACK);
        return;
      case 0xf5: // default and disable
        this.restart(false);
        this.q.reply(ACK);
        return;
      case 0xf6: // default and enable
        this.restart(true);
        this.q.reply(ACK);
        return;
      case 0xff: // reset and self-test (BAT), which passes at once
        this.restart(true);
        this.q.reply(ACK, BAT_OK);
        return;
      default:
        this.q.reply(RESEND);
    }
  }

  private parameter(cmd: 0xed | 0xf3 | 0xf0, b: number): void {
    switch (cmd) {
      case 0xed:
        this.leds = b & 0x07;
        this.q.reply(ACK);
        return;
      case 0xf3: // typematic rate/delay: accepted; repeats come from the host's own key repeat
        this.q.reply(ACK);
        return;
      case 0xf0:
        if (b === 0) {
          // The set number is sent like a scan code, so a translating controller mangles it
          // (set 2 reads as 0x41); Linux's atkbd knows.
          this.q.reply(ACK, this.scanSet);
        } else if (b <= 3) {
          // Set 3 is acknowledged but not supported: the keyboard stays in its set, and
          // drivers (atkbd) read the set back before relying on it.
          if (b !== 3 && b !== this.scanSet) {
            this.scanSet = b === 1 ? 1 : 2;
            this.forget(); // breaks owed in the old set would have the wrong length
          }
          this.q.reply(ACK);
        } else {
          this.q.reply(RESEND);
        }
        return;
    }
  }
}

/** The PS/2 mouse: IBM pointing-device command set, with the IntelliMouse (ID 3, wheel) and
 *  IntelliMouse Explorer (ID 4, wheel and buttons 4/5) extensions. */
class Mouse {
  readonly q: DeviceQueue;
  private id: 0 | 3 | 4 = 0;
  private rate = 100;
  private resolution = 2;
  private scaling2 = false;
  private reporting = false;
  private remote = false;
  private wrap = false;
  private buttons = 0;
  private awaiting: 0xf3 | 0xe8 | null = null;
  /** The last three sample rates set, for the wheel-mode knocks. */
  private rates: number[] = [];
  private acc = { x: 0, y: 0, z: 0 };

  constructor(capacity: number) {
    this.q = new DeviceQueue(capacity);
  }

  powerOn(): void {
    this.q.powerOn();
    this.awaiting = null;
    this.defaults();
    this.id = 0;
    this.wrap = false;
    this.buttons = 0;
  }

  private defaults(): void {
    this.rate = 100;
    this.resolution = 2;
    this.scaling2 = false;
    this.reporting = false;
    this.remote = false;
    this.rates = [];
    this.acc = { x: 0, y: 0, z: 0 };
  }

  write(b: number): void {
    const awaiting = this.awaiting;
    this.awaiting = null;
    if (awaiting === 0xf3) {
      this.rate = b;
      this.knock(b);
      this.q.reply(ACK);
      return;
    }
    if (awaiting === 0xe8) {
      this.resolution = b & 0x03;
      this.q.reply(ACK);
      return;
    }
    // Wrap (echo) mode returns everything but "reset wrap mode" and "reset".
    if (this.wrap && b !== 0xec && b !== 0xff) {
      this.q.reply(b);
      return;
    }
    switch (b) {
      case 0xe6:
        this.scaling2 = false;
        this.q.reply(ACK);
        return;
      case 0xe7:
        this.scaling2 = true;
        this.q.reply(ACK);
        return;
      case 0xe8:
      case 0xf3:
        this.awaiting = b;
        this.q.reply(ACK);
        return;
      case 0xe9: {
        const btn = this.buttons;
        const status =
          (this.remote ? 0x40 : 0) |
          (this.reporting ? 0x20 : 0) |
          (this.scaling2 ? 0x10 : 0) |
          (btn & MouseButton.LEFT ? 0x04 : 0) |
          (btn & MouseButton.MIDDLE ? 0x02 : 0) |
          (btn & MouseButton.RIGHT ? 0x01 : 0);
        this.q.reply(ACK, status, this.resolution, this.rate);
        return;
      }
      case 0xea:
        this.remote = false;
        this.acc = { x: 0, y: 0, z: 0 };
        this.q.reply(ACK);
        return;
      case 0xeb: {
        const { x, y, z } = this.acc;
        this.acc = { x: 0, y: 0, z: 0 };
        const cx = clamp(x, -255, 255);
        const cy = clamp(y, -255, 255);
        this.q.reply(ACK, ...this.packet(cx, cy, clamp(z, -this.zMax, this.zMax), cx !== x, cy !== y));
        return;
      }
      case 0xec:
        this.wrap = false;
        this.q.reply(ACK);
        return;
      case 0xee:
        this.wrap = true;
        this.q.reply(ACK);
        return;
      case 0xf0:
        this.remote = true;
        this.acc = { x: 0, y: 0, z: 0 };
        this.q.reply(ACK);
        return;
      case 0xf2:
        this.q.reply(ACK, this.id);
        return;
      case 0xf4:
        this.reporting = true;
        this.q.reply(ACK);
        return;
      case 0xf5:
        this.q.clear();
        this.reporting = false;
        this.q.reply(ACK);
        return;
      case 0xf6:
        this.q.clear();
        this.defaults();
        this.q.reply(ACK);
        return;
      case 0xff:
        this.q.clear();
        this.defaults();
        this.id = 0;
        this.wrap = false;
        this.q.reply(ACK, BAT_OK, 0x00);
        return;
      default:
        this.q.reply(RESEND);
    }
  }

  /** Sample rates 200, 100, 80 switch on the wheel (ID 3); then 200, 200, 80 the Explorer
   *  protocol (ID 4), which Linux's psmouse and Windows both try in that order. */
  private knock(rate: number): void {
    this.rates.push(rate);
    if (this.rates.length > 3) this.rates.shift();
    const [a, b, c] = this.rates;
    if (a === 200 && b === 100 && c === 80) this.id = 3;
    else if (a === 200 && b === 200 && c === 80 && this.id === 3) this.id = 4;
  }

  private get zMax(): number {
    return this.id === 4 ? 7 : this.id === 3 ? 127 : 0;
  }

  private packet(x: number, y: number, z: number, ox: boolean, oy: boolean): number[] {
    const b0 =
      0x08 | (this.buttons & 0x07) | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0) | (ox ? 0x40 : 0) | (oy ? 0x80 : 0);
    const p = [b0, x & 0xff, y & 0xff];
    if (this.id === 3) p.push(z & 0xff);
    else if (this.id === 4) p.push((z & 0x0f) | ((this.buttons & 0x18) << 1));
    return p;
  }

  /** Scaling 2:1 (stream mode only): 1→1, 2→1, 3→3, 4→6, 5→9, else doubled. */
  private scale(v: number): number {
    if (!this.scaling2) return v;
    const m = Math.abs(v);
    const s = m <= 5 ? ([0, 1, 1, 3, 6, 9][m] ?? 0) : 2 * m;
    return v < 0 ? -s : s;
  }

  /** Host movement in evdev's sense (dy > 0 is down, wheel > 0 is away from the user); the
   *  packet's Y and Z axes point the other way. `enabled`: the controller's aux interface. */
  move(dx: number, dy: number, buttons: number, wheel: number, enabled: boolean): boolean {
    this.buttons = buttons & 0x1f;
    let x = toDelta(dx);
    let y = -toDelta(dy);
    let z = this.zMax ? -toDelta(wheel) : 0;
    if (this.remote) {
      this.acc = {
        x: clamp(this.acc.x + x, -MAX_DELTA, MAX_DELTA),
        y: clamp(this.acc.y + y, -MAX_DELTA, MAX_DELTA),
        z: clamp(this.acc.z + z, -MAX_DELTA, MAX_DELTA),
      };
      return true;
    }
    if (!this.reporting || !enabled) return false;
    // Deltas beyond one packet's range are split over several packets; beyond
    // MAX_PACKETS_PER_MOVE the last packet carries the overflow bits instead.
    for (let i = 0; ; i++) {
      let cx = clamp(x, -255, 255);
      let cy = clamp(y, -255, 255);
      const cz = clamp(z, -this.zMax, this.zMax);
      x -= cx;
      y -= cy;
      z -= cz;
      const last = i === MAX_PACKETS_PER_MOVE - 1 || (x === 0 && y === 0 && z === 0);
      let ox = last && x !== 0;
      let oy = last && y !== 0;
      const sx = this.scale(cx);
      const sy = this.scale(cy);
      cx = clamp(sx, -255, 255);
      cy = clamp(sy, -255, 255);
      ox ||= cx !== sx;
      oy ||= cy !== sy;
      if (!this.q.send(this.packet(cx, cy, cz, ox, oy))) return false;
      if (last) return true;
    }
  }
}

export interface I8042Options {
  events: VmEvents;
  irq1: (level: boolean) => void;
  irq12: (level: boolean) => void;
  /** Input bytes each device may hold (default DEVICE_QUEUE_BYTES). Linux's i8042 gives up
   *  ("No controller found") if a probe-time flush reads more than 16 bytes. */
  queueBytes?: number;
}

export class I8042 {
  /** Port 0x60: output buffer (read), data for the keyboard or a pending command (write). */
  readonly data: PortDevice;
  /** Port 0x64: status register (read), controller command (write). */
  readonly command: PortDevice;

  private readonly events: VmEvents;
  private readonly irq1: (level: boolean) => void;
  private readonly irq12: (level: boolean) => void;
  private readonly kbd: Keyboard;
  private readonly mouse: Mouse;

  /** Controller RAM; byte 0 is the command byte. */
  private readonly ram = new Uint8Array(32);
  private outPort = OUTPORT_DEFAULT;
  private lastWasCommand = true;
  /** A command waiting for its data byte on 0x60. */
  private pending: number | null = null;
  private ctrlQ: Array<{ value: number; aux: boolean }> = [];
  private obfFull = false;
  private obfAux = false;
  /** Reading an empty buffer returns the last byte again, as the hardware does. */
  private obfValue = 0;
  /** Translation saw 0xF0: the next byte is a break. */
  private xlatBreak = false;
  private irq1Level = false;
  private irq12Level = false;

  constructor(opts: I8042Options) {
    this.events = opts.events;
    this.irq1 = opts.irq1;
    this.irq12 = opts.irq12;
    const cap = opts.queueBytes ?? DEVICE_QUEUE_BYTES;
    // The longest sequence (Pause) is 8 bytes and must fit.
    if (!Number.isInteger(cap) || cap < 8 || cap > 65536) throw new RangeError(`i8042 queueBytes ${cap} is invalid`);
    this.kbd = new Keyboard(cap);
    this.mouse = new Mouse(cap);
    this.data = {
      portRead: (_off, size) => (size === 1 ? this.readData() : allOnes(size)),
      portWrite: (_off, size, value) => {
        if (size === 1) this.writeData(value & 0xff);
      },
    };
    this.command = {
      portRead: (_off, size) => (size === 1 ? this.status() : allOnes(size)),
      portWrite: (_off, size, value) => {
        if (size === 1) this.writeCommand(value & 0xff);
      },
    };
    this.powerOn();
  }

  /** Machine reset: the controller and both devices return to their power-on state. */
  reset(): void {
    this.powerOn();
    this.update();
  }

  /** A key press from the host; dropped (false) while the keyboard is not scanning, its
   *  interface is disabled, or its queue is full. Held keys may be pressed again (typematic). */
  keyDown(code: KeyCode): boolean {
    const ok = this.kbd.keyDown(code, (this.ctr & CTR_KBD_DIS) === 0);
    this.update();
    return ok;
  }

  /** A key release from the host; only for presses that were queued. */
  keyUp(code: KeyCode): boolean {
    const ok = this.kbd.keyUp(code);
    this.update();
    return ok;
  }

  /** Relative mouse input in evdev's sense (dx > 0 right, dy > 0 down, wheel > 0 away from the
   *  user), `buttons` from MouseButton. Queued as packets while reporting is on (accumulated in
   *  remote mode); false when dropped. */
  mouseMove(dx: number, dy: number, buttons: number, wheel = 0): boolean {
    const ok = this.mouse.move(dx, dy, buttons, wheel, (this.ctr & CTR_AUX_DIS) === 0);
    this.update();
    return ok;
  }

  /** The keyboard LEDs the guest set: bit 0 Scroll Lock, bit 1 Num Lock, bit 2 Caps Lock. */
  get leds(): number {
    return this.kbd.leds;
  }

  /** Bytes waiting behind the output buffer, per source (each bounded; see the *_BYTES constants). */
  queueDepth(): {
    controller: number;
    keyboard: { replies: number; data: number };
    aux: { replies: number; data: number };
  } {
    return { controller: this.ctrlQ.length, keyboard: this.kbd.q.depth, aux: this.mouse.q.depth };
  }

  private get ctr(): number {
    return this.ram[0]!;
  }

  private set ctr(v: number) {
    this.ram[0] = v;
  }

  private powerOn(): void {
    this.ram.fill(0);
    this.ctr = POWER_ON_COMMAND_BYTE;
    this.outPort = OUTPORT_DEFAULT;
    this.lastWasCommand = true;
    this.pending = null;
    this.ctrlQ = [];
    this.obfFull = false;
    this.obfAux = false;
    this.obfValue = 0;
    this.xlatBreak = false;
    this.kbd.powerOn();
    this.mouse.powerOn();
  }

  private status(): number {
    return (
      (this.obfFull ? STS_OBF : 0) |
      (this.ctr & CTR_SYS ? STS_SYS : 0) |
      (this.lastWasCommand ? STS_CMD : 0) |
      STS_UNLOCKED |
      (this.obfFull && this.obfAux ? STS_AUX_OBF : 0)
    );
  }

  private outputPort(): number {
    const obf = this.obfFull ? (this.obfAux ? 0x20 : 0x10) : 0;
    return (this.outPort & ~0x30) | obf;
  }

  private readData(): number {
    const v = this.obfValue;
    this.obfFull = false;
    // Drop the line before the next byte raises it again: ISA interrupts are edge-triggered,
    // and an interrupt that stayed high across bytes would not be seen as a new one.
    this.setLines(false, false);
    this.update();
    return v;
  }

  private writeData(v: number): void {
    this.lastWasCommand = false;
    const p = this.pending;
    this.pending = null;
    if (p === null) {
      // Sending to the keyboard re-enables its interface (QEMU does the same; Windows' i8042prt
      // talks to the keyboard with the interface disabled).
      this.ctr &= ~CTR_KBD_DIS;
      this.kbd.write(v);
    } else if (p >= 0x60 && p < 0x80) {
      this.ram[p & 0x1f] = v;
    } else if (p === 0xd1) {
      this.outPort = v;
      if ((v & 0x01) === 0) this.events.request('reset', `i8042 reset (output port ← 0x${hex(v)})`);
    } else if (p === 0xd2) {
      this.controllerReply(v, false);
    } else if (p === 0xd3) {
      this.controllerReply(v, true);
    } else if (p === 0xd4) {
      this.mouse.write(v);
    }
    this.update();
  }

  private writeCommand(cmd: number): void {
    this.lastWasCommand = true;
    this.pending = null;
    if (cmd >= 0x20 && cmd < 0x40) {
      this.controllerReply(this.ram[cmd & 0x1f]!, false); // 0x20: the command byte
    } else if (cmd >= 0x60 && cmd < 0x80) {
      this.pending = cmd; // 0x60: write the command byte
    } else if (cmd >= 0xf0) {
      // Pulse the output port's low bits whose command bit is 0; bit 0 is the reset line.
      if ((cmd & 0x01) === 0) this.events.request('reset', `i8042 reset (0x64 ← 0x${hex(cmd)})`);
    } else {
      switch (cmd) {
        case 0xa7:
          this.ctr |= CTR_AUX_DIS;
          break;
        case 0xa8:
          this.ctr &= ~CTR_AUX_DIS;
          break;
        case 0xa9: // aux interface test: no error
        case 0xab: // keyboard interface test: no error
          this.controllerReply(0x00, false);
          break;
        case 0xaa: // self-test passes and sets the system flag
          this.ctr |= CTR_SYS;
          this.controllerReply(0x55, false);
          break;
        case 0xad:
          this.ctr |= CTR_KBD_DIS;
          break;
        case 0xae:
          this.ctr &= ~CTR_KBD_DIS;
          break;
        case 0xc0:
          this.controllerReply(INPORT, false);
          break;
        case 0xd0:
          this.controllerReply(this.outputPort(), false);
          break;
        case 0xd1: // write output port
        case 0xd2: // write keyboard output buffer
        case 0xd3: // write aux output buffer
        case 0xd4: // write to the mouse
          this.pending = cmd;
          break;
        default:
          break; // password, test-input and vendor commands: ignored
      }
    }
    this.update();
  }

  private controllerReply(value: number, aux: boolean): void {
    if (this.ctrlQ.length < CONTROLLER_QUEUE_BYTES) this.ctrlQ.push({ value: value & 0xff, aux });
  }

  /** Loads the output buffer if it is empty, then drives the interrupt lines. */
  private update(): void {
    if (!this.obfFull) this.fill();
    const full = this.obfFull;
    this.setLines(
      full && !this.obfAux && (this.ctr & CTR_KBD_INT) !== 0,
      full && this.obfAux && (this.ctr & CTR_AUX_INT) !== 0,
    );
  }

  private fill(): void {
    const c = this.ctrlQ.shift();
    if (c) return this.load(c.value, c.aux);
    if ((this.ctr & CTR_KBD_DIS) === 0) {
      for (let b = this.kbd.q.next(); b !== undefined; b = this.kbd.q.next()) {
        if (this.ctr & CTR_XLATE) {
          if (b === 0xf0) {
            this.xlatBreak = true;
            continue;
          }
          b = XLATE[b]! | (this.xlatBreak ? 0x80 : 0);
          this.xlatBreak = false;
        }
        return this.load(b, false);
      }
    }
    if ((this.ctr & CTR_AUX_DIS) === 0) {
      const b = this.mouse.q.next();
      if (b !== undefined) return this.load(b, true);
    }
  }

  private load(value: number, aux: boolean): void {
    this.obfFull = true;
    this.obfAux = aux;
    this.obfValue = value;
  }

  private setLines(l1: boolean, l12: boolean): void {
    if (l1 !== this.irq1Level) {
      this.irq1Level = l1;
      this.irq1(l1);
    }
    if (l12 !== this.irq12Level) {
      this.irq12Level = l12;
      this.irq12(l12);
    }
  }
}

function hex(v: number): string {
  return v.toString(16).toUpperCase().padStart(2, '0');
}
