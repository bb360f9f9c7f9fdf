// Diagnostics per file, capped: a hostile config can produce one problem per line (60,000
// unknown keys, one warning per `$var` use), and every one of them would reach the menu and
// `list --json`. Every source's diagnostics, and every entry's, pass through here: the first
// MAX_DIAGNOSTICS_PER_FILE of a file are kept in order, the rest are counted into one summary
// line for that file, and no message is longer than MAX_MESSAGE_CHARS. A summary that crosses
// a thread or a second cap is merged, not capped.

import { diag, type Diagnostic, type Severity } from './diagnostics';
import { MAX_DIAGNOSTICS_PER_FILE, MAX_MESSAGE_CHARS } from './limits';

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/** `N more diagnostics not shown (…)`; also matches the grub interpreter's own summary. */
const SUMMARY = /^(\d+) more diagnostics not shown \((?:(\d+) errors?, (\d+) warnings?, (\d+) infos?; )?limit /;

/** The file a diagnostic is about: filesystem (or device) and path. */
function fileKey(d: Pick<Diagnostic, 'fsId' | 'device' | 'file'>): string {
  return `${d.fsId ?? d.device ?? ''}\0${d.file ?? ''}`;
}

interface Dropped {
  /** Where the summary goes: the file's first diagnostic, without its line. */
  readonly first: Diagnostic;
  kept: number;
  errors: number;
  warnings: number;
  infos: number;
  /** Counted by an earlier cap whose summary gave no breakdown. */
  other: number;
  worst: Severity;
}

function count(x: Dropped, severity: Severity, n: number): void {
  if (n <= 0) return;
  if (severity === 'error') x.errors += n;
  else if (severity === 'warning') x.warnings += n;
  else x.infos += n;
  if (RANK[severity] > RANK[x.worst]) x.worst = severity;
}

/** Collects diagnostics, keeping at most `max` per file; `list()` adds one summary per full file. */
export class DiagnosticCap {
  private readonly kept: Diagnostic[] = [];
  private readonly files = new Map<string, Dropped>();

  constructor(readonly max: number = MAX_DIAGNOSTICS_PER_FILE) {}

  push(d: Diagnostic): void {
    this.add(d);
  }

  pushAll(ds: readonly Diagnostic[]): void {
    for (const d of ds) this.add(d);
  }

  /** Would a diagnostic about this file still be kept? (Lets callers skip building one.) */
  full(where: Pick<Diagnostic, 'fsId' | 'device' | 'file'>): boolean {
    const x = this.files.get(fileKey(where));
    return x !== undefined && x.kept >= this.max;
  }

  private add(d: Diagnostic): void {
    const key = fileKey(d);
    let x = this.files.get(key);
    if (!x) {
      x = { first: d, kept: 0, errors: 0, warnings: 0, infos: 0, other: 0, worst: 'info' };
      this.files.set(key, x);
    }
    const m = SUMMARY.exec(d.message);
    if (m) {
      // An earlier cap's summary: fold its counts into this file's.
      if (m[2] !== undefined) {
        count(x, 'error', Number(m[2]));
        count(x, 'warning', Number(m[3]));
        count(x, 'info', Number(m[4]));
      } else {
        x.other += Number(m[1]);
      }
      if (RANK[d.severity] > RANK[x.worst]) x.worst = d.severity;
      return;
    }
    if (x.kept < this.max) {
      x.kept++;
      this.kept.push(shortened(d));
      return;
    }
    count(x, d.severity, 1);
  }

  /** The kept diagnostics in arrival order, then one summary line per file over the cap. */
  list(): Diagnostic[] {
    const out = [...this.kept];
    for (const x of this.files.values()) {
      const total = x.errors + x.warnings + x.infos + x.other;
      if (total === 0) continue;
      const breakdown =
        x.other === 0
          ? `${x.errors} error${x.errors === 1 ? '' : 's'}, ${x.warnings} warning${x.warnings === 1 ? '' : 's'}, ${x.infos} info${x.infos === 1 ? '' : 's'}; `
          : '';
      const f = x.first;
      out.push(
        diag(x.worst, f.source, `${total} more diagnostics not shown (${breakdown}limit ${this.max} per file)`, {
          device: f.device,
          fsId: f.fsId,
          file: f.file,
        }),
      );
    }
    return out;
  }
}

/** `d` with its message cut to MAX_MESSAGE_CHARS (a value quoted whole can be 64 KiB). */
function shortened(d: Diagnostic): Diagnostic {
  if (d.message.length <= MAX_MESSAGE_CHARS) return d;
  const n = d.message.length;
  return { ...d, message: `${d.message.slice(0, MAX_MESSAGE_CHARS - 40)}… (message of ${n} characters cut)` };
}

/** `ds` capped per file, messages cut (the same array when nothing needs either). */
export function capPerFile(ds: Diagnostic[], max: number = MAX_DIAGNOSTICS_PER_FILE): Diagnostic[] {
  if (ds.length <= max && ds.every((d) => d.message.length <= MAX_MESSAGE_CHARS)) return ds;
  const cap = new DiagnosticCap(max);
  cap.pushAll(ds);
  return cap.list();
}
