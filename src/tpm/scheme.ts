// The measurement scheme (docs/measured-boot.md §2): what is extended into which PCR, in which
// order, with which event type and description. Pure: callers bring the digests (of the bytes
// materialize() handed to kexec_file_load, or for --dry-run of the files as read).

import type { HashAlg } from './algs';
import { type Digests, digestsOf } from './digest';
import { EV_ACTION, EV_IPL } from './eventlog';

export const PCR_RECOVERY = 4;
export const PCR_CONFIG = 5;
export const PCR_CMDLINE = 8;
export const PCR_FILES = 9;

/** The fixed PCR 4 event: digest and event data are these exact ASCII bytes. */
export const RECOVERY_EVENT = 'tendril-recovery';

export interface Measurement {
  readonly pcr: number;
  readonly type: number;
  readonly digests: Digests;
  /** The event data: a description naming what was measured (or the recovery string). */
  readonly data: Uint8Array;
}

export interface FileDigest {
  /** `fsId:path` (a UKI section: `fsId:path#.linux`), or an absolute path in tendril's initramfs. */
  readonly label: string;
  readonly digests: Digests;
}

export interface BootInputs {
  /** tendril's settings file, when present. */
  readonly settings?: FileDigest;
  /** The entry's own config file (origin.file). */
  readonly config?: FileDigest;
  readonly kernel: FileDigest;
  /** In the order passed to the kernel. */
  readonly initrds: readonly FileDigest[];
  /** The exact final command line (no NUL). */
  readonly cmdline: string;
}

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
/** EV_IPL data is a NUL-terminated "tag: subject" string, as grub writes them; tpm2_eventlog
 *  checks a PCR 8 event's digest against the text after the first space (without the NUL). */
const cstr = (s: string): Uint8Array => text(`${s}\0`);

const ipl = (pcr: number, tag: string, f: FileDigest): Measurement => ({
  pcr,
  type: EV_IPL,
  digests: f.digests,
  data: cstr(`tendril_${tag}: ${f.label}`),
});

/** PCR 5 (settings, entry config), PCR 9 (kernel, initrds in order), PCR 8 (command line). */
export function bootMeasurements(algs: readonly HashAlg[], b: BootInputs): Measurement[] {
  const out: Measurement[] = [];
  if (b.settings) out.push(ipl(PCR_CONFIG, 'settings', b.settings));
  if (b.config) out.push(ipl(PCR_CONFIG, 'config', b.config));
  out.push(ipl(PCR_FILES, 'kernel', b.kernel));
  for (const f of b.initrds) out.push(ipl(PCR_FILES, 'initrd', f));
  out.push({
    pcr: PCR_CMDLINE,
    type: EV_IPL,
    digests: digestsOf(algs, text(b.cmdline)),
    data: cstr(`tendril_cmdline: ${b.cmdline}`),
  });
  return out;
}

export function recoveryMeasurement(algs: readonly HashAlg[]): Measurement {
  const data = text(RECOVERY_EVENT);
  return { pcr: PCR_RECOVERY, type: EV_ACTION, digests: digestsOf(algs, data), data };
}
