// `tendril boot --entry ID | --default [options]` (BOOT_COMMAND lists them).
// Discovers entries, builds the plan, prints it (--dry-run) or loads and executes it. A
// failed load is reported with its hint and, for --default, the next bootable entry in menu
// order is tried; the process keeps running, so the menu can call bootEntry() too.

import * as fs from 'node:fs';
import { DISCOVERY_OPTIONS } from '../discovery/commands';
import { discover } from '../discovery/discover';
import { isBootable, type MenuEntry, type MenuSettings } from '../discovery/model';
import { type ConsolePolicy, consolesFromProcCmdline } from './cmdline';
import { KexecError, formatFailure } from './errors';
import { execLoaded, loadPlan } from './load';
import { type FsLookup, type PlanOptions, describePlan, planBoot } from './plan';
import { streamProgress } from './progress';
import { stage } from './stages';
import { ArgError, choice, commandArgs, type CommandSpec, flag, num, text } from '../util/args';
import { printable } from '../util/printable';

export interface BootArgs {
  readonly entry?: string;
  readonly useDefault: boolean;
  readonly dryRun: boolean;
  readonly disks: string[];
  readonly roots: string[];
  readonly append?: string;
  readonly cmdline?: string;
  readonly timeout?: number;
  readonly consolePolicy?: ConsolePolicy;
  readonly fallback: boolean;
  /** Per-device discovery deadline in ms. */
  readonly deadlineMs?: number;
}

export const BOOT_DEVICE_DEADLINE_MS = 30_000;

const BOOT_OPTIONS = {
  entry: text({ metavar: 'ID', help: "boot this entry (an id from 'tendril list')" }),
  default: flag({ help: 'boot the default entry; a load failure falls through to the next bootable one' }),
  dryRun: flag({ help: 'print the plan (files, sizes, sha256, command line, syscall) instead of booting' }),
  disk: DISCOVERY_OPTIONS.disk,
  root: DISCOVERY_OPTIONS.root,
  append: text({ metavar: 'ARGS', repeat: true, empty: true, help: "add to the entry's command line" }),
  cmdline: text({ metavar: 'FULL', empty: true, help: "replace the entry's command line" }),
  timeout: DISCOVERY_OPTIONS.timeout,
  consolePolicy: choice({
    values: ['add-if-missing', 'replace', 'keep'],
    help: "how tendril's own console= reaches the command line",
  }),
  deviceDeadline: num({
    metavar: 'MS',
    integer: true,
    min: 100,
    max: 600_000,
    unit: 'ms',
    help: `per-device discovery deadline (default ${BOOT_DEVICE_DEADLINE_MS})`,
  }),
  noFallback: flag({ help: 'with --default, stop after the first failure' }),
};

export const BOOT_COMMAND: CommandSpec<typeof BOOT_OPTIONS, BootArgs> = {
  name: 'boot',
  synopsis:
    '(--entry ID | --default) [--dry-run] [--disk FILE]... [--root DIR]... [--append ARGS]... [--cmdline FULL] [--timeout S] [--console-policy add-if-missing|replace|keep] [--device-deadline MS] [--no-fallback]',
  summary: 'Boot an entry without the menu.',
  options: BOOT_OPTIONS,
  build: ({ opts: o }) => {
    if ((o.entry === undefined) === !o.default) throw new ArgError('give exactly one of --entry ID or --default');
    return {
      ...(o.entry !== undefined ? { entry: o.entry } : {}),
      useDefault: o.default,
      dryRun: o.dryRun,
      disks: o.disk,
      roots: o.root,
      ...(o.append.length ? { append: o.append.join(' ') } : {}),
      ...(o.cmdline !== undefined ? { cmdline: o.cmdline } : {}),
      ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
      ...(o.consolePolicy !== undefined ? { consolePolicy: o.consolePolicy } : {}),
      fallback: o.default && !o.noFallback,
      ...(o.deviceDeadline !== undefined ? { deadlineMs: o.deviceDeadline } : {}),
    };
  },
};

/** Candidates in the order they are tried: the chosen one, then (fallback) the other bootable
 *  entries in menu order, those after it first. */
export function candidates(entries: readonly MenuEntry[], first: string, fallback: boolean): MenuEntry[] | string {
  const i = entries.findIndex((e) => e.id === first);
  if (i < 0) return `no entry with id '${first}' (known: ${entries.map((e) => e.id).join(', ') || 'none'})`;
  const chosen = entries[i]!;
  if (!fallback) return [chosen];
  const rest = [...entries.slice(i + 1), ...entries.slice(0, i)].filter((e) => isBootable(e) && !e.hidden);
  return [chosen, ...rest];
}

