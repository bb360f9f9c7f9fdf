// What every entry source (BLS, UKI, grub, syslinux, sprout) gets: the discovered
// filesystems with a reader each, the platform, and a sink for diagnostics. Sources return
// entries unsorted; discovery merges, sorts and disambiguates them once. Under live
// discovery the context also carries the memory of earlier evaluations (see
// evaluations.ts), so a new device re-runs only what it can change.

import type { Budget } from '../budget';
import type { Diagnostic } from '../diagnostics';
import type { EntryBudget } from '../entry-budget';
import type { FileSystem } from '../fs/types';
import type { FsId, FsReport, GrubOneShot, SourceEntry, TimeoutSetting } from '../model';

export interface MountedFs {
  readonly report: FsReport;
  readonly fs: FileSystem;
}

/** EFI architecture names as BLS `architecture` uses them (compared case-insensitively). */
export type EfiArch = 'x64' | 'ia32' | 'aa64' | 'arm' | 'riscv64' | 'loongarch64';

export interface SourceContext {
  /**
   * Every readable filesystem, in discovery order (disk order, then partition number).
   * Inside an evaluation of a session, reading it makes the evaluation depend on every
   * filesystem; to look for particular ones use `filesystemsFor` (evaluations.ts).
   */
  readonly filesystems: readonly MountedFs[];
  get(fsId: FsId): MountedFs | undefined;
  readonly arch: EfiArch;
  /** The URL tendril was netbooted from, for `uki-url :name` entries; absent = hide them. */
  readonly originUrl?: string;
  /** Live discovery: earlier evaluations to reuse. Absent: every evaluation runs. */
  readonly session?: EvaluationSession;
  /** Set while one evaluation of a session runs: where its lookups are recorded. */
  readonly lookups?: LookupLog;
  /**
   * Wall-clock budget of this run of the source (budget.ts): check `expired` at each step and
   * give each config a `child` share. Absent: unbounded.
   */
  readonly budget?: Budget;
  /**
   * Report a finished part of the run (the entries and diagnostics of one directory or one
   * config, or the settings) as soon as it is complete: if the run is cut off, what was
   * reported is kept. The final result must still contain everything.
   */
  readonly partial?: (part: SourceResult) => void;
  /** Say which filesystem (and file) the run is working on, for the message if it is cut off. */
  readonly progress?: (doing: { readonly fsId: FsId; readonly file?: string }) => void;
  /** Entries per disk and per run: stop reading a disk with no `left()`. */
  readonly entryBudget?: EntryBudget;
}

/**
 * A question an evaluation asked about the set of filesystems. A filesystem that arrives
 * later re-runs the evaluation only if it matches one of them, so a lookup must match
 * every filesystem the asking code could pick (matching more is allowed, never less).
 */
export type FsLookup =
  /** Enumerated all of them. */
  | { readonly kind: 'every' }
  | { readonly kind: 'fsId'; readonly fsId: FsId }
  /** Filesystem UUID, any case. */
  | { readonly kind: 'uuid'; readonly uuid: string }
  | { readonly kind: 'label'; readonly label: string }
  /** Partition UUID / GPT type GUID, any case. */
  | { readonly kind: 'partUuid'; readonly partUuid: string }
  | { readonly kind: 'partType'; readonly partType: string }
  /** Partition `partition` (0: the whole disk) of the disk at `device`. */
  | { readonly kind: 'partition'; readonly device: string; readonly partition: number }
  /** Holds `path` (a file, directory or anything else `stat` finds). */
  | { readonly kind: 'file'; readonly path: string }
  /** Matches all of `of`. */
  | { readonly kind: 'and'; readonly of: readonly FsLookup[] };

export interface LookupLog {
  /** Every filesystem, in discovery order, without recording a dependency on all of them. */
  readonly filesystems: readonly MountedFs[];
  record(lookup: FsLookup): void;
}

/** The memory live discovery keeps between evaluations (implemented in evaluations.ts). */
export interface EvaluationSession {
  /** Keep `memory` for the session; it hears of every filesystem that arrives later. */
  adopt(memory: SessionMemory): void;
  /** One evaluation ran (the counter tests and bench/discovery read). */
  counted(): void;
}

export interface SessionMemory {
  /** Drop the results that `added` could change. */
  forget(added: readonly MountedFs[]): Promise<void>;
  clear(): void;
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
  /** grub: the `next_entry` one-shot the config used; booting consumes it. */
  readonly oneShot?: GrubOneShot;
  readonly defaultGlob?: never;
  readonly autoEntries?: never;
}

export interface SourceResult {
  readonly entries: SourceEntry[];
  readonly settings?: ProposedSettings;
  readonly diagnostics: Diagnostic[];
}

export type EntrySourceFn = (ctx: SourceContext) => Promise<SourceResult>;
