// Boot counting in file names (docs/bls.md §9): `name+LEFT[-DONE].conf|.efi`. Parsing follows
// sd-boot's boot_entry_parse_tries(); the rename follows the spec's width rules (which the
// current sd-boot does not: it prints plain decimals, so FAT renames change name length).

import type { BootCounter } from '../model';

/** sd-boot refuses counters above INT_MAX. */
const INT_MAX = 2147483647n;

export const COUNTED_SUFFIXES = ['.conf', '.efi'] as const;

export interface ParsedName {
  /** Lower-cased file name with the counter removed and the suffix kept (`foo.conf`). */
  readonly id: string;
  readonly counter?: BootCounter;
}

interface CounterParts {
  /** File name up to and including the last '+'. */
  readonly prefix: string;
  readonly left: string;
  readonly done?: string;
  /** The suffix as written on disk ('.conf', '.EFI'). */
  readonly suffix: string;
}

function splitCounter(fileName: string): CounterParts | undefined {
  const plus = fileName.lastIndexOf('+');
  if (plus < 0) return undefined;
  const rest = fileName.slice(plus + 1);
  // At least one digit, optional '-' and at least one digit, then exactly the suffix.
  const m = /^([0-9]+)(?:-([0-9]+))?(.*)$/s.exec(rest);
  if (!m) return undefined;
  const suffix = m[3]!;
  if (!COUNTED_SUFFIXES.some((s) => s === suffix.toLowerCase())) return undefined;
  const left = m[1]!;
  const done = m[2];
  if (BigInt(left) > INT_MAX || (done !== undefined && BigInt(done) > INT_MAX)) return undefined;
  return { prefix: fileName.slice(0, plus + 1), left, ...(done !== undefined ? { done } : {}), suffix };
}

/** Parse `fileName` (no directory) into its id and optional counter. */
export function parseEntryName(fileName: string): ParsedName {
  const parts = splitCounter(fileName);
  if (!parts) return { id: fileName.toLowerCase() };
  return {
    id: (parts.prefix.slice(0, -1) + parts.suffix).toLowerCase(),
    counter: {
      triesLeft: Number(parts.left),
      triesDone: parts.done === undefined ? 0 : Number(parts.done),
      widthLeft: parts.left.length,
      widthDone: parts.done === undefined ? 0 : parts.done.length,
      fileName,
    },
  };
}

function pad(n: number, width: number): string {
  return width > 0 ? String(n).padStart(width, '0') : String(n);
}

/**
 * The name to rename `fileName` to when booting it: tries_left - 1 (not below 0),
 * tries_done + 1, both keeping their digit width; tries_done is capped at the largest value
 * its width holds (`-99`). A name without '-DONE' gains one (`foo+3.conf` → `foo+2-1.conf`).
 * Undefined when the name carries no counter.
 */
export function nextCounterName(fileName: string): string | undefined {
  const parts = splitCounter(fileName);
  if (!parts) return undefined;
  const left = Math.max(Number(parts.left) - 1, 0);
  const widthDone = parts.done?.length ?? 0;
  const cap = widthDone > 0 ? Math.min(10 ** widthDone - 1, Number(INT_MAX)) : Number(INT_MAX);
  const done = Math.min((parts.done === undefined ? 0 : Number(parts.done)) + 1, cap);
  return `${parts.prefix}${pad(left, parts.left.length)}-${pad(done, widthDone)}${parts.suffix}`;
}

export type CounterState = 'good' | 'indeterminate' | 'bad';

export function counterState(c: BootCounter | undefined): CounterState {
  if (!c) return 'good';
  return c.triesLeft > 0 ? 'indeterminate' : 'bad';
}
