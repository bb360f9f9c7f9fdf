// The discovery model: devices → partitions → filesystems → boot entries. Plain data
// (JSON-serialisable) so it crosses worker threads and becomes `tendril list --json`.

import type { Diagnostic } from './diagnostics';
import type { ErrnoName } from '../util/errno';

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

/** 'esp': the automatic entries for the EFI programs on an ESP (sources/esp.ts). */
/** 'pxelinux', 'ipxe', 'net': network entries (src/net/entries.ts; docs/net-bootfiles.md §5). */
export type EntrySource = 'bls' | 'uki' | 'grub' | 'syslinux' | 'sprout' | 'esp' | 'pxelinux' | 'ipxe' | 'net';

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

/** The origin of an entry that `source` found in `file` (at `line`) on the filesystem `fs`. */
export function originOf(source: EntrySource, fs: FsReport, file: string, line?: number): Origin {
  return {
    source,
    fsId: fs.fsId,
    device: fs.device,
    partition: fs.partition,
    ...(fs.partUuid !== undefined ? { partUuid: fs.partUuid } : {}),
    ...(fs.probe?.uuid !== undefined ? { fsUuid: fs.probe.uuid } : {}),
    file,
    ...(line !== undefined ? { line } : {}),
  };
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

/** A Type #1 `uki-url` entry (docs/net-bootfiles.md §8): a UKI fetched from `url` when planned. */
export interface UkiUrlTarget {
  readonly kind: 'uki-url';
  /** Absolute; a `:name` value already resolved against the boot origin. */
  readonly url: string;
  readonly profile?: number;
  /** The entry's options: they replace the UKI's .cmdline, as for `uki`. */
  readonly cmdlineOverride?: string;
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

/**
 * Whether an entry can boot, and with what.
 *
 * - `ok: true`: `target` is what booting the entry loads; every file in it was found.
 * - `ok: false`: the entry cannot boot, and `reason` says why in one line (its diagnostics
 *   have the details, with file and line). `declared` is the target the entry's config
 *   names, present only when the config named a complete one: a kind tendril knows and
 *   every file located on a discovered filesystem, even if the file is not there (a BLS
 *   entry whose initrd is missing still names its kernel and that initrd; a multiboot entry
 *   that kexec cannot load yet names its kernel and modules). It is shown, never booted.
 *   An entry whose config names no complete target (LOCALBOOT, a COM32 module, grub's
 *   `chainloader +1`, a sprout entry without a boot action, a file on a device that is not
 *   there) has no `declared`: never a stand-in.
 */
export type EntryStatus =
  | { readonly ok: true; readonly target: BootTarget }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly declared?: BootTarget;
      /**
       * The errno of the file lookup behind `reason`, when it was one (ENOENT, ELOOP, EACCES for
       * a path or symlink out of the filesystem, EIO, ...): `boot` reports it (docs/kexec.md §4.1).
       */
      readonly errno?: ErrnoName;
    };

/** Can this entry boot? The one place `bootable` is derived (menu marks, default, kexec, JSON). */
export function isBootable(e: { readonly status: EntryStatus }): boolean {
  return e.status.ok;
}

/**
 * How a source states an entry's status: `reason` is the first problem it found (none: the
 * entry boots), `target` what the config names, undefined when it names no complete target,
 * `errno` the lookup error behind `reason` when there was one.
 */
export function statusOf(target: BootTarget | undefined, reason: string | undefined, errno?: ErrnoName): EntryStatus {
  if (reason === undefined && target) return { ok: true, target };
  return {
    ok: false,
    reason: reason ?? 'its config names nothing to boot',
    ...(target ? { declared: target } : {}),
    ...(reason !== undefined && errno !== undefined ? { errno } : {}),
  };
}

/** What the entry's config names: the target of a bootable entry, the declared one of a broken entry. */
export function namedTarget(s: EntryStatus): BootTarget | undefined {
  return s.ok ? s.target : s.declared;
}

/**
 * An entry as a source found it. Sources make these and nothing else. The fields decided
 * over all sources at once (final id, display title, position, default) are not here, so a
 * source cannot fill them in (an entry literal naming one does not type-check): they are
 * MenuEntry's, set by finalizeEntries alone.
 */
export interface SourceEntry {
  /**
   * The id its source gives it, unique among that source's entries. BLS: lower-cased file
   * name with the counter removed, '.conf' kept. UKI: 'name.efi' or 'name.efi@PROFILE'. grub:
   * 'grub:<fsId>:<cfg>:<id or title path>'. syslinux: 'syslinux:<fsId>:<cfg>:<label>'.
   * sprout: 'sprout:<fsId>:<name>'. Another source may give the same id (a grub blscfg entry).
   */
  readonly sourceId: string;
  /** BLS: id without the '@profile' part (sorting step 4). */
  readonly idWithoutProfile?: string;
  readonly title: string;
  readonly version?: string;
  readonly sortKey?: string;
  readonly machineId?: string;
  readonly architecture?: string;
  readonly origin: Origin;
  /** What booting it loads, or why it cannot boot. */
  readonly status: EntryStatus;
  readonly bootCounter?: BootCounter;
  /** grub hiddenentry, or an entry shown only on request. */
  readonly hidden?: boolean;
  /** grub submenu path ('Advanced options for Debian'), for grouping. */
  readonly group?: string;
  /** Everything found while building it (infos too), each naming its file and line. */
  readonly diagnostics: Diagnostic[];
}

/** An entry in the menu: a source entry placed among all the others by finalizeEntries. */
export interface MenuEntry extends SourceEntry {
  /**
   * Unique in the menu: the source's id, or for a later entry with an id already taken,
   * '<id>@<fsId>' (then '#2', '#3', ...). What `boot --entry` takes and `defaultId` names.
   */
  readonly id: string;
  /** The title after collision disambiguation (docs/bls.md §6); what the menu shows. */
  readonly displayTitle: string;
  /** 0-based position in menu order. */
  readonly index: number;
  /** The entry chosen as the default (MenuSettings.defaultId). */
  readonly default: boolean;
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

/** A grubenv `next_entry` (grub-reboot) that discovery honoured: booting consumes it once. */
export interface GrubOneShot {
  readonly fsId: FsId;
  /** The grubenv file. */
  readonly path: string;
  readonly variable: 'next_entry';
  /** The value that was used. */
  readonly value: string;
  /** What the config's own `save_env next_entry` writes back (grub's 00_header: empty). */
  readonly writeBack: string;
}

/** tendril's state file on an ESP (src/state/statefile.ts; docs/state.md §3). */
export interface SavedState {
  /** Where it is, or would be created. */
  readonly file: FileRef;
  readonly exists: boolean;
  /** `d` in the menu / `tendril boot --default`. */
  readonly defaultId?: string;
  /** `tendril boot --next`: used once. */
  readonly oneShotId?: string;
  /** The last entry booted (kept when loader.conf says `default @saved`). */
  readonly lastId?: string;
  /** loader.conf `default @saved`: every boot records the entry it booted. */
  readonly recordLast: boolean;
}

export interface DiscoveryResult {
  readonly devices: DeviceReport[];
  /** In menu order. */
  readonly entries: MenuEntry[];
  readonly settings: MenuSettings;
  /** Problems not tied to one device (config sources, sorting, defaults). */
  readonly diagnostics: Diagnostic[];
  /** grub one-shots to consume when booting (src/state/plan.ts). */
  readonly grubOneShots?: readonly GrubOneShot[];
  /** tendril's own saved defaults; absent when no ESP was found. */
  readonly savedState?: SavedState;
}
