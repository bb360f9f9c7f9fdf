// Test trees: real files in temporary directories served through HostDirFileSystem, with
// hand-built FsReports (labels, PARTUUIDs, GPT type GUIDs) and a SourceContext over them.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostKernel, systemdBootEfi, systemdStub } from '../../../initramfs/host';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import type { FsReport, FsType } from '../../../src/discovery/model';
import type { MountedFs, SourceContext } from '../../../src/discovery/sources/context';

export const KERNEL_SRC = hostKernel().vmlinuz;
export const EFI_SRC = systemdBootEfi();
export const STUB_SRC = systemdStub();

export const ESP_TYPE = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
export const XBOOTLDR_TYPE = 'bc13c2ff-59e6-4262-a352-b275fd6f7172';
export const LINUX_TYPE = '0fc63daf-8483-4772-8e3d-69d8e47d4709';

/** A file's content: text, bytes, or a real binary linked from the shared cache. */
export type Node = string | Uint8Array | { readonly real: 'kernel' | 'efi' | 'uki' };
export type Files = Readonly<Record<string, Node>>;

export interface FsSpec {
  readonly fsId: string;
  readonly files: Files;
  readonly type?: FsType;
  readonly label?: string;
  readonly uuid?: string;
  readonly partUuid?: string;
  readonly partType?: string;
  readonly role?: FsReport['role'];
  readonly device?: string;
  readonly partition?: number;
}

let cacheDir: string | undefined;
function cached(kind: 'kernel' | 'efi' | 'uki'): string {
  cacheDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-sprout-bin-'));
  const p = path.join(cacheDir, kind);
  if (!fs.existsSync(p)) {
    if (kind === 'kernel') fs.copyFileSync(KERNEL_SRC, p);
    else if (kind === 'efi') fs.copyFileSync(EFI_SRC, p);
    else {
      // A UKI as systemd documents building it by hand: the stub plus a .linux section.
      execFileSync('objcopy', [
        '--add-section',
        `.linux=${cached('kernel')}`,
        '--set-section-flags',
        '.linux=data,readonly',
        '--change-section-vma',
        '.linux=0x2000000',
        STUB_SRC,
        p,
      ]);
    }
  }
  return p;
}

export function writeTree(root: string, files: Files): void {
  for (const [rel, node] of Object.entries(files)) {
    const p = path.join(root, rel);
    if (rel.endsWith('/')) {
      fs.mkdirSync(p, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof node === 'string' || node instanceof Uint8Array) fs.writeFileSync(p, node);
    else fs.linkSync(cached(node.real), p);
  }
}

export interface TestCtx {
  readonly ctx: SourceContext;
  readonly roots: Record<string, string>;
  cleanup(): void;
}

export function makeCtx(specs: readonly FsSpec[], arch: SourceContext['arch'] = 'x64'): TestCtx {
  const roots: Record<string, string> = {};
  const mounted: MountedFs[] = specs.map((s, i) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `tendril-tree-${s.fsId.replace(/\W/g, '_')}-`));
    roots[s.fsId] = root;
    writeTree(root, s.files);
    const type = s.type ?? 'ext4';
    const [dev, num] = s.fsId.split(':');
    const report: FsReport = {
      fsId: s.fsId,
      device: s.device ?? `/dev/${dev}`,
      partition: s.partition ?? Number(num ?? i),
      offset: 0,
      size: 1 << 20,
      probe: {
        type,
        readable: true,
        ...(s.label !== undefined ? { label: s.label } : {}),
        ...(s.uuid ? { uuid: s.uuid } : {}),
      },
      ...(s.partUuid ? { partUuid: s.partUuid } : {}),
      ...(s.partType ? { partType: s.partType } : {}),
      ...(s.role ? { role: s.role } : {}),
    };
    return { report, fs: new HostDirFileSystem(root, type === 'vfat') };
  });
  return {
    ctx: { filesystems: mounted, get: (id) => mounted.find((m) => m.report.fsId === id), arch },
    roots,
    cleanup() {
      for (const r of Object.values(roots)) fs.rmSync(r, { recursive: true, force: true });
    },
  };
}

export function esp(files: Files, extra: Partial<FsSpec> = {}): FsSpec {
  return {
    fsId: 'vda:1',
    type: 'vfat',
    role: 'esp',
    partType: ESP_TYPE,
    partUuid: '11111111-1111-4111-8111-111111111111',
    label: 'ESP',
    files,
    ...extra,
  };
}
