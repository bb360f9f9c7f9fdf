// Copying the guest's screen onto the host's (docs/vmm-platform.md §15.1): which rows a KVM dirty
// bitmap touches, where the guest's screen sits on the host's, and the row conversion from the
// guest's BGRX (XRGB8888 in memory order) into the host's pixel format. Pure functions over
// byte arrays, so the unit tests run them on real data without a device.
import type { FbInfo } from '../../native/display';
import type { DisplayMode } from './bochs';

export const PAGE = 4096;

/** One colour channel of a packed pixel: its lowest bit and its width. */
export interface Channel {
  readonly offset: number;
  readonly length: number;
}

/** A host screen's packed true-colour pixel layout. */
export interface PixelFormat {
  readonly bytesPerPixel: 2 | 4;
  readonly red: Channel;
  readonly green: Channel;
  readonly blue: Channel;
}

/** XRGB8888: blue in the lowest byte, as the guest's framebuffer and DRM dumb buffers have it. */
export const XRGB8888: PixelFormat = {
  bytesPerPixel: 4,
  red: { offset: 16, length: 8 },
  green: { offset: 8, length: 8 },
  blue: { offset: 0, length: 8 },
};

/**
 * The format of an fbdev's pixels (FBIOGET_VSCREENINFO's bits_per_pixel and bitfields), or an
 * error that names `device`: 32 bpp with 8-bit channels in any byte order, or 16 bpp with channels
 * of up to 8 bits (RGB565, RGB555). Palettes, 24 bpp and others are refused.
 */
export function fbPixelFormat(
  device: string,
  v: Pick<
    FbInfo,
    'bitsPerPixel' | 'redOffset' | 'redLength' | 'greenOffset' | 'greenLength' | 'blueOffset' | 'blueLength'
  >,
): PixelFormat {
  const red = { offset: v.redOffset, length: v.redLength };
  const green = { offset: v.greenOffset, length: v.greenLength };
  const blue = { offset: v.blueOffset, length: v.blueLength };
  const desc = `${v.bitsPerPixel} bpp, red ${red.length}@${red.offset} green ${green.length}@${green.offset} blue ${blue.length}@${blue.offset}`;
  const fits = (c: Channel, bits: number) => c.length >= 1 && c.length <= 8 && c.offset + c.length <= bits;
  if (v.bitsPerPixel === 32 && [red, green, blue].every((c) => c.length === 8 && c.offset % 8 === 0 && fits(c, 32)))
    return { bytesPerPixel: 4, red, green, blue };
  if (v.bitsPerPixel === 16 && [red, green, blue].every((c) => fits(c, 16)))
    return { bytesPerPixel: 2, red, green, blue };
  throw new Error(
    `${device}: pixel format ${desc} is not supported (32 bpp with 8-bit channels, or 16 bpp such as RGB565)`,
  );
}

/** Where the guest's screen lands on the host's: a rectangle of w × h pixels. */
export interface Placement {
  /** The guest's first visible column and row. */
  readonly sx: number;
  readonly sy: number;
  /** Where it goes on the host's screen. */
  readonly dx: number;
  readonly dy: number;
  readonly w: number;
  readonly h: number;
}

/**
 * A smaller guest screen is centred on the host's; a larger one is clipped to its top left part,
 * where consoles and firmware menus start.
 */
export function place(src: { width: number; height: number }, dst: { width: number; height: number }): Placement {
  const w = Math.min(src.width, dst.width);
  const h = Math.min(src.height, dst.height);
  return { sx: 0, sy: 0, dx: (dst.width - w) >> 1, dy: (dst.height - h) >> 1, w, h };
}

/**
 * The visible rows (as [first, end) ranges, ascending, merged) that the dirty pages of a KVM
 * dirty bitmap touch. Bit i of the bitmap (little-endian 64-bit words, so byte i/8, bit i%8)
 * is page i of the framebuffer; the mode says which bytes are on screen.
 */
