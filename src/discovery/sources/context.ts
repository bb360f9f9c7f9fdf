// What every entry source (BLS, UKI, grub, syslinux, sprout) gets: the discovered
// filesystems with a reader each, the platform, and a sink for diagnostics. Sources return
// entries unsorted; discovery merges, sorts and disambiguates them once.

import type { Diagnostic } from '../diagnostics';
import type { FileSystem } from '../fs/types';
import type { BootEntry, FsId, FsReport, TimeoutSetting } from '../model';

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

/** Settings a source may propose; discovery decides which wins (loader.conf, grub, sprout). */
export interface ProposedSettings {
  readonly timeout?: TimeoutSetting;
  /** A default chosen by this source's own rules, as an entry id of an entry it returned. */
  readonly defaultId?: string;
  /** loader.conf-style glob matched against ids in sorted order. */
  readonly defaultGlob?: string;
  readonly editor?: boolean;
  /** Human-readable origin: 'vda:1 /loader/loader.conf'. */
  readonly from: string;
}

export interface SourceResult {
  readonly entries: BootEntry[];
  readonly settings?: ProposedSettings;
  readonly diagnostics: Diagnostic[];
}

export type EntrySourceFn = (ctx: SourceContext) => Promise<SourceResult>;
