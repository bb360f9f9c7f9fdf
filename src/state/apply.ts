// Make a boot's state writes (plan.ts) through a Writer (writer.ts: in place on the raw device,
// or through the kernel's mount when the filesystem is mounted), one after the other, each
// synced before the next (docs/state.md §2). A failed write is logged and the boot goes on, as
// sd-boot does: a counter that could not be decremented is better than no boot at all.

import { rewriteGrubenv, GRUBENV_SIZE } from '../discovery/config/grubenv';
import type { FsId, FsReport } from '../discovery/model';
import { describeWrite, type StateWrite } from './plan';
import { emptyState, STATE_FORMAT, updateState } from './statefile';

export type WriteOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Reads and writes of one filesystem; every write is synced before it resolves. */
export interface Writer {
  rename(fs: FsReport, dir: string, from: string, to: string): Promise<WriteOutcome>;
  /** The whole file, which must be exactly `size` bytes and one contiguous range. */
  read(
    fs: FsReport,
    path: string,
    size: number,
  ): Promise<{ readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly reason: string }>;
  overwrite(fs: FsReport, path: string, bytes: Uint8Array): Promise<WriteOutcome>;
  /** A new file (tendril's state file the first time). */
  create(fs: FsReport, path: string, bytes: Uint8Array): Promise<WriteOutcome>;
}

export interface ApplyEnv {
  readonly filesystem: (fsId: FsId) => FsReport | undefined;
  readonly writer: Writer;
  readonly say: (line: string) => void;
  /** `--no-write` / `tendril.readonly=1`: log what would be written, write nothing. */
  readonly readonly: boolean;
  /** Fault injection (`tendril.state.stop-after=N`): hang after the N-th write, for power-cut tests. */
  readonly stopAfter?: number;
  /** A failed write is only returned in `failed` (the caller prints it as its error), not also said. */
  readonly failuresToCaller?: boolean;
}

export interface ApplyReport {
  readonly written: string[];
  readonly failed: string[];
}

async function rewrite(
  w: Writer,
  fs: FsReport,
  path: string,
  size: number,
  change: (b: Uint8Array) => { ok: true; block: Uint8Array } | { ok: false; error: string },
): Promise<WriteOutcome | 'unchanged'> {
  const cur = await w.read(fs, path, size);
  if (!cur.ok) return cur;
  const next = change(cur.bytes);
  if (!next.ok) return { ok: false, reason: next.error };
  if (Buffer.from(next.block).equals(Buffer.from(cur.bytes))) return 'unchanged';
  return w.overwrite(fs, path, next.block);
}

async function one(write: StateWrite, fs: FsReport, w: Writer): Promise<WriteOutcome | 'unchanged'> {
  switch (write.kind) {
    case 'rename':
      return w.rename(fs, write.dir, write.from, write.to);
    case 'grubenv':
      return rewrite(w, fs, write.path, GRUBENV_SIZE, (b) => rewriteGrubenv(b, write.changes));
    case 'state': {
      if (write.create) {
        const b = updateState(emptyState(), write.changes);
        return b.ok ? w.create(fs, write.path, b.block) : { ok: false, reason: b.error };
      }
      return rewrite(w, fs, write.path, STATE_FORMAT.size, (b) => updateState(b, write.changes));
    }
  }
}

/** Make `writes` in order. Never throws: failures are reported (and logged) one by one. */
export async function applyStateWrites(writes: readonly StateWrite[], env: ApplyEnv): Promise<ApplyReport> {
  const written: string[] = [];
  const failed: string[] = [];
  for (const write of writes) {
    const what = describeWrite(write);
    if (env.readonly) {
      env.say(`not written (read-only): ${what}`);
      continue;
    }
    const fs = env.filesystem(write.fsId);
    let r: WriteOutcome | 'unchanged';
    try {
      r = fs ? await one(write, fs, env.writer) : { ok: false, reason: `filesystem ${write.fsId} is gone` };
    } catch (e) {
      r = { ok: false, reason: e instanceof Error ? e.message : String(e) };
    }
    if (r === 'unchanged') continue;
    if (!r.ok) {
      failed.push(`${what}: ${r.reason}`);
      if (!env.failuresToCaller) env.say(`warning: not written: ${what}: ${r.reason}`);
      continue;
    }
    written.push(what);
    env.say(`written: ${what}`);
    if (env.stopAfter !== undefined && written.length >= env.stopAfter) {
      env.say(`stopped after write ${written.length} (tendril.state.stop-after)`);
      await new Promise<never>(() => {});
    }
  }
  return { written, failed };
}
