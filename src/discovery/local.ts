// Running the per-disk (local) entry sources over one scanned device, where its readers
// live: in its scan worker, or in-process. Results are plain data for the main thread.

import { diag, errorMessage, type Diagnostic } from './diagnostics';
import type { SourceEntry } from './model';
import type {
  EfiArch,
  EntrySourceFn,
  EvaluationSession,
  MountedFs,
  ProposedSettings,
  SourceContext,
} from './sources/context';
import type { ScannedDevice } from './scan-device';

export interface LocalResult {
  readonly entries: SourceEntry[];
  readonly proposals: ProposedSettings[];
  readonly diagnostics: Diagnostic[];
}

export function mountsOf(dev: ScannedDevice): MountedFs[] {
  const out: MountedFs[] = [];
  for (const report of dev.report.filesystems) {
    const fs = dev.readers.get(report.fsId);
    if (fs) out.push({ report, fs });
  }
  return out;
}

export async function runSourcesOver(
  sources: readonly EntrySourceFn[],
  filesystems: readonly MountedFs[],
  arch: EfiArch,
  all: readonly MountedFs[] = filesystems,
  /** Live discovery's memory: sources reuse what the filesystems added since cannot change. */
  session?: EvaluationSession,
): Promise<LocalResult> {
  const byId = new Map(all.map((m) => [m.report.fsId, m] as const));
  const ctx: SourceContext = { filesystems, get: (id) => byId.get(id), arch, ...(session ? { session } : {}) };
  const results = await Promise.all(
    sources.map(async (src) => {
      try {
        return await src(ctx);
      } catch (e) {
        // A source must report, not throw; if one does, keep the others' entries.
        return {
          entries: [],
          diagnostics: [diag('error', 'discovery', `entry source ${src.name || '?'} failed: ${errorMessage(e)}`)],
        };
      }
    }),
  );
  const out: LocalResult = { entries: [], proposals: [], diagnostics: [] };
  for (const r of results) {
    out.entries.push(...r.entries);
    if (r.settings) out.proposals.push(r.settings);
    out.diagnostics.push(...r.diagnostics);
  }
  return out;
}
