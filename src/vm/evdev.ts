// The host's evdev input devices as the VM's PS/2 keyboard and mouse see them
// (docs/vmm-platform.md §9.1.1): which /dev/input/event* nodes are keyboards or mice
// (/proc/bus/input/devices), and a decoder from one device's `struct input_event` stream to key
// strokes and mouse reports. Pure: the reading, grabbing and forwarding are host-input.ts's.
//
// Kernel references: Documentation/input/input.rst (the event interface, struct input_event),
// Documentation/input/event-codes.rst (EV_SYN/SYN_REPORT framing, SYN_DROPPED, key values 0/1/2,
// REL_WHEEL against REL_WHEEL_HI_RES), include/uapi/linux/input-event-codes.h (the numbers).
import { isKeyCode, MouseButton, type KeyCode } from './i8042';

export const EV_SYN = 0;
export const EV_KEY = 1;
export const EV_REL = 2;
export const EV_ABS = 3;
export const ABS_X = 0;
export const ABS_Y = 1;
export const BTN_TOOL_FINGER = 0x145;
export const BTN_TOUCH = 0x14a;
/** INPUT_PROP_DIRECT: a touchscreen (positions are on the screen), not a touchpad. */
const INPUT_PROP_DIRECT = 1;
export const SYN_REPORT = 0;
export const SYN_DROPPED = 3;
export const REL_X = 0;
export const REL_Y = 1;
export const REL_WHEEL = 8;
export const BTN_LEFT = 0x110;
export const KEY_MAX = 0x2ff;

/** sizeof(struct input_event) on 64-bit Linux: struct timeval (16), type u16, code u16, value s32. */
export const INPUT_EVENT_BYTES = 24;

/** evdev button codes → the PS/2 mouse's button bits. */
const BUTTONS: ReadonlyMap<number, number> = new Map([
  [BTN_LEFT, MouseButton.LEFT],
  [0x111, MouseButton.RIGHT],
  [0x112, MouseButton.MIDDLE],
  [0x113, MouseButton.SIDE],
  [0x114, MouseButton.EXTRA],
]);

/** What one device reports, in order. */
export type DeviceEvent =
  /** A key: 1 press, 0 release, 2 the host's autorepeat (forwarded as typematic makes). */
  | { readonly type: 'key'; readonly code: KeyCode; readonly value: 0 | 1 | 2 }
  /** One SYN_REPORT's worth of relative motion and this device's buttons after it. */
  | {
      readonly type: 'motion';
      readonly dx: number;
      readonly dy: number;
      readonly wheel: number;
      readonly buttons: number;
    }
  /** SYN_DROPPED: the device's events were lost; everything it held is released. */
  | { readonly type: 'resync' };

/** An absolute axis as EVIOCGABS reports it (struct input_absinfo). */
export interface AbsAxis {
  readonly minimum: number;
  readonly maximum: number;
  /** Units per millimetre; 0 when the driver does not say. */
  readonly resolution: number;
}

/**
 * Mouse counts per millimetre of finger travel on a touchpad: 8 (200 dpi) is a PS/2 mouse's
 * usual resolution, so the guest's pointer speed and acceleration apply as to a mouse.
 */
export const TOUCHPAD_COUNTS_PER_MM = 8;
/** A pad whose driver gives no resolution is taken to be this wide (mm): a laptop's usual size. */
const ASSUMED_PAD_WIDTH_MM = 100;

/** Counts per axis unit for `a`. */
export function countsPerUnit(a: AbsAxis, assumedMm = ASSUMED_PAD_WIDTH_MM): number {
  if (a.resolution > 0) return TOUCHPAD_COUNTS_PER_MM / a.resolution;
  const span = a.maximum - a.minimum;
  return span > 0 ? (TOUCHPAD_COUNTS_PER_MM * assumedMm) / span : 0;
}

/** Accumulated motion is clamped here per report (the i8042 splits or flags what is beyond a packet). */
const MAX_ACCUMULATED = 1 << 20;
/** Distinct unknown key codes remembered for the report (the count covers all of them). */
const MAX_UNKNOWN_CODES = 32;

const clampAcc = (v: number): number =>
  v > MAX_ACCUMULATED ? MAX_ACCUMULATED : v < -MAX_ACCUMULATED ? -MAX_ACCUMULATED : v;

/**
 * Decodes one device's event stream. Bounded: it keeps at most one partial record between reads,
 * the keys this device holds (at most KEY_MAX + 1) and one report's motion.
 */
export class EvdevDecoder {
  private partial = new Uint8Array(0);
  private readonly held = new Set<KeyCode>();
  private buttons = 0;
  private reported = 0;
  private dx = 0;
  private dy = 0;
  private wheel = 0;
  /** After SYN_DROPPED: events up to and including the next SYN_REPORT are stale (event-codes.rst). */
  private dropping = false;
  /** Key events whose code the PS/2 keyboard does not have. */
  unknownKeys = 0;
  readonly unknownCodes = new Set<number>();
  /** SYN_DROPPED seen. */
  drops = 0;

