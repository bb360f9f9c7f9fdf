// The display thread (docs/vmm-platform.md §15.1): owns the host's screen (host-output.ts) for the
// whole run and, about 30 times a second, asks KVM which pages of the guest's framebuffer slot
// were written since the last time (KVM_GET_DIRTY_LOG) and copies just the rows they touch. It
// runs beside vCPU 0's thread so a copy never delays the guest's exits; it reads the bochs
// display's DISPI registers from shared memory to know the mode, and the control block
// (host-ctl.ts) to know which VM and mapping to watch.
import { kvm } from '../../native/kvm';
import { displayNative } from '../../native/display';
import type { DisplayReply, DisplayWorkerData } from '../protocol';
import { blitRows, countPages, dirtyRows, place, type Placement } from './blit';
import { DISPI_EPOCH, FB_SIZE, modeOf, type DisplayMode } from './bochs';
import {
  ACK,
  DisplayCtl,
  GEN,
  MAPPED,
  MEM_ID,
  QUIT,
  SLOT,
  STAT_COPY_MS,
  STAT_FRAMES,
  STAT_FULL,
  STAT_MAX_PAGES,
  STAT_PAGES,
  STAT_ROWS,
  VM_FD,
} from './host-ctl';
import { openHostScreen, type HostScreen } from './host-output';

/** About 30 frames a second. */
export const FRAME_MS = 33;

const sameMode = (a: DisplayMode | null, b: DisplayMode | null) =>
  a === b ||
  (a !== null &&
    b !== null &&
    a.width === b.width &&
    a.height === b.height &&
    a.stride === b.stride &&
    a.offset === b.offset);

export function runDisplayThread(d: DisplayWorkerData, reply: (r: DisplayReply) => void): void {
  let screen: HostScreen;
  try {
    screen = openHostScreen(d.device);
  } catch (e) {
    reply({ type: 'fail', message: (e as Error).message });
    return;
  }
  reply({ type: 'ready', width: screen.surface.width, height: screen.surface.height, description: screen.description });
  try {
    loop(screen, new DisplayCtl(d.ctl), new Uint16Array(d.regs));
  } finally {
    screen.close();
    reply({ type: 'closed' });
  }
}

function loop(screen: HostScreen, ctl: DisplayCtl, regs: Uint16Array): void {
  const k = kvm();
  const n = displayNative();
  const s = screen.surface;
  const bitmap = new ArrayBuffer(FB_SIZE / 4096 / 8);
  const bits = new Uint8Array(bitmap);
  let applied = Atomics.load(ctl.i, GEN) - 1;
  let vmFd = -1;
  let memId = -1;
  let view: ArrayBuffer | null = null;
  let fb: Uint8Array | null = null;
  let mode: DisplayMode | null = null;
  let epoch = -1;
  let full = true;
  let logFailed = false;
  const clear = () => s.mem.fill(0);
  for (;;) {
    const gen = Atomics.load(ctl.i, GEN);
    if (gen === applied) Atomics.wait(ctl.i, GEN, gen, FRAME_MS);
    if (Atomics.load(ctl.i, QUIT)) break;
    const now = Atomics.load(ctl.i, GEN);
    if (now !== applied) {
      vmFd = Atomics.load(ctl.i, VM_FD);
      const id = ctl.f[MEM_ID]!;
      if (id !== memId) {
        if (view) k.kvmMemRelease(view);
        view = id >= 0 ? k.kvmMemView(id) : null;
        fb = view ? new Uint8Array(view) : null;
        memId = id;
      }
      // From here on this thread uses only the new VM's fd (the VM worker may close the old one).
      applied = now;
      Atomics.store(ctl.i, ACK, now);
      Atomics.notify(ctl.i, ACK);
      // A new VM, or the slot moved: writes since the last log may be in a dropped slot's log.
      full = true;
    }
    if (!fb || vmFd < 0) continue;
    const t0 = performance.now();
    const m = modeOf(regs, fb.length);
    const e = regs[DISPI_EPOCH]!;
    if (!sameMode(m, mode) || e !== epoch) full = true;
    mode = m;
    epoch = e;
    let pages = 0;
    if (Atomics.load(ctl.i, MAPPED)) {
      try {
        n.kvmGetDirtyLog(vmFd, Atomics.load(ctl.i, SLOT), bitmap);
        pages = countPages(bits);
      } catch (err) {
        // ENOENT: the slot is being moved right now; the next generation redraws everything.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !logFailed) {
          logFailed = true;
          process.stderr.write(`tendril vm: display: ${(err as Error).message}; redrawing every frame\n`);
        }
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') full = true;
        bits.fill(0);
      }
    }
    if (!full && !pages) continue;
    let rows = 0;
    if (!m) {
      if (full) {
        clear();
        screen.flush(0, s.height);
      }
    } else {
      const p: Placement = place(m, s);
      if (full) {
        if (p.w < s.width || p.h < s.height) clear();
        rows = blitRows(fb, m, s, p, 0, m.height);
        screen.flush(0, s.height);
      } else {
        for (const [y0, y1] of dirtyRows(bits, m)) {
          const r = blitRows(fb, m, s, p, y0, y1);
          if (r) screen.flush(p.dy + Math.max(y0, p.sy) - p.sy, p.dy + Math.max(y0, p.sy) - p.sy + r);
          rows += r;
        }
      }
    }
    const f = ctl.f;
    f[STAT_FRAMES] = f[STAT_FRAMES]! + 1;
    if (full) f[STAT_FULL] = f[STAT_FULL]! + 1;
    f[STAT_PAGES] = f[STAT_PAGES]! + pages;
    f[STAT_MAX_PAGES] = Math.max(f[STAT_MAX_PAGES]!, pages);
    f[STAT_ROWS] = f[STAT_ROWS]! + rows;
    f[STAT_COPY_MS] = f[STAT_COPY_MS]! + performance.now() - t0;
    full = false;
  }
  if (view) k.kvmMemRelease(view);
}
