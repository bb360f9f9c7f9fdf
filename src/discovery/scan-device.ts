// One device, start to finish: partition table → a probe of every partition (or of the
// whole disk) → a reader for each readable filesystem. Runs in a scan worker (or in-process
// in tests); every failure becomes a diagnostic on the device, never an exception. With
// hooks, every read of the disk is noted as progress and the report so far is handed out
// after the table and after each filesystem, so a deadline keeps what was already found.

import { diag, errorMessage, type Diagnostic } from './diagnostics';
import { FileSource, SliceSource, type ByteSource } from './io/source';
import type { FileSystem } from './fs/types';
import type { DeviceInfo, DeviceReport, FsProbe, FsReport, Partition, PartitionTable } from './model';
import { fsIdOf } from './model';
import { readPartitionTable } from './partitions/detect';
import { probeFilesystem } from './probe';
import { openFileSystem } from './fs/open';
import type { ScanProgress } from './worker/progress';
import { WatchedSource } from './worker/watched';

const ESP_GUID = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
const XBOOTLDR_GUID = 'bc13c2ff-59e6-4262-a352-b275fd6f7172';

export interface ScannedDevice {
  readonly report: DeviceReport;
  /** Readers for the readable filesystems, by fsId. */
  readonly readers: Map<string, FileSystem>;
  /** Closes the readers and the device fd. */
  close(): Promise<void>;
}

export function roleOf(p: Partition): FsReport['role'] {
  if (p.scheme === 'gpt') {
    if (p.type === ESP_GUID) return 'esp';
    if (p.type === XBOOTLDR_GUID) return 'xbootldr';
    return undefined;
  }
  if (p.type === '0xef') return 'esp';
  if (p.type === '0xea') return 'mbr-boot';
  return undefined;
}

export interface ScanHooks {
  /** Where reads are noted (progress.ts): each read the disk answers, and what is being read. */
  readonly progress?: ScanProgress;
  /** The report so far, after the partition table and after each filesystem. */
  readonly onReport?: (report: DeviceReport, readers: ReadonlyMap<string, FileSystem>) => void;
}

export async function scanDevice(info: DeviceInfo, hooks: ScanHooks = {}): Promise<ScannedDevice> {
  const t0 = performance.now();
  const diagnostics: Diagnostic[] = [];
  const filesystems: FsReport[] = [];
  const readers = new Map<string, FileSystem>();
  let file: FileSource | undefined;
  let src: ByteSource | undefined;
  let table: PartitionTable | undefined;
  const where = { device: info.path };
  const progress = hooks.progress;
  const reportNow = (): DeviceReport => ({
    device: info,
    ...(table ? { table } : {}),
    filesystems: [...filesystems],
    diagnostics: [...diagnostics],
    elapsedMs: Math.round((performance.now() - t0) * 10) / 10,
  });

  try {
    progress?.reading(`${info.path} (opening it)`);
    file = FileSource.open(info.path, info.path);
    src = progress ? new WatchedSource(file, progress) : file;
  } catch (e) {
    diagnostics.push(diag('error', 'device', errorMessage(e), where));
  }

  if (src) {
    try {
      progress?.reading(`${info.path} (partition table)`);
      const pt = readPartitionTable(src);
      table = pt.table;
      diagnostics.push(...pt.diagnostics.map((d: Diagnostic) => ({ ...d, device: d.device ?? info.path })));
    } catch (e) {
      diagnostics.push(diag('error', 'partitions', `partition table unreadable: ${errorMessage(e)}`, where));
    }
    hooks.onReport?.(reportNow(), readers);

    // The whole disk holds a filesystem when there is no table (superfloppy) or when it is
    // a hybrid ISO (ISO 9660 at the disk level plus partitions for the ESP).
    const wholeDisk = !table || table.scheme === 'none' || table.hybridIso === true;
    if (wholeDisk) await addFs(src, 0, 0, src.size, undefined);
    for (const p of table?.partitions ?? []) {
      let slice: ByteSource;
      try {
        slice = new SliceSource(src, p.start, p.size, `${info.path}:${p.number}`);
      } catch (e) {
        diagnostics.push(diag('error', 'partitions', `partition ${p.number}: ${errorMessage(e)}`, where));
        continue;
      }
      await addFs(slice, p.number, p.start, p.size, p);
    }
  }

  async function addFs(
    s: ByteSource,
    number: number,
    offset: number,
    size: number,
    part: Partition | undefined,
  ): Promise<void> {
    const fsId = fsIdOf(info.name, number);
    let probe: FsProbe | null = null;
    progress?.reading(`${info.path} (probing ${number === 0 ? 'the whole disk' : `partition ${number}`})`);
    try {
      const found: Diagnostic[] = [];
      probe = probeFilesystem(s, found);
      diagnostics.push(...found.map((d) => ({ ...d, device: d.device ?? info.path, fsId: d.fsId ?? fsId })));
    } catch (e) {
      diagnostics.push(diag('error', 'probe', `probe failed: ${errorMessage(e)}`, { ...where, fsId }));
    }
    // A whole disk with partitions and no disk-level filesystem is not itself a filesystem.
    if (number === 0 && !probe) return;
    const role = part ? roleOf(part) : undefined;
    filesystems.push({
      fsId,
      device: info.path,
      partition: number,
      offset,
      size,
      ...(probe ? { probe } : {}),
      ...(part?.partUuid ? { partUuid: part.partUuid } : {}),
      ...(part ? { partType: part.type } : {}),
      ...(part?.typeName ? { partTypeName: part.typeName } : {}),
      ...(part?.name ? { partLabel: part.name } : {}),
      ...(role ? { role } : {}),
    });
    if (!probe?.readable) {
      hooks.onReport?.(reportNow(), readers);
      return;
    }
    try {
      progress?.reading(`${fsId} (opening the ${probe.type} filesystem)`);
      const reader = await openFileSystem(s, probe.type);
      readers.set(fsId, reader);
      // Readers may say how they read a volume (journal not replayed, library bypassed).
      const notes = (reader as { notes?: unknown }).notes;
      if (Array.isArray(notes)) {
        for (const n of notes)
          if (typeof n === 'string') diagnostics.push(diag('info', probe.type, n, { ...where, fsId }));
      }
    } catch (e) {
      diagnostics.push(
        diag('error', 'fs', `cannot read ${probe.type} filesystem: ${errorMessage(e)}`, { ...where, fsId }),
      );
    }
    hooks.onReport?.(reportNow(), readers);
  }

  const report: DeviceReport = {
    device: info,
    ...(table ? { table } : {}),
    filesystems,
    diagnostics,
    elapsedMs: Math.round((performance.now() - t0) * 10) / 10,
  };
  return {
    report,
    readers,
    async close() {
      for (const r of readers.values()) {
        try {
          await r.close();
        } catch {
          /* closing a reader cannot fail in a way the user can act on */
        }
      }
      file?.close();
    },
  };
}
