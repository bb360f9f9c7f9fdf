// The discovery model: devices → partitions → filesystems → boot entries. Plain data
// (JSON-serialisable) so it crosses worker threads and becomes `tendril list --json`.

import type { Diagnostic } from './diagnostics';

// ---------------------------------------------------------------- devices and partitions

export type DeviceBus = 'sata' | 'scsi' | 'nvme' | 'virtio' | 'mmc' | 'loop' | 'usb' | 'image' | 'other';

export interface DeviceInfo {
  /** '/dev/vda' or the image path as given. */
  readonly path: string;
  /** Short stable name used in FsIds: 'vda', or the image file's basename. */
  readonly name: string;
  readonly bus: DeviceBus;
  readonly size: number;
  readonly removable: boolean;
  readonly readOnly: boolean;
  readonly model?: string;
}

export type PartitionScheme = 'gpt' | 'mbr';

export interface Partition {
  /** Partition number as Linux names it (1-based; MBR logical partitions start at 5). */
  readonly number: number;
  readonly scheme: PartitionScheme;
  /** Byte offset and length on the disk. */
  readonly start: number;
  readonly size: number;
  /** GPT: type GUID (lower-case, dashed); MBR: type byte as '0x83'. */
  readonly type: string;
  /** Well-known name of the type: 'EFI System', 'Linux extended boot', 'Linux filesystem', ... */
  readonly typeName?: string;
  /** GPT unique partition GUID (PARTUUID), lower-case. MBR: '<disk signature>-<NN>' as Linux forms it. */
  readonly partUuid?: string;
  /** GPT partition name. */
  readonly name?: string;
  /** GPT attribute bits as a 16-digit hex string. */
  readonly attributes?: string;
  /** MBR boot flag. */
  readonly bootable?: boolean;
  /** MBR logical partition inside an extended one. */
  readonly logical?: boolean;
}

export interface PartitionTable {
  /** 'none' = superfloppy (filesystem on the whole disk) or unrecognised. */
  readonly scheme: PartitionScheme | 'none';
  readonly sectorSize: number;
  /** GPT disk GUID. */
  readonly diskGuid?: string;
  /** MBR disk signature as 8 hex digits. */
  readonly mbrSignature?: string;
  readonly partitions: Partition[];
  /** GPT: the backup header was used because the primary was damaged. */
  readonly usedBackupGpt?: boolean;
  /** A protective MBR (0xEE) was present. */
  readonly protectiveMbr?: boolean;
  /** Hybrid ISO image: ISO 9660 at the whole-disk level plus an MBR/GPT. */
  readonly hybridIso?: boolean;
}

// ---------------------------------------------------------------- filesystems

export type FsType =
  | 'ext2'
  | 'ext3'
  | 'ext4'
  | 'vfat'
  | 'iso9660'
  | 'xfs'
  | 'btrfs'
  | 'crypto_LUKS'
  | 'LVM2_member'
  | 'swap'
  | 'squashfs'
  | 'ntfs'
  | 'exfat'
  | 'f2fs';

export interface FsProbe {
  readonly type: FsType;
  /** As blkid prints it: ext/xfs/btrfs dashed UUID; FAT 'XXXX-XXXX'; ISO '2024-01-02-03-04-05-00'. */
  readonly uuid?: string;
  readonly label?: string;
  /** FAT12/16/32, ext feature summary, LUKS version, ... */
  readonly version?: string;
  /** True when tendril can read files from it (ext*, vfat, iso9660). */
  readonly readable: boolean;
  /** Hibernation image found (swap signature) or needs_recovery set: never write. */
  readonly dirty?: boolean;
}

/** '<device name>:<partition number>', or '<device name>:0' for a whole-disk filesystem. */
export type FsId = string;

export function fsIdOf(deviceName: string, partNumber: number): FsId {
  return `${deviceName}:${partNumber}`;
}

export interface FsReport {
  readonly fsId: FsId;
  readonly device: string;
  /** 0 = whole disk. */
  readonly partition: number;
  readonly offset: number;
  readonly size: number;
  readonly probe?: FsProbe;
  readonly partUuid?: string;
  readonly partType?: string;
  readonly partTypeName?: string;
  readonly partLabel?: string;
  /** Role for BLS: the partition type says ESP / XBOOTLDR, or an MBR 0xEA/0xEF partition. */
  readonly role?: 'esp' | 'xbootldr' | 'mbr-boot';
}

export interface DeviceReport {
  readonly device: DeviceInfo;
  readonly table?: PartitionTable;
  readonly filesystems: FsReport[];
  readonly diagnostics: Diagnostic[];
  /** Milliseconds spent scanning this device. */
  readonly elapsedMs: number;
  /** The scan hit its deadline; what is here is partial. */
  readonly timedOut?: boolean;
}

