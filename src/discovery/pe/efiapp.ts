// Is a file an EFI application this machine's firmware can start? A PE/COFF image (UEFI spec
// 2.1.1 UEFI Images; docs/esp.md §2) whose machine is the platform's (x64: 0x8664) and whose subsystem is 10 (EFI
// application; 11/12 are drivers, which a boot entry cannot be). Only the headers are read;
// the version resource too when asked (what the program says it is, for titles).

import { errorMessage } from '../diagnostics';
import { FsError, type FileSystem, type FsErrorCode } from '../fs/types';
import type { EfiArch } from '../sources/context';
import { PE_MACHINE, PeError, machineName, parsePeHandle, SUBSYSTEM_EFI_APPLICATION, type PeImage } from '../uki/pe';
import { readVersionResource, type VersionLookup } from './resource';

export const ARCH_MACHINE: Record<EfiArch, number> = {
  x64: PE_MACHINE.x64,
  ia32: PE_MACHINE.ia32,
  aa64: PE_MACHINE.aa64,
  arm: PE_MACHINE.arm,
  riscv64: PE_MACHINE.riscv64,
  loongarch64: PE_MACHINE.loongarch64,
};

const SUBSYSTEMS: Record<number, string> = {
  1: 'native',
  2: 'Windows GUI',
  3: 'Windows console',
  10: 'EFI application',
  11: 'EFI boot service driver',
  12: 'EFI runtime driver',
  13: 'EFI ROM',
};

export type EfiProgram =
  | { readonly ok: true; readonly pe: PeImage; readonly size: number; readonly version?: VersionLookup }
  | { readonly ok: false; readonly reason: string; readonly errno?: FsErrorCode };

/** Why a parsed PE is not an EFI application for `arch`, or undefined when it is one. */
export function efiApplicationProblem(pe: PeImage, arch: EfiArch): string | undefined {
  const want = ARCH_MACHINE[arch];
  if (pe.machine !== want) {
    return `is a PE image for ${machineName(pe.machine)} (machine 0x${pe.machine.toString(16).padStart(4, '0')}), not ${arch}`;
  }
  if (pe.subsystem !== SUBSYSTEM_EFI_APPLICATION) {
    const name = SUBSYSTEMS[pe.subsystem] ?? 'unknown';
    return `has PE subsystem ${pe.subsystem} (${name}), not ${SUBSYSTEM_EFI_APPLICATION} (EFI application)`;
  }
  return undefined;
}

/**
 * Open `path` on `fs` and check that it is an EFI application for `arch`; with `version`, also
 * read its version resource. Never throws: every failure is a reason naming the path.
 */
export async function inspectEfiProgram(
  fs: FileSystem,
  path: string,
  arch: EfiArch,
  opts: { readonly version?: boolean } = {},
): Promise<EfiProgram> {
  let h;
  try {
    h = await fs.open(path);
  } catch (e) {
    return {
      ok: false,
      reason: `${path}: cannot open: ${errorMessage(e)}`,
      ...(e instanceof FsError ? { errno: e.code } : {}),
    };
  }
  try {
    let pe: PeImage;
    try {
      pe = await parsePeHandle(h, path);
    } catch (e) {
      if (e instanceof PeError)
        return { ok: false, reason: `${path} is not a PE/COFF image (${e.field}: ${e.reason})` };
      throw e;
    }
    const problem = efiApplicationProblem(pe, arch);
    if (problem) return { ok: false, reason: `${path} ${problem}` };
    const version = opts.version ? await readVersionResource(h, pe) : undefined;
    return { ok: true, pe, size: h.size, ...(version ? { version } : {}) };
  } catch (e) {
    return {
      ok: false,
      reason: `${path}: cannot read: ${errorMessage(e)}`,
      ...(e instanceof FsError ? { errno: e.code } : {}),
    };
  } finally {
    await h.close().catch(() => undefined);
  }
}
