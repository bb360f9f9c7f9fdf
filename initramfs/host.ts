// The host files the initramfs builder, the fixtures, the benches and the end-to-end tests use,
// found on this machine rather than named by version: Debian ships a new kernel (and new
// OVMF, stub and busybox builds) any day, and a pinned `/boot/vmlinuz-6.1.0-NN` breaks every
// fresh machine. Every lookup goes through here (a suite test refuses versioned host paths
// anywhere else under test/, bench/, scripts/ and initramfs/).

import * as fs from 'node:fs';
import * as path from 'node:path';

const byVersion = (a: string, b: string): number => a.localeCompare(b, undefined, { numeric: true });

export interface HostKernel {
  /** `uname -r` of the kernel, e.g. the part after `vmlinuz-`. */
  readonly version: string;
  readonly vmlinuz: string;
  /** /lib/modules/<version> */
  readonly modules: string;
}

/** Versions that have both /boot/vmlinuz-V and /lib/modules/V/modules.dep, oldest first. */
export function installedKernelVersions(boot = '/boot', modules = '/lib/modules'): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(boot);
  } catch {
    return [];
  }
  return names
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => fs.existsSync(path.join(modules, v, 'modules.dep')))
    .sort(byVersion);
}

/** The newest installed Debian kernel with its modules (package linux-image-amd64). */
export function hostKernel(boot = '/boot', modules = '/lib/modules'): HostKernel {
  const v = installedKernelVersions(boot, modules).at(-1);
  if (v === undefined)
    throw new Error(
      `no ${boot}/vmlinuz-* with a matching ${modules}/*/modules.dep (apt-get install linux-image-amd64)`,
    );
  return { version: v, vmlinuz: path.join(boot, `vmlinuz-${v}`), modules: path.join(modules, v) };
}

function firstExisting(what: string, candidates: readonly string[], hint: string): string {
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`no ${what} (looked for ${candidates.join(', ')}; ${hint})`);
}

/** Debian's kernel source tarball (package linux-source), newest if several. */
export function linuxSourceTarball(dir = '/usr/src'): { tarball: string; topDir: string } {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    /* handled below */
  }
  const hits = names.filter((n) => /^linux-source-[0-9.]+\.tar\.xz$/.test(n)).sort(byVersion);
  const last = hits.at(-1);
  if (last === undefined) throw new Error(`no ${dir}/linux-source-*.tar.xz (apt-get install linux-source)`);
  return { tarball: path.join(dir, last), topDir: last.replace(/\.tar\.xz$/, '') };
}

/** A static busybox (package busybox-static). */
export function hostBusybox(): string {
  return firstExisting('busybox', ['/bin/busybox', '/usr/bin/busybox'], 'apt-get install busybox-static');
}

/** zstd, shipped for `.zst` network disk images (busybox has no zstd applet). */
export function hostZstd(): string {
  return firstExisting('zstd', ['/usr/bin/zstd', '/bin/zstd'], 'apt-get install zstd');
}

/** systemd's EFI stub for building UKIs (package systemd-boot-efi). */
export function systemdStub(): string {
  return firstExisting(
    'systemd-stub',
    ['/usr/lib/systemd/boot/efi/linuxx64.efi.stub', '/lib/systemd/boot/efi/linuxx64.efi.stub'],
    'apt-get install systemd-boot-efi',
  );
}

/** systemd-boot itself, a real EFI application for tests (package systemd-boot-efi). */
export function systemdBootEfi(): string {
  return firstExisting(
    'systemd-bootx64.efi',
    ['/usr/lib/systemd/boot/efi/systemd-bootx64.efi', '/lib/systemd/boot/efi/systemd-bootx64.efi'],
    'apt-get install systemd-boot-efi',
  );
}

/** Debian's combined OVMF image (code and variables in one file; package ovmf). */
export function ovmfCombined(): string {
  return firstExisting(
    'OVMF.fd',
    ['/usr/share/ovmf/OVMF.fd', '/usr/share/OVMF/OVMF.fd', '/usr/share/qemu/OVMF.fd'],
    'apt-get install ovmf',
  );
}

/** Debian's split OVMF (package ovmf): the non-SMM CODE image, its empty VARS template, the
 *  template with Microsoft's keys, the one with the snakeoil test key, and that key and its
 *  certificate (password "snakeoil"; /usr/share/doc/ovmf/README.Debian). */
export interface OvmfSplit {
  readonly code: string;
  readonly vars: string;
  readonly varsMs: string;
  readonly varsSnakeoil: string;
  readonly snakeoilKey: string;
  readonly snakeoilCert: string;
}

export function ovmfSplit(): OvmfSplit {
  const dirs = ['/usr/share/OVMF', '/usr/share/ovmf'];
  const find = (name: string) =>
    firstExisting(
      name,
      dirs.map((d) => path.join(d, name)),
      'apt-get install ovmf',
    );
  return {
    code: find('OVMF_CODE_4M.fd'),
    vars: find('OVMF_VARS_4M.fd'),
    varsMs: find('OVMF_VARS_4M.ms.fd'),
    varsSnakeoil: find('OVMF_VARS_4M.snakeoil.fd'),
    snakeoilKey: find('PkKek-1-snakeoil.key'),
    snakeoilCert: find('PkKek-1-snakeoil.pem'),
  };
}
