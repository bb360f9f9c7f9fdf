// The details view's lines for one entry: what detailLines() shows plus file sizes and the final
// command line. Sizes come from stat and the plan from planBoot, which reads only headers (the
// kernel's setup header, 512 bytes of each initrd) and refuses a plan too large for memory
// before reading anything (docs/kexec.md §4.2): opening the details of an entry whose initrd is
// 1 TiB reads a few KiB, never the file. An efi entry shows its VM plan (firmware, variables, disk,
// Boot0000, vCPUs, memory) or why it cannot run here, from the same dispatch as booting it.

import { namedTarget, type MenuEntry } from '../discovery/model';
import { KexecError } from '../kexec/errors';
import { plan, type PlanContext } from '../boot/plan';
import { vmPlanLines } from '../boot/vm-plan';
import type { TrustBoot } from '../trust/setup';
import { verdictLine } from '../trust/verdict';
import { detailLines } from './view';

/** With `trust` (policy warn or require) the signature verdicts too: this reads the entry's files whole. */
export async function entryDetails(e: MenuEntry, ctx: PlanContext, trust?: TrustBoot): Promise<string[]> {
  const lookup = ctx.lookup;
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
    const p = await plan(e, ctx);
    if (p.kind === 'kexec') {
      lines.push(`final     ${p.kexec.cmdline}`, `console   ${p.kexec.consoleDecision}`);
      const v = await trust
        ?.check(e, p.kexec, lookup)
        .catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (typeof v === 'string') lines.push(`signed    not checked: ${v}`);
      else if (v)
        lines.push(
          `signed    ${v.state} (trust.policy = ${trust!.policy})`,
          ...v.files.map((f) => `  ${verdictLine(f)}`),
        );
    } else if (p.kind === 'vm')
      lines.push('vm        boots in a KVM virtual machine:', ...vmPlanLines(p).map((l) => `  ${l}`));
    else {
      lines.push(`vm        UNAVAILABLE: ${p.reason}`);
      if (p.vm) lines.push('  the VM it would run:', ...vmPlanLines(p.vm).map((l) => `    ${l}`));
    }
  } catch (err) {
    lines.push(`final     (not bootable by kexec: ${err instanceof KexecError ? err.failure.hint : String(err)})`);
  }
  return lines;
}
