// PIIX4 PM: timer rate and width, PM1 control (SCI_EN, S5 power-off), PMBA relocation.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DeviceManager } from '../../../src/vm/device-manager';
import { VmEvents } from '../../../src/vm/events';
import { Piix4Pm, pmTimerTicks, PM_IO_SIZE, PM_TIMER_HZ } from '../../../src/vm/piix4pm';

describe('PM timer', () => {
  it('counts 3,579,545 ticks per second and wraps at 24 bits', () => {
    expect(pmTimerTicks(1_000_000_000n, 0n)).toBe(PM_TIMER_HZ);
    expect(pmTimerTicks(5_000_000_000n, 0n)).toBe((5 * PM_TIMER_HZ) % (1 << 24));
    // 2 hours: ns × 3579545 overflows 64 bits after ~85 minutes; BigInt keeps it exact.
    const twoHours = 7200n * 1_000_000_000n;
    expect(pmTimerTicks(twoHours, 0n)).toBe(Number((7200n * 3579545n) & 0xffffffn));
  });

  it('is monotonic modulo 2^24 for any pair of times', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 13n }), fc.bigInt({ min: 0n, max: 10n ** 6n }), (t, d) => {
        const a = pmTimerTicks(t, 0n);
        const b = pmTimerTicks(t + d, 0n);
        const delta = (b - a + (1 << 24)) % (1 << 24);
        return delta <= Number((d * 3579545n) / 1_000_000_000n) + 1;
      }),
      { numRuns: 500 },
    );
  });
});

describe('PIIX4 PM', () => {
  function setup() {
    const dm = new DeviceManager();
    const ev = new VmEvents();
    const pm = new Piix4Pm(ev, 0n);
    const ports: Array<number | null> = [];
    const block = dm.portWindow('pm', PM_IO_SIZE, pm);
    pm.onIoBase = (base) => {
      block.moveTo(base);
      ports.push(base === null ? null : base + 8);
    };
    pm.announce();
    expect(ports).toEqual([0xb008]);
    ports.length = 0;
    dm.addPci('piix4-pm', 1, 3, pm);
    return { io: dm.ports, ev, pm, ports };
  }

  it('is 8086:7113 with PMBA 0xB001 and PMIOSE preset', () => {
    const { io } = setup();
    io.write(0xcf8, 4, 0x8000_0b00);
    expect(io.read(0xcfc, 4)).toBe(0x7113_8086);
    io.write(0xcf8, 4, 0x8000_0b40);
    expect(io.read(0xcfc, 4)).toBe(0xb001);
    io.write(0xcf8, 4, 0x8000_0b80);
    expect(io.read(0xcfc, 1) & 1).toBe(1);
  });

  it('reads the timer at PMBA+8 as a 24-bit value', () => {
    const { io } = setup();
    const v = io.read(0xb008, 4);
    expect(v).toBeLessThan(1 << 24);
  });

  it('powers off on SLP_EN with SLP_TYP 0, the way OVMF and Linux write it', () => {
    const { io, ev } = setup();
    expect(io.read(0xb004, 2) & 1).toBe(1); // SCI_EN reads 1 (SMI_CMD = 0)
    const cur = io.read(0xb004, 2);
    io.write(0xb004, 2, cur & ~((7 << 10) | (1 << 13)));
    expect(ev.pending).toBeNull();
    io.write(0xb004, 2, io.read(0xb004, 2) | (1 << 13));
    expect(ev.pending).toBe('poweroff');
    expect(io.read(0xb004, 2) & (1 << 13)).toBe(0); // SLP_EN is write-only
  });

  it('does not power off for other sleep types', () => {
    const { io, ev } = setup();
    io.write(0xb004, 2, (1 << 10) | (1 << 13));
    expect(ev.pending).toBeNull();
  });

  it('PM1_STS is write-1-to-clear', () => {
    const { io, pm } = setup();
    (pm as unknown as { sts: number }).sts = 0x0101;
    io.write(0xb000, 2, 0x0001);
    expect(io.read(0xb000, 2)).toBe(0x0100);
  });

  it('moves the I/O block when PMBA is reprogrammed and tells the fast path', () => {
    const { io, ports } = setup();
    io.write(0xcf8, 4, 0x8000_0b40);
    io.write(0xcfc, 4, 0x6001);
    expect(io.read(0xb008, 4)).toBe(0xffffffff);
    expect(io.read(0x6008, 4)).toBeLessThan(1 << 24);
    expect(ports).toEqual([0x6008]);
    io.write(0xcf8, 4, 0x8000_0b80);
    io.write(0xcfc, 1, 0);
    expect(io.read(0x6008, 4)).toBe(0xffffffff);
    expect(ports).toEqual([0x6008, null]);
  });

  it('the power button: PWRBTN_STS on a press, the SCI only while the OS enabled it, cleared by writing 1', () => {
    const { io, pm } = setup();
    const sci: boolean[] = [];
    pm.onSci = (l) => sci.push(l);
    pm.pressPowerButton(); // firmware: not armed, no SCI
    expect(io.read(0xb000, 2) & 0x100).toBe(0x100);
    expect(sci).toEqual([]);
    expect(pm.powerButtonEnabled).toBe(false);
    io.write(0xb000, 2, 0x100); // clear
    io.write(0xb002, 2, 0x100); // PWRBTN_EN, as Linux's ACPI core sets it
    expect(pm.powerButtonEnabled).toBe(true);
    pm.pressPowerButton();
    expect(sci).toEqual([true]);
    io.write(0xb000, 1, 0x00); // writing 0 clears nothing
    expect(sci).toEqual([true]);
    io.write(0xb001, 1, 0x01); // PWRBTN_STS is bit 8: the high byte's bit 0
    expect(sci).toEqual([true, false]);
    expect(io.read(0xb000, 2) & 0x100).toBe(0);
  });
});