  /** Touchpad state: the finger is down, where it was at the last report, where it is now. */
  private touching = false;
  private last: { x: number; y: number } | null = null;
  private absX = 0;
  private absY = 0;
  /** Sub-count motion carried to the next report, so slow strokes still move the pointer. */
  private carryX = 0;
  private carryY = 0;

  /**
   * @param touchpad the axes of a touchpad (EVIOCGABS ABS_X, ABS_Y): its absolute finger position
   *   becomes relative motion while a finger is down, as a PS/2 touchpad in relative mode sends.
   */
  constructor(
    private readonly recordBytes: number = INPUT_EVENT_BYTES,
    private readonly touchpad: { readonly x: AbsAxis; readonly y: AbsAxis } | null = null,
  ) {}

  /** The keys this device holds now. */
  get down(): ReadonlySet<KeyCode> {
    return this.held;
  }

  feed(bytes: Uint8Array): DeviceEvent[] {
    const out: DeviceEvent[] = [];
    let buf = bytes;
    if (this.partial.length) {
      buf = new Uint8Array(this.partial.length + bytes.length);
      buf.set(this.partial);
      buf.set(bytes, this.partial.length);
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const rb = this.recordBytes;
    let off = 0;
    for (; off + rb <= buf.length; off += rb)
      this.event(
        dv.getUint16(off + rb - 8, true),
        dv.getUint16(off + rb - 6, true),
        dv.getInt32(off + rb - 4, true),
        out,
      );
    this.partial = buf.slice(off);
    return out;
  }

  /**
   * A finger's travel since the last report, as mouse counts (a touchpad's y grows downwards, as
   * the dy of a motion here does). The first report after the finger lands only sets the origin.
   */
  private touchMotion(pad: { readonly x: AbsAxis; readonly y: AbsAxis }): void {
    if (!this.touching) return;
    const at = { x: this.absX, y: this.absY };
    if (this.last) {
      const fx = (at.x - this.last.x) * countsPerUnit(pad.x) + this.carryX;
      const fy = (at.y - this.last.y) * countsPerUnit(pad.y) + this.carryY;
      const ix = Math.trunc(fx);
      const iy = Math.trunc(fy);
      this.carryX = fx - ix;
      this.carryY = fy - iy;
      this.dx = clampAcc(this.dx + ix);
      this.dy = clampAcc(this.dy + iy);
    } else this.carryX = this.carryY = 0;
    this.last = at;
  }

  private event(type: number, code: number, value: number, out: DeviceEvent[]): void {
    if (type === EV_SYN) {
      if (code === SYN_DROPPED) {
        this.drops++;
        this.dropping = true;
        this.dx = this.dy = this.wheel = 0;
        this.held.clear();
        this.buttons = this.reported = 0;
        this.last = null; // a touchpad's next position is a new origin, not a jump
        out.push({ type: 'resync' });
      } else if (code === SYN_REPORT) {
        if (this.dropping) {
          this.dropping = false;
          return;
        }
        if (this.touchpad) this.touchMotion(this.touchpad);
        if (this.dx || this.dy || this.wheel || this.buttons !== this.reported)
          out.push({ type: 'motion', dx: this.dx, dy: this.dy, wheel: this.wheel, buttons: this.buttons });
        this.dx = this.dy = this.wheel = 0;
        this.reported = this.buttons;
      }
      return;
    }
    if (this.dropping) return;
    if (type === EV_REL) {
      // REL_WHEEL_HI_RES (1/120 notch) comes with a REL_WHEEL for every whole notch; the PS/2
      // wheel counts notches, so only REL_WHEEL is taken. REL_HWHEEL has no PS/2 field.
      if (code === REL_X) this.dx = clampAcc(this.dx + value);
      else if (code === REL_Y) this.dy = clampAcc(this.dy + value);
      else if (code === REL_WHEEL) this.wheel = clampAcc(this.wheel + value);
      return;
    }
    if (type === EV_ABS) {
      if (!this.touchpad) return;
      if (code === ABS_X) this.absX = value;
      else if (code === ABS_Y) this.absY = value;
      return; // ABS_MT_*: the legacy axes follow the first finger, which is the pointer
    }
    if (type !== EV_KEY) return; // EV_MSC (scan codes), EV_LED, ...: nothing for PS/2
    if (this.touchpad && code === BTN_TOUCH) {
      // Landing or lifting: the next position is a new origin (never a jump across the pad).
      this.touching = value !== 0;
      this.last = null;
      return;
    }
    // BTN_TOOL_* (how many fingers, pen or finger): the pointer follows one finger only.
    if (this.touchpad && code >= 0x140 && code <= 0x14f) return;
    const bit = BUTTONS.get(code);
    if (bit !== undefined) {
      if (value === 1) this.buttons |= bit;
      else if (value === 0) this.buttons &= ~bit;
      return;
    }
    if (!isKeyCode(code)) {
      // BTN_TOUCH, BTN_TOOL_*, media keys the board lacks: counted, never forwarded.
      if (value !== 0) {
        this.unknownKeys++;
        if (this.unknownCodes.size < MAX_UNKNOWN_CODES) this.unknownCodes.add(code & 0xffff);
      }
      return;
    }
    if (value === 1) {
      this.held.add(code);
      out.push({ type: 'key', code, value: 1 });
    } else if (value === 0) {
      if (this.held.delete(code)) out.push({ type: 'key', code, value: 0 });
    } else if (value === 2) {
      if (this.held.has(code)) out.push({ type: 'key', code, value: 2 });
    }
  }
}

/** One `input_event` record as the kernel writes it (tests build streams with it). */
export function inputEvent(type: number, code: number, value: number, sec = 0, usec = 0): Uint8Array {
  const b = new Uint8Array(INPUT_EVENT_BYTES);
  const dv = new DataView(b.buffer);
  dv.setBigInt64(0, BigInt(sec), true);
  dv.setBigInt64(8, BigInt(usec), true);
  dv.setUint16(16, type, true);
  dv.setUint16(18, code, true);
  dv.setInt32(20, value, true);
  return b;
}

export type InputDeviceKind = 'keyboard' | 'mouse' | 'touchpad';

/** An evdev node from /proc/bus/input/devices. */
export interface InputDevice {
  /** /dev/input/eventN */
  readonly path: string;
  readonly name: string;
  /** Keyboard and/or mouse (a keyboard with a pointing stick is both); empty: neither. */
  readonly kinds: readonly InputDeviceKind[];
}

const LETTERS = [
  30, 48, 46, 32, 18, 33, 34, 35, 23, 36, 37, 38, 50, 49, 24, 25, 16, 19, 31, 20, 22, 47, 17, 45, 21, 44,
];
const KEY_ENTER = 28;

/** A "B: NAME=..." bitmap: hex words of `wordBits` bits, the most significant first. */
export function bitmapHas(words: string, bit: number, wordBits = 64): boolean {
  const parts = words.trim().split(/\s+/).filter(Boolean);
  const i = Math.floor(bit / wordBits);
  const w = parts[parts.length - 1 - i];
  if (w === undefined || !/^[0-9a-f]{1,16}$/i.test(w)) return false;
  return ((BigInt('0x' + w) >> BigInt(bit % wordBits)) & 1n) === 1n;
}

/** What a device's capabilities make it: a keyboard has EV_KEY with every letter and Enter; a
 *  mouse has EV_REL with REL_X and REL_Y and BTN_LEFT; a touchpad has EV_ABS with ABS_X and ABS_Y,
 *  BTN_TOUCH and BTN_TOOL_FINGER, and is not a touchscreen (INPUT_PROP_DIRECT). */
export function deviceKinds(
  ev: string,
  key: string,
  rel: string,
  wordBits = 64,
  abs = '',
  prop = '',
): InputDeviceKind[] {
  const kinds: InputDeviceKind[] = [];
  const hasKey = bitmapHas(ev, EV_KEY, wordBits);
  if (hasKey && [...LETTERS, KEY_ENTER].every((k) => bitmapHas(key, k, wordBits))) kinds.push('keyboard');
  if (
    hasKey &&
    bitmapHas(ev, EV_REL, wordBits) &&
    bitmapHas(rel, REL_X, wordBits) &&
    bitmapHas(rel, REL_Y, wordBits) &&
    bitmapHas(key, BTN_LEFT, wordBits)
  )
    kinds.push('mouse');
  if (
    hasKey &&
    bitmapHas(ev, EV_ABS, wordBits) &&
    bitmapHas(abs, ABS_X, wordBits) &&
    bitmapHas(abs, ABS_Y, wordBits) &&
    bitmapHas(key, BTN_TOUCH, wordBits) &&
    bitmapHas(key, BTN_TOOL_FINGER, wordBits) &&
    !bitmapHas(prop, INPUT_PROP_DIRECT, wordBits)
  )
    kinds.push('touchpad');
  return kinds;
}

/** Parses /proc/bus/input/devices (blank-line separated blocks of "X: ..." lines). Only devices
 *  with an evdev handler (eventN) are listed. `wordBits`: the kernel's unsigned long. */
export function parseInputDevices(text: string, wordBits = 64): InputDevice[] {
  const out: InputDevice[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    let name = '';
    let event: string | null = null;
    const bits: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const n = /^N: Name="(.*)"\s*$/.exec(line);
      if (n) name = n[1]!;
      const h = /^H: Handlers=(.*)$/.exec(line);
      if (h) event = h[1]!.split(/\s+/).find((x) => /^event\d+$/.test(x)) ?? null;
      const b = /^B: ([A-Z]+)=(.*)$/.exec(line);
      if (b) bits[b[1]!] = b[2]!;
    }
    if (event === null) continue;
    out.push({
      path: `/dev/input/${event}`,
      name,
      kinds: deviceKinds(bits.EV ?? '', bits.KEY ?? '', bits.REL ?? '', wordBits, bits.ABS ?? '', bits.PROP ?? ''),
    });
  }
  return out;
}
