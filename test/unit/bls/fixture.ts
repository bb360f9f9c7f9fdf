// Real host directories served as filesystems (HostDirFileSystem) with hand-made FsReports,
// for exercising the BLS source the way discovery calls it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import type { FsReport, FsType } from '../../../src/discovery/model';
import type { EfiArch, MountedFs, SourceContext } from '../../../src/discovery/sources/context';

export const DATA = path.join(__dirname, '..', '..', 'data', 'bls');

export interface MountOpts {
  fsId: string;
  role?: 'esp' | 'xbootldr' | 'mbr-boot';
  type?: FsType;
  partUuid?: string;
  uuid?: string;
}

export function mount(dir: string, o: MountOpts): MountedFs {
  const type = o.type ?? (o.role === 'esp' || o.role === 'xbootldr' ? 'vfat' : 'ext4');
  const [device, part] = o.fsId.split(':');
  const report: FsReport = {
    fsId: o.fsId,
    device: `/dev/${device}`,
    partition: Number(part),
    offset: 0,
    size: 0,
    probe: { type, readable: true, ...(o.uuid ? { uuid: o.uuid } : {}) },
    ...(o.partUuid ? { partUuid: o.partUuid } : {}),
    ...(o.role ? { role: o.role } : {}),
  };
  return { report, fs: new HostDirFileSystem(dir, type === 'vfat') };
}

export function context(filesystems: MountedFs[], arch: EfiArch = 'x64', originUrl?: string): SourceContext {
  return {
    filesystems,
    get: (id) => filesystems.find((m) => m.report.fsId === id),
    arch,
    ...(originUrl ? { originUrl } : {}),
  };
}

/** Write `files` (path → content; content null = directory) under a fresh temp dir. */
export function tree(files: Record<string, string | Uint8Array | null>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-bls-'));
  for (const [p, content] of Object.entries(files)) {
    const full = path.join(root, p);
    if (content === null) {
      fs.mkdirSync(full, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
  return root;
}
