// The display (src/vm/display/): programmed the way OVMF's QemuVideoDxe does it (ID check, mode
// through the DISPI registers in BAR2, the framebuffer in BAR0 mapped as RAM where the guest
// decodes it), the screen read back as RGB, the PNG it becomes, and the EDID it offers.
import { describe, expect, it } from 'vitest';
import { DeviceManager } from '../../../src/vm/device-manager';
import {
  BochsDisplay,
  DISPI_BPP,
  DISPI_ENABLE,
  DISPI_ID,
  DISPI_VIDEO_MEMORY_64K,
  DISPI_VIRT_HEIGHT,
  DISPI_VIRT_WIDTH,
  DISPI_XRES,
  DISPI_YRES,
  FB_SIZE,
} from '../../../src/vm/display/bochs';
import { edidBlock } from '../../../src/vm/display/edid';
import { encodePng } from '../../../src/vm/display/png';
import { decodePng } from '../../fixtures/png';

const FB_AT = 0x8000_0000;
const MMIO_AT = 0x8100_0000;

function setup() {
  const dm = new DeviceManager();
  const maps: Array<number | null> = [];
  const fb = new Uint8Array(FB_SIZE);
  const d = new BochsDisplay(fb, (a) => maps.push(a));
  dm.addPci('display', 6, 0, d);
  const cfg = (reg: number, v: number) => {
    dm.ports.write(0xcf8, 4, 0x8000_3000 | reg);
    dm.ports.write(0xcfc, 4, v);
  };
  cfg(0x10, FB_AT);
  cfg(0x18, MMIO_AT);
  cfg(0x04, 0x0002);
  const dispi = (i: number, v?: number) => {
    if (v === undefined) return Number(dm.mmio.read(MMIO_AT + 0x500 + 2 * i, 2));
    dm.mmio.write(MMIO_AT + 0x500 + 2 * i, 2, v);
    return 0;
  };
  return { dm, d, fb, maps, dispi, cfg };
}

describe('bochs-display (display/bochs.ts)', () => {
  it('is 1234:1111, class 03/80; BAR0 maps as RAM where the guest decodes it; BAR2 holds the registers', () => {
    const { dm, d, maps, cfg } = setup();
    expect(d.readConfig(0, 4)).toBe(0x1111_1234);
    expect(d.readConfig(0x08, 4) >>> 8).toBe(0x038000);
    expect(d.readConfig(0x10, 4) & 0xf).toBe(0x08); // prefetchable memory
    expect(maps).toEqual([FB_AT]);
    cfg(0x04, 0); // memory decode off: the framebuffer goes
    expect(maps).toEqual([FB_AT, null]);
    expect(dm.describe().some((r) => r.includes('display BAR2'))).toBe(false);
  });

  it("QemuVideoDxe's sequence: ID, memory size, mode, enable; the screen is the framebuffer in RGB", () => {
    const { d, fb, dispi } = setup();
    expect(dispi(DISPI_ID) & 0xfff0).toBe(0xb0c0);
    expect(dispi(DISPI_VIDEO_MEMORY_64K)).toBe(FB_SIZE >> 16);
    expect(d.mode).toBeNull();
    dispi(DISPI_ENABLE, 0);
    dispi(DISPI_BPP, 32);
    dispi(DISPI_XRES, 800);
    dispi(DISPI_VIRT_WIDTH, 800);
    dispi(DISPI_YRES, 600);
    dispi(DISPI_VIRT_HEIGHT, 600);
    fb.fill(0x77);
    dispi(DISPI_ENABLE, 0x41); // enabled, linear framebuffer: clears it
    expect(fb[12345]).toBe(0);
    expect(d.mode).toEqual({ width: 800, height: 600, stride: 3200, offset: 0 });
    expect(dispi(DISPI_XRES, 1024)).toBe(0);
    expect(dispi(DISPI_XRES)).toBe(800); // the mode is fixed while enabled
    // Pixel (3, 2) is BGRX 10 20 30 00: RGB 30 20 10.
    fb.set([0x10, 0x20, 0x30, 0], 2 * 3200 + 3 * 4);
    const s = d.screen()!;
    expect([s.width, s.height]).toEqual([800, 600]);
    expect([...s.rgb.subarray((2 * 800 + 3) * 3, (2 * 800 + 3) * 3 + 3)]).toEqual([0x30, 0x20, 0x10]);
    const png = decodePng(encodePng(s.width, s.height, s.rgb));
    expect([png.width, png.height]).toEqual([800, 600]);
    expect(png.rgb.equals(Buffer.from(s.rgb))).toBe(true);
  });

  it('GETCAPS reports the maxima; bad depths and oversized modes are refused', () => {
    const { d, dispi } = setup();
    dispi(DISPI_ENABLE, 0x02);
    expect([dispi(DISPI_XRES), dispi(DISPI_YRES), dispi(DISPI_BPP)]).toEqual([2560, 1600, 32]);
    dispi(DISPI_ENABLE, 0);
    dispi(DISPI_BPP, 12);
    expect(dispi(DISPI_BPP)).toBe(32);
    dispi(DISPI_XRES, 65535);
    dispi(DISPI_YRES, 65535);
    dispi(DISPI_ENABLE, 1);
    // Clamped to the maxima, which fit the 16 MiB framebuffer.
    expect(d.mode).toEqual({ width: 2560, height: 1600, stride: 10240, offset: 0 });
    dispi(DISPI_ENABLE, 0);
    dispi(DISPI_BPP, 8);
    dispi(DISPI_ENABLE, 1);
    expect(d.mode).toBeNull(); // an 8-bit mode is no screen tendril can show
  });

  it('the EDID: a valid 1.4 block whose preferred timing is the resolution asked for', () => {
    const e = edidBlock(1920, 1080);
    expect([...e.subarray(0, 8)]).toEqual([0, 255, 255, 255, 255, 255, 255, 0]);
    expect(e.reduce((a, b) => (a + b) & 0xff, 0)).toBe(0);
    expect([e[18], e[19]]).toEqual([1, 4]);
    const width = e[56]! | ((e[58]! >> 4) << 8);
    const height = e[59]! | ((e[61]! >> 4) << 8);
    expect([width, height]).toEqual([1920, 1080]);
    const { dm } = setup();
    expect(Number(dm.mmio.read(MMIO_AT, 4))).toBe(0xffffff00);
  });
});
