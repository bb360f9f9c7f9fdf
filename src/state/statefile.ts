// tendril's state file (docs/state.md §3): the saved default (`d` in the menu), the one-shot
// (`tendril boot --next`) and the last booted entry (loader.conf `default @saved`) — what
// sd-boot keeps in EFI variables, which a LinuxBoot machine does not have. It lives on the ESP
// as /loader/tendril-state: one 512-byte block in grubenv's format (a signature line,
// `name=value` lines, '#' padding), so once it exists every change is a single-sector write
// in place (src/write/).

import { type EnvFormat, parseEnvBlock, rewriteEnvBlock } from '../discovery/config/grubenv';
import { diag, errorMessage, type Diagnostic } from '../discovery/diagnostics';
import { readFileLimited, statOrNull } from '../discovery/fs/types';
import type { SavedState } from '../discovery/model';
import type { MountedFs, ProposedSettings } from '../discovery/sources/context';

export const STATE_PATH = '/loader/tendril-state';
export const STATE_FORMAT: EnvFormat = { name: 'tendril-state', signature: '# tendril state\n', size: 512 };

/** The keys tendril writes; anything else in the file is kept as it is. */
export type StateKey = 'default' | 'oneshot' | 'last';

/** An empty state block. */
export function emptyState(): Uint8Array {
  const r = rewriteEnvBlock(freshBlock(), new Map(), STATE_FORMAT);
  if (!r.ok) throw new Error(r.error);
  return r.block;
}

function freshBlock(): Uint8Array {
  const b = new Uint8Array(STATE_FORMAT.size).fill(0x23);
  b.set(new TextEncoder().encode(STATE_FORMAT.signature), 0);
  return b;
}

/** `block` with `changes` applied (null removes a key); an error when it is not a state block. */
export function updateState(
  block: Uint8Array,
  changes: ReadonlyMap<StateKey, string | null>,
): { ok: true; block: Uint8Array } | { ok: false; error: string } {
  if (block.length !== STATE_FORMAT.size)
    return { ok: false, error: `${block.length} bytes, not ${STATE_FORMAT.size}: not tendril's state file` };
  for (const v of changes.values())
    if (v !== null && /[\n\\\0]/.test(v)) return { ok: false, error: `entry id ${JSON.stringify(v)} cannot be stored` };
  return rewriteEnvBlock(block, changes, STATE_FORMAT);
}

/** The fsId in a loader.conf proposal's `from` ('vda:1 /loader/loader.conf'). */
function fsIdOfFrom(from: string): string {
  return from.split(' ')[0] ?? '';
}

/**
 * Find and read the state file. Its home is the ESP whose loader.conf was used, else the first
 * ESP that has one, else the first ESP; undefined when there is no ESP. A damaged file is
 * reported and read as empty (never rewritten: updateState refuses it).
 */
export async function readSavedState(
  mounts: readonly MountedFs[],
  proposals: readonly ProposedSettings[],
  diagnostics: Diagnostic[],
): Promise<SavedState | undefined> {
  const esps = mounts.filter((m) => m.report.role === 'esp');
  if (esps.length === 0) return undefined;
  const lc = proposals.find((p) => p.kind === 'loader.conf');
  const recordLast = proposals.some((p) => p.kind === 'loader.conf' && p.defaultGlob?.toLowerCase() === '@saved');
  const byLoaderConf = lc ? esps.find((m) => m.report.fsId === fsIdOfFrom(lc.from)) : undefined;
  let home = byLoaderConf;
  if (!home) {
    for (const m of esps) {
      if ((await statOrNull(m.fs, STATE_PATH).catch(() => null))?.kind === 'file') {
        home = m;
        break;
      }
    }
  }
  home ??= esps[0]!;
  const file = { fsId: home.report.fsId, path: STATE_PATH };
  const where = { fsId: file.fsId, file: STATE_PATH };
  let bytes: Uint8Array;
  try {
    const st = await statOrNull(home.fs, STATE_PATH);
    if (st?.kind !== 'file') return { file, exists: false, recordLast };
    if (st.size !== STATE_FORMAT.size) {
      diagnostics.push(diag('warning', 'state', `${st.size} bytes, not ${STATE_FORMAT.size}; ignored`, where));
      return { file, exists: true, recordLast };
    }
    bytes = await readFileLimited(home.fs, STATE_PATH, STATE_FORMAT.size);
  } catch (e) {
    diagnostics.push(diag('warning', 'state', `cannot read it: ${errorMessage(e)}`, where));
    return { file, exists: true, recordLast };
  }
  const parsed = parseEnvBlock(bytes, STATE_FORMAT, where);
  diagnostics.push(...parsed.diagnostics);
  const get = (k: StateKey) => {
    const v = parsed.vars.get(k);
    return v !== undefined && v !== '' ? v : undefined;
  };
  const d = get('default');
  const o = get('oneshot');
  const l = get('last');
  return {
    file,
    exists: true,
    recordLast,
    ...(d !== undefined ? { defaultId: d } : {}),
    ...(o !== undefined ? { oneShotId: o } : {}),
    ...(l !== undefined ? { lastId: l } : {}),
  };
}
