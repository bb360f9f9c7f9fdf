// The platform we tell grub.cfg it runs on (docs/grub-syslinux.md §A4), and the sandbox limits.
//
// | variable                      | value  | why                                                    |
// |-------------------------------|--------|--------------------------------------------------------|
// | grub_platform                 | efi    | tendril replaces UEFI firmware: pick linux/linuxefi and |
// |                               |        | EFI-only entries (chainloader .efi → VM path)          |
// | grub_cpu                      | x86_64 | the arch tendril boots (aa64 → arm64 when ctx says so) |
// | feature_menuentry_id          | y      | configs then set menuentry_id_option=--id              |
// | feature_platform_search_hint  | y      | takes the `search --hint…` branch (hints ignored)      |
// | feature_default_font_path     | y      | skips the old font-search fallback branch              |
// | feature_all_video_module      | y      | load_video takes its one-insmod branch                 |
// | feature_timeout_style         | y      | timeout_style is honoured, not the sleep fallback      |
// | feature_200_final             | y      | grub ≥ 2.00 behaviour                                  |
// | feature_nativedisk_cmd        | y      | nativedisk exists                                      |
// | root, prefix, cmdpath         | config | the device and directory of the config being evaluated |
//
// All of them are exported, as grub's kernel and normal.mod export them.

import type { EfiArch } from '../context';

export const GRUB_FEATURES = [
  'feature_menuentry_id',
  'feature_platform_search_hint',
  'feature_default_font_path',
  'feature_all_video_module',
  'feature_timeout_style',
  'feature_200_final',
  'feature_nativedisk_cmd',
] as const;

const CPU: Record<EfiArch, string> = {
  x64: 'x86_64',
  ia32: 'i386',
  aa64: 'arm64',
  arm: 'arm',
  riscv64: 'riscv64',
  loongarch64: 'loongarch64',
};

/** Names and values of the platform variables (root/prefix/cmdpath come from the config). */
export function platformVariables(arch: EfiArch): ReadonlyArray<readonly [string, string]> {
  return [['grub_platform', 'efi'], ['grub_cpu', CPU[arch]], ...GRUB_FEATURES.map((f) => [f, 'y'] as const)];
}

/** Every platform variable name we define, for documentation and `tendril list`. */
export const PLATFORM_VARIABLE_NAMES: readonly string[] = [
  'grub_platform',
  'grub_cpu',
  ...GRUB_FEATURES,
  'root',
  'prefix',
  'cmdpath',
];

export interface GrubLimits {
  /** source/configfile/function/submenu nesting. */
  readonly maxDepth: number;
  /** Loop iterations per config (all loops together). */
  readonly maxLoopIterations: number;
  /** Bytes one expanded word may have. */
  readonly maxWordBytes: number;
  /** Bytes all expanded words of one command may have together (a command line is at most 64 KiB). */
  readonly maxCommandBytes: number;
  /** Commands executed per config (including entry bodies). */
  readonly maxSteps: number;
  /** Largest grub.cfg/sourced file read. */
  readonly maxFileBytes: number;
  /** Menu entries per config. */
  readonly maxEntries: number;
  /** Total bytes of variable values in one environment. */
  readonly maxEnvBytes: number;
  /** Diagnostics kept per config; the rest are counted in one summary. */
  readonly maxDiagnostics: number;
}

export const DEFAULT_LIMITS: GrubLimits = {
  maxDepth: 32,
  maxLoopIterations: 100_000,
  maxWordBytes: 64 * 1024,
  maxCommandBytes: 64 * 1024,
  maxSteps: 1_000_000,
  maxFileBytes: 1024 * 1024,
  maxEntries: 2000,
  maxEnvBytes: 4 * 1024 * 1024,
  maxDiagnostics: 200,
};
