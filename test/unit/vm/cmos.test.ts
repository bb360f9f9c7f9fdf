// CMOS/RTC: BCD and binary encodings, 12/24-hour, status registers, memory sizes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Cmos, toBcd, fromBcd } from '../../../src/vm/cmos';
import { GiB, MiB, memoryLayout } from '../../../src/vm/memory';

const T = Date.UTC(2026, 10, 22, 21, 7, 59); // Sunday 22 Nov 2026 21:07:59 UTC

function cmos(ram = GiB) {
  const c = new Cmos(memoryLayout(ram), 1, () => T);
  const rd = (i: number) => {
    c.portWrite(0, 1, i);
    return c.portRead(1);
  };
  const wr = (i: number, v: number) => {
    c.portWrite(0, 1, i);
    c.portWrite(1, 1, v);
  };
  return { c, rd, wr };
}

describe('CMOS RTC', () => {
  it('encodes BCD per digit (gokvm divided by 100: wrong)', () => {
    expect(toBcd(59)).toBe(0x59);
    expect(toBcd(7)).toBe(0x07);
    expect(toBcd(10)).toBe(0x10);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99 }),
        (v) => fromBcd(toBcd(v)) === v && toBcd(v).toString(16) === String(v),
      ),
    );
  });

  it('reports the time in BCD, 24-hour by default (what OVMF programs)', () => {
    const { rd } = cmos();
    expect([rd(0), rd(2), rd(4), rd(6), rd(7), rd(8), rd(9), rd(0x32)]).toEqual([
      0x59, 0x07, 0x21, 0x01, 0x22, 0x11, 0x26, 0x20,
    ]);
  });

  it('honours DM (binary) and 12-hour mode with the PM bit', () => {
    const { rd, wr } = cmos();
    wr(0x0b, 0x04 | 0x02);
    expect([rd(0), rd(4), rd(9)]).toEqual([59, 21, 26]);
    wr(0x0b, 0x00); // BCD, 12-hour
    expect(rd(4)).toBe(0x80 | 0x09);
  });

  it('accepts guest time writes as an offset', () => {
    const { rd, wr } = cmos();
    wr(0x0b, 0x82); // SET
    wr(0x04, 0x05);
    wr(0x0b, 0x02);
    expect(rd(4)).toBe(0x05);
    expect(rd(2)).toBe(0x07);
  });

  it('reads UIP = 0, VRT = 1, register C clears on read', () => {
    const { c, rd } = cmos();
    expect(rd(0x0a) & 0x80).toBe(0);
    expect(rd(0x0a)).toBe(0x26);
    expect(rd(0x0d)).toBe(0x80);
    c.ram[0x0c] = 0xf0;
    expect(rd(0x0c)).toBe(0xf0);
    expect(rd(0x0c)).toBe(0);
  });

  it('stores memory sizes: base 640 KiB, ext (KiB, capped), above 16 MiB and 4 GiB in 64 KiB units', () => {
    const { rd } = cmos(3 * GiB);
    expect(rd(0x15) | (rd(0x16) << 8)).toBe(640);
    expect(rd(0x17) | (rd(0x18) << 8)).toBe(0xffff); // 64 MiB above 1 MiB, capped at 0xFFFF KiB
    expect(rd(0x34) | (rd(0x35) << 8)).toBe((2 * GiB - 16 * MiB) / 65536);
    expect(rd(0x5b) | (rd(0x5c) << 8) | (rd(0x5d) << 16)).toBe(GiB / 65536);
    expect(rd(0x5f)).toBe(0);
  });

  it('keeps NVRAM bytes', () => {
    const { rd, wr } = cmos();
    wr(0x40, 0xa5);
    expect(rd(0x40)).toBe(0xa5);
  });
});
