// The final kernel command line (docs/kexec.md §3): entry options, then the user's
// edits, then policy. One string is built here and nowhere else.

import * as fs from 'node:fs';

/** How `console=` is decided: keep the entry's and add ours only when it has none (default);
 *  'replace' drops the entry's and uses ours (u-root); 'keep' never adds. */
export type ConsolePolicy = 'add-if-missing' | 'replace' | 'keep';

export interface CmdlineInput {
  /** The entry's own options (BLS options joined, grub linux args, UKI .cmdline...). */
  readonly entryOptions: string;
  /** Replaces the entry's options (the editor's full line, `--cmdline`). */
  readonly replace?: string;
  /** Appended after the entry's (or replaced) options (`--append`). */
  readonly append?: string;
  /** Policy additions appended last (boot-count key, ip=, BOOTIF=). */
  readonly policy?: readonly string[];
  /** console= values tendril's own kernel uses (from /proc/cmdline), in order. */
  readonly ownConsoles?: readonly string[];
  readonly consolePolicy?: ConsolePolicy;
}

export interface CmdlineResult {
  readonly cmdline: string;
  /** Tokens removed because only a boot loader / EFI stub uses them. */
  readonly stripped: readonly string[];
  /** What happened to console=, for the UI and the dry-run plan. */
  readonly consoleDecision: string;
}

/** Hard cap independent of the target's cmdline_size (the kernel's COMMAND_LINE_SIZE max). */
export const MAX_CMDLINE = 1 << 16;

/**
 * Split like the kernel's next_arg(): whitespace separates, double quotes group (and stay in
 * the token, since the target kernel parses them again).
 */
export function tokenize(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let has = false;
  for (const ch of s) {
    if (ch === '"') {
      quoted = !quoted;
      cur += ch;
      has = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

function keyOf(tok: string): string {
  const i = tok.indexOf('=');
  return (i < 0 ? tok : tok.slice(0, i)).replace(/^"/, '');
}

const isConsole = (t: string): boolean => keyOf(t) === 'console';
const isLoaderOnly = (t: string): boolean => keyOf(t) === 'initrd' || keyOf(t) === 'BOOT_IMAGE';

/** console= values (without the key) from a running kernel's /proc/cmdline text. */
export function consolesFromProcCmdline(text: string): string[] {
  return tokenize(text)
    .filter(isConsole)
    .map((t) => t.slice('console='.length))
    .filter((v) => v.length > 0);
}

/** The console= arguments tendril's own kernel got (what a kexec'd kernel inherits by default). */
export function ownConsoles(): string[] {
  try {
    return consolesFromProcCmdline(fs.readFileSync('/proc/cmdline', 'utf8'));
  } catch {
    return [];
  }
}

export function buildCmdline(inp: CmdlineInput): CmdlineResult {
  let base = inp.replace ?? inp.entryOptions;
  // The UKI profile selector "@N " only means something to systemd-stub.
  const stripped: string[] = [];
  const prof = /^\s*@\d+(\s+|$)/.exec(base);
  if (prof) {
    stripped.push(prof[0].trim());
    base = base.slice(prof[0].length);
  }
  let toks = tokenize(base);
  if (inp.append) toks.push(...tokenize(inp.append));
  toks = toks.filter((t) => {
    if (isLoaderOnly(t)) {
      stripped.push(t);
      return false;
    }
    return true;
  });
  const policy = inp.consolePolicy ?? 'add-if-missing';
  const own = (inp.ownConsoles ?? []).map((c) => `console=${c}`);
  const entryHas = toks.some(isConsole);
  let consoleDecision: string;
  if (policy === 'keep') {
    consoleDecision = entryHas ? "kept the entry's console=" : 'no console= (policy keep)';
  } else if (policy === 'replace') {
    const dropped = toks.filter(isConsole);
    toks = toks.filter((t) => !isConsole(t)).concat(own);
    consoleDecision = `replaced ${dropped.length ? dropped.join(' ') : 'nothing'} with ${own.length ? own.join(' ') : 'nothing'}`;
  } else if (entryHas) {
    consoleDecision = "kept the entry's console=";
  } else if (own.length) {
    toks.push(...own);
    consoleDecision = `added ${own.join(' ')} (entry has none)`;
  } else {
    consoleDecision = 'entry has no console= and tendril has none to add';
  }
  for (const p of inp.policy ?? []) toks.push(...tokenize(p));
  return { cmdline: toks.join(' '), stripped, consoleDecision };
}

/** Length check against the target kernel's cmdline_size (excluding the NUL). */
export function checkCmdlineLength(cmdline: string, limit: number): string | undefined {
  const len = Buffer.byteLength(cmdline, 'utf8');
  if (len > Math.min(limit, MAX_CMDLINE)) {
    return `command line is ${len} bytes, the target kernel accepts at most ${limit} (setup header cmdline_size)`;
  }
  return undefined;
}
