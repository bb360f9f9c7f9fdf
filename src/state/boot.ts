// The glue between a discovery session and the state writes (docs/state.md): what `tendril
// boot`, the menu and `--dry-run` call.

import type { DiscoveryResult, FsId, FsReport, MenuEntry } from '../discovery/model';
import { loadSettings } from '../settings/load';
import { applyStateWrites, type ApplyReport, type Writer } from './apply';
import { describeWrite, stateChange, stateWritesFor, type StateWrite } from './plan';
import { deviceWriter } from './writer';

export interface StateOptions {
  /** `--no-write` (or a dry run). */
  readonly noWrite: boolean;
  /** What to name as the reason when noWrite is set (default `--no-write`). */
  readonly noWriteBecause?: string;
  readonly say: (line: string) => void;
  readonly writer?: Writer;
}

function filesystemsOf(r: DiscoveryResult): (fsId: FsId) => FsReport | undefined {
  const m = new Map(r.devices.flatMap((d) => d.filesystems.map((f) => [f.fsId, f] as const)));
  return (id) => m.get(id);
}

/** Why nothing may be written (`--no-write`, or `tendril.readonly` in the settings), and the fault injection, from one settings read. */
function writePolicy(
  noWrite: boolean,
  because = '--no-write',
): { readonly readonly?: string; readonly stopAfter?: number } {
  const s = loadSettings().settings.state;
  const why = noWrite ? because : s.readonly ? 'tendril.readonly' : undefined;
  return {
    ...(why !== undefined ? { readonly: why } : {}),
    ...(s.stopAfter !== undefined ? { stopAfter: s.stopAfter } : {}),
  };
}

async function apply(
  writes: readonly StateWrite[],
  r: DiscoveryResult,
  o: StateOptions,
  policy = writePolicy(o.noWrite, o.noWriteBecause),
  failuresToCaller = false,
): Promise<ApplyReport> {
  if (policy.readonly !== undefined && writes.length > 0) o.say(`state: read-only (${policy.readonly})`);
  return applyStateWrites(writes, {
    filesystem: filesystemsOf(r),
    writer: o.writer ?? deviceWriter(),
    say: (l) => o.say(`state: ${l}`),
    readonly: policy.readonly !== undefined,
    ...(policy.stopAfter !== undefined ? { stopAfter: policy.stopAfter } : {}),
    failuresToCaller,
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
  const policy = writePolicy(o.noWrite, o.noWriteBecause);
  if (policy.readonly !== undefined) return `not saved: read-only (${policy.readonly})`;
  // A failure is the caller's error message: not also a warning line before it.
  const rep = await apply([w], r, o, policy, true);
  return rep.failed[0];
}