export function timeoutSeconds(settings: MenuSettings, override?: number): number {
  if (override !== undefined) return override;
  return settings.timeout.kind === 'seconds' ? settings.timeout.seconds : 0;
}

export interface BootIo {
  readonly out: { write(s: string): unknown; isTTY?: boolean };
  readonly err: { write(s: string): unknown; isTTY?: boolean };
  readonly sleep: (ms: number) => Promise<void>;
}

const defaultIo: BootIo = {
  out: process.stdout,
  err: process.stderr,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

function ownConsoles(): string[] {
  try {
    return consolesFromProcCmdline(fs.readFileSync('/proc/cmdline', 'utf8'));
  } catch {
    return [];
  }
}

/**
 * Plan (and unless dry-run, load and execute) the candidates in order. Returns the exit code;
 * on a successful real boot it does not return. The menu calls this with one candidate.
 */
export async function bootEntries(
  list: readonly MenuEntry[],
  lookup: FsLookup,
  opts: PlanOptions & { readonly dryRun: boolean },
  io: BootIo = defaultIo,
): Promise<number> {
  for (const [n, entry] of list.entries()) {
    if (n > 0) io.err.write(`tendril: trying next entry '${printable(entry.id)}'\n`);
    try {
      // A broken entry is refused here, with its reason.
      const plan = await planBoot(entry, lookup, opts);
      if (opts.dryRun) {
        // Hashing a large file takes a while: its progress goes to stderr, the plan to stdout.
        io.out.write(await describePlan(plan, lookup, { progress: streamProgress(io.err) }));
        return 0;
      }
      io.err.write(
        `tendril: loading '${printable(entry.displayTitle)}' (${printable(plan.kernel.label)}) with ${plan.syscall}\n`,
      );
      for (const w of plan.warnings) io.err.write(`tendril: warning: ${printable(w)}\n`);
      const r = await loadPlan(plan, lookup, streamProgress(io.err));
      io.err.write(
        `tendril: loaded kernel ${r.kernelSize} + initrd ${r.initrdSize} bytes via ${r.backing} in ${r.elapsedMs} ms; cmdline: ${printable(plan.cmdline)}\n`,
      );
      stage('kexec');
      execLoaded((s) => io.err.write(`tendril: ${printable(s)}\n`));
    } catch (e) {
      if (e instanceof KexecError) {
        io.err.write(`tendril: entry '${printable(entry.id)}': ${formatFailure(e.failure)}\n`);
        continue;
      }
      io.err.write(
        `tendril: entry '${printable(entry.id)}': ${printable(e instanceof Error ? e.message : String(e))}\n`,
      );
    }
  }
  io.err.write('tendril: no entry could be booted\n');
  return 1;
}

export async function runBootCommand(argv: string[], io: BootIo = defaultIo): Promise<number> {
  const parsed = commandArgs(BOOT_COMMAND, argv, io);
  if ('exit' in parsed) return parsed.exit;
  const args = parsed.args;
  stage('tendril');
  // Booting is not interactive: a slow disk (USB, TCG) is better waited for than skipped.
  const session = await discover({
    deadlineMs: args.deadlineMs ?? BOOT_DEVICE_DEADLINE_MS,
    onDevice: (r) => stage(`device:${r.device.name}`),
    ...(args.disks.length ? { disks: args.disks } : {}),
    ...(args.roots.length ? { roots: args.roots } : {}),
  });
  try {
    stage('entries');
    const { entries, settings } = session.result;
    const first = args.entry ?? settings.defaultId;
    if (!first) {
      io.err.write(
        `tendril boot: no default entry (${printable(settings.defaultReason)}); ${entries.length} entries found\n`,
      );
      return 1;
    }
    const list = candidates(entries, first, args.fallback);
    if (typeof list === 'string') {
      io.err.write(`tendril boot: ${printable(list)}\n`);
      return 1;
    }
    const wait = args.dryRun ? 0 : timeoutSeconds(settings, args.timeout);
    for (let s = Math.ceil(wait); s > 0; s--) {
      io.err.write(`tendril: booting '${printable(list[0]!.displayTitle)}' in ${s} s\n`);
      await io.sleep(Math.min(1000, (wait - s + 1) * 1000));
    }
    return await bootEntries(
      list,
      (id) => session.fs(id),
      {
        dryRun: args.dryRun,
        ownConsoles: ownConsoles(),
        ...(args.append !== undefined ? { append: args.append } : {}),
        ...(args.cmdline !== undefined ? { replace: args.cmdline } : {}),
        ...(args.consolePolicy ? { consolePolicy: args.consolePolicy } : {}),
      },
      io,
    );
  } finally {
    await session.close();
  }
}
