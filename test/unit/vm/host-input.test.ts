// Host input (evdev) to the guest's PS/2 devices: recorded `struct input_event` streams through
// the decoder (evdev.ts), the device merge and escape combinations (host-input.ts), the ring to
// the VM worker and its sink (host-input-ring.ts), into the i8042, read back from port 0x60 as a
// guest reads it (scan code set 2 translated to set 1 by the controller).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BTN_LEFT,
  deviceKinds,
  EV_KEY,
  EV_REL,
  EV_SYN,
  EvdevDecoder,
  inputEvent,
  parseInputDevices,
  REL_WHEEL,
  REL_X,
  REL_Y,
  SYN_DROPPED,
  SYN_REPORT,
} from '../../../src/vm/evdev';
import { VmEvents } from '../../../src/vm/events';
import {
  chooseInputDevices,
  HostInputMerge,
  parseInputDevicesChoice,
  type HostAction,
} from '../../../src/vm/host-input';
import { HOST_INPUT_RECORDS, HostInputRing, HostInputSink } from '../../../src/vm/host-input-ring';
import { DEVICE_QUEUE_BYTES, I8042, KEY } from '../../../src/vm/i8042';

const OBF = 0x01;
const AUX = 0x20;
const REL_WHEEL_HI_RES = 11;
const MSC_SCAN = 4;

/** The whole path from device bytes to what the guest reads, for `devices` devices. */
function pipeline(devices = 1, touchpads: readonly number[] = []) {
  const k = new I8042({ events: new VmEvents(), irq1: () => {}, irq12: () => {} });
  const axis = { minimum: -100, maximum: 5000, resolution: 0 };
  const decoders = Array.from(
    { length: devices },
    (_, i) => new EvdevDecoder(undefined, touchpads.includes(i) ? { x: axis, y: { ...axis, resolution: 31 } } : null),
  );
  const merge = new HostInputMerge();
  const ring = new HostInputRing();
  const sink = new HostInputSink(k);
  const actions: HostAction[] = [];
  let pushed = 0;
  const feed = (dev: number, bytes: Uint8Array): void => {
    const r = merge.events(dev, decoders[dev]!.feed(bytes));
    for (const x of r.records) if (ring.push(x)) pushed++;
    actions.push(...r.actions);
  };
  /** The worker's side: drain the ring into the i8042 (KVM_EXIT_INTR after a kick). */
  const deliver = (): void => {
    const b = ring.drain();
    if (b) sink.apply(b);
  };
  /** The guest's side: read port 0x60 while OBF is set; keyboard and aux bytes apart. */
  const read = (): { kbd: number[]; aux: number[] } => {
    const out = { kbd: [] as number[], aux: [] as number[] };
    for (let i = 0; i < 100_000; i++) {
      const s = k.command.portRead(0, 1);
      if (!(s & OBF)) break;
      const v = k.data.portRead(0, 1);
      (s & AUX ? out.aux : out.kbd).push(v);
    }
    return out;
  };
  const auxCmd = (...bytes: number[]): number[] => {
    const replies: number[] = [];
    for (const b of bytes) {
      k.command.portWrite(0, 1, 0xd4);
      k.data.portWrite(0, 1, b);
      replies.push(...read().aux);
    }
    return replies;
  };
  return { k, decoders, merge, ring, sink, actions, feed, deliver, read, auxCmd, pushed: () => pushed };
}

/** A recorded stream: [type, code, value] triples as the kernel writes them. */
function stream(...events: Array<[number, number, number]>): Uint8Array {
  const out = new Uint8Array(events.length * 24);
  events.forEach(([t, c, v], i) => out.set(inputEvent(t, c, v, 1700000000 + i, i * 1000), i * 24));
  return out;
}
const key = (code: number, value: number): [number, number, number] => [EV_KEY, code, value];
const syn: [number, number, number] = [EV_SYN, SYN_REPORT, 0];
const scan = (v: number): [number, number, number] => [MSC_SCAN, 4, v];

