// probeFilesystem: what is on a partition (or a whole disk)? One read of the first 68 KiB
// answers every signature; only FAT/exFAT labels (root directory), NTFS labels (MFT record)
// and ISO descriptors past the head need a few more small reads. Never throws.

import { diag, errorMessage, type Diagnostic } from '../diagnostics';
import { IoError, type ByteSource } from '../io/source';
import type { FsProbe } from '../model';
import { ProbeContext } from './context';
import { probeExt } from './ext';
import { probeFat } from './fat';
import { probeIso9660 } from './iso9660';
import {
  probeBtrfs,
  probeExfat,
  probeF2fs,
  probeLuks,
  probeLvm2,
  probeNtfs,
  probeSquashfs,
  probeSwap,
  probeXfs,
} from './others';

export { fatGeometry } from './fat';
export { hasIso9660 } from './iso9660';
export { extFeatureNames } from './ext';

type Prober = (ctx: ProbeContext) => FsProbe | null;

// Containers first (their headers sit where filesystems would), then filesystems whose magic
// is at a fixed offset, then FAT (its only magic may be a jump opcode plus 0x55AA), swap last.
// Named explicitly: a minifying bundler may rename the functions.
const PROBERS: readonly (readonly [string, Prober])[] = [
  ['luks', probeLuks],
  ['lvm2', probeLvm2],
  ['xfs', probeXfs],
  ['ext', probeExt],
  ['btrfs', probeBtrfs],
  ['f2fs', probeF2fs],
  ['squashfs', probeSquashfs],
  ['iso9660', probeIso9660],
  ['ntfs', probeNtfs],
  ['exfat', probeExfat],
  ['fat', probeFat],
  ['swap', probeSwap],
];

export interface ProbeResult {
  readonly probe: FsProbe | null;
  readonly diagnostics: Diagnostic[];
}

/** Identify the filesystem on `src`; problems go to the returned diagnostics. */
export function probeFilesystemDetailed(src: ByteSource): ProbeResult {
  let ctx: ProbeContext;
  try {
    ctx = new ProbeContext(src);
  } catch (e) {
    return {
      probe: null,
      diagnostics: [diag('error', 'probe', `cannot read: ${errorMessage(e)}`, { device: src.name })],
    };
  }
  for (const [name, p] of PROBERS) {
    try {
      const r = p(ctx);
      if (r) return { probe: r, diagnostics: ctx.diagnostics };
    } catch (e) {
      // An I/O error inside one prober (say, a bad sector under a FAT root directory) ends
      // probing; anything else is our bug, reported as such rather than crashing discovery.
      const what = e instanceof IoError ? '' : 'internal error: ';
      ctx.note('error', 'probe', `${name}: ${what}${errorMessage(e)}`);
      return { probe: null, diagnostics: ctx.diagnostics };
    }
  }
  return { probe: null, diagnostics: ctx.diagnostics };
}

/**
 * The filesystem on `src`, or null. Diagnostics (bad checksums, dirty journals, hibernation
 * images) are appended to `diagnostics` when given.
 */
export function probeFilesystem(src: ByteSource, diagnostics?: Diagnostic[]): FsProbe | null {
  const r = probeFilesystemDetailed(src);
  if (diagnostics) diagnostics.push(...r.diagnostics);
  return r.probe;
}
