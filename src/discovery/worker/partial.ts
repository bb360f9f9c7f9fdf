// What a scan found before its deadline, and how the deadline is told: a device that never
// answered, one that stopped answering midway, and one that still answers but too slowly are
// three different things to the person at the menu. The first two leave their thread blocked
// (it is retired); the third is called off and keeps serving the filesystems it found.

import { diag, type Diagnostic } from '../diagnostics';
import type { LocalResult } from '../local';
import type { DeviceInfo, DeviceReport, SourceEntry } from '../model';
import type { ProposedSettings } from '../sources/context';
import type { ProgressSnapshot } from './progress';

/** A device whose last answer is older than this when the deadline passes has stopped answering. */
export function answerWindowMs(deadlineMs: number): number {
  return Math.max(2000, deadlineMs / 10);
}

export type DeadlineVerdict = 'no-answer' | 'stopped' | 'slow';

export function verdictOf(deadlineMs: number, snap: ProgressSnapshot, now: number): DeadlineVerdict {
  if (snap.answers === 0 || snap.lastAnswerAt === undefined) return 'no-answer';
  return now - snap.lastAnswerAt > answerWindowMs(deadlineMs) ? 'stopped' : 'slow';
}

export class PartialScan {
  private last: DeviceReport | undefined;
  private readonly parts: LocalResult[] = [];

  constructor(private readonly info: DeviceInfo) {}

  /** The device report so far (each one replaces the previous). */
  onReport(report: DeviceReport): void {
    this.last = report;
  }

  /** A finished part of the local sources. */
  onLocal(part: LocalResult): void {
    this.parts.push(part);
  }

  /** The fsIds of the filesystems found so far. */
  get fsIds(): string[] {
    return (this.last?.filesystems ?? []).map((f) => f.fsId);
  }

  /** The local parts merged. */
  local(): LocalResult {
    const entries: SourceEntry[] = [];
    const proposals: ProposedSettings[] = [];
    const diagnostics: Diagnostic[] = [];
    for (const p of this.parts) {
      for (const e of p.entries) entries.push(e);
      for (const x of p.proposals) proposals.push(x);
      for (const d of p.diagnostics) diagnostics.push(d);
    }
    return { entries, proposals, diagnostics };
  }

  /** The report a deadline leaves: what was found, marked timed out, the deadline said first. */
  timedOut(
    deadlineMs: number,
    snap: ProgressSnapshot,
    now: number,
  ): { report: DeviceReport; verdict: DeadlineVerdict } {
    const verdict = verdictOf(deadlineMs, snap, now);
    const found = this.last;
    const entries = this.parts.reduce((n, p) => n + p.entries.length, 0);
    const fss = found?.filesystems.length ?? 0;
    const kept =
      fss + entries > 0
        ? `; kept what was found before (${fss} filesystem${fss === 1 ? '' : 's'}, ${entries} entr${entries === 1 ? 'y' : 'ies'}), the rest is unfinished`
        : '';
    const reading = snap.reading !== undefined ? snap.reading : undefined;
    const forMs = snap.readingSince !== undefined ? `, for ${Math.max(0, now - snap.readingSince)} ms` : '';
    let message: string;
    if (verdict === 'no-answer') {
      message =
        `no answer within ${deadlineMs} ms${reading !== undefined ? ` (was at ${reading})` : ''}` +
        `${kept}; skipped (the device may be hung)`;
    } else if (verdict === 'stopped') {
      message =
        `stopped answering: nothing for ${now - snap.lastAnswerAt!} ms when the ${deadlineMs} ms deadline passed` +
        `${reading !== undefined ? ` (was reading ${reading}${forMs})` : ''}${kept} (the device may be hung)`;
    } else {
      message =
        `still answering, but slowly: the ${deadlineMs} ms deadline passed after ${snap.answers} reads` +
        `${reading !== undefined ? `, while reading ${reading}${forMs}` : ''}` +
        ` (last answer ${now - snap.lastAnswerAt!} ms before)${kept || '; nothing was found before'}`;
    }
    const d = diag(verdict === 'slow' ? 'warning' : 'error', 'device', message, { device: this.info.path });
    const report: DeviceReport = {
      device: this.info,
      ...(found?.table ? { table: found.table } : {}),
      filesystems: found?.filesystems ?? [],
      diagnostics: [d, ...(found?.diagnostics ?? [])],
      elapsedMs: deadlineMs,
      timedOut: true,
    };
    return { report, verdict };
  }
}
