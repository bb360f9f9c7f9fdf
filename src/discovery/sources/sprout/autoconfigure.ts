// Autoconfigure (docs/sprout.md §14, §17.9) over tendril's filesystems. For each filesystem with
// root token R = `tendril-fs:<fsId>/` and H = sha256(R):
//   BLS (`/loader/loader.conf` or a non-empty `/loader/entries`) → generator auto-bls-H + the
//     canonical chainload action bls-chainload-H (so entries boot natively as BLS);
//   else `vmlinuz*` regular files in /boot and / paired with initramfs/initrd/initrd.img +
//     suffix → generator auto-linux-H (list) + action linux-chainload-H;
//   `/EFI/Microsoft/Boot/bootmgfw.efi` → entry auto-windows-H + action windows-chainload-H.
// Differences from sprout, each reported as info: kernels are listed newest first (verscmp)
// instead of directory order; `*.img` initramfs names are paired; `/boot/loader` BLS
// directories on root filesystems are found too.

import { createHash } from 'node:crypto';
import { diag, type Diagnostic } from '../../diagnostics';
import { verscmp } from '../../entries/version';
import { statOrNull, type FileSystem } from '../../fs/types';
import type { SourceContext } from '../context';
import { fsToken } from './paths';
import { SOURCE, type ActionCfg, type EntryCfg, type GeneratorCfg, type Loc } from './schema';

export interface AutoConfig {
  readonly actions: ActionCfg[];
  readonly generators: GeneratorCfg[];
  readonly entries: EntryCfg[];
}

export function rootHash(root: string): string {
  return createHash('sha256').update(root).digest('hex');
}

async function isFile(fs: FileSystem, p: string): Promise<boolean> {
  try {
    return (await statOrNull(fs, p))?.kind === 'file';
  } catch {
    return false;
  }
}

async function blsDir(fs: FileSystem, base: string): Promise<boolean> {
  if (await isFile(fs, `${base}/loader.conf`)) return true;
  try {
    return (await fs.readdir(`${base}/entries`)).length > 0;
  } catch {
    return false;
  }
}

interface Kernel {
  readonly path: string;
  readonly suffix: string;
  readonly initrd?: string;
  readonly improved: boolean;
}

async function scanKernels(fs: FileSystem): Promise<Kernel[]> {
  const out: Kernel[] = [];
  for (const dir of ['/boot', '/']) {
    let list;
    try {
      list = await fs.readdir(dir);
    } catch {
      continue;
    }
    const names = new Set(list.filter((d) => d.kind === 'file').map((d) => d.name));
    for (const name of [...names].sort()) {
      if (!name.toLowerCase().startsWith('vmlinuz')) continue;
      const suffix = name.slice('vmlinuz'.length);
      const base = dir === '/' ? '' : dir;
      const plain = [`initramfs${suffix}`, `initrd${suffix}`, `initrd.img${suffix}`].find((n) => names.has(n));
      const improved = plain ? undefined : [`initramfs${suffix}.img`, `initrd${suffix}.img`].find((n) => names.has(n));
      const initrd = plain ?? improved;
      out.push({
        path: `${base}/${name}`,
        suffix,
        ...(initrd ? { initrd: `${base}/${initrd}` } : {}),
        improved: improved !== undefined,
      });
    }
  }
  // Newest first: descending version order of the suffix; stable for equal ones.
  return out.sort((a, b) => -verscmp(a.suffix, b.suffix));
}

function efiPath(root: string, p: string): string {
  return root + p.replace(/\//g, '\\');
}

export async function autoconfigure(
  ctx: SourceContext,
  home: string,
  at: Loc,
  diagnostics: Diagnostic[],
): Promise<AutoConfig> {
  const out: AutoConfig = { actions: [], generators: [], entries: [] };
  const w = { fsId: home, file: at.file };
  for (const m of ctx.filesystems) {
    const R = fsToken(m.report.fsId);
    const H = rootHash(R);
    let blsBase: string | undefined;
    if (await blsDir(m.fs, '/loader')) blsBase = '/loader';
    else if (await blsDir(m.fs, '/boot/loader')) {
      blsBase = '/boot/loader';
      diagnostics.push(
        diag(
          'info',
          SOURCE,
          `autoconfigure: BLS in ${m.report.fsId}:/boot/loader used (sprout only looks at /loader)`,
          w,
        ),
      );
    }
    if (blsBase) {
      out.generators.push({
        kind: 'bls',
        name: `auto-bls-${H}`,
        at,
        path: efiPath(R, blsBase),
        entry: { title: '$title', actions: [`bls-chainload-${H}`], values: new Map(), at },
      });
      out.actions.push({
        name: `bls-chainload-${H}`,
        at,
        kind: 'chainload',
        chainload: { path: `${R}\\$chainload`, options: ['$options'], linuxInitrd: [`${R}\\$initrd`] },
      });
    } else {
      const kernels = await scanKernels(m.fs);
      if (kernels.length) {
        out.generators.push({
          kind: 'list',
          name: `auto-linux-${H}`,
          at,
          entry: {
            title: 'Boot Linux $name',
            actions: [`linux-chainload-${H}`],
            values: new Map(),
            sortKey: '$kernel',
            at,
          },
          values: kernels.map(
            (k) =>
              new Map([
                ['name', k.path],
                ['kernel', efiPath(R, k.path)],
                ['initrd', k.initrd ? efiPath(R, k.initrd) : ''],
              ]),
          ),
        });
        out.actions.push({
          name: `linux-chainload-${H}`,
          at,
          kind: 'chainload',
          chainload: { path: '$kernel', options: ['$linux-options'], linuxInitrd: ['$initrd'] },
        });
        for (const k of kernels.filter((k) => k.improved)) {
          diagnostics.push(
            diag(
              'info',
              SOURCE,
              `autoconfigure: ${m.report.fsId}:${k.path} paired with ${k.initrd} (sprout does not pair *.img names)`,
              w,
            ),
          );
        }
        if (kernels.length > 1) {
          diagnostics.push(
            diag(
              'info',
              SOURCE,
              `autoconfigure: ${kernels.length} kernels on ${m.report.fsId} listed newest first (sprout keeps directory order)`,
              w,
            ),
          );
        }
      }
    }
    if (await isFile(m.fs, '/EFI/Microsoft/Boot/bootmgfw.efi')) {
      out.entries.push({
        name: `auto-windows-${H}`,
        title: 'Boot Windows',
        actions: [`windows-chainload-${H}`],
        values: new Map(),
        at,
      });
      out.actions.push({
        name: `windows-chainload-${H}`,
        at,
        kind: 'chainload',
        chainload: { path: efiPath(R, '/EFI/Microsoft/Boot/bootmgfw.efi'), options: [] },
      });
    }
  }
  return out;
}
