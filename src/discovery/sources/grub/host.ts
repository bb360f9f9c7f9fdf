// What a grub command may ask of the interpreter running it. The builtins depend on this
// interface, never on the interpreter class: budgets, limits and the diagnostic cap stay
// inside the interpreter, behind methods.

import type { Severity } from '../../diagnostics';
import type { FileStat, FileSystem, FsError } from '../../fs/types';
import type { SourceContext } from '../context';
import type { DeviceHook } from './devices';
import type { GrubLimits } from './platform';
import type { Exec, FsLoc, MenuDef, Resolved, SourceFile } from './state';

/** Opens an image file found on `fs` as a filesystem (ISO 9660, for `loopback`). */
export type ImageOpener = (fs: FileSystem, path: string) => Promise<FileSystem>;

/** A `save_env` the config asked for (never performed here). */
export interface SaveEnvIntent {
  readonly fsId: string;
  readonly path: string;
  readonly values: ReadonlyMap<string, string>;
  /** The config file and line that asked. */
  readonly file: string;
  readonly line: number;
}

/** The grubenv file a variable was loaded from by `load_env`. */
export interface EnvOrigin {
  readonly fsId: string;
  readonly path: string;
  readonly value: string;
}

export interface GrubHost {
  readonly ctx: SourceContext;
  readonly limits: GrubLimits;
  /** Absent: `loopback` devices stay unopened and entries booting from them are not bootable. */
  readonly openImage: ImageOpener | undefined;
  /** Device names beyond the discovered disks (GrubOptions.devices). */
  readonly devices: DeviceHook | undefined;

  /**
   * The one way a diagnostic is kept: on the running entry (capped per entry) or on the
   * config (capped at `limits.maxDiagnostics`, the rest counted in one summary line).
   */
  report(x: Exec | null, severity: Severity, message: string, line?: number, file?: SourceFile): void;
  /** Count one menu entry; past `limits.maxEntries` the limit is reported, the command aborted and false returned. */
  countEntry(x: Exec, line: number): boolean;

  getVar(x: Exec, name: string): string;
  /** False when a size limit refused the value (reported, command aborted). */
  setVar(x: Exec, name: string, value: string, line: number): boolean;

  resolve(x: Exec, spec: string): Resolved;
  statFile(loc: FsLoc, path: string): Promise<FileStat | FsError>;
  readBytes(loc: FsLoc, path: string, max: number): Promise<Uint8Array>;

  evalString(x: Exec, text: string, line: number): Promise<number>;
  source(x: Exec, file: SourceFile, line: number): Promise<number>;
  configfile(x: Exec, file: SourceFile, line: number): Promise<number>;

  /** Add an entry or submenu to the running entry (it becomes a group) or to the menu. */
  addDef(x: Exec, def: MenuDef): void;
  recordEnvOrigin(name: string, origin: EnvOrigin): void;
  recordSaveEnv(intent: SaveEnvIntent): void;
}

/** A grub command. `soft`: not a grub command; a user function of that name wins. */
export interface Builtin {
  readonly soft?: boolean;
  run(host: GrubHost, x: Exec, argv: readonly string[], line: number): Promise<number> | number;
}
