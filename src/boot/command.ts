// `tendril boot --entry ID | --default [options]` (BOOT_COMMAND lists them).
// Discovers entries, plans the boot through the dispatch (plan.ts: kexec, a VM for efi entries,
// or unavailable with the reason), prints the plan (--dry-run) or executes it. A failed load,
// a VM that cannot run here or a VM that fails to start the loader is reported and, for
// --default, the next bootable entry in menu order is tried.

import { lazyUkiUrlFiles } from '../net/uki-url';
import { DISCOVERY_OPTIONS } from '../discovery/commands';
import { discover } from '../discovery/discover';
import { isBootable, type MenuEntry, type MenuSettings } from '../discovery/model';
import { type ConsolePolicy, ownConsoles } from '../kexec/cmdline';
import { KexecError, formatFailure } from '../kexec/errors';
import { streamProgress } from '../kexec/progress';
import { stage } from '../kexec/stages';
import { ArgError, choice, commandArgs, type CommandSpec, flag, num, text } from '../util/args';
import { printable } from '../util/printable';
import { VM_OPTIONS } from '../vm/command';
import { execute } from './execute';
import { describeMeasurements } from '../tpm/boot';
import { hookFactory, type TpmBoot, tpmFromSettings } from '../tpm/setup';
import { type TrustBoot, trustFromSettings } from '../trust/setup';
import { DRY_RUN_HASH_LIMIT } from '../kexec/plan';
import { printableLines } from '../util/printable';
import { describe, plan, type PlanContext, type VmChoices } from './plan';
import { vmChoicesFrom } from './vm-plan';
import { loadSettings } from '../settings/load';
import { type Handover, hostHandover } from './handover';
import { bootWrites, describeBootWrites, saveChoice } from '../state/boot';
import { prefetchOption } from '../net/pull-prefetch';

export interface BootArgs {
  readonly entry?: string;
  readonly useDefault: boolean;
  /** `--next ID` / `--set-default ID|none`: save a choice in the state file and exit (src/state/). */
  readonly save?: { readonly key: 'oneshot' | 'default'; readonly id: string | null };
  /** `--no-write`: no boot counting, no one-shot consumed, no state saved. */
  readonly noWrite: boolean;
  /** `--force`: kexec at once even on a running system (no `systemctl kexec`). */
  readonly force: boolean;
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
  /** For efi entries (the VM path). */
  readonly vm: VmChoices;
}

export const BOOT_DEVICE_DEADLINE_MS = 30_000;

const BOOT_OPTIONS = {
  entry: text({ metavar: 'ID', help: "boot this entry (an id from 'tendril list')" }),
  default: flag({ help: 'boot the default entry; a load failure falls through to the next bootable one' }),
  dryRun: flag({ help: 'print the plan (files, sizes, sha256, command line, syscall) instead of booting' }),
  next: text({
    metavar: 'ID',
    help: 'boot this entry the next time tendril starts, once (saved on the ESP); no boot now',
  }),
  setDefault: text({
    metavar: 'ID|none',
    help: "make this entry the default (as the menu's d key; 'none' clears it), saved on the ESP; no boot now",
  }),
  noWrite: flag({ help: 'write nothing to any disk: no boot counting, no one-shot consumed, no saved state' }),
  force: flag({ help: 'on a running system, kexec at once instead of handing over to systemctl kexec' }),
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
  // The VM path (efi entries): src/boot/vm-plan.ts.
  firmware: VM_OPTIONS.firmware,
  secureBoot: VM_OPTIONS.secureBoot,
  vars: VM_OPTIONS.vars,
  cpus: VM_OPTIONS.cpus,
  memory: VM_OPTIONS.memory,
  diskInterface: choice({
    values: ['auto', 'virtio', 'nvme', 'ahci'],
    help: "efi entries: the controller the VM puts the loader's disk on (default auto: NVMe for a host NVMe disk, AHCI for Windows Boot Manager on a host SATA disk, NVMe for Windows Boot Manager elsewhere, else virtio-blk)",
  }),
  writeThrough: flag({
    help: "efi entries: the VM writes through to the disk holding the loader (default: read-only, the guest's writes go to an in-memory overlay)",
  }),
};

