// The details view's lines for one entry: what detailLines() shows plus file sizes and the final
// command line. Sizes come from stat and the plan from planBoot, which reads only headers (the
// kernel's setup header, 512 bytes of each initrd) and refuses a plan too large for memory
// before reading anything (docs/kexec.md §4.2): opening the details of an entry whose initrd is
// 1 TiB reads a few KiB, never the file.

import { namedTarget, type MenuEntry } from '../discovery/model';
import { KexecError } from '../kexec/errors';
import { type FsLookup, type PlanOptions, planBoot } from '../kexec/plan';
import { detailLines } from './view';

export async function entryDetails(e: MenuEntry, lookup: FsLookup, opts: PlanOptions): Promise<string[]> {
  const sizes = new Map<string, number>();
  const t = namedTarget(e.status);
  const refs = t?.kind === 'linux' ? [t.kernel, ...t.initrds] : t?.kind === 'uki' || t?.kind === 'efi' ? [t.image] : [];
  for (const r of refs) {
    const st = await lookup(r.fsId)
      ?.stat(r.path)
      .catch(() => undefined);
    if (st) sizes.set(`${r.fsId}${r.path}`, st.size);
  }
  const lines = detailLines(e, sizes);
  try {
    const plan = await planBoot(e, lookup, opts);
    lines.push(`final     ${plan.cmdline}`, `console   ${plan.consoleDecision}`);
  } catch (err) {
    lines.push(`final     (not bootable by kexec: ${err instanceof KexecError ? err.failure.hint : String(err)})`);
  }
  return lines;
}
