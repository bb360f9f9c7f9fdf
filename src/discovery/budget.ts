// Wall-clock budgets for work on the main thread (the cross-disk sources: grub, syslinux,
// sprout). The design, which keeps any one config from holding the menu:
//
// - Each cross-disk source runs under a budget as long as the per-device scan deadline, and
//   each config it evaluates under a share of it (CONFIG_BUDGET_MS, never past the source's).
// - Interpreters check `expired` cooperatively at every command and loop step (grub) or every
//   entry (sprout, syslinux): CPU-bound work cannot be interrupted from outside, since a timer
//   never fires while a chain of resolved promises runs.
// - A read that never answers is not CPU work: `settleWithin` stops waiting for a config or a
//   whole source once its budget (plus a grace period for the cooperative stop) has passed,
//   and what it finished before (reported through `SourceContext.partial`) is kept.
// - Every stop is a diagnostic naming the file, the line where known and the budget.

export class Budget {
  private readonly end: number;
  /** The budget in whole milliseconds. */
  readonly ms: number;

  constructor(
    ms: number,
    /** What it is for, in messages: 'grub source', 'grub config vda:1 /boot/grub/grub.cfg'. */
    readonly what: string,
    private readonly parent?: Budget,
    /** `ms` was cut to what the parent had left: running out is the parent's doing. */
    private readonly clamped = false,
  ) {
    this.end = performance.now() + ms;
    this.ms = Math.round(ms);
  }

  get expired(): boolean {
    return performance.now() >= this.end || (this.parent?.expired ?? false);
  }

  /** Milliseconds left (0 once spent), counting every enclosing budget. */
  left(): number {
    const own = Math.max(0, this.end - performance.now());
    return this.parent ? Math.min(own, this.parent.left()) : own;
  }

  /** A share of this budget: at most `ms`, never past this one's end. */
  child(ms: number, what: string): Budget {
    const left = this.left();
    return new Budget(Math.min(ms, left), what, this, left < ms);
  }

  /** The budget whose end stops the work: this one, or an enclosing one that cut it short. */
  spent(): Budget {
    return this.clamped && this.parent ? this.parent.spent() : this;
  }
}

/** After a budget ends, how long cooperative code gets to stop by itself and report. */
export const STOP_GRACE_MS = 1000;

export type Settled<T> = { readonly done: true; readonly value: T } | { readonly done: false };

/**
 * `p` once it settles, or `{ done: false }` when `ms` pass first. The work is not cancelled
 * (a read may never return); its result, if it ever comes, is ignored. Rejections pass through.
 */
export async function settleWithin<T>(p: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), Math.max(0, ms));
  });
  try {
    return await Promise.race([p.then((value): Settled<T> => ({ done: true, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One config's work under its budget (plus the grace for the interpreter's own stop); without
 * a budget, as long as it takes. `unsettled` is the message for a config that did not settle.
 */
export async function settleConfig<T>(work: Promise<T>, budget: Budget | undefined): Promise<Settled<T>> {
  return budget ? settleWithin(work, budget.ms + 2 * STOP_GRACE_MS) : { done: true, value: await work };
}

export function unsettled(what: string, budget: Budget | undefined): string {
  return `${what} did not finish within its budget of ${budget?.ms ?? 0} ms (its reads did not answer in time); its entries are not listed`;
}
