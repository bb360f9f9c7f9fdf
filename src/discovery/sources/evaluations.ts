// Incremental discovery. A cross-disk source's work is split into evaluations homed on one
// filesystem (one grub.cfg, one syslinux config, one sprout.toml); each runs under a
// context that records what it asked of the set of filesystems (FsLookup: by uuid, label,
// partition, file, "all of them"). When a device arrives, the session forgets only the
// evaluations one of its filesystems matches; the rest are reused, so the sources still
// return exactly what a full evaluation would, but evaluate each config about once.

import { statOrNull } from '../fs/types';
import type { EvaluationSession, FsLookup, MountedFs, SessionMemory, SourceContext } from './context';

const EVERY: FsLookup = { kind: 'every' };

/**
 * The filesystems to search for `lookup`: all of them, in discovery order. Inside an
 * evaluation the lookup is recorded instead of a dependency on every filesystem, so the
 * caller must only pick filesystems `lookup` matches.
 */
export function filesystemsFor(
  ctx: Pick<SourceContext, 'filesystems' | 'lookups'>,
  lookup: FsLookup,
): readonly MountedFs[] {
  if (!ctx.lookups) return ctx.filesystems;
  ctx.lookups.record(lookup);
  return ctx.lookups.filesystems;
}

/** Could `m` change the answer to `lookup`? (For `file`: a read error counts as yes.) */
export async function lookupMatches(lookup: FsLookup, m: MountedFs): Promise<boolean> {
  const r = m.report;
  switch (lookup.kind) {
    case 'every':
      return true;
    case 'fsId':
      return r.fsId === lookup.fsId;
    case 'uuid':
      return r.probe?.uuid !== undefined && r.probe.uuid.toLowerCase() === lookup.uuid.toLowerCase();
    case 'label':
      return r.probe?.label === lookup.label;
    case 'partUuid':
      return r.partUuid !== undefined && r.partUuid.toLowerCase() === lookup.partUuid.toLowerCase();
    case 'partType':
      return r.partType !== undefined && r.partType.toLowerCase() === lookup.partType.toLowerCase();
    case 'partition':
      return r.device === lookup.device && r.partition === lookup.partition;
    case 'file':
      try {
        return (await statOrNull(m.fs, lookup.path)) !== null;
      } catch {
        return true;
      }
    case 'and':
      for (const l of lookup.of) if (!(await lookupMatches(l, m))) return false;
      return true;
  }
}

/** `ctx` as one evaluation sees it: every question about the filesystems lands in `log`. */
function recording(ctx: SourceContext, log: Map<string, FsLookup>): SourceContext {
  const all = ctx.lookups?.filesystems ?? ctx.filesystems;
  const record = (l: FsLookup): void => {
    if (log.has('every')) return;
    const key = l.kind === 'every' ? 'every' : JSON.stringify(l);
    if (!log.has(key)) log.set(key, l);
  };
  return {
    get filesystems() {
      record(EVERY);
      return all;
    },
    get: (fsId) => {
      record({ kind: 'fsId', fsId });
      return ctx.get(fsId);
    },
    arch: ctx.arch,
    ...(ctx.originUrl !== undefined ? { originUrl: ctx.originUrl } : {}),
    ...(ctx.budget ? { budget: ctx.budget } : {}),
    ...(ctx.entryBudget ? { entryBudget: ctx.entryBudget } : {}),
    lookups: { filesystems: all, record },
  };
}

interface Memo<T> {
  readonly value: T;
  readonly lookups: readonly FsLookup[];
}

/**
 * The remembered evaluations of one kind (grub configs, syslinux configs, ...) of one
 * source instance, per session. Without a session (a plain context) every call runs.
 */
export class EvaluationTable<T> {
  private readonly sessions = new WeakMap<EvaluationSession, Map<string, Memo<T>>>();
  /** Evaluations under way, per session: one a pass gave up on (budget.ts) may still be. */
  private readonly running = new WeakMap<EvaluationSession, Set<string>>();

  /**
   * An earlier pass of this session stopped waiting for `key` (a read that does not answer)
   * and it has not finished since: a later pass should not wait for it again.
   */
  stillRunning(ctx: SourceContext, key: string): boolean {
    return ctx.session !== undefined && (this.running.get(ctx.session)?.has(key) ?? false);
  }

  /**
   * The evaluation `key` (unique in this table): the remembered one unless a filesystem
   * that arrived since matched one of its lookups or `reuse` refuses it (state outside the
   * filesystems it depends on); otherwise `evaluate` runs under a recording context. An
   * evaluation that throws is not remembered.
   */
  async run(
    ctx: SourceContext,
    key: string,
    evaluate: (ctx: SourceContext) => Promise<T>,
    reuse?: (previous: T) => boolean,
  ): Promise<T> {
    const session = ctx.session;
    if (!session) return evaluate(ctx);
    const memos = this.memosOf(session);
    const hit = memos.get(key);
    if (hit && (reuse === undefined || reuse(hit.value))) return hit.value;
    session.counted();
    const log = new Map<string, FsLookup>();
    let running = this.running.get(session);
    if (!running) this.running.set(session, (running = new Set()));
    running.add(key);
    try {
      const value = await evaluate(recording(ctx, log));
      memos.set(key, { value, lookups: [...log.values()] });
      return value;
    } finally {
      running.delete(key);
    }
  }

  private memosOf(session: EvaluationSession): Map<string, Memo<T>> {
    let memos = this.sessions.get(session);
    if (!memos) {
      const m = new Map<string, Memo<T>>();
      this.sessions.set(session, m);
      session.adopt({
        async forget(added) {
          for (const [key, memo] of [...m]) {
            if (await anyMatch(memo.lookups, added)) m.delete(key);
          }
        },
        clear: () => m.clear(),
      });
      memos = m;
    }
    return memos;
  }
}

async function anyMatch(lookups: readonly FsLookup[], added: readonly MountedFs[]): Promise<boolean> {
  for (const l of lookups) for (const m of added) if (await lookupMatches(l, m)) return true;
  return false;
}

/**
 * One discovery's memory of evaluations. `forget` each batch of filesystems before the
 * sources run over a set that includes them; `clear` makes the next run a full one.
 */
export class Evaluations implements EvaluationSession {
  private readonly memories: SessionMemory[] = [];
  private runs = 0;

  /** Evaluations run so far (memory hits are not counted). */
  get count(): number {
    return this.runs;
  }

  adopt(memory: SessionMemory): void {
    this.memories.push(memory);
  }

  counted(): void {
    this.runs++;
  }

  async forget(added: readonly MountedFs[]): Promise<void> {
    if (added.length === 0) return;
    for (const m of this.memories) await m.forget(added);
  }

  clear(): void {
    for (const m of this.memories) m.clear();
  }
}
