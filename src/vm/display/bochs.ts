// The display: a bochs-display (PCI 1234:1111, class 03/80, QEMU's "secondary" standard VGA without
// the legacy VGA windows; docs/vmm-platform.md §15). OVMF's QemuVideoDxe drives it as "QEMU Standard
// VGA (secondary)" and publishes a GOP with a linear 32-bit framebuffer, which is what Windows asks
// of UEFI firmware and what Linux's efifb/simpledrm take over. Chosen over ramfb because the
// framebuffer is a PCI BAR the guest keeps after ExitBootServices, and over a VGA because nothing
// here needs the 0xA0000 window or VGA I/O ports.
//  - BAR0: the framebuffer, guest RAM (a KVM memory slot where the guest maps the BAR), so pixel
//    writes never exit.
//  - BAR2 (4 KiB MMIO): the EDID at 0x000, VGA register writes at 0x400 (accepted, ignored), the
//    VBE DISPI registers at 0x500 + 2 × index, and at 0x600 the region size and the framebuffer's
//    byte order.
import type { MmioDevice } from '../bus';
import { PciFunction } from '../pci';
import { edidBlock } from './edid';

export const FB_SIZE = 16 << 20;
const MMIO_SIZE = 0x1000;
const EDID = 0x000;
const VGA = 0x400;
const DISPI = 0x500;
const QEXT = 0x600;

// VBE DISPI register indexes and values (Bochs VBE extensions).
export const DISPI_ID = 0;
export const DISPI_XRES = 1;
export const DISPI_YRES = 2;
export const DISPI_BPP = 3;
export const DISPI_ENABLE = 4;
export const DISPI_BANK = 5;
export const DISPI_VIRT_WIDTH = 6;
export const DISPI_VIRT_HEIGHT = 7;
export const DISPI_X_OFFSET = 8;
export const DISPI_Y_OFFSET = 9;
export const DISPI_VIDEO_MEMORY_64K = 10;
const DISPI_COUNT = 11;
/** Counts the enables that (may have) cleared the framebuffer, for the host output's redraw. */
export const DISPI_EPOCH = DISPI_COUNT;
/** Uint16 words of the register file another thread may watch (host-thread.ts). */
export const DISPI_WORDS = DISPI_COUNT + 1;
export const DISPI_ID5 = 0xb0c5;
export const ENABLED = 0x01;
const GETCAPS = 0x02;
const NOCLEARMEM = 0x80;
const MAX_XRES = 2560;
const MAX_YRES = 1600;

export interface DisplayMode {
  readonly width: number;
  readonly height: number;
  /** Bytes per line (VIRT_WIDTH × 4). */
  readonly stride: number;
  /** Byte offset of the visible area's top left pixel. */
  readonly offset: number;
}

/** The mode the DISPI registers `r` describe, or null while off or not 32-bit (fits `fbLength`). */
export function modeOf(r: Uint16Array, fbLength: number): DisplayMode | null {
  if (!(r[DISPI_ENABLE]! & ENABLED) || r[DISPI_BPP] !== 32) return null;
  const width = r[DISPI_XRES]!;
  const height = r[DISPI_YRES]!;
  const stride = Math.max(r[DISPI_VIRT_WIDTH]!, width) * 4;
  const offset = r[DISPI_Y_OFFSET]! * stride + r[DISPI_X_OFFSET]! * 4;
  if (!width || !height || offset + (height - 1) * stride + width * 4 > fbLength) return null;
  return { width, height, stride, offset };
}

export class BochsDisplay extends PciFunction implements MmioDevice {
  private readonly regs: Uint16Array;
  private readonly edid: Uint8Array;

  /**
   * @param fb the framebuffer's memory (FB_SIZE bytes; the KVM slot's, in a machine)
   * @param mapFramebuffer told where the guest decodes BAR0 (null: nowhere)
   * @param preferred the resolution the EDID names as native
   * @param regs DISPI_WORDS registers in shared memory, for a thread that watches the mode
   */
  constructor(
    readonly fb: Uint8Array,
    mapFramebuffer: (addr: number | null) => void,
    preferred: { readonly width: number; readonly height: number } = { width: 1024, height: 768 },
    regs: Uint16Array = new Uint16Array(DISPI_WORDS),
  ) {
    super({
      vendor: 0x1234,
      device: 0x1111,
      revision: 0x02,
      classCode: 0x038000,
      headerType: 0x00,
      subsystemVendor: 0x1af4,
      subsystemId: 0x1100,
      interruptPin: 0,
    });
    if (fb.length !== FB_SIZE) throw new RangeError(`framebuffer of ${fb.length} bytes (want ${FB_SIZE})`);
    this.defineBar(0, { kind: 'ram', size: FB_SIZE, map: mapFramebuffer, prefetchable: true });
    this.defineBar(2, { kind: 'mem32', size: MMIO_SIZE, dev: this });
    this.edid = edidBlock(
      Math.min(Math.max(preferred.width, 1), MAX_XRES),
      Math.min(Math.max(preferred.height, 1), MAX_YRES),
    );
    if (regs.length !== DISPI_WORDS) throw new RangeError(`${regs.length} DISPI registers (want ${DISPI_WORDS})`);
    this.regs = regs;
    regs.fill(0);
    this.regs[DISPI_ID] = DISPI_ID5;
    this.regs[DISPI_BPP] = 32;
    this.regs[DISPI_VIDEO_MEMORY_64K] = FB_SIZE >> 16;
  }

