// What the VM takes from the machine it runs on, read on the main thread before the VM starts:
// the OEM activation tables (ACPI MSDM, and SLIC on older machines), which carry a Windows
// product key that Windows on the same disk looks for (docs/vmm-platform.md §8), and the RTC's
// offset (docs/vmm-platform.md §10). Each is optional: a machine without them gives the guest
// none, and a malformed one is left out with a reason, never passed on half.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The ACPI tables passed on as they are (signature = file name under the sysfs directory). */
export const PASSED_TABLES = ['MSDM', 'SLIC'] as const;
const TABLE_MAX = 64 * 1024;

export interface HostTables {
  readonly tables: Uint8Array[];
  /** One line per table passed on or left out. */
  readonly notes: string[];
}

/** Reads the passed-on tables from `dir` (sysfs: /sys/firmware/acpi/tables). */
export function hostAcpiTables(dir = '/sys/firmware/acpi/tables'): HostTables {
  const tables: Uint8Array[] = [];
  const notes: string[] = [];
  for (const sig of PASSED_TABLES) {
    const file = path.join(dir, sig);
    let b: Buffer;
    try {
      b = fs.readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') notes.push(`${file}: ${code ?? (e as Error).message}; not passed on`);
      continue;
    }
    const length = b.length >= 8 ? b.readUInt32LE(4) : 0;
    if (b.length < 36 || b.length > TABLE_MAX || b.toString('ascii', 0, 4) !== sig || length !== b.length) {
      notes.push(`${file}: not a whole ${sig} table (${b.length} bytes, header says ${length}); not passed on`);
      continue;
    }
    tables.push(new Uint8Array(b));
    notes.push(`${file}: passed on to the guest (${b.length} bytes)`);
  }
  return { tables, notes };
}

/** What the guest's CMOS clock shows: UTC, the host's local time, or whatever the host's RTC holds. */
export const RTC_MODES = ['utc', 'localtime', 'host'] as const;
export type RtcMode = (typeof RTC_MODES)[number];

/**
 * Guest time minus host UTC, in ms. `localtime`: the host's time zone (TZ, /etc/localtime), as
 * Windows keeps its RTC. `host`: the host RTC's own value (sysfs since_epoch reads it as UTC), so a
 * machine whose RTC runs on local time for Windows shows the guest exactly that.
 */
export function rtcOffsetMs(
  mode: RtcMode,
  now = Date.now(),
  sinceEpochFile = '/sys/class/rtc/rtc0/since_epoch',
): number {
  if (mode === 'utc') return 0;
  if (mode === 'localtime') return -new Date(now).getTimezoneOffset() * 60_000;
  let text: string;
  try {
    text = fs.readFileSync(sinceEpochFile, 'utf8').trim();
  } catch (e) {
    throw new Error(`--rtc host: ${sinceEpochFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const s = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(s))
    throw new Error(`--rtc host: ${sinceEpochFile}: '${text.slice(0, 40)}' is not a count of seconds`);
  // The RTC has whole seconds: round so that a clock in step reads as offset 0.
  return Math.round((s * 1000 - now) / 1000) * 1000;
}
