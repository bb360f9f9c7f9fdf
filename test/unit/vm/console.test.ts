// The console rings between the main thread and the VM worker (src/vm/console.ts): output bytes in
// order across the ring's wrap, seen by a second view of the same memory as another thread maps it.
import { describe, expect, it } from 'vitest';
import { ConsoleChannel, ConsoleOutput } from '../../../src/vm/console';

describe('console output ring', () => {
  it('delivers bytes in order, across the wrap, and drains to empty', () => {
    const out = new ConsoleOutput();
    const seen: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 50_000; i++) out.put((round * 7 + i) & 0xff);
      seen.push(...out.drain());
    }
    expect(seen.length).toBe(150_000);
    expect(seen.every((b, i) => b === ((Math.floor(i / 50_000) * 7 + (i % 50_000)) & 0xff))).toBe(true);
    expect(out.drain().length).toBe(0);
  });

  it('a second view of the same memory (the other thread) sees what was put', () => {
    const a = new ConsoleOutput();
    const b = new ConsoleOutput(a.sab);
    for (const c of Buffer.from('TENDRIL\r\n')) a.put(c);
    expect(Buffer.from(b.drain()).toString()).toBe('TENDRIL\r\n');
  });
});

describe('console input channel', () => {
  it('carries input and the stop request', () => {
    const ch = new ConsoleChannel();
    expect(ch.push(Buffer.from('ab'))).toBe(2);
    expect(Buffer.from(new ConsoleChannel(ch.sab).drain()!).toString()).toBe('ab');
    expect(ch.stopRequested).toBe(false);
    ch.requestStop();
    expect(new ConsoleChannel(ch.sab).stopRequested).toBe(true);
  });
});
