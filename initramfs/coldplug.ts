// Drivers by device (initramfs/README.md, "Drivers by device"): the files busybox modprobe reads
// (modules.dep, modules.alias under /lib/modules/<release>), limited to the modules the image
// ships, so /init loads a driver only when the machine has a device it matches. Loading every
// shipped driver cost a 1-vCPU boot under emulation seconds of CPU beside node's start (ten NIC
// drivers, NVMe, MMC, four USB host drivers, mostly for hardware that is not there).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ModuleDb, nameOfPath, normName } from './modules';

/**
 * Alias prefixes that name devices /init can list as /sys/bus/<prefix>/devices/<dev>/modalias.
 * `cpu:` feature aliases (crc32c-intel, crct10dif-pclmul, kvm-intel) are left out on purpose:
 * every CPU has those features, and the modules load as their users' dependencies instead.
 */
const DEVICE_BUSES = new Set([
  'pci',
  'usb',
  'virtio',
  'scsi',
  'hid',
  'mmc',
  'sdio',
  'acpi',
  'platform',
  'pnp',
  'serio',
]);

export interface ModprobeFiles {
  /** modules.dep: the kernel's own lines for the shipped modules (names as shipped, .ko). */
  readonly dep: string;
  /** modules.alias: every alias of the coldplug candidates (device aliases and `rtnl-link-vlan` alike). */
  readonly alias: string;
  /** The buses whose modaliases /init matches: those some candidate has a device alias on. */
  readonly buses: string[];
  /** Wanted modules without a device alias (8021q, bonding): /init loads them by name. */
  readonly features: string[];
}

export interface ModprobeInput {
  /** Every module the image ships, as relative paths in db. */
  readonly shipped: readonly string[];
  /** The modules coldplug may load (the disk, input and NIC drivers with their dependencies). */
  readonly candidates: readonly string[];
  /** The module names the builder was asked for (WANTED_MODULES, NET_MODULES). */
  readonly wanted: readonly string[];
}

/** The shipped name of a module path: Debian may compress modules, the image does not. */
export const shippedPath = (rel: string): string => rel.replace(/\.ko\.(xz|zst|gz)$/, '.ko');

function aliasLines(db: ModuleDb): { pattern: string; module: string }[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(db.dir, 'modules.alias'), 'utf8');
  } catch {
    return [];
  }
  const out: { pattern: string; module: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^alias\s+(\S+)\s+(\S+)$/.exec(line.trim());
    if (m) out.push({ pattern: m[1]!, module: normName(m[2]!) });
  }
  return out;
}

const busOf = (pattern: string): string | undefined => {
  const i = pattern.indexOf(':');
  const bus = i > 0 ? pattern.slice(0, i) : undefined;
  return bus !== undefined && DEVICE_BUSES.has(bus) ? bus : undefined;
};

export function modprobeFiles(db: ModuleDb, input: ModprobeInput): ModprobeFiles {
  const shipped = new Set(input.shipped);
  const dep = input.shipped
    .map((rel) => `${shippedPath(rel)}: ${(db.deps.get(rel) ?? []).map(shippedPath).join(' ')}`.trimEnd())
    .join('\n');
  const candidateNames = new Set(input.candidates.map(nameOfPath));
  const aliases = aliasLines(db).filter((a) => candidateNames.has(a.module));
  const withDeviceAlias = new Set(aliases.filter((a) => busOf(a.pattern)).map((a) => a.module));
  const buses = [...new Set(aliases.map((a) => busOf(a.pattern)).filter((b): b is string => b !== undefined))].sort();
  const features = input.wanted.map(normName).filter((n) => {
    const rel = db.paths.get(n);
    return rel !== undefined && shipped.has(rel) && !withDeviceAlias.has(n);
  });
  return {
    dep: `${dep}\n`,
    alias: aliases.map((a) => `alias ${a.pattern} ${a.module}`).join('\n') + '\n',
    buses,
    features,
  };
}