// ---------------------------------------------------------------- boot entries

export type EntrySource = 'bls' | 'uki' | 'grub' | 'syslinux' | 'sprout' | 'auto';

/** A file on a discovered filesystem. */
export interface FileRef {
  readonly fsId: FsId;
  readonly path: string;
}

export interface Origin {
  readonly source: EntrySource;
  readonly fsId: FsId;
  readonly device: string;
  readonly partition: number;
  readonly partUuid?: string;
  readonly fsUuid?: string;
  /** The config file that defined the entry (BLS snippet, grub.cfg, UKI image, ...). */
  readonly file: string;
  /** 1-based line in `file` where the entry starts (grub/syslinux/sprout; BLS: absent). */
  readonly line?: number;
}

export interface LinuxTarget {
  readonly kind: 'linux';
  readonly kernel: FileRef;
  /** All initrds in order (microcode first if the config listed it first). */
  readonly initrds: FileRef[];
  readonly cmdline: string;
  readonly devicetree?: FileRef;
  readonly devicetreeOverlays?: FileRef[];
}

export interface UkiTarget {
  readonly kind: 'uki';
  readonly image: FileRef;
  /** Profile number in a multi-profile UKI (0 if the image has none). */
  readonly profile: number;
  /** The UKI's embedded .cmdline for this profile (shown read-only). */
  readonly embeddedCmdline?: string;
  /** Options from a Type #1 `uki` entry; they replace .cmdline (systemd-stub rule). */
  readonly cmdlineOverride?: string;
  /** Add-ons in application order (global, then per-UKI). */
  readonly addons: FileRef[];
  readonly uname?: string;
}

export interface EfiTarget {
  readonly kind: 'efi';
  /** An EFI program for the VM path. */
  readonly image: FileRef;
  readonly options?: string;
}

export interface MultibootTarget {
  readonly kind: 'multiboot';
  readonly kernel: FileRef;
  readonly cmdline: string;
  readonly modules: { readonly file: FileRef; readonly cmdline: string }[];
}

export interface UkiUrlTarget {
  readonly kind: 'uki-url';
  readonly url: string;
}

export type BootTarget = LinuxTarget | UkiTarget | EfiTarget | MultibootTarget | UkiUrlTarget;

export interface BootCounter {
  readonly triesLeft: number;
  readonly triesDone: number;
  /** Digit widths in the filename, kept on rename (`+04-00` → `+03-01`). 0 = absent '-DONE'. */
  readonly widthLeft: number;
  readonly widthDone: number;
  /** The filename as found on disk (with the counter). */
  readonly fileName: string;
}

export interface BootEntry {
  /**
   * Stable id. BLS: lower-cased file name with the counter removed, '.conf' kept. UKI:
   * 'name.efi' or 'name.efi@PROFILE'. grub: '<fsId>/<file>#<path of titles>'. Unique in a list.
   */
  readonly id: string;
  /** BLS: id without the '@profile' part (sorting step 4). */
  readonly idWithoutProfile?: string;
  readonly title: string;
  /** After collision disambiguation (docs/bls.md §6); what the menu shows. */
  readonly displayTitle: string;
  readonly version?: string;
  readonly sortKey?: string;
  readonly machineId?: string;
  readonly architecture?: string;
  readonly origin: Origin;
  readonly target: BootTarget;
  readonly bootCounter?: BootCounter;
  /** grub hiddenentry, or an entry shown only on request. */
  readonly hidden?: boolean;
  /** grub submenu path ('Advanced options for Debian'), for grouping. */
  readonly group?: string;
  /** False when something it needs is missing; `diagnostics` says why. */
  readonly bootable: boolean;
  readonly diagnostics: Diagnostic[];
}

export type TimeoutSetting =
  | { readonly kind: 'seconds'; readonly seconds: number }
  | { readonly kind: 'menu-force' }
  | { readonly kind: 'menu-hidden' }
  | { readonly kind: 'menu-disabled' };

export interface MenuSettings {
  readonly timeout: TimeoutSetting;
  /** Where the timeout came from: 'loader.conf', 'grub.cfg', 'sprout.toml', 'default', 'cli'. */
  readonly timeoutSource: string;
  readonly editor: boolean;
  /** Id of the default entry, if any entry exists. */
  readonly defaultId?: string;
  /** Which rule chose the default (logged and shown). */
  readonly defaultReason: string;
}

export interface DiscoveryResult {
  readonly devices: DeviceReport[];
  /** In menu order. */
  readonly entries: BootEntry[];
  readonly settings: MenuSettings;
  /** Problems not tied to one device (config sources, sorting, defaults). */
  readonly diagnostics: Diagnostic[];
}
