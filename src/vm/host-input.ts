// The host's keyboards and mice as the VM's PS/2 devices (docs/vmm-platform.md §9.1.1), on the
// main thread of `tendril vm`: choose the /dev/input/event* nodes, grab them
// (EVIOCGRAB, so the host's console gets none of their keys while the VM runs), read their events
// on a short timer (non-blocking reads), decode them (evdev.ts), merge the devices, catch the
// host's own key combinations, and pass the rest to the VM worker (host-input-ring.ts). Closing a
// device gives the grab back; the kernel does the same if this process dies.
import * as fs from 'node:fs';
import { evdevAbsInfo, evdevGrab } from '../native/input';
import {
  ABS_X,
  ABS_Y,
  EvdevDecoder,
  INPUT_EVENT_BYTES,
  parseInputDevices,
  type DeviceEvent,
  type InputDevice,
} from './evdev';
import { KEY, type KeyCode } from './i8042';
import type { HostInputRecord } from './host-input-ring';
import type { InputDevicesChoice } from './input-choice';

export { parseInputDevicesChoice, type InputDevicesChoice } from './input-choice';

/** The combination that stops the VM at once, as Ctrl-] on the console does. */
export const STOP_COMBO = 'Ctrl+Alt+Backspace';
/** The combination that presses the guest's ACPI power button, as SIGINT does. */
export const POWER_COMBO = 'Ctrl+Alt+End';

export type HostAction = 'stop' | 'power';

/** A device chosen for the VM, with what it is for the plan and the log. */
export interface ChosenDevice {
  readonly path: string;
  readonly name: string;
  readonly kinds: readonly string[];
}