export function dirtyRows(bitmap: Uint8Array, mode: DisplayMode): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const visibleEnd = mode.offset + (mode.height - 1) * mode.stride + mode.width * 4;
  const firstPage = Math.floor(mode.offset / PAGE);
  const lastPage = Math.min(Math.ceil(visibleEnd / PAGE), bitmap.length * 8) - 1;
  for (let byte = firstPage >> 3; byte <= lastPage >> 3; byte++) {
    const bits = bitmap[byte]!;
    if (!bits) continue;
    for (let bit = 0; bit < 8; bit++) {
      if (!(bits & (1 << bit))) continue;
      const page = byte * 8 + bit;
      if (page < firstPage || page > lastPage) continue;
      const start = page * PAGE - mode.offset;
      const end = start + PAGE - 1;
      let y0 = Math.max(0, Math.floor(start / mode.stride));
      // A page that starts in a row's padding (beyond its visible pixels) begins with the next row.
      if (start - y0 * mode.stride >= mode.width * 4) y0++;
      const y1 = Math.min(mode.height, Math.floor(end / mode.stride) + 1);
      if (y0 >= y1) continue;
      const last = out[out.length - 1];
      if (last && y0 <= last[1]) last[1] = Math.max(last[1], y1);
      else out.push([y0, y1]);
    }
  }
  return out;
}

/** Number of set bits (dirty pages) in a bitmap. */
export function countPages(bitmap: Uint8Array): number {
  let n = 0;
  for (const b of bitmap) {
    let v = b;
    while (v) {
      v &= v - 1;
      n++;
    }
  }
  return n;
}

/** A host screen in memory: its bytes, bytes per line, size and pixel format. */
export interface HostSurface {
  readonly mem: Uint8Array;
  readonly stride: number;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
}

function sameAsGuest(f: PixelFormat): boolean {
  return (
    f.bytesPerPixel === 4 &&
    f.red.offset === 16 &&
    f.green.offset === 8 &&
    f.blue.offset === 0 &&
    f.red.length === 8 &&
    f.green.length === 8 &&
    f.blue.length === 8
  );
}

/**
 * Copies guest rows [y0, y1) of the visible screen (BGRX at `mode`) onto `dst` at `p`, converting
 * to the host's pixel format; rows outside the placement are skipped. Returns the rows copied.
 */
export function blitRows(
  fb: Uint8Array,
  mode: DisplayMode,
  dst: HostSurface,
  p: Placement,
  y0: number,
  y1: number,
): number {
  const from = Math.max(y0, p.sy);
  const to = Math.min(y1, p.sy + p.h);
  if (from >= to) return 0;
  const f = dst.format;
  const direct = sameAsGuest(f);
  const bpp = f.bytesPerPixel;
  // Per channel: shift the 8-bit value right to its width, then left to its place.
  const rs = 8 - f.red.length;
  const gs = 8 - f.green.length;
  const bs = 8 - f.blue.length;
  for (let y = from; y < to; y++) {
    const src = mode.offset + y * mode.stride + p.sx * 4;
    const dstOff = (p.dy + y - p.sy) * dst.stride + p.dx * bpp;
    if (direct) {
      dst.mem.set(fb.subarray(src, src + p.w * 4), dstOff);
      continue;
    }
    for (let x = 0, s = src, d = dstOff; x < p.w; x++, s += 4, d += bpp) {
      const v =
        ((fb[s + 2]! >> rs) << f.red.offset) |
        ((fb[s + 1]! >> gs) << f.green.offset) |
        ((fb[s]! >> bs) << f.blue.offset);
      dst.mem[d] = v & 0xff;
      dst.mem[d + 1] = (v >>> 8) & 0xff;
      if (bpp === 4) {
        dst.mem[d + 2] = (v >>> 16) & 0xff;
        dst.mem[d + 3] = v >>> 24;
      }
    }
  }
  return to - from;
}