export const BOOT_COMMAND: CommandSpec<typeof BOOT_OPTIONS, BootArgs> = {
  name: 'boot',
  synopsis:
    '(--entry ID | --default | --next ID | --set-default ID|none) [--dry-run] [--no-write] [--force] [--disk FILE]... [--root DIR]... [--append ARGS]... [--cmdline FULL] [--timeout S] [--console-policy add-if-missing|replace|keep] [--device-deadline MS] [--no-fallback] [--firmware FILE] [--secure-boot] [--vars FILE] [--cpus N] [--memory SIZE] [--disk-interface auto|virtio|nvme|ahci] [--write-through]',
  summary: 'Boot an entry without the menu: kexec, or for efi entries a KVM virtual machine running UEFI firmware.',
  options: BOOT_OPTIONS,
  build: ({ opts: o }) => {
    const modes = [o.entry !== undefined, o.default, o.next !== undefined, o.setDefault !== undefined];
    if (modes.filter(Boolean).length !== 1)
      throw new ArgError('give exactly one of --entry ID, --default, --next ID or --set-default ID|none');
    const save =
      o.next !== undefined
        ? { key: 'oneshot' as const, id: o.next }
        : o.setDefault !== undefined
          ? { key: 'default' as const, id: o.setDefault === 'none' ? null : o.setDefault }
          : undefined;
    return {
      ...(o.entry !== undefined ? { entry: o.entry } : {}),
      useDefault: o.default,
      ...(save ? { save } : {}),
      noWrite: o.noWrite,
      force: o.force,
      dryRun: o.dryRun,
      disks: o.disk,
      roots: o.root,
      ...(o.append.length ? { append: o.append.join(' ') } : {}),
      ...(o.cmdline !== undefined ? { cmdline: o.cmdline } : {}),
      ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
      ...(o.consolePolicy !== undefined ? { consolePolicy: o.consolePolicy } : {}),
      fallback: o.default && !o.noFallback,
      ...(o.deviceDeadline !== undefined ? { deadlineMs: o.deviceDeadline } : {}),
      vm: {
        ...(o.firmware !== undefined ? { firmware: o.firmware } : {}),
        ...(o.secureBoot ? { secureBoot: true } : {}),
        ...(o.vars !== undefined ? { vars: o.vars } : {}),
        ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
        ...(o.memory !== undefined ? { ramBytes: o.memory } : {}),
        ...(o.writeThrough ? { writeThrough: true } : {}),
        ...(o.diskInterface !== undefined ? { diskInterface: o.diskInterface } : {}),
        ...(o.append.length ? { append: o.append.join(' ') } : {}),
        ...(o.cmdline !== undefined ? { replace: o.cmdline } : {}),
      },
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

/** What a boot does besides loading: its state writes and how the kernel is started. */
export interface BootExtras {
  /** After the entry's kernel is loaded, before the jump (src/state/boot.ts bootWrites). */
  readonly afterLoad?: (entry: MenuEntry) => Promise<void>;
  /** `--dry-run`: the lines saying what booting the entry would write. */
  readonly describeWrites?: (entry: MenuEntry) => string[];
  /** `--dry-run`: more lines about the planned entry (network boot: which files are verified and how). */
  readonly describeEntry?: (entry: MenuEntry) => string[];
  readonly handover?: Handover;
}

/**
 * Plan (and unless dry-run, execute) the candidates in order. Returns the exit code; a real kexec
 * does not return. A VM run returns its status (`tendril vm`'s: 0 when the guest powered off);
 * a VM that could not start the loader, like an entry that cannot boot here, falls through to
 * the next candidate.
 */
export async function bootEntries(
  list: readonly MenuEntry[],
  ctx: PlanContext,
  dryRun: boolean,
  io: BootIo = defaultIo,
  tpm?: TpmBoot,
  trust?: TrustBoot,
  extras: BootExtras = {},
): Promise<number> {
  for (const [n, entry] of list.entries()) {
    if (n > 0) io.err.write(`tendril: trying next entry '${printable(entry.id)}'\n`);
    try {
      // A broken entry is refused here (KexecError), with its reason.
      const p = await plan(entry, ctx);
      if (p.kind === 'unavailable') {
        if (dryRun) io.out.write(await describe(p, ctx.lookup));
        io.err.write(`tendril: entry '${printable(entry.id)}' cannot boot here: ${printable(p.reason)}\n`);
        continue;
      }
      if (dryRun) {
        // Hashing a large file takes a while: its progress goes to stderr, the plan to stdout.
        io.out.write(await describe(p, ctx.lookup, { progress: streamProgress(io.err) }));
        if (p.kind === 'kexec' && tpm) {
          const src = { entry, lookup: ctx.lookup, settingsFile: tpm.settingsFile };
          const lines = await describeMeasurements(tpm.state(), src, p.kexec, DRY_RUN_HASH_LIMIT);
          io.out.write(printableLines(lines).join('\n') + '\n');
        }
        if (extras.describeWrites) io.out.write(printableLines(extras.describeWrites(entry)).join('\n') + '\n');
        if (extras.describeEntry) io.out.write(printableLines(extras.describeEntry(entry)).join('\n') + '\n');
        if (p.kind === 'kexec' && trust && trust.policy !== 'off') {
          const lines = await trust.describe(entry, p.kexec, ctx.lookup);
          io.out.write(printableLines(lines).join('\n') + '\n');
        }
        return 0;
      }
      if (p.kind === 'kexec') {
        io.err.write(
          `tendril: loading '${printable(entry.displayTitle)}' (${printable(p.kexec.kernel.label)}) with ${p.kexec.syscall}\n`,
        );
        for (const w of p.kexec.warnings) io.err.write(`tendril: warning: ${printable(w)}\n`);
      }
      const r = await execute(p, {
        lookup: ctx.lookup,
        say: (s) => io.err.write(`tendril: ${s}\n`),
        progress: streamProgress(io.err),
        ...(tpm ? { measure: hookFactory(tpm, entry, ctx.lookup) } : {}),
        ...(extras.afterLoad ? { afterLoad: () => extras.afterLoad!(entry) } : {}),
        ...(extras.handover ? { handover: extras.handover } : {}),
        ...(trust
          ? { verify: trust.hookFactory(entry, ctx.lookup, (s) => io.err.write(`tendril: ${printable(s)}\n`)) }
          : {}),
      });
      const o = r.outcome;
      // The loader never started (missing, refused by Secure Boot) or the VM never ran: try the next.
      if (o.status === 2 || o.status === 3) {
        io.err.write(`tendril: entry '${printable(entry.id)}': the VM ended with status ${o.status}\n`);
        continue;
      }
      return o.status;
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
  const net = loadSettings().settings.net;
  // Booting is not interactive: a slow disk (USB, TCG) is better waited for than skipped.
  const session = await discover({
    deadlineMs: args.deadlineMs ?? BOOT_DEVICE_DEADLINE_MS,
    onDevice: (r) => stage(`device:${r.device.name}`),
    ...(args.disks.length ? { disks: args.disks } : {}),
    ...(args.roots.length ? { roots: args.roots } : {}),
    ...(net.origin !== undefined ? { originUrl: net.origin } : {}),
  });
  try {
    stage('entries');
    const { entries, settings } = session.result;
    const stateOpts = { noWrite: args.noWrite, say: (l: string) => io.err.write(`tendril: ${printable(l)}\n`) };
    if (args.save) {
      const err = await saveChoice(session.result, args.save.key, args.save.id, stateOpts);
      if (err !== undefined) {
        io.err.write(`tendril boot: ${printable(err)}\n`);
        return 1;
      }
      const what = args.save.key === 'oneshot' ? 'next boot' : 'default';
      io.out.write(`${what}: ${args.save.id ?? '(none)'}\n`);
      return 0;
    }
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
    const tpm = tpmFromSettings();
    const trust = trustFromSettings();
    // The dry-run plan says it in its measurements section.
    const tpmNow = tpm.state();
    if (tpmNow.kind !== 'on' && !args.dryRun) io.err.write(`tendril: tpm: ${printable(tpmNow.why)}\n`);
    const wait = args.dryRun ? 0 : timeoutSeconds(settings, args.timeout);
    for (let s = Math.ceil(wait); s > 0; s--) {
      io.err.write(`tendril: booting '${printable(list[0]!.displayTitle)}' in ${s} s\n`);
      await io.sleep(Math.min(1000, (wait - s + 1) * 1000));
    }
    // A uki-url entry brings the network up when planned (docs/net-bootfiles.md §8).
    const remote = lazyUkiUrlFiles(net, { log: (l) => io.err.write(`tendril: ${printable(l)}\n`) });
    return await bootEntries(
      list,
      {
        lookup: (id) => session.fs(id) ?? remote.fs(id),
        devices: session.result.devices,
        kexec: {
          ownConsoles: ownConsoles(),
          ukiUrl: (url) => remote.resolve(url),
          ...(net.origin !== undefined ? { origin: net.origin } : {}),
          ...prefetchOption(net),
          ...(trust.policy === 'require' ? { lockUkiCmdline: true } : {}),
          ...(args.append !== undefined ? { append: args.append } : {}),
          ...(args.cmdline !== undefined ? { replace: args.cmdline } : {}),
          ...(args.consolePolicy ? { consolePolicy: args.consolePolicy } : {}),
        },
        // [vm] in the settings file, then the command's own options.
        vm: { ...vmChoicesFrom(loadSettings().settings.vm), ...args.vm },
      },
      args.dryRun,
      io,
      tpm,
      trust,
      {
        afterLoad: bootWrites(session.result, stateOpts),
        describeWrites: (e) => describeBootWrites(e, session.result),
        handover: hostHandover(args.force),
      },
    );
  } finally {
    await session.close();
  }
}
