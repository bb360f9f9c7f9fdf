// grub.cfg as an entry source: a real GRUB script interpreter (lexer → parser → sandboxed
// evaluator) feeding the common entry model. See scan.ts for probing, platform.ts for the
// variables we define and the limits, menu.ts for defaults.

import type { EntrySourceFn } from '../context';
import type { GrubOptions } from './eval';
import { GrubMemory, scanGrub } from './scan';

export { scanGrub, type GrubScan, type GrubConfigResult, type OneShot, GRUB_CONFIG_PATHS } from './scan';
export { PLATFORM_VARIABLE_NAMES, DEFAULT_LIMITS, type GrubLimits } from './platform';
export type { GrubOptions } from './eval';
export { joinCmdline } from './entries';

/** An entry source with options (an ISO reader for `loopback`, tighter limits). */
export function makeGrubSource(options: Partial<GrubOptions> = {}): EntrySourceFn {
  const memory = new GrubMemory();
  return async function grub(ctx) {
    const s = await scanGrub(ctx, options, memory);
    return { entries: s.entries, ...(s.settings ? { settings: s.settings } : {}), diagnostics: s.diagnostics };
  };
}

export const grubSource: EntrySourceFn = makeGrubSource();
