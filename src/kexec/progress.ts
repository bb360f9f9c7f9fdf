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

/** `m:ss`, or `h:mm:ss` from an hour on; `-:--` when unknown. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * A download's line: the bar of formatProgress plus the time left, or, when the server did not
 * announce a size, `label 12.3 MiB 4.5 MB/s`.
 */
export function formatTransferProgress(
  s: { readonly label: string; readonly done: number; readonly total?: number | undefined; readonly elapsedMs: number },
  width = 20,
): string {
  if (s.total === undefined) {
    const rate = s.elapsedMs > 0 ? (s.done / 1e6 / (s.elapsedMs / 1000)).toFixed(1) : '-';
    return `${s.label} ${mib(s.done)} MiB ${rate} MB/s`;
  }
  const bytesPerMs = s.elapsedMs > 0 ? s.done / s.elapsedMs : 0;
  const left = Math.max(0, s.total - s.done);
  const eta = left === 0 ? 0 : bytesPerMs > 0 ? left / bytesPerMs / 1000 : NaN;
  return `${formatProgress({ label: s.label, done: s.done, total: s.total, elapsedMs: s.elapsedMs }, width)} ETA ${formatEta(eta)}`;
}
