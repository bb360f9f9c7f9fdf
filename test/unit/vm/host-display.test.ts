// The host output (docs/vmm-platform.md §15.1) and the screenshot key
// (docs/vmm-platform.md §15.2): pixel formats an fbdev may report, the conversion and placement of guest rows (blit.ts),
// which rows a dirty bitmap touches (checked against a brute-force count on random bitmaps and
// modes), the console's escape (console-escape.ts), and KVM's dirty log itself on this machine's
// /dev/kvm: a guest writes two pages of a dirty-logged slot and KVM_GET_DIRTY_LOG reports exactly
// those.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  PAGE,
  XRGB8888,
  blitRows,
  countPages,
  dirtyRows,
  fbPixelFormat,
  place,
  type HostSurface,
  type PixelFormat,
} from '../../../src/vm/display/blit';
import {
  BochsDisplay,
  DISPI_EPOCH,
  DISPI_WORDS,
  FB_SIZE,
  modeOf,
  type DisplayMode,
} from '../../../src/vm/display/bochs';
import { connectedDrmCards } from '../../../src/vm/display/host-output';
import { ConsoleEscape, CTRL_BACKSLASH } from '../../../src/vm/console-escape';
import { parseDisplayOut } from '../../../src/vm/display/output-choice';
import { ExitReason } from '../../../src/native/kvm';
import { realModeVm } from '../../fixtures/real-mode-vm';
import { displayNative } from '../../../src/native/display';

const fbdev = (bpp: number, r: [number, number], g: [number, number], b: [number, number]) => ({
  bitsPerPixel: bpp,
  redOffset: r[0],
  redLength: r[1],
  greenOffset: g[0],
  greenLength: g[1],
  blueOffset: b[0],
  blueLength: b[1],
});

describe('fbPixelFormat', () => {
  it('takes 32 bpp XRGB and BGRX, and 16 bpp RGB565 and RGB555', () => {
    expect(fbPixelFormat('/dev/fb0', fbdev(32, [16, 8], [8, 8], [0, 8]))).toEqual(XRGB8888);
    expect(fbPixelFormat('/dev/fb0', fbdev(32, [0, 8], [8, 8], [16, 8])).red).toEqual({ offset: 0, length: 8 });
    expect(fbPixelFormat('/dev/fb0', fbdev(16, [11, 5], [5, 6], [0, 5])).bytesPerPixel).toBe(2);
    expect(fbPixelFormat('/dev/fb0', fbdev(16, [10, 5], [5, 5], [0, 5])).green.length).toBe(5);
  });
  it('refuses 24 bpp, palettes and odd layouts, naming the device', () => {
    expect(() => fbPixelFormat('/dev/fb1', fbdev(24, [16, 8], [8, 8], [0, 8]))).toThrow(
      /^\/dev\/fb1: pixel format 24 bpp/,
    );
    expect(() => fbPixelFormat('/dev/fb1', fbdev(8, [0, 8], [0, 8], [0, 8]))).toThrow(/\/dev\/fb1/);
    expect(() => fbPixelFormat('/dev/fb1', fbdev(32, [20, 10], [10, 10], [0, 10]))).toThrow(/not supported/);
    expect(() => fbPixelFormat('/dev/fb1', fbdev(16, [12, 5], [5, 6], [0, 5]))).toThrow(/not supported/);
  });
});

describe('place', () => {
  it('centres a smaller guest screen and clips a larger one to its top left', () => {
    expect(place({ width: 800, height: 600 }, { width: 1024, height: 768 })).toEqual({
      sx: 0,
      sy: 0,
      dx: 112,
      dy: 84,
      w: 800,
      h: 600,
    });
    expect(place({ width: 1280, height: 800 }, { width: 1024, height: 768 })).toEqual({
      sx: 0,
      sy: 0,
      dx: 0,
      dy: 0,
      w: 1024,
      h: 768,
    });
  });
});

/** A guest framebuffer with a visible mode and deterministic pseudo-random pixels. */
function guestScreen(mode: DisplayMode): Uint8Array {
  const fb = new Uint8Array(mode.offset + mode.height * mode.stride);
  let s = 12345;
  for (let i = 0; i < fb.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    fb[i] = s >>> 24;
  }
  return fb;
}

function surface(width: number, height: number, format: PixelFormat, pad = 0): HostSurface {
  const stride = width * format.bytesPerPixel + pad;
  return { mem: new Uint8Array(stride * height).fill(0xee), stride, width, height, format };
}

