// i8042 keyboard controller driven through its ports as OVMF, Linux (i8042/atkbd/psmouse) and
// Windows drive it, and the serial-console key decoder that feeds it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConsoleKeys, MAX_SEQUENCE, strokeEvents, type KeyStroke } from '../../../src/vm/console-keys';
import { VmEvents } from '../../../src/vm/events';
import {
  CONTROLLER_QUEUE_BYTES,
  DEVICE_QUEUE_BYTES,
  I8042,
  isKeyCode,
  KEY,
  MouseButton,
  POWER_ON_COMMAND_BYTE,
  REPLY_QUEUE_BYTES,
  translateSet2,
  type KeyCode,
} from '../../../src/vm/i8042';

const OBF = 0x01;
const SYS = 0x04;
const AUX = 0x20;

function kbc() {
  const events = new VmEvents();
  const irq1: boolean[] = [];
  const irq12: boolean[] = [];
  const k = new I8042({ events, irq1: (l) => irq1.push(l), irq12: (l) => irq12.push(l) });
  const cmd = (c: number): void => k.command.portWrite(0, 1, c);
  const write = (v: number): void => k.data.portWrite(0, 1, v);
  const status = (): number => k.command.portRead(0, 1);
  const read = (): number => k.data.portRead(0, 1);
  /** Reads while OBF is set, like a polling driver (bounded, so a bug cannot hang the test). */
  const drain = (): number[] => {
    const out: number[] = [];
    for (let i = 0; i < 100_000 && status() & OBF; i++) out.push(read());
    return out;
  };
  /** Drains, keeping only the bytes whose AUX bit matches. */
  const drainFrom = (aux: boolean): number[] => {
    const out: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      const s = status();
      if (!(s & OBF)) break;
      const v = read();
      if (((s & AUX) !== 0) === aux) out.push(v);
    }
    return out;
  };
  // Each byte's answer is read before the next byte goes out, as libps2 and OVMF do.
  const kbd = (...bytes: number[]): number[] =>
    bytes.flatMap((b) => {
      write(b);
      return drain();
    });
  const aux = (...bytes: number[]): number[] =>
    bytes.flatMap((b) => {
      cmd(0xd4);
      write(b);
      return drainFrom(true);
    });
  const ctr = (): number => {
    cmd(0x20);
    return read();
  };
  const setCtr = (v: number): void => {
    cmd(0x60);
    write(v);
  };
  const press = (code: KeyCode): number[] => {
    k.keyDown(code);
    k.keyUp(code);
    return drain();
  };
  return { k, events, irq1, irq12, cmd, write, status, read, drain, drainFrom, kbd, aux, ctr, setCtr, press };
}

