// An EDID 1.4 base block (VESA E-EDID) for the VM's display: a digital panel whose preferred
// (first detailed) timing is the resolution tendril wants the guest to use. Linux's bochs-drm and
// newer OVMF builds read it from the display's MMIO BAR.

/** 128 bytes: header, vendor "TDL", version 1.4, the preferred timing, a monitor name, checksum. */
export function edidBlock(width: number, height: number, name = 'tendril'): Uint8Array {
  const b = new Uint8Array(128);
  b.set([0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00], 0);
  // Manufacturer ID: three 5-bit letters, 'A' = 1, big-endian.
  const id = [...'TDL'].map((c) => c.charCodeAt(0) - 64);
  const mfg = (id[0]! << 10) | (id[1]! << 5) | id[2]!;
  b[8] = mfg >> 8;
  b[9] = mfg & 0xff;
  b[10] = 0x01; // product code
  b[16] = 1; // week
  b[17] = 2026 - 1990; // year
  b[18] = 1; // EDID 1.4
  b[19] = 4;
  b[20] = 0xa5; // digital, 8 bits per colour, DisplayPort
  b[21] = Math.max(1, Math.round(width / 40)); // cm, about 100 dpi
  b[22] = Math.max(1, Math.round(height / 40));
  b[23] = 120; // gamma 2.2
  b[24] = 0x06; // sRGB, preferred timing is native
  // Detailed timing: 60 Hz with small blanking (a reduced-blanking style mode).
  const hblank = 160;
  const vblank = Math.max(23, Math.round(height * 0.03));
  const clock = Math.round(((width + hblank) * (height + vblank) * 60) / 10_000); // 10 kHz units
  const d = 54;
  b[d] = clock & 0xff;
  b[d + 1] = clock >> 8;
  b[d + 2] = width & 0xff;
  b[d + 3] = hblank & 0xff;
  b[d + 4] = ((width >> 8) << 4) | (hblank >> 8);
  b[d + 5] = height & 0xff;
  b[d + 6] = vblank & 0xff;
  b[d + 7] = ((height >> 8) << 4) | (vblank >> 8);
  b[d + 8] = 48; // hsync offset
  b[d + 9] = 32; // hsync width
  b[d + 10] = (3 << 4) | 6; // vsync offset, width
  b[d + 12] = b[21] * 10; // image size in mm (low bytes)
  b[d + 13] = b[22] * 10;
  b[d + 14] = (((b[21] * 10) >> 8) << 4) | ((b[22] * 10) >> 8);
  b[d + 17] = 0x1e; // digital separate sync, +h +v
  // Descriptor 2: monitor name.
  b.set([0, 0, 0, 0xfc, 0], 72);
  const n = Buffer.from(`${name.slice(0, 12)}\n`.padEnd(13, ' '), 'latin1');
  b.set(n, 77);
  // Descriptors 3 and 4: dummy.
  b.set([0, 0, 0, 0x10, 0], 90);
  b.set([0, 0, 0, 0x10, 0], 108);
  let sum = 0;
  for (let i = 0; i < 127; i++) sum = (sum + b[i]!) & 0xff;
  b[127] = (0x100 - sum) & 0xff;
  return b;
}