describe('evdev → i8042', () => {
  it('types keys as set-1 scan codes, with the MSC_SCAN records a real keyboard sends skipped', () => {
    const p = pipeline();
    p.feed(
      0,
      stream(
        scan(0x1e),
        key(KEY.A, 1),
        syn,
        scan(0x1e),
        key(KEY.A, 0),
        syn,
        key(KEY.LEFTSHIFT, 1),
        syn,
        key(KEY.ENTER, 1),
        syn,
        key(KEY.ENTER, 0),
        syn,
        key(KEY.LEFTSHIFT, 0),
        syn,
        key(KEY.RIGHTCTRL, 1),
        syn,
        key(KEY.RIGHTCTRL, 0),
        syn,
      ),
    );
    p.deliver();
    expect(p.read().kbd).toEqual([0x1e, 0x9e, 0x2a, 0x1c, 0x9c, 0xaa, 0xe0, 0x1d, 0xe0, 0x9d]);
  });

  it('takes records split anywhere between reads', () => {
    const whole = stream(key(KEY.Q, 1), syn, key(KEY.Q, 0), syn, key(KEY.DOWN, 1), syn, key(KEY.DOWN, 0), syn);
    const p = pipeline();
    for (let i = 0; i < whole.length; i += 7) p.feed(0, whole.subarray(i, i + 7));
    p.deliver();
    expect(p.read().kbd).toEqual([0x10, 0x90, 0xe0, 0x50, 0xe0, 0xd0]);
  });

  it("passes the host's autorepeat on as typematic makes, one break at the end", () => {
    const p = pipeline();
    p.feed(
      0,
      stream(key(KEY.B, 1), syn, key(KEY.B, 2), syn, key(KEY.B, 2), syn, key(KEY.B, 0), syn, key(KEY.C, 2), syn),
    );
    p.deliver();
    // A repeat of a key that is not down (C) is not a press.
    expect(p.read().kbd).toEqual([0x30, 0x30, 0x30, 0xb0]);
  });

  it('SYN_DROPPED releases what the device held and skips the stale events up to the next SYN_REPORT', () => {
    const p = pipeline();
    p.feed(0, stream(key(KEY.LEFTSHIFT, 1), syn, key(KEY.A, 1), syn));
    p.feed(
      0,
      stream([EV_SYN, SYN_DROPPED, 0], key(KEY.X, 1), [EV_REL, REL_X, 50], syn, key(KEY.Z, 1), syn, key(KEY.Z, 0), syn),
    );
    p.deliver();
    expect(p.read().kbd).toEqual([0x2a, 0x1e, 0xaa, 0x9e, 0x2c, 0xac]);
    expect(p.decoders[0]!.drops).toBe(1);
    expect(p.sink.keysDown).toBe(0);
  });

  it('drops keys the PS/2 keyboard lacks, counting them', () => {
    const p = pipeline();
    const F13 = 183;
    const BTN_TOUCH = 0x14a;
    p.feed(
      0,
      stream(
        key(F13, 1),
        syn,
        key(F13, 0),
        syn,
        key(BTN_TOUCH, 1),
        syn,
        key(0x2ff, 1),
        syn,
        key(KEY.M, 1),
        key(KEY.M, 0),
        syn,
      ),
    );
    p.deliver();
    expect(p.read().kbd).toEqual([0x32, 0xb2]);
    expect(p.decoders[0]!.unknownKeys).toBe(3);
    expect([...p.decoders[0]!.unknownCodes]).toEqual([F13, BTN_TOUCH, 0x2ff]);
  });

  it('sums one SYN_REPORT of relative motion, wheel and buttons into one IntelliMouse packet', () => {
    const p = pipeline();
    p.k.command.portWrite(0, 1, 0x60); // command byte: aux on, IRQ12 on, translation
    p.k.data.portWrite(0, 1, 0x47);
    expect(p.auxCmd(0xf3, 200, 0xf3, 100, 0xf3, 80, 0xf2)).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x03]);
    expect(p.auxCmd(0xf4)).toEqual([0xfa]);
    p.feed(
      0,
      stream(
        [EV_REL, REL_X, 4],
        [EV_REL, REL_X, 6],
        [EV_REL, REL_Y, 5],
        [EV_REL, REL_WHEEL, 1],
        [EV_REL, REL_WHEEL_HI_RES, 120],
        key(BTN_LEFT, 1),
        syn,
        key(BTN_LEFT, 0),
        syn,
        [EV_REL, REL_Y, -3],
        [EV_REL, 6 /* REL_HWHEEL */, 2],
        syn,
      ),
    );
    p.deliver();
    const r = p.read();
    expect(r.kbd).toEqual([]);
    // Y and Z point up in the packet; evdev's point down.
    expect(r.aux).toEqual([0x29, 10, 0xfb, 0xff, 0x08, 0, 0, 0, 0x08, 0, 3, 0]);
  });

  it('a key pressed on two keyboards is down until both let go; the buttons are the union', () => {
    const p = pipeline(2);
    p.feed(0, stream(key(KEY.S, 1), syn));
    p.feed(1, stream(key(KEY.S, 1), syn, key(KEY.S, 0), syn));
    p.deliver();
    expect(p.read().kbd).toEqual([0x1f]);
    p.feed(0, stream(key(KEY.S, 0), syn));
    p.deliver();
    expect(p.read().kbd).toEqual([0x9f]);
    const m0 = p.merge.events(0, [{ type: 'motion', dx: 0, dy: 0, wheel: 0, buttons: 1 }]).records;
    const m1 = p.merge.events(1, [{ type: 'motion', dx: 1, dy: 0, wheel: 0, buttons: 2 }]).records;
    expect([m0, m1]).toEqual([
      [{ kind: 'mouse', dx: 0, dy: 0, wheel: 0, buttons: 1 }],
      [{ kind: 'mouse', dx: 1, dy: 0, wheel: 0, buttons: 3 }],
    ]);
    expect(p.merge.deviceGone(0)).toEqual([{ kind: 'mouse', dx: 0, dy: 0, wheel: 0, buttons: 2 }]);
  });

  it('Ctrl+Alt+Backspace stops and Ctrl+Alt+End presses the power button; those keys never reach the guest', () => {
    const p = pipeline();
    p.feed(
      0,
      stream(
        key(KEY.LEFTCTRL, 1),
        syn,
        key(KEY.RIGHTALT, 1),
        syn,
        key(KEY.BACKSPACE, 1),
        syn,
        key(KEY.BACKSPACE, 2),
        syn,
        key(KEY.BACKSPACE, 0),
        syn,
        key(KEY.END, 1),
        syn,
        key(KEY.END, 0),
        syn,
        key(KEY.LEFTCTRL, 0),
        syn,
        key(KEY.RIGHTALT, 0),
        syn,
        key(KEY.BACKSPACE, 1),
        key(KEY.BACKSPACE, 0),
        syn,
      ),
    );
    p.deliver();
    expect(p.actions).toEqual(['stop', 'power']);
    expect(p.read().kbd).toEqual([0x1d, 0xe0, 0x38, 0x9d, 0xe0, 0xb8, 0x0e, 0x8e]);
  });

  it('a full ring drops records and the sink then releases every key it pressed', () => {
    const p = pipeline();
    p.feed(0, stream(key(KEY.LEFTSHIFT, 1), syn));
    p.deliver();
    expect(p.read().kbd).toEqual([0x2a]);
    const many: Array<[number, number, number]> = [];
    for (let i = 0; i < HOST_INPUT_RECORDS + 10; i++) many.push(key(KEY.T, i === 0 ? 1 : 2), syn);
    many.push(key(KEY.T, 0), syn, key(KEY.LEFTSHIFT, 0), syn);
    p.feed(0, stream(...many));
    expect(p.pushed()).toBe(1 + HOST_INPUT_RECORDS);
    p.deliver();
    const bytes = p.read().kbd;
    // T's make and as many typematic makes as fit the i8042's queue (room kept for the breaks),
    // then both keys released although their release records were lost.
    expect(bytes.slice(0, 3)).toEqual([0x14, 0x14, 0x14]);
    expect(bytes.slice(-2).sort()).toEqual([0x94, 0xaa]);
    expect(p.sink.keysDown).toBe(0);
  });
});

