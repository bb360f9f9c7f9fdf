// What every entry source (BLS, UKI, grub, syslinux, sprout) gets: the discovered
// filesystems with a reader each, the platform, and a sink for diagnostics. Sources return
// entries unsorted; discovery merges, sorts and disambiguates them once.

import type { Diagnostic } from '../diagnostics';
import type { FileSystem } from '../fs/types';
import type { FsId, FsReport, SourceEntry, TimeoutSetting } from '../model';

export interface MountedFs {
  readonly report: FsReport;
  readonly fs: FileSystem;
}

/** EFI architecture names as BLS `architecture` uses them (compared case-insensitively). */
export type EfiArch = 'x64' | 'ia32' | 'aa64' | 'arm' | 'riscv64' | 'loongarch64';

export interface SourceContext {
  /** Every readable filesystem, in discovery order (disk order, then partition number). */
  readonly filesystems: readonly MountedFs[];
  get(fsId: FsId): MountedFs | undefined;
  readonly arch: EfiArch;
  /** The URL tendril was netbooted from, for `uki-url :name` entries; absent = hide them. */
  readonly originUrl?: string;
}

/**
 * Settings a source may propose; discovery decides which wins (finalizeEntries: loader.conf
 * first, then the other configs in filesystem order). loader.conf speaks sd-boot's language
 * (a glob for the default, editor, auto-entries); the other configs (grub.cfg, syslinux,
 * sprout) name their own default entry. A field one kind never has is typed `never` there, so
 * reading it on either kind is undefined rather than an error.
 */
export type ProposedSettings = LoaderConfSettings | MenuConfigSettings;

interface SettingsBase {
  readonly timeout?: TimeoutSetting;
  /** May the command line be edited (loader.conf `editor`). */
  readonly editor?: boolean;
  /** Human-readable origin: 'vda:1 /loader/loader.conf'. */
  readonly from: string;
}

export interface LoaderConfSettings extends SettingsBase {
  readonly kind: 'loader.conf';
  /** loader.conf-style glob matched against ids in sorted order. */
  readonly defaultGlob?: string;
  /** `auto-entries no` hides tendril's auto-detected entries. */
  readonly autoEntries?: boolean;
  readonly defaultId?: never;
}

export interface MenuConfigSettings extends SettingsBase {
  readonly kind: 'menu-config';
  /** A default chosen by this source's own rules, as an entry id of an entry it returned. */
  readonly defaultId?: string;
  readonly defaultGlob?: never;
  readonly autoEntries?: never;
}

export interface SourceResult {
  readonly entries: SourceEntry[];
  readonly settings?: ProposedSettings;
  readonly diagnostics: Diagnostic[];
}

export type EntrySourceFn = (ctx: SourceContext) => Promise<SourceResult>;
