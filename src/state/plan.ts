// What booting an entry writes (docs/state.md §1): the boot-counter rename of its own file, the
// consumption of a grub one-shot, and tendril's state file (one-shot used, last booted entry).
// A pure function of discovery's result and the chosen entry, so `--dry-run` can print it and
// tests can check it without a disk.

import { basename, dirname } from '../discovery/fs/types';
import { nextCounterName } from '../discovery/entries/bootcount';
import type { DiscoveryResult, FsId, MenuEntry } from '../discovery/model';
import type { StateKey } from './statefile';

export type StateWrite =
  | {
      readonly kind: 'rename';
      readonly fsId: FsId;
      readonly dir: string;
      readonly from: string;
      readonly to: string;
    }
  | {
      readonly kind: 'grubenv';
      readonly fsId: FsId;
      readonly path: string;
      readonly changes: ReadonlyMap<string, string | null>;
    }
  | {
      readonly kind: 'state';
      readonly fsId: FsId;
      readonly path: string;
      /** The file is not there yet and must be created. */
      readonly create: boolean;
      readonly changes: ReadonlyMap<StateKey, string | null>;
    };

/** One line saying what a write does ('rename vda:1 /loader/entries/a+3.conf → a+2-1.conf'). */
export function describeWrite(w: StateWrite): string {
  const kv = (m: ReadonlyMap<string, string | null>) =>
    [...m].map(([k, v]) => (v === null ? `unset ${k}` : `${k}=${JSON.stringify(v)}`)).join(', ');
  switch (w.kind) {
    case 'rename':
      return `rename ${w.fsId} ${w.dir === '/' ? '' : w.dir}/${w.from} -> ${w.to} (boot counting)`;
    case 'grubenv':
      return `grubenv ${w.fsId} ${w.path}: ${kv(w.changes)} (grub one-shot used)`;
    case 'state':
      return `${w.create ? 'create' : 'update'} ${w.fsId} ${w.path}: ${kv(w.changes)}`;
  }
}

/** The boot-counter rename for `e`, if its file carries a counter (BLS snippet or UKI). */
export function counterWrite(e: MenuEntry): StateWrite | undefined {
  const c = e.bootCounter;
  if (!c || (e.origin.source !== 'bls' && e.origin.source !== 'uki')) return undefined;
  if (basename(e.origin.file) !== c.fileName) return undefined;
  const to = nextCounterName(c.fileName);
  if (to === undefined || to === c.fileName) return undefined;
  return { kind: 'rename', fsId: e.origin.fsId, dir: dirname(e.origin.file), from: c.fileName, to };
}

/** Every write booting `e` makes, in the order they are made. */
export function stateWritesFor(e: MenuEntry, r: DiscoveryResult): StateWrite[] {
  const out: StateWrite[] = [];
  const counter = counterWrite(e);
  if (counter) out.push(counter);
  for (const o of r.grubOneShots ?? []) {
    out.push({ kind: 'grubenv', fsId: o.fsId, path: o.path, changes: new Map([[o.variable, o.writeBack]]) });
  }
  const s = r.savedState;
  if (s) {
    const changes = new Map<StateKey, string | null>();
    // Used once, whichever entry boots (sd-boot deletes LoaderEntryOneShot when it reads it).
    if (s.oneShotId !== undefined) changes.set('oneshot', null);
    if (s.recordLast && s.lastId !== e.id) changes.set('last', e.id);
    if (changes.size > 0 && (s.exists || [...changes.values()].some((v) => v !== null))) {
      out.push({ kind: 'state', fsId: s.file.fsId, path: s.file.path, create: !s.exists, changes });
    }
  }
  return out;
}

/** The write that `tendril boot --next ID` / `--default ID` or the menu's `d` makes. */
export function stateChange(r: DiscoveryResult, key: 'oneshot' | 'default', id: string | null): StateWrite | string {
  const s = r.savedState;
  if (!s) return 'no EFI system partition was found to keep the state file on';
  return {
    kind: 'state',
    fsId: s.file.fsId,
    path: s.file.path,
    create: !s.exists,
    changes: new Map<StateKey, string | null>([[key, id]]),
  };
}