/** The devices `choice` names, from /proc/bus/input/devices' text; notes say what was left out. */
export function chooseInputDevices(
  choice: InputDevicesChoice,
  procText: string,
): { devices: ChosenDevice[]; notes: string[] } {
  const all = parseInputDevices(procText);
  const notes: string[] = [];
  if (choice === 'auto') {
    const devices = all.filter((d) => d.kinds.length > 0);
    if (!devices.length) notes.push('no keyboard or mouse among the host input devices (/proc/bus/input/devices)');
    return { devices, notes };
  }
  const devices = choice.map((p) => {
    const real = safeRealpath(p);
    const d: InputDevice | undefined = all.find((x) => x.path === real);
    if (!d) return { path: p, name: '(not in /proc/bus/input/devices)', kinds: [] };
    if (!d.kinds.length)
      notes.push(
        `${p} (${d.name}) is neither a keyboard nor a mouse; only its keys and relative motion reach the guest`,
      );
    return { path: p, name: d.name, kinds: d.kinds };
  });
  return { devices, notes };
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** The host's input device list, or '' where /proc is not mounted. */
export function readProcInputDevices(): string {
  try {
    return fs.readFileSync('/proc/bus/input/devices', 'latin1');
  } catch {
    return '';
  }
}

const CTRL: readonly KeyCode[] = [KEY.LEFTCTRL, KEY.RIGHTCTRL];
const ALT: readonly KeyCode[] = [KEY.LEFTALT, KEY.RIGHTALT];

/**
 * Merges the devices' events into what the guest's one keyboard and one mouse see: a key is
 * pressed while any device holds it, buttons are the union of the devices', a device that
 * resyncs or goes away lets go of what it held. The host's combinations (STOP_COMBO,
 * POWER_COMBO) are taken out: their last key never reaches the guest.
 */
export class HostInputMerge {
  private readonly holders = new Map<KeyCode, Set<number>>();
  private readonly buttons = new Map<number, number>();
  private readonly swallowed = new Set<KeyCode>();

  /** Keys the guest holds now. */
  get keysDown(): number {
    return this.holders.size;
  }

  private held(codes: readonly KeyCode[]): boolean {
    return codes.some((c) => this.holders.has(c));
  }

  private mergedButtons(): number {
    let b = 0;
    for (const v of this.buttons.values()) b |= v;
    return b;
  }

  events(dev: number, events: readonly DeviceEvent[]): { records: HostInputRecord[]; actions: HostAction[] } {
    const records: HostInputRecord[] = [];
    const actions: HostAction[] = [];
    for (const e of events) {
      if (e.type === 'resync') {
        records.push(...this.deviceGone(dev));
        continue;
      }
      if (e.type === 'motion') {
        this.buttons.set(dev, e.buttons);
        records.push({ kind: 'mouse', dx: e.dx, dy: e.dy, wheel: e.wheel, buttons: this.mergedButtons() });
        continue;
      }
      const { code, value } = e;
      if (this.swallowed.has(code)) {
        if (value === 0) this.swallowed.delete(code);
        continue;
      }
      if (value === 1 && this.held(CTRL) && this.held(ALT) && (code === KEY.BACKSPACE || code === KEY.END)) {
        this.swallowed.add(code);
        actions.push(code === KEY.BACKSPACE ? 'stop' : 'power');
        continue;
      }
      const who = this.holders.get(code);
      if (value === 1) {
        if (who) who.add(dev);
        else {
          this.holders.set(code, new Set([dev]));
          records.push({ kind: 'key', code, value: 1 });
        }
      } else if (value === 2) {
        if (who?.has(dev)) records.push({ kind: 'key', code, value: 2 });
      } else if (who?.delete(dev) && who.size === 0) {
        this.holders.delete(code);
        records.push({ kind: 'key', code, value: 0 });
      }
    }
    return { records, actions };
  }

  /** Releases what device `dev` held (SYN_DROPPED, unplugged). */
  deviceGone(dev: number): HostInputRecord[] {
    const out: HostInputRecord[] = [];
    for (const [code, who] of this.holders) {
      if (!who.delete(dev) || who.size) continue;
      this.holders.delete(code);
      out.push({ kind: 'key', code, value: 0 });
    }
    const before = this.mergedButtons();
    this.buttons.delete(dev);
    const after = this.mergedButtons();
    if (after !== before) out.push({ kind: 'mouse', dx: 0, dy: 0, wheel: 0, buttons: after });
    return out;
  }

  /** Releases every key and button (the end of the run). */
  releaseAll(): HostInputRecord[] {
    const out: HostInputRecord[] = [...this.holders.keys()].map((code) => ({ kind: 'key', code, value: 0 }) as const);
    this.holders.clear();
    this.swallowed.clear();
    if (this.mergedButtons()) out.push({ kind: 'mouse', dx: 0, dy: 0, wheel: 0, buttons: 0 });
    this.buttons.clear();
    return out;
  }
}

/** How often the devices are read (ms): below a PS/2 mouse's 10 ms at its default 100 reports/s. */
export const POLL_MS = 5;
/** Bytes read per device per read call (64 events); a poll reads until the device has no more. */
const READ_BYTES = 64 * 24;
/** Reads per device per poll: a device that never runs dry cannot hold the main thread. */
const MAX_READS_PER_POLL = 16;

interface OpenDevice {
  readonly dev: ChosenDevice;
  fd: number;
  readonly decoder: EvdevDecoder;
}

/**
 * The grabbed devices of one `tendril vm` run. open() grabs them all or none; close() gives them
 * back and says what was dropped on the way.
 */
export class HostInput {
  private readonly merge = new HostInputMerge();
  private timer: NodeJS.Timeout | null = null;
  private readonly buf = Buffer.alloc(READ_BYTES);
  private readonly notes: string[] = [];
  /** Records the ring had no room for. */
  private dropped = 0;

  private constructor(
    private readonly open: OpenDevice[],
    private readonly sink: {
      push(r: HostInputRecord): boolean;
      kick(): void;
      action(a: HostAction): void;
    },
  ) {}

  /** Opens and grabs every device (non-blocking reads); on any failure closes those it opened and throws. */
  static grab(devices: readonly ChosenDevice[], sink: HostInput['sink']): HostInput {
    const open: OpenDevice[] = [];
    try {
      for (const dev of devices) {
        let fd: number;
        try {
          fd = fs.openSync(dev.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        } catch (e) {
          throw new Error(`${dev.path}: open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        // A touchpad's absolute finger position becomes relative motion (evdev.ts).
        const pad = dev.kinds.includes('touchpad') ? { x: evdevAbsInfo(fd, ABS_X), y: evdevAbsInfo(fd, ABS_Y) } : null;
        open.push({ dev, fd, decoder: new EvdevDecoder(INPUT_EVENT_BYTES, pad) });
        try {
          evdevGrab(fd, true);
        } catch (e) {
          throw new Error(
            `${dev.path} (${dev.name}): ${(e as Error).message}${/EBUSY/.test((e as Error).message) ? ' (another program has grabbed it)' : ''}`,
          );
        }
      }
    } catch (e) {
      for (const o of open) closeDevice(o);
      throw e;
    }
    return new HostInput(open, sink);
  }

  start(): void {
    this.timer ??= setInterval(() => this.poll(), POLL_MS);
  }

  /** Reads what every device has, forwards it, kicks the VM once if anything went. */
  poll(): void {
    let sent = false;
    for (const [i, o] of this.open.entries()) {
      if (o.fd < 0) continue;
      for (let n = 0; n < MAX_READS_PER_POLL; n++) {
        let got: number;
        try {
          got = fs.readSync(o.fd, this.buf, 0, READ_BYTES, null);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN' || code === 'EINTR') break;
          // ENODEV: unplugged. Whatever it held is released, and it is not read again.
          this.notes.push(`${o.dev.path} (${o.dev.name}): read: ${code ?? (e as Error).message}; no longer read`);
          sent = this.forward(this.merge.deviceGone(i)) || sent;
          closeDevice(o);
          break;
        }
        if (got <= 0) break;
        const { records, actions } = this.merge.events(i, o.decoder.feed(this.buf.subarray(0, got)));
        sent = this.forward(records) || sent;
        for (const a of actions) this.sink.action(a);
        if (got < READ_BYTES) break;
      }
    }
    if (sent) this.sink.kick();
  }

  private forward(records: readonly HostInputRecord[]): boolean {
    for (const r of records) if (!this.sink.push(r)) this.dropped++;
    return records.length > 0;
  }

  /** Stops reading, releases every key the guest holds, gives the devices back. Lines for the log. */
  close(): string[] {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.forward(this.merge.releaseAll())) this.sink.kick();
    const lines = [...this.notes];
    for (const o of this.open) {
      const d = o.decoder;
      if (d.unknownKeys)
        lines.push(
          `${o.dev.path}: ${d.unknownKeys} key event${d.unknownKeys === 1 ? '' : 's'} the PS/2 keyboard has no key for, not passed on (codes ${[...d.unknownCodes].join(', ')})`,
        );
      if (d.drops)
        lines.push(`${o.dev.path}: the kernel dropped events ${d.drops} time(s) (SYN_DROPPED); its keys were released`);
      closeDevice(o);
    }
    if (this.dropped) lines.push(`${this.dropped} input event(s) dropped: the VM did not take them fast enough`);
    return lines;
  }
}

function closeDevice(o: OpenDevice): void {
  if (o.fd < 0) return;
  try {
    evdevGrab(o.fd, false);
  } catch {
    // ENODEV after an unplug; closing releases the grab anyway.
  }
  try {
    fs.closeSync(o.fd);
  } catch {
    // already gone
  }
  o.fd = -1;
}
