// grubenv reading (docs/grub-syslinux.md §A8) for load_env. Delegates to the shared parser so
// grub, BLS ($kernelopts) and the one-shot writer agree on one reading of the file.

import type { Diagnostic } from '../../diagnostics';
import { GRUBENV_MAX_BYTES, parseGrubenv } from '../../config/grubenv';

export { GRUBENV_MAX_BYTES };

export function readGrubenv(
  bytes: Uint8Array,
  where: { file: string; fsId?: string; device?: string },
): { vars: Map<string, string>; diagnostics: Diagnostic[] } {
  return parseGrubenv(bytes, where);
}