describe('blitRows', () => {
  const mode: DisplayMode = { width: 40, height: 30, stride: 48 * 4, offset: 3 * 48 * 4 + 8 };
  const fb = guestScreen(mode);
  const px = (x: number, y: number) => {
    const o = mode.offset + y * mode.stride + x * 4;
    return { b: fb[o]!, g: fb[o + 1]!, r: fb[o + 2]! };
  };

  it('copies XRGB8888 rows byte for byte at the placement, leaving other rows alone', () => {
    const s = surface(64, 50, XRGB8888, 16);
    const p = place(mode, s);
    expect(blitRows(fb, mode, s, p, 5, 9)).toBe(4);
    for (let y = 0; y < s.height; y++)
      for (let x = 0; x < s.width; x++) {
        const o = y * s.stride + x * 4;
        const gy = y - p.dy;
        const gx = x - p.dx;
        if (gy >= 5 && gy < 9 && gx >= 0 && gx < mode.width) {
          const c = px(gx, gy);
          expect([s.mem[o], s.mem[o + 1], s.mem[o + 2]]).toEqual([c.b, c.g, c.r]);
        } else expect(s.mem[o]).toBe(0xee);
      }
  });

  it('swaps channels for a BGRX (red in the low byte) fbdev', () => {
    const f = fbPixelFormat('/dev/fb0', fbdev(32, [0, 8], [8, 8], [16, 8]));
    const s = surface(40, 30, f);
    blitRows(fb, mode, s, place(mode, s), 0, 30);
    for (const [x, y] of [
      [0, 0],
      [39, 29],
      [17, 11],
    ] as const) {
      const c = px(x, y);
      const o = y * s.stride + x * 4;
      expect([s.mem[o], s.mem[o + 1], s.mem[o + 2], s.mem[o + 3]]).toEqual([c.r, c.g, c.b, 0]);
    }
  });

  it('packs RGB565 from the top bits of each channel', () => {
    const f = fbPixelFormat('/dev/fb0', fbdev(16, [11, 5], [5, 6], [0, 5]));
    const s = surface(20, 10, f);
    // A smaller host: the guest's top left 20 × 10 pixels.
    const p = place(mode, s);
    expect(p).toEqual({ sx: 0, sy: 0, dx: 0, dy: 0, w: 20, h: 10 });
    expect(blitRows(fb, mode, s, p, 0, 30)).toBe(10);
    for (let y = 0; y < 10; y++)
      for (let x = 0; x < 20; x++) {
        const c = px(x, y);
        const want = ((c.r >> 3) << 11) | ((c.g >> 2) << 5) | (c.b >> 3);
        expect(s.mem[y * s.stride + 2 * x]! | (s.mem[y * s.stride + 2 * x + 1]! << 8)).toBe(want);
      }
  });
});

/** Visible rows that dirty pages touch, by looking at every visible byte. */
function bruteRows(bitmap: Uint8Array, mode: DisplayMode): Set<number> {
  const rows = new Set<number>();
  for (let y = 0; y < mode.height; y++) {
    const a = mode.offset + y * mode.stride;
    for (let page = Math.floor(a / PAGE); page <= Math.floor((a + mode.width * 4 - 1) / PAGE); page++)
      if (page < bitmap.length * 8 && bitmap[page >> 3]! & (1 << (page & 7))) rows.add(y);
  }
  return rows;
}

