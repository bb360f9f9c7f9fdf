// Runs a plan from plan.ts: a kexec plan is loaded and executed (it does not come back unless it
// fails, then KexecError), a VM plan runs tendril's VM until the guest ends and comes back with
// its outcome; an unavailable plan is refused with its reason.

import { execLoaded, loadPlan, type MeasureHook, type VerifyHook } from '../kexec/load';
import type { BootPlan, FsLookup } from '../kexec/plan';
import type { ProgressFn } from '../kexec/progress';
import { stage } from '../kexec/stages';
import { printable } from '../util/printable';
import { runVm, type VmOutcome } from '../vm/command';
import { hostHandover, systemctlKexec, type Handover } from './handover';
import type { Plan } from './plan';

export interface ExecuteEnv {
  readonly lookup: FsLookup;
  /** Messages on the way (already printable). */
  readonly say: (line: string) => void;
  /** Progress of loading a kexec plan's files. */
  readonly progress?: ProgressFn;
  /** After the kernel is loaded, before kexec: close what holds the disks and the terminal. */
  readonly beforeKexec?: () => Promise<void>;
  /** Runs the VM with this process's terminal handed over (the menu leaves its screen first). */
  readonly withTerminal?: (run: () => Promise<VmOutcome>) => Promise<VmOutcome>;
  /** Measured boot (src/tpm/): the hook for this plan, undefined when nothing is measured. */
  readonly measure?: (plan: BootPlan) => MeasureHook | undefined;
  /** After the kernel is loaded, before anything is closed: the boot's state writes (src/state/). */
  readonly afterLoad?: () => Promise<void>;
  /** How the loaded kernel is started (default: hostHandover(false)). */
  readonly handover?: Handover;
  /** Signature verification (src/trust/): the hook for this plan, undefined when the policy is off. */
  readonly verify?: (plan: BootPlan) => VerifyHook | undefined;
}

/** An entry the host cannot boot; the message is the plan's reason. */
export class UnavailableError extends Error {}

export async function execute(p: Plan, env: ExecuteEnv): Promise<{ readonly kind: 'vm'; readonly outcome: VmOutcome }> {
  switch (p.kind) {
    case 'unavailable':
      throw new UnavailableError(p.reason);
    case 'vm': {
      env.say(
        `starting '${printable(p.title)}' in a VM: ${printable(p.bootVariable.devicePath)} on ${printable(p.disks[0]?.path ?? '')}`,
      );
      stage('vm');
      const run = () => runVm(p.options);
      const outcome = await (env.withTerminal ? env.withTerminal(run) : run());
      return { kind: 'vm', outcome };
    }
    case 'kexec': {
      const plan = p.kexec;
      const handover = env.handover ?? hostHandover(false);
      if (handover.kind === 'refuse') throw new UnavailableError(handover.why);
      const hook = env.measure?.(plan);
      const verify = env.verify?.(plan);
      const r = await loadPlan(plan, env.lookup, env.progress, {
        ...(hook ? { measure: hook } : {}),
        ...(verify ? { verify } : {}),
      });
      env.say(
        `loaded kernel ${r.kernelSize} + initrd ${r.initrdSize} bytes via ${r.backing} in ${r.elapsedMs} ms${hook ? ' (measured)' : ''}; cmdline: ${printable(plan.cmdline)}`,
      );
      await env.afterLoad?.();
      await env.beforeKexec?.();
      stage('kexec');
      if (handover.kind === 'systemctl') {
        env.say(`handing over to systemctl kexec (${handover.why})`);
        const err = systemctlKexec();
        if (err !== undefined) throw new Error(err);
        // systemd now stops the services and starts the loaded kernel; this process is one of them.
        return new Promise<never>(() => {});
      }
      return execLoaded((s) => env.say(printable(s)));
    }
  }
}