const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('i8042 controller', () => {
  it('is present at power-on: status is not all-ones, no data, no system flag', () => {
    const { status, k } = kbc();
    expect(status() & (OBF | SYS | 0xc0)).toBe(0);
    expect(k.data.portRead(0, 2)).toBe(0xffff);
    expect(k.command.portRead(0, 4)).toBe(0xffffffff);
  });

  it('self-tests with 0x55 and sets the system flag (OVMF and Linux i8042 sequence)', () => {
    const { cmd, status, read, ctr } = kbc();
    cmd(0xad);
    cmd(0xa7);
    cmd(0xaa);
    expect(status() & OBF).toBe(OBF);
    expect(status() & AUX).toBe(0);
    expect(read()).toBe(0x55);
    expect(status() & SYS).toBe(SYS);
    expect(ctr()).toBe(POWER_ON_COMMAND_BYTE | 0x04 | 0x10 | 0x20);
  });

  it('powers on with command byte 0x43 (0x47 after self-test): translation and both interrupts', () => {
    const { ctr, cmd, read } = kbc();
    expect(POWER_ON_COMMAND_BYTE).toBe(0x43);
    expect(ctr()).toBe(0x43);
    cmd(0xaa);
    expect(read()).toBe(0x55);
    expect(ctr()).toBe(0x47);
  });

  it('writes and reads back the command byte; A7/A8/AD/AE toggle the disable bits', () => {
    const { ctr, setCtr, cmd, status } = kbc();
    setCtr(0x67); // what OVMF writes
    expect(ctr()).toBe(0x67);
    expect(status() & SYS).toBe(SYS);
    cmd(0xa8);
    expect(ctr() & 0x20).toBe(0);
    cmd(0xa7);
    expect(ctr() & 0x20).toBe(0x20);
    cmd(0xad);
    expect(ctr() & 0x10).toBe(0x10);
    cmd(0xae);
    expect(ctr() & 0x10).toBe(0);
    setCtr(0x00);
    expect(status() & SYS).toBe(0);
  });

  it('reports the command/data bit of the last write', () => {
    const { cmd, write, status, read } = kbc();
    cmd(0x20);
    expect(status() & 0x08).toBe(0x08);
    read();
    write(0xee);
    expect(status() & 0x08).toBe(0);
  });

  it('answers the interface tests and port reads', () => {
    const { cmd, read, status } = kbc();
    cmd(0xa9);
    expect(read()).toBe(0x00);
    cmd(0xab);
    expect(read()).toBe(0x00);
    cmd(0xc0);
    expect(read()).toBe(0x80);
    cmd(0xd0);
    expect(read()).toBe(0xcf); // reset line high, A20 on, both OBF lines low when sampled
    expect(status() & OBF).toBe(0);
  });

  it('loops back 0xD2 as keyboard data and 0xD3 as aux data, raising the matching IRQ', () => {
    const { cmd, write, status, read, irq1, irq12, setCtr } = kbc();
    setCtr(0x47);
    cmd(0xd2);
    write(0x5a);
    expect(status() & (OBF | AUX)).toBe(OBF);
    expect(irq1).toEqual([true]);
    expect(read()).toBe(0x5a);
    expect(irq1).toEqual([true, false]);
    // Linux's i8042_check_aux: loopback works with the aux port disabled too.
    cmd(0xa7);
    cmd(0xd3);
    write(0xa5);
    expect(status() & (OBF | AUX)).toBe(OBF | AUX);
    expect(irq12).toEqual([true]);
    expect(read()).toBe(0xa5);
    expect(irq12).toEqual([true, false]);
  });

  it('echoes the Linux active-multiplexing probe, so it is not mistaken for a MUX controller', () => {
    const { cmd, write, read } = kbc();
    for (const v of [0xf0, 0x56, 0xa4]) {
      cmd(0xd3);
      write(v);
      expect(read()).toBe(v);
    }
  });

  it('resets the machine on 0xFE to 0x64 exactly like the old placeholder', () => {
    const { cmd, events } = kbc();
    cmd(0xfe);
    expect(events.pending).toBe('reset');
    expect(events.reason).toBe('i8042 reset (0x64 ← 0xFE)');
  });

  it('resets on other pulses of output bit 0, but not on 0xFF or wide writes', () => {
    const a = kbc();
    a.cmd(0xff);
    a.k.command.portWrite(0, 2, 0xfe);
    expect(a.events.pending).toBeNull();
    a.cmd(0xf0);
    expect(a.events.pending).toBe('reset');
  });

  it('resets when the output port is written with bit 0 clear, not when only A20 changes', () => {
    const { cmd, write, events } = kbc();
    cmd(0xd1);
    write(0xdd); // A20 off, as old DOS extenders do
    cmd(0xd1);
    write(0xdf);
    expect(events.pending).toBeNull();
    cmd(0xd1);
    write(0xfe);
    expect(events.pending).toBe('reset');
    expect(events.reason).toBe('i8042 reset (output port ← 0xFE)');
  });

  it('returns to power-on state on reset() and lowers a raised line', () => {
    const { k, cmd, ctr, irq1 } = kbc();
    cmd(0xaa);
    expect(irq1).toEqual([true]);
    k.reset();
    expect(irq1).toEqual([true, false]);
    expect(ctr()).toBe(POWER_ON_COMMAND_BYTE);
  });

  it('ignores unknown controller commands', () => {
    const { cmd, status } = kbc();
    for (const c of [0x00, 0xa1, 0xa4, 0xc1, 0xe0]) cmd(c);
    expect(status() & OBF).toBe(0);
  });
});

