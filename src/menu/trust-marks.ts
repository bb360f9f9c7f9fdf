// The menu's signature marks (docs/signatures.md §4): under trust.policy warn or require, the
// entries are checked one at a time in the background after each scan, and an entry that is not
// fully verified gets `[unsigned]` or `[bad sig]` in the list. Menu start does not wait for it;
// a rescan or a boot (the session closes) ends the pass.

import { isBootable, type MenuEntry } from '../discovery/model';
import { plan, type PlanContext } from '../boot/plan';
import type { TrustBoot } from '../trust/setup';
import { verdictMark } from '../trust/verdict';

export async function markUnverified(
  entries: readonly MenuEntry[],
  trust: TrustBoot,
  ctx: PlanContext,
  marks: Map<string, string>,
  live: () => boolean,
  redraw: () => void,
): Promise<void> {
  if (trust.policy === 'off') return;
  for (const e of entries) {
    if (!live()) return;
    if (!isBootable(e)) continue;
    try {
      const p = await plan(e, ctx);
      if (p.kind !== 'kexec') continue;
      const v = await trust.check(e, p.kexec, ctx.lookup);
      if (!live() || !v) return;
      const m = verdictMark(v);
      if (m) marks.set(e.id, m);
      else marks.delete(e.id);
      redraw();
    } catch {
      // Unplannable or unreadable now: the details pane and the boot itself say why.
    }
  }
}
