// Memory before bytes (docs/kexec.md §4.2): a plan's sizes are compared with MemAvailable before
// any file is read, so a 1 TiB sparse initrd is refused with the numbers instead of being copied
// until the machine runs out of memory.

import * as fs from 'node:fs';
import { layoutInitrd } from './initrd';

/**
 * What stays free besides the images: purgatory, boot parameters, the kimage's page lists and
 * control pages, tendril's own 4 MiB copy buffers and node's growth, and the rest of the
 * system (udev, the console) while the load runs.
 */
export const MEMORY_HEADROOM = 64 << 20;

const PAGE = 4096;

export interface LoadPiece {
  /** 'vda:1:/initrd.img' or 'vda:1:/EFI/Linux/x.efi#.initrd' */
  readonly label: string;
  readonly size: number;
}

export interface LoadSizes {
  readonly kernel: LoadPiece;
  /** The setup header's init_size (0x260), once probed: what the kernel segment occupies. */
  readonly kernelInitSize?: number;
  /** In load order, as the plan concatenates them (empty ones included: they cost nothing). */
  readonly initrds: readonly LoadPiece[];
}

/** Where MemAvailable comes from; undefined when the kernel does not say (before Linux 3.14). */
export type MemorySource = () => number | undefined;

/** The concatenated initrd's size, padding included (docs/kexec.md §2). */
export function initrdBytes(initrds: readonly LoadPiece[]): number {
  return layoutInitrd(initrds).total;
}

/**
 * Bytes a load needs, K the kernel file, I the concatenated initrd:
 *
 *   (K + I)                  tendril's memfd copies, held until kexec_file_load returns
 * + (K + I)                  the kernel's kernel_read_file() buffers, freed after the load
 * + max(init_size, K) + I    the loaded segments (bzImage64_load: the kernel segment's memsz is
 *                            PAGE_ALIGN(init_size); the initrd segment is I bytes)
 * + MEMORY_HEADROOM
 */
export function memoryNeeded(s: LoadSizes): number {
  const k = s.kernel.size;
  const i = initrdBytes(s.initrds);
  const segment = Math.max(Math.ceil((s.kernelInitSize ?? 0) / PAGE) * PAGE, k);
  return 2 * (k + i) + segment + i + MEMORY_HEADROOM;
}

export type MemoryVerdict =
  | { readonly ok: true; readonly needed: number; readonly available: number }
  | { readonly ok: 'unknown'; readonly needed: number; readonly note: string }
  | {
      readonly ok: false;
      readonly needed: number;
      readonly available: number;
      readonly largest: LoadPiece;
      readonly reason: string;
    };

/** Compare a plan's sizes with `available` bytes (MemAvailable). */
export function checkMemory(s: LoadSizes, available: number | undefined): MemoryVerdict {
  const needed = memoryNeeded(s);
  if (available === undefined) {
    return {
      ok: 'unknown',
      needed,
      note: `memory not checked (no MemAvailable in /proc/meminfo); needs ${formatBytes(needed)}`,
    };
  }
  if (needed <= available) return { ok: true, needed, available };
  const largest = [s.kernel, ...s.initrds].reduce((a, b) => (b.size > a.size ? b : a));
  const i = initrdBytes(s.initrds);
  const reason =
    `not enough memory: loading needs ${formatBytes(needed)} (kernel ${formatBytes(s.kernel.size)}, ` +
    `initrd ${formatBytes(i)}, each held twice while loading plus the loaded image and ` +
    `${formatBytes(MEMORY_HEADROOM)} headroom), MemAvailable is ${formatBytes(available)}; ` +
    `the largest file is ${largest.label} (${formatBytes(largest.size)})`;
  return { ok: false, needed, available, largest, reason };
}

/** MemAvailable in bytes from /proc/meminfo text (`MemAvailable:   24084508 kB`). */
export function parseMemAvailable(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+)\s*kB\s*$/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The running kernel's MemAvailable (proc(5)); undefined if unreadable or absent. */
export function memAvailable(read: () => string = () => fs.readFileSync('/proc/meminfo', 'utf8')): number | undefined {
  try {
    return parseMemAvailable(read());
  } catch {
    return undefined;
  }
}

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** `512 bytes`, `7.9 MiB`, `1.0 TiB`: one decimal below 10, none above. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n} bytes`;
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[u]}`;
}