  /** The mode the guest enabled, or null while the display is off or the mode is not 32-bit. */
  get mode(): DisplayMode | null {
    return modeOf(this.regs, this.fb.length);
  }

  /** The visible screen as 8-bit RGB (the framebuffer is BGRX), or null when the display is off. */
  screen(): { width: number; height: number; rgb: Uint8Array } | null {
    const m = this.mode;
    if (!m) return null;
    const rgb = new Uint8Array(m.width * m.height * 3);
    for (let y = 0; y < m.height; y++) {
      let src = m.offset + y * m.stride;
      let dst = y * m.width * 3;
      for (let x = 0; x < m.width; x++, src += 4, dst += 3) {
        rgb[dst] = this.fb[src + 2]!;
        rgb[dst + 1] = this.fb[src + 1]!;
        rgb[dst + 2] = this.fb[src]!;
      }
    }
    return { width: m.width, height: m.height, rgb };
  }

  mmioRead(offset: number, size: number): number {
    if (offset >= EDID && offset < VGA) {
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = (v << 8) | (this.edid[offset - EDID + i] ?? 0);
      return v >>> 0;
    }
    if (offset >= DISPI && offset < DISPI + 2 * DISPI_COUNT && size === 2 && offset % 2 === 0)
      return this.dispiRead((offset - DISPI) / 2);
    if (offset === QEXT && size === 4) return 8; // size of the extension registers
    if (offset === QEXT + 4 && size === 4) return 0x1e1e1e1e; // little-endian framebuffer
    return 0;
  }

  mmioWrite(offset: number, size: number, value: number): void {
    if (offset >= DISPI && offset < DISPI + 2 * DISPI_COUNT && size === 2 && offset % 2 === 0)
      this.dispiWrite((offset - DISPI) / 2, value & 0xffff);
    // VGA registers (0x400–0x41F: palette, attribute "unblank") and the rest: nothing to do for a
    // 32-bit linear framebuffer.
  }

  private dispiRead(i: number): number {
    const r = this.regs;
    if (r[DISPI_ENABLE]! & GETCAPS) {
      if (i === DISPI_XRES) return MAX_XRES;
      if (i === DISPI_YRES) return MAX_YRES;
      if (i === DISPI_BPP) return 32;
    }
    return r[i]!;
  }

  private dispiWrite(i: number, v: number): void {
    const r = this.regs;
    const enabled = (r[DISPI_ENABLE]! & ENABLED) !== 0;
    switch (i) {
      case DISPI_ID:
        if (v >= 0xb0c0 && v <= DISPI_ID5) r[i] = v;
        return;
      case DISPI_XRES:
      case DISPI_YRES:
        // Only while disabled, as the Bochs interface wants; bounded so a mode always fits.
        if (!enabled) r[i] = Math.min(v, i === DISPI_XRES ? MAX_XRES : MAX_YRES);
        return;
      case DISPI_BPP:
        if (!enabled && [8, 15, 16, 24, 32].includes(v)) r[i] = v;
        return;
      case DISPI_ENABLE: {
        r[i] = v & (ENABLED | GETCAPS | 0x40 | NOCLEARMEM);
        if (v & ENABLED && !enabled) {
          if (!r[DISPI_VIRT_WIDTH] || r[DISPI_VIRT_WIDTH] < r[DISPI_XRES]!) r[DISPI_VIRT_WIDTH] = r[DISPI_XRES]!;
          const lineBytes = Math.max(1, r[DISPI_VIRT_WIDTH] * 4);
          r[DISPI_VIRT_HEIGHT] = Math.min(0xffff, Math.floor(this.fb.length / lineBytes));
          if (!(v & NOCLEARMEM)) this.fb.fill(0);
          // A new mode: the host's copy redraws everything, as it cannot see the clear above in
          // KVM's dirty log (not a guest write).
          r[DISPI_EPOCH] = (r[DISPI_EPOCH]! + 1) & 0xffff;
        }
        return;
      }
      case DISPI_VIRT_WIDTH:
        r[i] = Math.min(v, MAX_XRES * 2);
        return;
      case DISPI_BANK:
      case DISPI_VIRT_HEIGHT:
      case DISPI_X_OFFSET:
      case DISPI_Y_OFFSET:
        r[i] = v;
        return;
      default:
        return; // VIDEO_MEMORY_64K is read-only
    }
  }
}
