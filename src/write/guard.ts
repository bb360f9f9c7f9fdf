// The one place a writer's outcome becomes a WriteResult: refusals, filesystem errors and I/O
// errors are values with a reason, never exceptions (docs/writes.md §6), and a failure after
// something was written says what was written.

import { FsError } from '../discovery/fs/types';
import { IoError } from '../discovery/io/source';
import { WritableDevice } from './device';
import { type FsLocation, Refusal, type WriteOptions, type WriteResult } from './types';

function reasonOf(e: unknown): { reason: string; mounted?: string } {
  if (e instanceof Refusal)
    return e.mounted === undefined ? { reason: e.reason } : { reason: e.reason, mounted: e.mounted };
  if (e instanceof FsError || e instanceof IoError) return { reason: e.message };
  if (e instanceof RangeError) return { reason: `corrupt metadata: ${e.message}` };
  return { reason: `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
}

/** Open the device for `loc`, run `f` on it, close it; every throw becomes `{ ok: false }`. */
export async function guarded(
  loc: FsLocation,
  opts: WriteOptions,
  f: (dev: WritableDevice) => Promise<void>,
): Promise<WriteResult> {
  let dev: WritableDevice | undefined;
  try {
    dev = WritableDevice.open(loc, opts);
    await f(dev);
    return { ok: true, writes: [...dev.writes] };
  } catch (e) {
    const r = reasonOf(e);
    const done = dev?.writes ?? [];
    if (done.length === 0) return { ok: false, ...r };
    const ranges = done.map((w) => `${w.offset}+${w.length}`).join(', ');
    return { ok: false, reason: `after writing ${ranges} of ${loc.device}: ${r.reason}` };
  } finally {
    dev?.close();
  }
}

/** For the read-only checks: the same conversion without a device. */
export async function guardedRead<T>(f: () => Promise<T>): Promise<T | { ok: false; reason: string }> {
  try {
    return await f();
  } catch (e) {
    return { ok: false, reason: reasonOf(e).reason };
  }
}
