// Discovery's budgets above single parsers: how much one disk, one file, one config or one
// run may cost, so a hostile but valid disk can neither exhaust memory nor hold the menu.
// README.md "Limits" lists them with what happens past each; parsers keep their own limits
// next to their code (grub: sources/grub/platform.ts, sprout: sources/sprout/stamp.ts).

/** Diagnostics kept per file (per source and per entry); the rest are summed up in one line. */
export const MAX_DIAGNOSTICS_PER_FILE = 200;

/** Characters of one diagnostic's message; longer ones (a 60,000-character path) are cut. */
export const MAX_MESSAGE_CHARS = 1024;

/** Entries one disk may contribute (all sources together); later ones are dropped. */
export const MAX_ENTRIES_PER_DISK = 4096;

/** Entries one discovery keeps over all disks. */
export const MAX_ENTRIES_PER_RUN = 16_384;

/** Bytes of entry text (titles, ids, command lines, paths) one disk may contribute. */
export const MAX_ENTRY_BYTES_PER_DISK = 16 * 1024 * 1024;

/** Bytes of entry text one discovery keeps over all disks. */
export const MAX_ENTRY_BYTES_PER_RUN = 64 * 1024 * 1024;

/**
 * Bytes the grub variables of one BLS snippet may expand to, all its lines together: the
 * boot path refuses a command line over 64 KiB anyway (docs/kexec.md §3).
 */
export const MAX_EXPANSION_BYTES = 64 * 1024;

/** Bytes all BLS snippets of one disk (one run of the BLS source) may expand to together. */
export const MAX_EXPANSION_BYTES_PER_DISK = 4 * 1024 * 1024;

/** initrd and devicetree files one BLS entry may name (each is looked up). */
export const MAX_FILES_PER_ENTRY = 256;

/** Per-device deadline of the scan (`--deadline`); also each cross-disk source's budget. */
export const DEFAULT_DEADLINE_MS = 30_000;

/** Wall-clock time one config (a grub.cfg, a syslinux config, a sprout.toml) may evaluate. */
export const CONFIG_BUDGET_MS = 10_000;
