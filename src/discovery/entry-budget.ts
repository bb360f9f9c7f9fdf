// How many entries one disk and one discovery may hold (limits.ts). Sources ask `left()`
// before reading more (the BLS source per snippet, the grub source per config), so a flood
// costs no memory; discovery then admits the merged list in order, disk by disk, and says
// once per disk (and once for the run) how many entries it dropped.

import { diag, type Diagnostic } from './diagnostics';
import { MAX_ENTRIES_PER_DISK, MAX_ENTRIES_PER_RUN } from './limits';
import type { SourceEntry } from './model';

export class EntryBudget {
  private readonly used = new Map<string, number>();
  private total = 0;
  /** Entries refused per disk ('' for the run's own budget). */
  private readonly refused = new Map<string, number>();

  constructor(
    readonly perDisk: number = MAX_ENTRIES_PER_DISK,
    readonly perRun: number = MAX_ENTRIES_PER_RUN,
  ) {}

  /** Entries `device` may still add. */
  left(device: string): number {
    return Math.max(0, Math.min(this.perDisk - (this.used.get(device) ?? 0), this.perRun - this.total));
  }

  /** Count one entry of `device`; false (and counted as refused) when its disk or the run is full. */
  take(device: string): boolean {
    const used = this.used.get(device) ?? 0;
    if (used >= this.perDisk) {
      this.refused.set(device, (this.refused.get(device) ?? 0) + 1);
      return false;
    }
    if (this.total >= this.perRun) {
      this.refused.set('', (this.refused.get('') ?? 0) + 1);
      return false;
    }
    this.used.set(device, used + 1);
    this.total++;
    return true;
  }

  /** The entries that fit, in order. */
  admit(entries: readonly SourceEntry[]): SourceEntry[] {
    const out: SourceEntry[] = [];
    for (const e of entries) if (this.take(e.origin.device)) out.push(e);
    return out;
  }

  /** Did anything get refused? */
  get overflowed(): boolean {
    return this.refused.size > 0;
  }

  /** One warning per disk that lost entries, and one for the run. */
  diagnostics(): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const [device, n] of this.refused) {
      out.push(
        device === ''
          ? diag(
              'warning',
              'discovery',
              `more than ${this.perRun} entries over all disks: ${n} more not listed (limit per run)`,
            )
          : diag(
              'warning',
              'discovery',
              `more than ${this.perDisk} entries on this disk: ${n} more not listed (limit per disk)`,
              { device },
            ),
      );
    }
    return out;
  }
}