describe('i8042 keyboard', () => {
  it('answers the Linux atkbd probe with translation on (identify reads AB 41)', () => {
    const { kbd, setCtr } = kbc();
    setCtr(0x47);
    expect(kbd(0xff)).toEqual([0xfa, 0xaa]); // atkbd.reset
    expect(kbd(0xf2)).toEqual([0xfa, 0xab, 0x41]);
    expect(kbd(0xf5)).toEqual([0xfa]); // atkbd_deactivate
    expect(kbd(0xf0, 0x00)).toEqual([0xfa, 0xfa, 0x41]); // set 2, as a translating 8042 mangles it
    expect(kbd(0xed, 0x02)).toEqual([0xfa, 0xfa]); // Num Lock LED
    expect(kbd(0xf3, 0x2b)).toEqual([0xfa, 0xfa]); // typematic
    expect(kbd(0xf4)).toEqual([0xfa]); // atkbd_activate
    expect(kbd(0xee)).toEqual([0xee]);
    expect(kbd(0x01)).toEqual([0xfe]);
  });

  it('remembers the LEDs the guest set', () => {
    const { kbd, k } = kbc();
    kbd(0xed, 0x06);
    expect(k.leds).toBe(0x06);
  });

  it('answers untranslated with AB 83 and switches scan code sets (OVMF selects set 2)', () => {
    const { kbd, setCtr, press } = kbc();
    setCtr(0x07);
    expect(kbd(0xf2)).toEqual([0xfa, 0xab, 0x83]);
    expect(kbd(0xf0, 0x00)).toEqual([0xfa, 0xfa, 0x02]);
    expect(kbd(0xf0, 0x01)).toEqual([0xfa, 0xfa]);
    expect(kbd(0xf0, 0x00)).toEqual([0xfa, 0xfa, 0x01]);
    expect(press(KEY.A)).toEqual([0x1e, 0x9e]); // set 1 straight from the keyboard
    expect(kbd(0xf0, 0x03)).toEqual([0xfa, 0xfa]); // set 3: acknowledged, not taken
    expect(kbd(0xf0, 0x00)).toEqual([0xfa, 0xfa, 0x01]);
    expect(kbd(0xf0, 0x09)).toEqual([0xfa, 0xfe]);
    expect(kbd(0xf0, 0x02)).toEqual([0xfa, 0xfa]);
    expect(press(KEY.A)).toEqual([0x1c, 0xf0, 0x1c]);
  });

  it('sends set 1 with translation on: KEY_A 1E/9E, KEY_UP E0 48/E0 C8', () => {
    const { press } = kbc();
    expect(press(KEY.A)).toEqual([0x1e, 0x9e]);
    expect(press(KEY.UP)).toEqual([0xe0, 0x48, 0xe0, 0xc8]);
    expect(press(KEY.PAUSE)).toEqual([0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5]);
    expect(press(KEY.SYSRQ)).toEqual([0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa]);
  });

  it('sends raw set 2 with translation off: KEY_A 1C / F0 1C, KEY_UP E0 75 / E0 F0 75', () => {
    const { press, setCtr } = kbc();
    setCtr(0x07);
    expect(press(KEY.A)).toEqual([0x1c, 0xf0, 0x1c]);
    expect(press(KEY.UP)).toEqual([0xe0, 0x75, 0xe0, 0xf0, 0x75]);
    expect(press(KEY.F7)).toEqual([0x83, 0xf0, 0x83]);
  });

  it('translates every non-extended key to its Linux key code (set 1 code = key code up to 88)', () => {
    const { press } = kbc();
    const basic = Object.values(KEY).filter((c) => c <= 88);
    expect(basic.length).toBeGreaterThan(80);
    for (const code of basic) expect(press(code)).toEqual([code, code | 0x80]);
  });

  it('sends the 0xE0 set-1 codes for the extended keys', () => {
    const { press } = kbc();
    const set1: Array<[KeyCode, number]> = [
      [KEY.UP, 0x48],
      [KEY.DOWN, 0x50],
      [KEY.LEFT, 0x4b],
      [KEY.RIGHT, 0x4d],
      [KEY.HOME, 0x47],
      [KEY.END, 0x4f],
      [KEY.PAGEUP, 0x49],
      [KEY.PAGEDOWN, 0x51],
      [KEY.INSERT, 0x52],
      [KEY.DELETE, 0x53],
      [KEY.RIGHTCTRL, 0x1d],
      [KEY.RIGHTALT, 0x38],
      [KEY.KPENTER, 0x1c],
      [KEY.KPSLASH, 0x35],
      [KEY.LEFTMETA, 0x5b],
      [KEY.RIGHTMETA, 0x5c],
      [KEY.COMPOSE, 0x5d],
    ];
    for (const [code, s1] of set1) expect(press(code)).toEqual([0xe0, s1, 0xe0, s1 | 0x80]);
  });

  it('translates a whole set-2 stream like the controller does', () => {
    expect(translateSet2([0x12, 0x1c, 0xf0, 0x1c, 0xf0, 0x12])).toEqual([0x2a, 0x1e, 0x9e, 0xaa]);
  });

  it('raises IRQ1 per byte (a new edge for each) and not with the interrupt disabled', () => {
    const { k, irq1, read, setCtr } = kbc();
    k.keyDown(KEY.UP);
    expect(irq1).toEqual([true]);
    expect(read()).toBe(0xe0);
    expect(irq1).toEqual([true, false, true]);
    expect(read()).toBe(0x48);
    expect(irq1).toEqual([true, false, true, false]);
    setCtr(0x44);
    k.keyUp(KEY.UP);
    expect(irq1).toEqual([true, false, true, false]);
    setCtr(0x45); // enabling the interrupt with data waiting raises the line
    expect(irq1).toEqual([true, false, true, false, true]);
  });

  it('drops presses while scanning is off or the interface is disabled, keeps owed releases', () => {
    const { k, kbd, cmd, drain, press } = kbc();
    kbd(0xf5);
    expect(k.keyDown(KEY.A)).toBe(false);
    expect(drain()).toEqual([]);
    kbd(0xf4);
    expect(k.keyDown(KEY.B)).toBe(true);
    cmd(0xad);
    expect(k.keyDown(KEY.A)).toBe(false);
    expect(k.keyUp(KEY.A)).toBe(false); // its press never reached the guest
    expect(k.keyUp(KEY.B)).toBe(true); // waits behind the inhibited interface
    expect(drain()).toEqual([0x30]); // the press was already in the output buffer
    cmd(0xae);
    expect(drain()).toEqual([0xb0]);
    expect(press(KEY.A)).toEqual([0x1e, 0x9e]);
  });

  it('re-enables the keyboard interface when the guest writes to the keyboard', () => {
    const { cmd, kbd, ctr } = kbc();
    cmd(0xad);
    expect(kbd(0xf2)).toEqual([0xfa, 0xab, 0x41]);
    expect(ctr() & 0x10).toBe(0);
  });

  it('lets a command reply overtake queued keys, but not split a key sequence', () => {
    const { k, write, read, drain } = kbc();
    k.keyDown(KEY.SYSRQ);
    k.keyDown(KEY.A);
    expect(read()).toBe(0xe0);
    write(0xee);
    expect(drain()).toEqual([0x2a, 0xe0, 0x37, 0xee, 0x1e]);
  });

  it('stays bounded when 10,000 keys are pushed unread, and never loses a release', () => {
    const { k, drain } = kbc();
    const keys = [KEY.A, KEY.UP, KEY.LEFTSHIFT, KEY.PAUSE, KEY.SYSRQ];
    expect(() => {
      for (let i = 0; i < 10_000; i++) {
        const code = keys[i % keys.length]!;
        k.keyDown(code);
        if (i % 3 !== 0) k.keyUp(code);
      }
      for (const code of keys) k.keyUp(code);
    }).not.toThrow();
    const depth = k.queueDepth().keyboard;
    expect(depth.data).toBeLessThanOrEqual(DEVICE_QUEUE_BYTES);
    // Every key the guest saw go down, it also saw come up.
    const down = new Map<number, boolean>();
    let ext = false;
    for (const b of drain()) {
      if (b === 0xe0 || b === 0xe1) {
        ext = b === 0xe0;
        continue;
      }
      down.set((ext ? 0x100 : 0) | (b & 0x7f), (b & 0x80) === 0);
      ext = false;
    }
    expect(down.size).toBeGreaterThan(3);
    for (const [key, isDown] of down) expect([key, isDown]).toEqual([key, false]);
  });
});

