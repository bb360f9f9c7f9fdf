// The addon's clock_settime wrapper refuses bad arguments before any syscall (so this test never
// touches the clock); the step itself is proven in QEMU (test/e2e/boot-netboot-clock.test.ts).

import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../../src/native/load';
import { clockSettime } from '../../../src/native/sys';

const raw = loadAddon() as unknown as { clockSettime: (sec: unknown, nsec: unknown) => void };

describe('clockSettime', () => {
  it.each<[unknown, unknown, RegExp]>([
    [-1, 0, /^clockSettime: sec must be an integer in 0\.\.9007199254740991/],
    [1.5, 0, /^clockSettime: sec must be an integer/],
    [0, 1_000_000_000, /^clockSettime: nsec must be an integer in 0\.\.999999999/],
    ['1', 0, /^clockSettime: sec must be/],
  ])('refuses sec=%s nsec=%s with a TypeError naming the argument', (sec, nsec, msg) => {
    expect(() => raw.clockSettime(sec, nsec)).toThrow(TypeError);
    expect(() => raw.clockSettime(sec, nsec)).toThrow(msg);
  });

  it('the typed wrapper refuses a time before 1970 the same way', () => {
    expect(() => clockSettime(-1000)).toThrow(/clockSettime: sec must be/);
  });
});
