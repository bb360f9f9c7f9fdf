// One boot dispatch: what booting an entry would do, decided before anything runs. plan() gives a
// kexec plan (src/kexec/plan.ts) for Linux and UKI entries, a VM plan (vm-plan.ts) for `efi`
// entries when this host's KVM can run firmware, and otherwise an unavailable verdict with its
// reason (and the VM plan it would have run, when one could be made). describe() is `--dry-run`;
// execute.ts runs a plan. The menu, `tendril boot` and `--dry-run` all come through here.

import type { DeviceReport, MenuEntry } from '../discovery/model';
import {
  describePlan,
  planBoot,
  type BootPlan,
  type DescribeOptions,
  type FsLookup,
  type PlanOptions,
} from '../kexec/plan';
import { printableLines } from '../util/printable';
import { checkKvm, type KvmVerdict } from './kvm-check';
import { planVm, vmPlanLines, VmPlanError, type VmChoices, type VmPlan } from './vm-plan';

export type { VmChoices, VmPlan } from './vm-plan';

export interface KexecPlan {
  readonly kind: 'kexec';
  readonly entryId: string;
  readonly title: string;
  readonly kexec: BootPlan;
}

export interface UnavailablePlan {
  readonly kind: 'unavailable';
  readonly entryId: string;
  readonly title: string;
  /** One line: why this entry cannot boot on this host. */
  readonly reason: string;
  /** The VM run that was planned, when only the host (KVM) stands in the way. */
  readonly vm?: VmPlan;
}

export type Plan = KexecPlan | VmPlan | UnavailablePlan;

export interface PlanContext {
  /** Readers of the discovered filesystems. */
  readonly lookup: FsLookup;
  /** Discovery's devices: which disk and partition hold a filesystem. */
  readonly devices: readonly DeviceReport[];
  /** Command-line handling for kexec. */
  readonly kexec?: PlanOptions;
  /** The VM's settings for efi entries. */
  readonly vm?: VmChoices;
  /** Whether KVM can run firmware here (default: checkKvm() once per process). */
  readonly kvm?: () => KvmVerdict;
}

/**
 * A cached KVM verdict: asked once, except while the device node is absent. The initramfs loads
 * kvm in the background after the menu is up, so "no /dev/kvm" at start is often only "not yet";
 * a stat is cheap, and the full check (which starts a probe guest) runs once the node exists.
 */
export function kvmWatcher(check: () => KvmVerdict = checkKvm): () => KvmVerdict {
  let verdict: KvmVerdict | undefined;
  return () => {
    if (verdict === undefined || (!verdict.ok && verdict.absent)) verdict = check();
    return verdict;
  };
}

/** checkKvm() on /dev/kvm for this process (see kvmWatcher). */
export const hostKvm = kvmWatcher();

/**
 * The plan for `entry`. An efi entry that cannot run here is an `unavailable` plan; a kexec plan
 * that cannot be made (a broken entry, a bad kernel, too little memory) throws KexecError, with
 * the syscall, errno and hint that `tendril boot` and the menu show.
 */
export async function plan(entry: MenuEntry, ctx: PlanContext): Promise<Plan> {
  const t = entry.status.ok ? entry.status.target : undefined;
  if (t?.kind !== 'efi') {
    const kexec = await planBoot(entry, ctx.lookup, ctx.kexec);
    return { kind: 'kexec', entryId: entry.id, title: entry.displayTitle, kexec };
  }
  const unavailable = (reason: string, vm?: VmPlan): UnavailablePlan => ({
    kind: 'unavailable',
    entryId: entry.id,
    title: entry.displayTitle,
    reason,
    ...(vm ? { vm } : {}),
  });
  let vm: VmPlan;
  try {
    vm = planVm(entry, t, ctx.devices, ctx.vm ?? {});
  } catch (e) {
    if (e instanceof VmPlanError) return unavailable(`no VM plan: ${e.message}`);
    throw e;
  }
  const k = (ctx.kvm ?? hostKvm)();
  if (!k.ok) return unavailable(`the VM cannot run here: ${k.reason}`, vm);
  return vm;
}

/** `--dry-run`'s text for a plan; every line printable (titles, paths and options come from disks). */
export async function describe(p: Plan, lookup: FsLookup, o: DescribeOptions = {}): Promise<string> {
  switch (p.kind) {
    case 'kexec':
      return describePlan(p.kexec, lookup, o);
    case 'vm':
      return text([
        `entry: ${p.entryId} (${p.title})`,
        'boot: in a KVM virtual machine (UEFI firmware)',
        ...vmPlanLines(p),
      ]);
    case 'unavailable':
      return text([
        `entry: ${p.entryId} (${p.title})`,
        `unavailable: ${p.reason}`,
        ...(p.vm ? ['the VM it would run:', ...vmPlanLines(p.vm).map((l) => `  ${l}`)] : []),
      ]);
  }
}

const text = (lines: string[]): string => printableLines(lines).join('\n') + '\n';