describe('evdev device discovery', () => {
  // /proc/bus/input/devices from a QEMU pc machine with psmouse and evdev loaded.
  const PROC = [
    'I: Bus=0019 Vendor=0000 Product=0001 Version=0000',
    'N: Name="Power Button"',
    'P: Phys=LNXPWRBN/button/input0',
    'H: Handlers=kbd event0 ',
    'B: PROP=0',
    'B: EV=3',
    'B: KEY=10000000000000 0',
    '',
    'I: Bus=0011 Vendor=0001 Product=0001 Version=ab41',
    'N: Name="AT Translated Set 2 keyboard"',
    'P: Phys=isa0060/serio0/input0',
    'H: Handlers=sysrq kbd event1 leds ',
    'B: PROP=0',
    'B: EV=120013',
    'B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe',
    'B: MSC=10',
    'B: LED=7',
    '',
    'I: Bus=0011 Vendor=0002 Product=0006 Version=0000',
    'N: Name="ImExPS/2 Generic Explorer Mouse"',
    'P: Phys=isa0060/serio1/input0',
    'H: Handlers=mouse0 event2 ',
    'B: PROP=1',
    'B: EV=7',
    'B: KEY=1f0000 0 0 0 0',
    'B: REL=143',
    '',
    'I: Bus=0018 Vendor=06cb Product=7e7e Version=0100',
    'N: Name="SYNA1D31:00 06CB:CD48 Touchpad"',
    'H: Handlers=mouse1 event3 ',
    'B: EV=1b',
    'B: KEY=e520 10000 0 0 0 0',
    'B: ABS=2e0800000000003',
    '',
  ].join('\n');

  it('finds the keyboard, the mouse and the touchpad, not the power button', () => {
    const all = parseInputDevices(PROC);
    expect(all.map((d) => [d.path, d.name, d.kinds])).toEqual([
      ['/dev/input/event0', 'Power Button', []],
      ['/dev/input/event1', 'AT Translated Set 2 keyboard', ['keyboard']],
      ['/dev/input/event2', 'ImExPS/2 Generic Explorer Mouse', ['mouse']],
      ['/dev/input/event3', 'SYNA1D31:00 06CB:CD48 Touchpad', ['touchpad']],
    ]);
    const auto = chooseInputDevices('auto', PROC);
    expect(auto.devices.map((d) => d.path)).toEqual(['/dev/input/event1', '/dev/input/event2', '/dev/input/event3']);
    expect(auto.notes).toEqual([]);
    // A touchscreen (INPUT_PROP_DIRECT) has the same axes and keys, but is no touchpad.
    expect(deviceKinds('1b', 'e520 10000 0 0 0 0', '', 64, '3', '2')).toEqual([]);
    expect(deviceKinds('1b', 'e520 10000 0 0 0 0', '', 64, '3', '5')).toEqual(['touchpad']);
    expect(chooseInputDevices('auto', '').notes[0]).toMatch(/no keyboard or mouse/);
    const named = chooseInputDevices(['/dev/input/event0'], PROC);
    expect(named.devices).toEqual([{ path: '/dev/input/event0', name: 'Power Button', kinds: [] }]);
    expect(named.notes[0]).toMatch(/neither a keyboard nor a mouse/);
  });

  it('a touchpad: finger travel becomes relative motion by its resolution, lifting never jumps', () => {
    // 40 units/mm (a Synaptics I2C pad): 8 counts per mm of travel, so 5 units per count.
    const pad = { x: { minimum: 0, maximum: 4000, resolution: 40 }, y: { minimum: 0, maximum: 2500, resolution: 40 } };
    const d = new EvdevDecoder(undefined, pad);
    const ev = (...e: Array<[number, number, number]>) => d.feed(stream(...e));
    const EV_ABS = 3;
    const SYN: [number, number, number] = [EV_SYN, SYN_REPORT, 0];
    // Landing: the first report is only the origin (and BTN_TOUCH/BTN_TOOL_FINGER are no keys).
    expect(ev([EV_KEY, 0x14a, 1], [EV_KEY, 0x145, 1], [EV_ABS, 0, 1000], [EV_ABS, 1, 800], SYN)).toEqual([]);
    expect(ev([EV_ABS, 0, 1100], [EV_ABS, 1, 750], SYN)).toEqual([
      { type: 'motion', dx: 20, dy: -10, wheel: 0, buttons: 0 },
    ]);
    // Slow strokes: 2 units (0.4 count) at a time still add up to whole counts.
    const slow = [1, 2, 3, 4, 5].flatMap((i) => ev([EV_ABS, 0, 1100 + 2 * i], SYN));
    expect(slow.reduce((a, m) => a + (m.type === 'motion' ? m.dx : 0), 0)).toBe(2);
    // Lift, land elsewhere: no jump across the pad.
    expect(ev([EV_KEY, 0x14a, 0], [EV_KEY, 0x145, 0], SYN)).toEqual([]);
    expect(ev([EV_KEY, 0x14a, 1], [EV_ABS, 0, 3900], [EV_ABS, 1, 100], SYN)).toEqual([]);
    // A clickpad's click is the left button.
    expect(ev([EV_KEY, BTN_LEFT, 1], SYN)).toEqual([{ type: 'motion', dx: 0, dy: 0, wheel: 0, buttons: 1 }]);
    expect(d.unknownKeys).toBe(0);
    // Without a resolution the pad is taken as 100 mm wide: 4000 units → 800 counts.
    const bare = new EvdevDecoder(undefined, {
      x: { minimum: 0, maximum: 4000, resolution: 0 },
      y: { minimum: 0, maximum: 4000, resolution: 0 },
    });
    bare.feed(stream([EV_KEY, 0x14a, 1], [EV_ABS, 0, 0], [EV_SYN, SYN_REPORT, 0]));
    expect(bare.feed(stream([EV_ABS, 0, 4000], [EV_SYN, SYN_REPORT, 0]))).toEqual([
      { type: 'motion', dx: 800, dy: 0, wheel: 0, buttons: 0 },
    ]);
    // An ordinary mouse's decoder ignores absolute axes.
    expect(new EvdevDecoder().feed(stream([EV_ABS, 0, 5], [EV_SYN, SYN_REPORT, 0]))).toEqual([]);
  });

  it('reads bitmaps in 32-bit words too, and refuses garbage', () => {
    expect(deviceKinds('7', '1f0000 0 0 0 0 0 0 0 0', '143', 32)).toEqual(['mouse']);
    expect(deviceKinds('zz', 'x', '', 64)).toEqual([]);
  });

  it('parses --input-devices', () => {
    expect(parseInputDevicesChoice('auto')).toBe('auto');
    expect(parseInputDevicesChoice('none')).toBeUndefined();
    expect(parseInputDevicesChoice('/dev/input/event3,/dev/input/by-id/usb-kbd-event-kbd')).toEqual([
      '/dev/input/event3',
      '/dev/input/by-id/usb-kbd-event-kbd',
    ]);
    expect(() => parseInputDevicesChoice('/dev/sda')).toThrow(/expected auto, none/);
    expect(() => parseInputDevicesChoice('/dev/input/event1,/dev/input/event1')).toThrow(/twice/);
  });
});

