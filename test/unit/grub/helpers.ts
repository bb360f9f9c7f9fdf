// Test filesystems: host directory trees served through HostDirFileSystem, with FsReports
// carrying the uuid/label a real probe would have found.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import type { FsReport, FsType } from '../../../src/discovery/model';
import type { MountedFs, SourceContext } from '../../../src/discovery/sources/context';
import type { GrubOptions, GrubScan } from '../../../src/discovery/sources/grub';

export const DATA = path.join(__dirname, '..', '..', 'data', 'grub');

export function fixture(name: string): string {
  return fs.readFileSync(path.join(DATA, name), 'utf8');
}

export interface FsSpec {
  readonly device: string;
  readonly partition: number;
  readonly type?: FsType;
  readonly uuid?: string;
  readonly label?: string;
  readonly partLabel?: string;
  readonly role?: FsReport['role'];
  readonly caseInsensitive?: boolean;
  /** path → contents; a trailing '/' makes a directory. */
  readonly files: Readonly<Record<string, string | Uint8Array>>;
}

export interface TestCtx {
  readonly ctx: SourceContext;
  readonly root: string;
  cleanup(): void;
}

export function makeCtx(specs: readonly FsSpec[]): TestCtx {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-grub-'));
  const mounted: MountedFs[] = specs.map((s) => {
    const dir = path.join(root, `${s.device}-${s.partition}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const [p, content] of Object.entries(s.files)) {
      const host = path.join(dir, p);
      if (p.endsWith('/')) {
        fs.mkdirSync(host, { recursive: true });
        continue;
      }
      fs.mkdirSync(path.dirname(host), { recursive: true });
      fs.writeFileSync(host, content);
    }
    const report: FsReport = {
      fsId: `${s.device}:${s.partition}`,
      device: `/dev/${s.device}`,
      partition: s.partition,
      offset: 0,
      size: 0,
      probe: {
        type: s.type ?? 'ext4',
        readable: true,
        ...(s.uuid !== undefined ? { uuid: s.uuid } : {}),
        ...(s.label !== undefined ? { label: s.label } : {}),
      },
      ...(s.partLabel !== undefined ? { partLabel: s.partLabel } : {}),
      ...(s.role !== undefined ? { role: s.role } : {}),
    };
    return { report, fs: new HostDirFileSystem(dir, s.caseInsensitive ?? s.type === 'vfat') };
  });
  const ctx: SourceContext = {
    filesystems: mounted,
    get: (id) => mounted.find((m) => m.report.fsId === id),
    arch: 'x64',
  };
  return { ctx, root, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Fake kernel/initrd files: contents do not matter to the evaluator, existence does. */
export function kernels(
  dir: string,
  versions: readonly string[],
  initrdName = (v: string) => `initrd.img-${v}`,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of versions) {
    out[`${dir}/vmlinuz-${v}`] = `kernel ${v}\n`;
    out[`${dir}/${initrdName(v)}`] = `initrd ${v}\n`;
  }
  return out;
}

/** A 1024-byte grubenv block as grub-editenv writes it. */
export function grubenv(vars: Readonly<Record<string, string>>): string {
  let s = '# GRUB Environment Block\n';
  for (const [k, v] of Object.entries(vars)) s += `${k}=${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\\n')}\n`;
  return s + '#'.repeat(1024 - Buffer.byteLength(s));
}

/** Evaluate one grub.cfg on vda:1 (plus extra files) and clean up. */
export async function runCfg(
  cfg: string,
  files: Readonly<Record<string, string>> = {},
  options: Partial<GrubOptions> = {},
  more: readonly FsSpec[] = [],
): Promise<GrubScan> {
  const { scanGrub } = await import('../../../src/discovery/sources/grub');
  const t = makeCtx([
    {
      device: 'vda',
      partition: 1,
      uuid: '0a0b0c0d-1111-4222-8333-444455556666',
      label: 'boot',
      files: { 'boot/grub/grub.cfg': cfg, k: 'kernel', i1: 'i', i2: 'i', ...files },
    },
    ...more,
  ]);
  try {
    return await scanGrub(t.ctx, options);
  } finally {
    t.cleanup();
  }
}
