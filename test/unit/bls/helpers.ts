// A small builder for SourceEntry values in sorting/selection tests.
import type { BootTarget, EntrySource, SourceEntry } from '../../../src/discovery/model';
import { parseEntryName } from '../../../src/discovery/entries/bootcount';

/** `| undefined` on each: property tests pass fast-check's optional values straight through. */
export interface EntryOpts {
  title?: string | undefined;
  version?: string | undefined;
  sortKey?: string | undefined;
  machineId?: string | undefined;
  fsId?: string | undefined;
  source?: EntrySource | undefined;
  bootable?: boolean | undefined;
  hidden?: boolean | undefined;
  profile?: number | undefined;
  idWithoutProfile?: string | undefined;
  id?: string | undefined;
}

/** An entry named after its file, with id and counter derived as the BLS source does. */
export function entry(fileName: string, o: EntryOpts = {}): SourceEntry {
  const parsed = parseEntryName(fileName);
  const fsId = o.fsId ?? 'vda:1';
  const id = o.id ?? parsed.id;
  const target: BootTarget =
    o.profile !== undefined
      ? { kind: 'uki', image: { fsId, path: `/EFI/Linux/${fileName}` }, profile: o.profile, addons: [] }
      : { kind: 'linux', kernel: { fsId, path: '/vmlinuz' }, initrds: [], cmdline: '' };
  return {
    sourceId: id,
    ...(o.idWithoutProfile !== undefined ? { idWithoutProfile: o.idWithoutProfile } : {}),
    title: o.title ?? id,
    ...(o.version !== undefined ? { version: o.version } : {}),
    ...(o.sortKey !== undefined ? { sortKey: o.sortKey } : {}),
    ...(o.machineId !== undefined ? { machineId: o.machineId } : {}),
    origin: { source: o.source ?? 'bls', fsId, device: '/dev/vda', partition: 1, file: `/loader/entries/${fileName}` },
    // A broken one keeps its target as declared: sorting reads the profile of either.
    status:
      o.bootable === false ? { ok: false, reason: 'broken for the test', declared: target } : { ok: true, target },
    ...(parsed.counter ? { bootCounter: parsed.counter } : {}),
    ...(o.hidden ? { hidden: true } : {}),
    diagnostics: [],
  };
}

/** File names of `entries` in order. */
export const files = (entries: readonly SourceEntry[]): string[] =>
  entries.map((e) => e.origin.file.replace(/^.*\//, ''));
