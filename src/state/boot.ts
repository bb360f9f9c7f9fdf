// The glue between a discovery session and the state writes (docs/state.md): what `tendril
// boot`, the menu and `--dry-run` call.

import type { DiscoveryResult, FsId, FsReport, MenuEntry } from '../discovery/model';
import { loadSettings } from '../settings/load';
import { applyStateWrites, type ApplyReport, type Writer } from './apply';
import { describeWrite, stateChange, stateWritesFor, type StateWrite } from './plan';
import { deviceWriter } from './writer';

export interface StateOptions {
  /** `--no-write`. */
  readonly noWrite: boolean;
  readonly say: (line: string) => void;
  readonly writer?: Writer;
}

function filesystemsOf(r: DiscoveryResult): (fsId: FsId) => FsReport | undefined {
  const m = new Map(r.devices.flatMap((d) => d.filesystems.map((f) => [f.fsId, f] as const)));
  return (id) => m.get(id);
}

/** Read-only from `--no-write` or the settings (`tendril.readonly=1`), and why. */
export function readonlyReason(noWrite: boolean): string | undefined {
  if (noWrite) return '--no-write';
  return loadSettings().settings.state.readonly ? 'tendril.readonly' : undefined;
}

async function apply(writes: readonly StateWrite[], r: DiscoveryResult, o: StateOptions): Promise<ApplyReport> {
  const settings = loadSettings().settings.state;
  const ro = readonlyReason(o.noWrite);
  if (ro && writes.length > 0) o.say(`state: read-only (${ro})`);
  return applyStateWrites(writes, {
    filesystem: filesystemsOf(r),
    writer: o.writer ?? deviceWriter(),
    say: (l) => o.say(`state: ${l}`),
    readonly: ro !== undefined,
    ...(settings.stopAfter !== undefined ? { stopAfter: settings.stopAfter } : {}),
  });
}

/** The writes booting `entry` makes, made now (after its kernel is loaded, before the jump). */
export function bootWrites(r: DiscoveryResult, o: StateOptions): (entry: MenuEntry) => Promise<void> {
  return async (entry) => {
    await apply(stateWritesFor(entry, r), r, o);
  };
}

/** `--dry-run`: the writes booting `entry` would make, one line each. */
export function describeBootWrites(entry: MenuEntry, r: DiscoveryResult): string[] {
  const w = stateWritesFor(entry, r);
  return w.length === 0 ? ['state writes: none'] : ['state writes:', ...w.map((x) => `  ${describeWrite(x)}`)];
}

/** Save (or with null clear) the one-shot or the default. Returns an error message or undefined. */
export async function saveChoice(
  r: DiscoveryResult,
  key: 'oneshot' | 'default',
  id: string | null,
  o: StateOptions,
): Promise<string | undefined> {
  if (id !== null && !r.entries.some((e) => e.id === id)) return `no entry with id '${id}'`;
  if (id === null && !r.savedState?.exists) return undefined;
  const w = stateChange(r, key, id);
  if (typeof w === 'string') return w;
  if (readonlyReason(o.noWrite)) return `not saved: read-only (${readonlyReason(o.noWrite)})`;
  const rep = await apply([w], r, o);
  return rep.failed[0];
}
