// One device's scan as both scanners run it: the device (scan-device.ts), then the local
// entry sources over watched readers (watched.ts). Everything found is handed out as it is
// found: the report after the table and after each filesystem, each finished directory of
// entries; so whoever waits can keep it if the deadline passes first.

import { capPerFile } from '../capped';
import type { FileSystem } from '../fs/types';
import { mountsOf, runSourcesOver, type LocalResult } from '../local';
import type { DeviceInfo, DeviceReport } from '../model';
import { scanDevice, type ScannedDevice } from '../scan-device';
import type { EfiArch } from '../sources/context';
import { localSources } from '../sources';
import type { ScanProgress } from './progress';
import { WatchedFileSystem } from './watched';

export interface JobRequest {
  readonly arch: EfiArch;
  /** Run the local entry sources where the device lives. */
  readonly local: boolean;
  /** The boot origin for `uki-url :name` entries. */
  readonly originUrl?: string;
}

export interface JobEvents {
  /** The device report so far and the readers of its readable filesystems. */
  report(report: DeviceReport, readers: ReadonlyMap<string, FileSystem>): void;
  /** A finished part of the local sources. */
  local(part: LocalResult): void;
}

export interface JobResult {
  readonly dev: ScannedDevice;
  /** `dev.report` with its diagnostics capped per file. */
  readonly report: DeviceReport;
  readonly local?: LocalResult;
}

export async function runScanJob(
  info: DeviceInfo,
  req: JobRequest,
  progress: ScanProgress,
  events: JobEvents,
  /** True once whoever waits has given up: the sources' reads then fail at once. */
  cancelled: () => boolean,
): Promise<JobResult> {
  const dev = await scanDevice(info, {
    progress,
    onReport: (r, readers) => events.report({ ...r, diagnostics: capPerFile(r.diagnostics) }, readers),
  });
  const report = { ...dev.report, diagnostics: capPerFile(dev.report.diagnostics) };
  if (!req.local) return { dev, report };
  const watched = mountsOf(dev).map((m) => ({
    report: m.report,
    fs: new WatchedFileSystem(m.fs, m.report.fsId, progress, cancelled),
  }));
  const local = await runSourcesOver(localSources, watched, req.arch, {
    onPartial: (p) => events.local(p),
    ...(req.originUrl !== undefined ? { originUrl: req.originUrl } : {}),
  });
  return { dev, report, local };
}