describe('i8042 mouse', () => {
  function mouseReady() {
    const t = kbc();
    t.setCtr(0x47); // aux enabled, IRQ12 on
    return t;
  }

  it('resets (FA AA 00) on the aux channel, with IRQ12', () => {
    const { drainFrom, irq12, irq1, cmd, write, status } = mouseReady();
    cmd(0xd4);
    write(0xff);
    expect(status() & (OBF | AUX)).toBe(OBF | AUX);
    expect(irq12).toEqual([true]);
    expect(irq1).toEqual([]);
    expect(drainFrom(true)).toEqual([0xfa, 0xaa, 0x00]);
    expect(irq12).toEqual([true, false, true, false, true, false]);
  });

  it('reports ID 0, 3 after the IntelliMouse knock, 4 after the Explorer knock', () => {
    const { aux } = mouseReady();
    expect(aux(0xff)).toEqual([0xfa, 0xaa, 0x00]);
    expect(aux(0xf2)).toEqual([0xfa, 0x00]);
    expect(aux(0xf3, 200, 0xf3, 200, 0xf3, 80, 0xf2)).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x00]);
    expect(aux(0xf3, 200, 0xf3, 100, 0xf3, 80, 0xf2)).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x03]);
    expect(aux(0xf3, 200, 0xf3, 200, 0xf3, 80, 0xf2)).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x04]);
    expect(aux(0xff, 0xf2)).toEqual([0xfa, 0xaa, 0x00, 0xfa, 0x00]);
  });

  it('answers the status request and the setting commands', () => {
    const { aux } = mouseReady();
    expect(aux(0xe9)).toEqual([0xfa, 0x00, 0x02, 100]);
    expect(aux(0xe8, 0x03, 0xe7, 0xf3, 40, 0xf4, 0xe9)).toEqual([
      0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x30, 3, 40,
    ]);
    expect(aux(0xe6, 0xea, 0xf5, 0xf6, 0xe9)).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x00, 0x02, 100]);
    expect(aux(0xe1)).toEqual([0xfe]); // TrackPoint probe: not one
  });

  it('sends a 3-byte packet with sign bits for negative deltas', () => {
    const { k, aux, drainFrom } = mouseReady();
    expect(k.mouseMove(1, 1, 0)).toBe(false); // reporting is off after reset
    aux(0xf4);
    // Left 5, down 3 (evdev): PS/2 Y points up, so Y is -3 too.
    expect(k.mouseMove(-5, 3, MouseButton.LEFT)).toBe(true);
    expect(drainFrom(true)).toEqual([0x08 | 0x01 | 0x10 | 0x20, 0xfb, 0xfd]);
    k.mouseMove(7, -2, MouseButton.RIGHT | MouseButton.MIDDLE);
    expect(drainFrom(true)).toEqual([0x08 | 0x02 | 0x04, 7, 2]);
  });

  it('splits large deltas and sets the overflow bits past the packet limit', () => {
    const { k, aux, drainFrom } = mouseReady();
    aux(0xf4);
    k.mouseMove(600, 0, 0);
    expect(drainFrom(true)).toEqual([0x08, 255, 0, 0x08, 255, 0, 0x08, 90, 0]);
    k.mouseMove(-5000, 0, 0);
    const bytes = drainFrom(true);
    expect(bytes.length).toBe(8 * 3);
    expect(bytes.slice(-3)).toEqual([0x08 | 0x10 | 0x40, 1, 0]);
  });

  it('adds the wheel byte with ID 3 and wheel plus buttons 4/5 with ID 4', () => {
    const { k, aux, drainFrom } = mouseReady();
    aux(0xf3, 200, 0xf3, 100, 0xf3, 80, 0xf4);
    k.mouseMove(0, 0, 0, 1); // wheel up: Z is negative, as psmouse expects
    expect(drainFrom(true)).toEqual([0x08, 0, 0, 0xff]);
    aux(0xf3, 200, 0xf3, 200, 0xf3, 80);
    k.mouseMove(0, 0, MouseButton.SIDE, -2);
    expect(drainFrom(true)).toEqual([0x08, 0, 0, 0x12]);
  });

  it('reads data on request in remote mode', () => {
    const { k, aux } = mouseReady();
    aux(0xf0);
    k.mouseMove(3, 4, MouseButton.LEFT);
    k.mouseMove(2, 0, MouseButton.LEFT);
    expect(aux(0xeb)).toEqual([0xfa, 0x29, 5, 0xfc]);
    expect(aux(0xeb)).toEqual([0xfa, 0x09, 0, 0]);
  });

  it('echoes in wrap mode until reset-wrap', () => {
    const { aux } = mouseReady();
    expect(aux(0xee, 0x12, 0xf2, 0xec, 0xf2)).toEqual([0xfa, 0x12, 0xf2, 0xfa, 0xfa, 0x00]);
  });

  it('holds aux bytes while the aux interface is disabled (OVMF Ps2MouseDxe reads this way)', () => {
    const { k, aux, cmd, status, read } = mouseReady();
    aux(0xf4);
    k.mouseMove(1, 0, 0);
    cmd(0xa7); // OVMF disables aux, then reads the first byte already in the buffer
    expect(status() & (OBF | AUX)).toBe(OBF | AUX);
    expect(read()).toBe(0x08);
    expect(status() & OBF).toBe(0);
    cmd(0xad);
    cmd(0xa8);
    expect([read(), read()]).toEqual([1, 0]);
  });

  it('keeps keyboard and mouse bytes apart by the AUX status bit', () => {
    const { k, aux, drainFrom, cmd, write, drain } = mouseReady();
    aux(0xf4);
    k.keyDown(KEY.A);
    k.mouseMove(1, 1, 0);
    k.keyUp(KEY.A);
    expect(drainFrom(false)).toEqual([0x1e, 0x9e]);
    k.mouseMove(1, 1, 0);
    cmd(0xd4);
    write(0xf2);
    expect(drain()).toEqual([0x28, 1, 0xff, 0xfa, 0x00]);
  });
});

