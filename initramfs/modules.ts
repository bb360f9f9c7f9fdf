// Kernel modules for a given kernel version with their dependencies, resolved from the
// version's own modules.dep / modules.softdep / modules.alias / modules.builtin (what
// modprobe reads), in load order: every module after the modules it needs.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** Drivers to see disks on PCs, VMs and USB, and keyboards: loaded by /init before tendril
 *  starts. Missing or built-in ones are reported, not fatal. */
export const WANTED_MODULES = [
  'virtio_pci',
  'virtio_blk',
  'virtio_scsi',
  'virtio_console',
  'nvme',
  'ahci',
  'ata_piix',
  'sd_mod',
  'sr_mod',
  'xhci_pci',
  'ehci_pci',
  'ohci_pci',
  'uhci_hcd',
  'usb_storage',
  'uas',
  'usbhid',
  'hid_generic',
  'mmc_block',
  'sdhci_pci',
];

/** Ethernet drivers for network boot: VMs, then the common desktop/laptop and server NICs
 *  (docs/netboot.md §1). /init loads them in the background, beside the disk drivers, so links
 *  come up while disks are read; they live in the payload (the archive stays small). NICs
 *  whose firmware Debian ships in non-free packages (some r8169 and bnx2x chips) are not
 *  covered: the driver loads, the link stays down, and tendril names the NIC. */
export const NET_MODULES = [
  'virtio_net',
  'e1000',
  'e1000e',
  'igb',
  'igc',
  'r8169',
  'ixgbe',
  'tg3',
  'bnxt_en',
  'i40e',
  // VLANs and bonds from vlan=/bond= (docs/net-dhcp.md §13).
  '8021q',
  'bonding',
];

/** What /init needs to mount the squashfs payload (initramfs/build.ts, layout `squashfs`):
 *  loaded first, before the storage drivers. */
export const PAYLOAD_MODULES = ['loop', 'squashfs'];

/** Loaded by /init in the background once tendril runs: kernel filesystems (tendril reads
 *  disks in userspace; these serve mounts and the rescue shell) and KVM for the VM path
 *  (kvm.ko alone is 2.4 MB of relocations: seconds under emulation). */
export const LATE_MODULES = [
  'isofs',
  'vfat',
  'nls_cp437',
  'nls_iso8859_1',
  // Debian's vfat defaults to iocharset=ascii: without it a kernel vfat mount fails with EINVAL.
  'nls_ascii',
  'ext4',
  'crc32c_generic',
  'crc32c_intel',
  'kvm',
  'kvm_intel',
  'kvm_amd',
];

/** Shipped in the payload and listed for modprobe, but loaded only when tendril asks for them:
 *  the NVMe/TCP initiator, for net.nvme targets (docs/net-nvme.md §2). */
export const ON_DEMAND_MODULES = ['nvme_tcp'];

export interface ModuleDb {
  readonly version: string;
  readonly dir: string;
  /** normalised name → relative path */
  readonly paths: Map<string, string>;
  /** relative path → dependency relative paths */
  readonly deps: Map<string, string[]>;
  readonly softPre: Map<string, string[]>;
  readonly aliases: Map<string, string[]>;
  readonly builtin: Set<string>;
}

/** modprobe treats '-' and '_' alike. */
export const normName = (n: string): string => n.replace(/-/g, '_');
export const nameOfPath = (p: string): string => normName(path.basename(p).replace(/\.ko(\.(xz|zst|gz))?$/, ''));

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

export function loadModuleDb(version: string, base = '/lib/modules'): ModuleDb {
  const dir = path.join(base, version);
  if (!fs.existsSync(path.join(dir, 'modules.dep')))
    throw new Error(`${dir}/modules.dep not found (is the kernel's modules package installed?)`);
  const paths = new Map<string, string>();
  const deps = new Map<string, string[]>();
  for (const line of readLines(path.join(dir, 'modules.dep'))) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const mod = line.slice(0, i).trim();
    paths.set(nameOfPath(mod), mod);
    deps.set(
      mod,
      line
        .slice(i + 1)
        .trim()
        .split(/\s+/)
        .filter(Boolean),
    );
  }
  const softPre = new Map<string, string[]>();
  for (const line of readLines(path.join(dir, 'modules.softdep'))) {
    const m = /^softdep\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const pre = /pre:\s*([^:]*?)(\s+post:|$)/.exec(m[2]!);
    if (pre) softPre.set(normName(m[1]!), pre[1]!.trim().split(/\s+/).filter(Boolean));
  }
  const aliases = new Map<string, string[]>();
  for (const line of readLines(path.join(dir, 'modules.alias'))) {
    const m = /^alias\s+(\S+)\s+(\S+)$/.exec(line.trim());
    if (!m || /[*?[]/.test(m[1]!)) continue;
    const k = normName(m[1]!);
    aliases.set(k, [...(aliases.get(k) ?? []), normName(m[2]!)]);
  }
  const builtin = new Set(readLines(path.join(dir, 'modules.builtin')).filter(Boolean).map(nameOfPath));
  return { version, dir, paths, deps, softPre, aliases, builtin };
}

export interface ModuleSelection {
  /** Relative paths in load order (dependencies first). */
  readonly order: string[];
  readonly builtin: string[];
  readonly missing: string[];
}

export function resolveModules(db: ModuleDb, wanted: readonly string[]): ModuleSelection {
  const order: string[] = [];
  const done = new Set<string>();
  const builtin: string[] = [];
  const missing: string[] = [];
  const visiting = new Set<string>();

  const visitPath = (rel: string): void => {
    if (done.has(rel) || visiting.has(rel)) return;
    visiting.add(rel);
    for (const s of db.softPre.get(nameOfPath(rel)) ?? []) visitName(s, true);
    // modules.dep lists the full closure; visiting each keeps their own order right.
    for (const d of db.deps.get(rel) ?? []) visitPath(d);
    visiting.delete(rel);
    done.add(rel);
    order.push(rel);
  };
  const visitName = (raw: string, soft: boolean): void => {
    const n = normName(raw);
    const rel = db.paths.get(n);
    if (rel) return visitPath(rel);
    if (db.builtin.has(n)) {
      if (!soft) builtin.push(n);
      return;
    }
    const targets = db.aliases.get(n);
    if (targets) {
      for (const t of targets) visitName(t, true);
      return;
    }
    if (!soft) missing.push(n);
  };
  for (const w of wanted) visitName(w, false);
  return { order, builtin, missing };
}
