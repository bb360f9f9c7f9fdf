// How many entries one disk and one discovery may hold (limits.ts), counted in entries and in
// the bytes of their text (titles, ids, command lines, paths: each can be 64 KiB, so a count
// alone does not bound memory). Sources ask `left()` before reading more (the BLS source per
// snippet, the grub source per config, sprout per entry), so a flood costs no memory;
// discovery then admits the merged list in order, disk by disk, and says once per disk (and
// once for the run) how many entries it dropped.

import { diag, type Diagnostic } from './diagnostics';
import { MAX_ENTRIES_PER_DISK, MAX_ENTRIES_PER_RUN, MAX_ENTRY_BYTES_PER_DISK, MAX_ENTRY_BYTES_PER_RUN } from './limits';
import { namedTarget, type BootTarget, type SourceEntry } from './model';

/** What an entry's own objects cost besides their text (a rough, fixed share). */
const ENTRY_OVERHEAD = 512;

function targetBytes(t: BootTarget | undefined): number {
  if (!t) return 0;
  switch (t.kind) {
    case 'linux':
      return (
        t.kernel.path.length +
        t.cmdline.length +
        t.initrds.reduce((n, r) => n + r.path.length, 0) +
        (t.devicetree?.path.length ?? 0) +
        (t.devicetreeOverlays ?? []).reduce((n, r) => n + r.path.length, 0)
      );
    case 'uki':
      return (
        t.image.path.length +
        (t.embeddedCmdline?.length ?? 0) +
        (t.cmdlineOverride?.length ?? 0) +
        t.addons.reduce((n, r) => n + r.path.length, 0)
      );
    case 'efi':
      return t.image.path.length + (t.options?.length ?? 0);
    case 'multiboot':
      return (
        t.kernel.path.length +
        t.cmdline.length +
        t.modules.reduce((n, m) => n + m.file.path.length + m.cmdline.length, 0)
      );
    case 'uki-url':
      return t.url.length + (t.cmdlineOverride?.length ?? 0);
  }
}

/** Roughly what an entry holds in memory: its text and a fixed share for its objects. */
export function entryBytes(e: SourceEntry): number {
  return (
    ENTRY_OVERHEAD +
    e.sourceId.length +
    e.title.length +
    (e.version?.length ?? 0) +
    (e.sortKey?.length ?? 0) +
    (e.group?.length ?? 0) +
    (e.status.ok ? 0 : e.status.reason.length) +
    targetBytes(namedTarget(e.status))
  );
}

interface Use {
  entries: number;
  bytes: number;
}

export class EntryBudget {
  private readonly used = new Map<string, Use>();
  private readonly total: Use = { entries: 0, bytes: 0 };
  /** Entries refused per disk ('' for the run's own budget). */
  private readonly refused = new Map<string, number>();

  constructor(
    readonly perDisk: number = MAX_ENTRIES_PER_DISK,
    readonly perRun: number = MAX_ENTRIES_PER_RUN,
    readonly bytesPerDisk: number = MAX_ENTRY_BYTES_PER_DISK,
    readonly bytesPerRun: number = MAX_ENTRY_BYTES_PER_RUN,
  ) {}

  private use(device: string): Use {
    let u = this.used.get(device);
    if (!u) this.used.set(device, (u = { entries: 0, bytes: 0 }));
    return u;
  }

  /** Entries `device` may still add (0 once its bytes or the run's are spent too). */
  left(device: string): number {
    const u = this.used.get(device) ?? { entries: 0, bytes: 0 };
    if (this.bytesLeft(device) <= 0) return 0;
    return Math.max(0, Math.min(this.perDisk - u.entries, this.perRun - this.total.entries));
  }

  /** Bytes of entries `device` may still add. */
  bytesLeft(device: string): number {
    const u = this.used.get(device) ?? { entries: 0, bytes: 0 };
    return Math.max(0, Math.min(this.bytesPerDisk - u.bytes, this.bytesPerRun - this.total.bytes));
  }

  /** Count one entry of `device` costing `bytes`; false (counted as refused) when it does not fit. */
  take(device: string, bytes = 0): boolean {
    const u = this.use(device);
    if (u.entries >= this.perDisk || u.bytes + bytes > this.bytesPerDisk) {
      this.refused.set(device, (this.refused.get(device) ?? 0) + 1);
      return false;
    }
    if (this.total.entries >= this.perRun || this.total.bytes + bytes > this.bytesPerRun) {
      this.refused.set('', (this.refused.get('') ?? 0) + 1);
      return false;
    }
    u.entries++;
    u.bytes += bytes;
    this.total.entries++;
    this.total.bytes += bytes;
    return true;
  }

  /** The entries that fit, in order. */
  admit(entries: readonly SourceEntry[]): SourceEntry[] {
    const out: SourceEntry[] = [];
    for (const e of entries) if (this.take(e.origin.device, entryBytes(e))) out.push(e);
    return out;
  }

  /** Did anything get refused? */
  get overflowed(): boolean {
    return this.refused.size > 0;
  }

  /** One warning per disk that lost entries, and one for the run. */
  diagnostics(): Diagnostic[] {
    const out: Diagnostic[] = [];
    const mib = (n: number): string => `${Math.round(n / (1024 * 1024))} MiB`;
    for (const [device, n] of this.refused) {
      out.push(
        device === ''
          ? diag(
              'warning',
              'discovery',
              `more than ${this.perRun} entries or ${mib(this.bytesPerRun)} of entries over all disks: ${n} more not listed (limit per run)`,
            )
          : diag(
              'warning',
              'discovery',
              `more than ${this.perDisk} entries or ${mib(this.bytesPerDisk)} of entries on this disk: ${n} more not listed (limit per disk)`,
              { device },
            ),
      );
    }
    return out;
  }
}