describe('ConsoleKeys', () => {
  const decode = (...chunks: string[]): KeyStroke[] => {
    const c = new ConsoleKeys();
    return chunks.flatMap((s) => c.feed(bytes(s)));
  };
  const s = (code: KeyCode, mods: Partial<Omit<KeyStroke, 'code'>> = {}): KeyStroke => ({
    code,
    shift: false,
    ctrl: false,
    alt: false,
    ...mods,
  });

  it('decodes printable ASCII with Shift, and Enter', () => {
    expect(decode('aB\r')).toEqual([s(KEY.A), s(KEY.B, { shift: true }), s(KEY.ENTER)]);
    expect(decode('1!~ ')).toEqual([
      s(KEY[1]),
      s(KEY[1], { shift: true }),
      s(KEY.GRAVE, { shift: true }),
      s(KEY.SPACE),
    ]);
  });

  it('counts CR LF once, even across feeds, and a lone LF or CR CR as Enter each', () => {
    expect(decode('\r\n')).toEqual([s(KEY.ENTER)]);
    expect(decode('\r', '\n')).toEqual([s(KEY.ENTER)]);
    expect(decode('\n')).toEqual([s(KEY.ENTER)]);
    expect(decode('\r\r')).toEqual([s(KEY.ENTER), s(KEY.ENTER)]);
  });

  it('decodes Backspace, Tab and Ctrl-letters', () => {
    expect(decode('\x7f\x08\t')).toEqual([s(KEY.BACKSPACE), s(KEY.BACKSPACE), s(KEY.TAB)]);
    expect(decode('\x03')).toEqual([s(KEY.C, { ctrl: true })]);
    expect(decode('\x01\x1a')).toEqual([s(KEY.A, { ctrl: true }), s(KEY.Z, { ctrl: true })]);
  });

  it('decodes cursor, editing and function keys in both CSI and SS3 forms', () => {
    expect(decode('\x1b[A\x1b[B\x1b[C\x1b[D')).toEqual([s(KEY.UP), s(KEY.DOWN), s(KEY.RIGHT), s(KEY.LEFT)]);
    expect(decode('\x1bOA\x1bOH\x1bOF')).toEqual([s(KEY.UP), s(KEY.HOME), s(KEY.END)]);
    expect(decode('\x1bOP\x1bOS')).toEqual([s(KEY.F1), s(KEY.F4)]);
    expect(decode('\x1b[11~\x1b[15~\x1b[17~\x1b[24~')).toEqual([s(KEY.F1), s(KEY.F5), s(KEY.F6), s(KEY.F12)]);
    expect(decode('\x1b[1~\x1b[2~\x1b[3~\x1b[4~\x1b[5~\x1b[6~')).toEqual([
      s(KEY.HOME),
      s(KEY.INSERT),
      s(KEY.DELETE),
      s(KEY.END),
      s(KEY.PAGEUP),
      s(KEY.PAGEDOWN),
    ]);
    expect(decode('\x1b[[A\x1b[[E')).toEqual([s(KEY.F1), s(KEY.F5)]); // Linux console
  });

  it('decodes xterm modifier parameters and back-tab', () => {
    expect(decode('\x1b[1;5C')).toEqual([s(KEY.RIGHT, { ctrl: true })]);
    expect(decode('\x1b[3;7~')).toEqual([s(KEY.DELETE, { ctrl: true, alt: true })]);
    expect(decode('\x1b[1;2P')).toEqual([s(KEY.F1, { shift: true })]);
    expect(decode('\x1b[Z')).toEqual([s(KEY.TAB, { shift: true })]);
  });

  it('decodes a sequence split across feeds', () => {
    expect(decode('\x1b', '[', '3', '~')).toEqual([s(KEY.DELETE)]);
  });

  it('decodes Alt-x as ESC x', () => {
    expect(decode('\x1bx')).toEqual([s(KEY.X, { alt: true })]);
    expect(decode('\x1bX\x1b\r')).toEqual([s(KEY.X, { alt: true, shift: true }), s(KEY.ENTER, { alt: true })]);
  });

  it('holds a lone ESC until a following byte or flush()', () => {
    const c = new ConsoleKeys();
    expect(c.feed(bytes('\x1b'))).toEqual([]);
    expect(c.flush()).toEqual([s(KEY.ESC)]);
    expect(c.flush()).toEqual([]);
    expect(c.feed(bytes('\x1b\x1b[A'))).toEqual([s(KEY.ESC), s(KEY.UP)]);
    c.feed(bytes('\x1b['));
    expect(c.flush()).toEqual([s(KEY.LEFTBRACE, { alt: true })]);
  });

  it('drops unrecognised and overlong sequences without buffering them', () => {
    const c = new ConsoleKeys();
    expect(c.feed(bytes('\x1b[?25hx'))).toEqual([s(KEY.X)]);
    expect(c.feed(bytes('\x1b[99~y'))).toEqual([s(KEY.Y)]);
    expect(c.feed(bytes('\x1b[' + '1'.repeat(10_000)))).toEqual([]);
    expect(c.buffered).toBeLessThanOrEqual(MAX_SEQUENCE);
    expect(c.feed(bytes('Az'))).toEqual([s(KEY.Z)]); // 'A' ends the overlong sequence
    expect(c.feed(bytes('\x1b[1\x03'))).toEqual([s(KEY.C, { ctrl: true })]);
    expect(c.feed(bytes('é'))).toEqual([]);
  });

  it('wraps a stroke in modifier events', () => {
    expect(strokeEvents(s(KEY.C, { ctrl: true, shift: true }))).toEqual([
      { code: KEY.LEFTCTRL, down: true },
      { code: KEY.LEFTSHIFT, down: true },
      { code: KEY.C, down: true },
      { code: KEY.C, down: false },
      { code: KEY.LEFTSHIFT, down: false },
      { code: KEY.LEFTCTRL, down: false },
    ]);
    expect(strokeEvents(s(KEY.A))).toEqual([
      { code: KEY.A, down: true },
      { code: KEY.A, down: false },
    ]);
  });

  it('types through the controller: "A" is Shift, a, in set 1', () => {
    const { k, drain } = kbc();
    for (const st of new ConsoleKeys().feed(bytes('A')))
      for (const e of strokeEvents(st)) {
        if (e.down) k.keyDown(e.code);
        else k.keyUp(e.code);
      }
    expect(drain()).toEqual([0x2a, 0x1e, 0x9e, 0xaa]);
  });

  it('narrows evdev codes to the keyboard', () => {
    expect(isKeyCode(30)).toBe(true);
    expect(isKeyCode(84)).toBe(false);
    expect(isKeyCode(1000)).toBe(false);
  });
});

