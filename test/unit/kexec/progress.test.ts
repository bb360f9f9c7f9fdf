import { describe, expect, it } from 'vitest';
import { formatProgress, streamProgress } from '../../../src/kexec/progress';

describe('progress bar', () => {
  it('formats bytes, percentage and MB/s', () => {
    const s = formatProgress({ label: 'vda:1:/initrd.img', done: 10 << 20, total: 40 << 20, elapsedMs: 500 }, 8);
    // 10 MiB in 0.5 s = 20.97 MB/s (10^6); 25 % fills 2 of 8.
    expect(s).toBe('vda:1:/initrd.img [##------]  25% 10.0/40.0 MiB 21.0 MB/s');
  });
  it('clamps and handles zero sizes and zero time', () => {
    expect(formatProgress({ label: 'x', done: 5, total: 0, elapsedMs: 0 }, 4)).toBe('x [####] 100% 0.0/0.0 MiB - MB/s');
    expect(formatProgress({ label: 'x', done: 99, total: 10, elapsedMs: 1000 }, 4)).toMatch(/100% 0\.0\/0\.0/);
  });
  it('stays quiet for small files and prints a final line on non-terminals', () => {
    const out: string[] = [];
    const p = streamProgress({ write: (s: string) => out.push(s), isTTY: false }, 100);
    p({ label: 'small', done: 50, total: 50, elapsedMs: 10 });
    p({ label: 'big', done: 100, total: 200, elapsedMs: 10 });
    p({ label: 'big', done: 200, total: 200, elapsedMs: 20 });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^big \[#+\] 100%/);
  });
  it('prints a label from a disk printable', () => {
    const out: string[] = [];
    const p = streamProgress({ write: (s: string) => out.push(s), isTTY: true }, 1);
    p({ label: 'vda:1:/x\x1b[2J\x9b.img', done: 2, total: 2, elapsedMs: 10 });
    expect(out[0]).toMatch(/^\rvda:1:\/x\\x1b\[2J\\x9b\.img \[#+\] 100%.*\n$/);
    expect(out[0]!.slice(1, -1)).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
  });
});
