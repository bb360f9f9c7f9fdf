// 16550A: OVMF scratch presence test, Linux 8250 autoconfig (IER, loopback MSR 0x90, FIFO).
import { describe, expect, it } from 'vitest';
import { Uart16550 } from '../../../src/vm/uart';

function uart() {
  const out: number[] = [];
  const irqs: boolean[] = [];
  const u = new Uart16550(
    (b) => out.push(b),
    (l) => irqs.push(l),
  );
  return { u, out, irqs };
}

describe('16550A', () => {
  it('passes the scratch-register presence test', () => {
    const { u } = uart();
    u.portWrite(7, 1, 0xaa);
    expect(u.portRead(7)).toBe(0xaa);
    u.portWrite(7, 1, 0x55);
    expect(u.portRead(7)).toBe(0x55);
  });

  it('transmits THR bytes and reports THRE|TEMT', () => {
    const { u, out } = uart();
    u.portWrite(0, 1, 0x41);
    expect(out).toEqual([0x41]);
    expect(u.portRead(5)).toBe(0x60);
  });

  it('keeps the divisor latch separate (DLAB)', () => {
    const { u, out } = uart();
    u.portWrite(3, 1, 0x83);
    u.portWrite(0, 1, 0x01);
    u.portWrite(1, 1, 0x00);
    u.portWrite(3, 1, 0x03);
    expect(out).toEqual([]);
    expect(u.portRead(1)).toBe(0);
  });

  it('reads back IER low nibble and the loopback MSR Linux checks (0x90 for MCR 0x1A)', () => {
    const { u } = uart();
    u.portWrite(1, 1, 0);
    expect(u.portRead(1) & 0x0f).toBe(0);
    u.portWrite(1, 1, 0x0f);
    expect(u.portRead(1) & 0x0f).toBe(0x0f);
    u.portWrite(4, 1, 0x1a);
    expect(u.portRead(6) & 0xf0).toBe(0x90);
    u.portWrite(4, 1, 0x00);
    expect(u.portRead(6)).toBe(0xb0);
  });

  it('reports FIFOs in IIR bits 7:6 once FCR enables them', () => {
    const { u } = uart();
    u.portWrite(2, 1, 0x01);
    expect(u.portRead(2) & 0xc0).toBe(0xc0);
  });

  it('receives input with DR and raises IRQ 4 only with OUT2 and RX interrupts enabled', () => {
    const { u, irqs } = uart();
    u.portWrite(1, 1, 0x01);
    u.input(Uint8Array.of(0x61));
    expect(irqs).toEqual([]);
    u.portWrite(4, 1, 0x08);
    expect(irqs).toEqual([true]);
    expect(u.portRead(5) & 1).toBe(1);
    expect(u.portRead(2) & 0x0f).toBe(0x04);
    expect(u.portRead(0)).toBe(0x61);
    expect(irqs).toEqual([true, false]);
    expect(u.portRead(5) & 1).toBe(0);
  });
});