describe('i8042 and ConsoleKeys under random input', () => {
  it('never throw and never exceed their queue bounds', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('port' as const),
        port: fc.constantFrom(0, 1),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('read' as const), port: fc.constantFrom(0, 1) }),
      fc.record({
        kind: fc.constant('key' as const),
        code: fc.constantFrom(...Object.values(KEY)),
        down: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('mouse' as const),
        dx: fc.integer({ min: -100_000, max: 100_000 }),
        dy: fc.integer({ min: -100_000, max: 100_000 }),
        buttons: fc.integer({ min: 0, max: 31 }),
        wheel: fc.integer({ min: -50, max: 50 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const events = new VmEvents();
        const k = new I8042({ events, irq1: () => {}, irq12: () => {} });
        for (const o of ops) {
          switch (o.kind) {
            case 'port':
              (o.port ? k.command : k.data).portWrite(0, 1, o.value);
              break;
            case 'read':
              (o.port ? k.command : k.data).portRead(0, 1);
              break;
            case 'key':
              if (o.down) k.keyDown(o.code);
              else k.keyUp(o.code);
              break;
            case 'mouse':
              k.mouseMove(o.dx, o.dy, o.buttons, o.wheel);
              break;
          }
          const d = k.queueDepth();
          expect(d.controller).toBeLessThanOrEqual(CONTROLLER_QUEUE_BYTES);
          for (const dev of [d.keyboard, d.aux]) {
            expect(dev.replies).toBeLessThanOrEqual(REPLY_QUEUE_BYTES);
            expect(dev.data).toBeLessThanOrEqual(DEVICE_QUEUE_BYTES);
            expect(dev.data).toBeGreaterThanOrEqual(0);
          }
        }
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), fc.boolean(), (feeds, flush) => {
        const c = new ConsoleKeys();
        for (const f of feeds) {
          for (const st of c.feed(f)) expect(strokeEvents(st).length).toBeGreaterThanOrEqual(2);
          expect(c.buffered).toBeLessThanOrEqual(MAX_SEQUENCE);
          if (flush) c.flush();
        }
      }),
      { numRuns: 500 },
    );
  });
});