describe('dirtyRows', () => {
  it('maps pages to the rows they hold, merged, for a 1024 × 768 screen', () => {
    const mode: DisplayMode = { width: 1024, height: 768, stride: 4096, offset: 0 };
    const bitmap = new Uint8Array(FB_SIZE / PAGE / 8);
    bitmap[0] = 0b0000_0111; // rows 0..2
    bitmap[1] = 0b0000_0001; // row 8
    bitmap[95] = 0b1000_0000; // page 767: the last row
    bitmap[96] = 0xff; // beyond the visible screen
    expect(dirtyRows(bitmap, mode)).toEqual([
      [0, 3],
      [8, 9],
      [767, 768],
    ]);
    expect(countPages(bitmap)).toBe(13);
  });

  it('agrees with a byte-by-byte count on random modes and bitmaps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 40_000 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.integer({ min: 0, max: 7 }),
        (width, height, pad, offset4, bytes, sparsity) => {
          const mode: DisplayMode = { width, height, stride: (width + pad) * 4, offset: offset4 * 4 };
          // Sparser bitmaps too: clear some bits by AND-ing shifted copies.
          const bitmap = bytes.map((b, i) => (sparsity ? b & bytes[(i + sparsity) % bytes.length]! : b));
          const got = new Set<number>();
          let last = -1;
          for (const [a, b] of dirtyRows(bitmap, mode)) {
            expect(a).toBeGreaterThan(last); // ascending, merged, disjoint
            expect(b).toBeGreaterThan(a);
            last = b;
            for (let y = a; y < b; y++) got.add(y);
          }
          expect([...got].sort((a, b) => a - b)).toEqual([...bruteRows(bitmap, mode)].sort((a, b) => a - b));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the DISPI registers in shared memory', () => {
  it('give the display thread the mode, and count the enables', () => {
    const regs = new Uint16Array(new SharedArrayBuffer(DISPI_WORDS * 2));
    regs.fill(7); // a previous VM's leftovers
    const fb = new Uint8Array(FB_SIZE);
    const d = new BochsDisplay(fb, () => {}, { width: 1920, height: 1080 }, regs);
    expect(modeOf(regs, FB_SIZE)).toBeNull();
    const w = (i: number, v: number) => d.mmioWrite(0x500 + 2 * i, 2, v);
    w(1, 800);
    w(2, 600);
    w(3, 32);
    w(4, 0x01);
    expect(modeOf(regs, FB_SIZE)).toEqual({ width: 800, height: 600, stride: 3200, offset: 0 });
    expect(regs[DISPI_EPOCH]).toBe(1);
    w(4, 0x01); // already enabled: nothing new
    expect(regs[DISPI_EPOCH]).toBe(1);
    w(4, 0);
    w(4, 0x81); // enabled again (without clearing): the copy starts over all the same
    expect(regs[DISPI_EPOCH]).toBe(2);
  });
});

describe('ConsoleEscape', () => {
  it('takes Ctrl-\\ s as a screenshot, also split across reads', () => {
    const e = new ConsoleEscape();
    expect(e.feed(Uint8Array.from([0x61, CTRL_BACKSLASH, 0x73, 0x62]))).toEqual({
      bytes: Uint8Array.from([0x61, 0x62]),
      commands: ['screenshot'],
    });
    expect(e.feed(Uint8Array.from([CTRL_BACKSLASH]))).toEqual({ bytes: new Uint8Array(0), commands: [] });
    expect(e.feed(Uint8Array.from([0x53]))).toEqual({ bytes: new Uint8Array(0), commands: ['screenshot'] });
  });
  it('sends Ctrl-\\ Ctrl-\\ as one, and Ctrl-\\ with another key as both', () => {
    const e = new ConsoleEscape();
    expect([...e.feed(Uint8Array.from([CTRL_BACKSLASH, CTRL_BACKSLASH, CTRL_BACKSLASH, 0x78])).bytes]).toEqual([
      CTRL_BACKSLASH,
      CTRL_BACKSLASH,
      0x78,
    ]);
    const plain = Uint8Array.from([1, 2, 3]);
    expect(e.feed(plain).bytes).toBe(plain);
  });
});

describe('--display-out', () => {
  it('takes auto, none and device paths only', () => {
    for (const ok of ['auto', 'none', '/dev/fb0', '/dev/fb12', '/dev/dri/card1']) expect(parseDisplayOut(ok)).toBe(ok);
    for (const bad of ['/dev/sda', 'fb0', '/dev/dri/renderD128', '/dev/fb0/../sda'])
      expect(() => parseDisplayOut(bad)).toThrow(/^display output /);
  });
  it('finds DRM cards by their connectors’ sysfs status', () => {
    const sys = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-drm-'));
    try {
      for (const [n, status] of [
        ['card0-Virtual-1', 'disconnected'],
        ['card1-HDMI-A-1', 'connected'],
        ['card10-DP-1', 'connected'],
        ['card2-DP-1', 'unknown'],
      ]) {
        fs.mkdirSync(path.join(sys, n!), { recursive: true });
        fs.writeFileSync(path.join(sys, n!, 'status'), `${status}\n`);
      }
      for (const c of ['card0', 'card1', 'card2', 'card10', 'renderD128']) fs.mkdirSync(path.join(sys, c));
      expect(connectedDrmCards(sys, '/dev/dri')).toEqual(['/dev/dri/card1', '/dev/dri/card10']);
    } finally {
      fs.rmSync(sys, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!fs.existsSync('/dev/kvm'))('KVM_GET_DIRTY_LOG on /dev/kvm', () => {
  it('reports the pages a guest wrote in a dirty-logged slot, and clears the log', () => {
    const n = displayNative();
    const { k, sys, vm, vcpu, ram } = realModeVm();
    const logged = k.kvmMapAnon(16 * PAGE);
    k.kvmSetMemoryRegion(vm, 2, n.displayConstants().memLogDirtyPages, 0x20000, logged, 16 * PAGE);
    // mov ax,0x2000; mov es,ax; mov byte [es:0x1000],0x11; mov byte [es:0x5004],0x22; hlt
    ram.set(
      [0xb8, 0x00, 0x20, 0x8e, 0xc0, 0x26, 0xc6, 0x06, 0x00, 0x10, 0x11, 0x26, 0xc6, 0x06, 0x04, 0x50, 0x22, 0xf4],
      0x7c00,
    );
    const bitmap = new ArrayBuffer(8);
    const bits = new Uint8Array(bitmap);
    try {
      n.kvmGetDirtyLog(vm, 2, bitmap);
      expect(countPages(bits)).toBe(0);
      expect(k.kvmRun(vcpu)).toBe(ExitReason.HLT);
      n.kvmGetDirtyLog(vm, 2, bitmap);
      expect([...bits]).toEqual([0b0010_0010, 0, 0, 0, 0, 0, 0, 0]);
      expect(new Uint8Array(logged)[0x5004]).toBe(0x22);
      n.kvmGetDirtyLog(vm, 2, bitmap);
      expect(countPages(bits)).toBe(0);
      // A slot that is not there (the BAR being moved) is ENOENT, which the display thread skips.
      expect(() => n.kvmGetDirtyLog(vm, 9, bitmap)).toThrow(/KVM_GET_DIRTY_LOG: ENOENT/);
    } finally {
      k.kvmDestroyVcpu(vcpu);
      k.kvmClose(vm);
      k.kvmClose(sys);
    }
  });
});