describe('evdev → i8042 under random streams', () => {
  const CODES = [...Object.values(KEY).filter((c) => c !== KEY.PAUSE), 0, 183, 0x14a, BTN_LEFT, 0x111, 0x2ff, 0xffff];
  const ev = fc.oneof(
    fc.tuple(fc.constant(EV_KEY), fc.constantFrom(...CODES), fc.integer({ min: -1, max: 3 })),
    fc.tuple(fc.constant(EV_REL), fc.constantFrom(REL_X, REL_Y, REL_WHEEL, 6, 11, 0xffff), fc.integer()),
    fc.tuple(fc.constant(EV_SYN), fc.constantFrom(SYN_REPORT, SYN_REPORT, SYN_DROPPED, 2, 0xffff), fc.integer()),
    fc.tuple(fc.constant(3), fc.constantFrom(0, 1, 0x35, 0x36, 0xffff), fc.integer()), // EV_ABS (device 2 is a touchpad)
    fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer()),
  );

  /** Set-1 bytes → the keys they leave pressed (E0 makes a pair; bit 7 is the break). */
  function pressedAfter(bytes: readonly number[]): Set<number> {
    const down = new Set<number>();
    let prefix = 0;
    for (const b of bytes) {
      if (b === 0xe0) {
        prefix = 0xe000;
        continue;
      }
      const code = prefix | (b & 0x7f);
      prefix = 0;
      if (b & 0x80) down.delete(code);
      else down.add(code);
    }
    return down;
  }

  it('never throws, keeps every queue bounded, and leaves no key down in the guest at the end', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 2 }),
            fc.array(ev, { maxLength: 60 }),
            fc.integer({ min: 1, max: 30 }),
            fc.boolean(),
          ),
          {
            maxLength: 40,
          },
        ),
        (chunks) => {
          const p = pipeline(3, [2]);
          const kbd: number[] = [];
          for (const [dev, events, cut, guestReads] of chunks) {
            const bytes = stream(...events);
            for (let i = 0; i < bytes.length; i += cut * 5) p.feed(dev, bytes.subarray(i, i + cut * 5));
            p.deliver();
            const q = p.k.queueDepth();
            expect(q.keyboard.data).toBeLessThanOrEqual(DEVICE_QUEUE_BYTES);
            expect(q.aux.data).toBeLessThanOrEqual(DEVICE_QUEUE_BYTES);
            if (guestReads) kbd.push(...p.read().kbd);
          }
          // The end of the run (HostInput.close): everything is released and delivered.
          for (const r of p.merge.releaseAll()) p.ring.push(r);
          p.deliver();
          kbd.push(...p.read().kbd);
          expect(p.merge.keysDown).toBe(0);
          expect(p.sink.keysDown).toBe(0);
          expect([...pressedAfter(kbd)]).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });
});
