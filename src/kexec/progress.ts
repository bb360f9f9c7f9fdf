// A one-line progress bar for large kernel/initrd copies: bytes, percentage and MB/s.
// Pure formatting here; the caller decides where and how often to print it. The label names a
// file on a disk: streamProgress() prints it printable (src/util/printable.ts), the menu's
// renderer does the same.

import { printable } from '../util/printable';

export interface ProgressState {
  readonly label: string;
  readonly done: number;
  readonly total: number;
  readonly elapsedMs: number;
}

/** Files smaller than this load without a bar (they take well under a second). */
export const PROGRESS_MIN_BYTES = 8 << 20;

function mib(n: number): string {
  return (n / (1 << 20)).toFixed(1);
}

/** `label [#####-----]  45% 12.3/27.1 MiB 34.5 MB/s` (MB = 10^6 bytes, as `dd` prints). */
export function formatProgress(s: ProgressState, width = 20): string {
  const total = Math.max(0, s.total);
  const done = Math.min(Math.max(0, s.done), total);
  const frac = total === 0 ? 1 : done / total;
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const pct = String(Math.floor(frac * 100)).padStart(3);
  const rate = s.elapsedMs > 0 ? (done / 1e6 / (s.elapsedMs / 1000)).toFixed(1) : '-';
  return `${s.label} [${bar}] ${pct}% ${mib(done)}/${mib(total)} MiB ${rate} MB/s`;
}

export type ProgressFn = (s: ProgressState) => void;

/** A reporter writing `\r`-updated lines to a stream, throttled to ~10 updates a second. */
export function streamProgress(
  out: { write(s: string): unknown; isTTY?: boolean },
  minBytes = PROGRESS_MIN_BYTES,
): ProgressFn {
  let last = 0;
  return (s) => {
    if (s.total < minBytes) return;
    const final = s.done >= s.total;
    if (!final && s.elapsedMs - last < 100) return;
    last = s.elapsedMs;
    // Serial consoles and logs get whole lines only at the end; terminals get a live bar.
    const line = printable(formatProgress(s));
    if (out.isTTY) out.write(`\r${line}${final ? '\n' : ''}`);
    else if (final) out.write(`${line}\n`);
  };
}
