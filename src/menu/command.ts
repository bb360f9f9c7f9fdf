// `tendril menu`: discovery runs in the background and entries appear as disks answer;
// the countdown starts once discovery is complete; a choice goes through the boot dispatch
// (src/boot/: kexec, or a VM for efi entries), and a failure comes back as an error panel over
// the list. A VM run gets the terminal; when the guest ends, its outcome goes to the log and the
// menu comes back.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { discover, type DiscoverySession } from '../discovery/discover';
import { DISCOVERY_OPTIONS, discoverOptionsFrom } from '../discovery/commands';
import {
  isBootable,
  type DiscoveryResult,
  type MenuEntry,
  type MenuSettings,
  type TimeoutSetting,
} from '../discovery/model';
import { ownConsoles } from '../kexec/cmdline';
import { stage } from '../kexec/stages';
import { failureLines, KexecError } from '../kexec/errors';
import type { FsLookup, PlanOptions } from '../kexec/plan';
import { formatProgress } from '../kexec/progress';
import { execute } from '../boot/execute';
import { hostHandover } from '../boot/handover';
import { bootWrites, describeBootWrites, saveChoice } from '../state/boot';
import { describe, hostKvm, plan, type PlanContext } from '../boot/plan';
import { vmChoicesFrom } from '../boot/vm-plan';
import type { VmOutcome } from '../vm/command';
import { log, setConsoleLevel } from '../log';
import { commandArgs, type CommandSpec, flag, type Options, text } from '../util/args';
import { printable, printableLines } from '../util/printable';
import { describeLease } from '../net/netboot-command';
import { combineNetMenus, runNetwork, withNetwork, type NetMenu } from '../net/boot';
import { menuOrigin, menuUkiUrlFiles } from '../net/uki-url';
import { watchNewNics } from '../net/hotplug';
import { loadSettings } from '../settings/load';
import { verifyPassword } from './password';
import { listText, plainCommand, readLines } from './plain';
import { MenuState, type Action } from './state';
import { createTerminal, type Terminal } from './tui';
import { entryDetails } from './details';
import { trustFromSettings } from '../trust/setup';
import { markUnverified } from './trust-marks';
import { glyphsFor, render } from './view';
import { describeMeasurements } from '../tpm/boot';
import { recoveryGate } from '../tpm/recovery';
import { hookFactory, tpmFromSettings } from '../tpm/setup';
import { DRY_RUN_HASH_LIMIT } from '../kexec/plan';
import { prefetchOption } from '../net/pull-prefetch';

const MENU_OPTIONS = {
  plain: flag({ help: 'line mode for dumb terminals (also chosen for TERM=dumb or a non-terminal)' }),
  dryRun: flag({ help: "print the boot plan instead of kexec'ing; reboot/poweroff only say so" }),
  noQuit: flag({ help: 'no quit key (tendril under /init)' }),
  allowPower: flag({ help: 'let R/P reboot or power off although tendril is not PID 1' }),
  network: flag({ help: "also list and boot the network's entries (settings [net]; /init passes it)" }),
  noWrite: flag({ help: 'write nothing to any disk: no boot counting, no one-shot consumed, no saved default' }),
  force: flag({ help: 'on a running system, kexec at once instead of handing over to systemctl kexec' }),
  passwordHash: text({
    metavar: 'HASH',
    help: "guard the editor and shell ('tendril hash-password'; also $TENDRIL_PASSWORD_HASH, /etc/tendril/password-hash)",
  }),
  ...DISCOVERY_OPTIONS,
};
type MenuOptions = Options<typeof MENU_OPTIONS>;

export const MENU_COMMAND: CommandSpec<typeof MENU_OPTIONS, MenuOptions> = {
  name: 'menu',
  synopsis:
    '[--plain] [--dry-run] [--no-quit] [--allow-power] [--network] [--no-write] [--force] [--password-hash HASH] [--disk FILE]... [--root DIR]... [--no-sys] [--timeout S] [--deadline MS]',
  summary: 'The interactive boot menu; entries appear while disks are still being read.',
  options: MENU_OPTIONS,
  build: (p) => p.opts,
};

/** What the menu does before any key: show it, count down, or boot at once. */
export type StartPolicy =
  | { readonly kind: 'countdown'; readonly seconds: number }
  | { readonly kind: 'wait' }
  | { readonly kind: 'boot-now'; readonly unlessKey: boolean };

export function startPolicy(t: TimeoutSetting): StartPolicy {
  switch (t.kind) {
    case 'menu-force':
      return { kind: 'wait' };
    case 'menu-disabled':
      return { kind: 'boot-now', unlessKey: false };
    case 'menu-hidden':
      return { kind: 'boot-now', unlessKey: true };
    case 'seconds':
      return t.seconds > 0 ? { kind: 'countdown', seconds: t.seconds } : { kind: 'boot-now', unlessKey: true };
  }
}

function passwordHash(o: MenuOptions): string | undefined {
  const fromArg = o.passwordHash ?? process.env.TENDRIL_PASSWORD_HASH;
  if (fromArg) return fromArg;
  try {
    return fs.readFileSync('/etc/tendril/password-hash', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const originOpt = (origin: string | undefined): { origin?: string } => (origin !== undefined ? { origin } : {});

function shellPath(): string {
  for (const p of ['/bin/sh', '/usr/bin/sh', '/bin/busybox']) if (fs.existsSync(p)) return p;
  return 'sh';
}

interface Ui {
  redraw(): void;
  state: MenuState;
  term?: Terminal;
}

export async function runMenuCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs(MENU_COMMAND, argv);
  if ('exit' in parsed) return parsed.exit;
  stage('tendril');
  const args = parsed.args;
  const hash = passwordHash(args);
  const plain = args.plain || process.env.TERM === 'dumb' || !process.stdout.isTTY;
  const dryRun = args.dryRun;
  // In the initramfs tendril runs under /init (not PID 1 itself): /init passes --no-quit
  // and --allow-power; a developer's checkout gets the safe defaults.
  const canQuit = process.pid !== 1 && !args.noQuit;
  const powerAllowed = process.pid === 1 || args.allowPower;
  const tpm = tpmFromSettings();
  const trust = trustFromSettings();
  const vmSettings = vmChoicesFrom(loadSettings().settings.vm);
  const tpmAtStart = tpm.state();
  if (tpmAtStart.kind !== 'on') log('info', 'tpm', tpmAtStart.why);
  // The shell and the editor extend PCR 4 first (once per boot); an error keeps them closed.
  // A dry run changes no PCR.
  const recovery = dryRun
    ? (): string | undefined => undefined
    : recoveryGate(
        () => tpm.state(),
        (s) => log('info', 'tpm', s),
      );
  const state = new MenuState({
    passwordRequired: hash !== undefined,
    canQuit,
    measureRecovery: !dryRun && tpm.policy !== 'off',
  });
  // net.origin: `uki-url :name` entries on the disks resolve against it (docs/net-bootfiles.md §8).
  const netSettings = loadSettings().settings.net;
  const origin = netSettings.origin;
  const discoverOpts = { ...discoverOptionsFrom(args), ...(origin !== undefined ? { originUrl: origin } : {}) };
  const stateOpts = {
    noWrite: args.noWrite || dryRun,
    ...(dryRun && !args.noWrite ? { noWriteBecause: '--dry-run' } : {}),
    say: (l: string) => log('info', 'state', l),
  };
  /** `d`: save the entry as the default, or clear the saved default when it already is. */
  const saveDefault = async (entry: MenuEntry): Promise<{ title: string; lines: string[] }> => {
    const r = session?.result;
    if (!r) return { title: 'Default entry', lines: ['discovery has not finished'] };
    const clear = r.savedState?.defaultId === entry.id;
    const err = await saveChoice(r, 'default', clear ? null : entry.id, stateOpts);
    if (err !== undefined) {
      log('warn', 'state', `saving the default: ${err}`);
      return { title: 'Default entry not saved', lines: [err] };
    }
    const where = r.savedState ? `${r.savedState.file.fsId} ${r.savedState.file.path}` : '';
    const line = clear
      ? `the saved default is cleared (${where})`
      : `'${entry.displayTitle}' is the default now (${where})`;
    log('info', 'state', line);
    await scan();
    return { title: 'Default entry', lines: [line] };
  };
  const cliTimeout = args.timeout;

  let session: DiscoverySession | undefined;
  let tickCount = 0;
  const ui: Ui = { state, redraw: () => {} };
  // The disks' entries and the network's, shown together (withNetwork: network ones after).
  let net: NetMenu | undefined;
  const netMenus: NetMenu[] = [];
  let diskEntries: readonly MenuEntry[] = [];
  let diskSettings: MenuSettings | undefined;
  const showEntries = (): void => {
    const m = withNetwork(diskEntries, diskSettings, net);
    state.setEntries(m.entries, m.settings);
  };
  const lookup: FsLookup = (id) => session?.fs(id) ?? net?.fs(id);
  const addNetwork = (m: NetMenu | undefined): void => {
    if (!m) return;
    netMenus.push(m);
    net = combineNetMenus(netMenus);
    showEntries();
  };
  const network = args.network
    ? startNetwork().then((first) => {
        addNetwork(first.menu);
        ui.redraw();
        // NICs plugged in from now on get their own lease stage (docs/net-dhcp.md §5).
        if (first.watch)
          watchNewNics({
            known: first.handled,
            noCarrier: first.noCarrier,
            onNic: (nic) => {
              log('info', 'net', `${nic.name}: new network interface (${nic.mac})`);
              void startNetwork([nic.name]).then((r) => {
                const before = state.entries.length;
                addNetwork(r.menu);
                ui.redraw();
                if (plain && state.entries.length > before) process.stdout.write(listText(state));
              });
            },
          });
      })
    : undefined;
  const planOpts = (cmdline?: string): PlanOptions => ({
    ownConsoles: ownConsoles(),
    // uki-url entries read the network's first lease; bootorigin pulls resolve (docs/net-bootfiles.md §8).
    // A disk default may be planned before the first lease stage ends: a uki-url waits for it.
    ukiUrl: menuUkiUrlFiles(
      () => net,
      () => network,
    ).resolve,
    ...originOpt(origin ?? menuOrigin(net)),
    ...prefetchOption(netSettings),
    ...(trust.policy === 'require' ? { lockUkiCmdline: true } : {}),
    ...(cmdline !== undefined ? { replace: cmdline } : {}),
  });
  const planContext = (cmdline?: string, writeThrough?: boolean): PlanContext => ({
    lookup,
    devices: [...(session?.result.devices ?? []), ...(net?.devices ?? [])],
    kexec: planOpts(cmdline),
    vm: {
      ...vmSettings,
      ...(cmdline !== undefined ? { replace: cmdline } : {}),
      ...(writeThrough ? { writeThrough: true } : {}),
    },
  });
  // The row markers and the status line say when efi entries cannot run here. While /dev/kvm
  // is absent the answer is asked again every tick: /init loads kvm after the menu is up.
  const refreshKvm = (): void => {
    const v = hostKvm();
    const reason = v.ok ? undefined : v.reason;
    if (reason === state.vmUnavailable) return;
    if (reason === undefined) log('info', 'vm', `KVM is ready (${v.device}): efi entries boot in a VM`);
    else log('info', 'vm', `efi entries cannot boot in a VM here: ${reason}`);
    state.vmUnavailable = reason;
  };
  refreshKvm();

  const scan = async (): Promise<DiscoveryResult> => {
    const old = session;
    session = undefined;
    await old?.close();
    state.pending = 0;
    state.discovering = true;
    const s = await discover({
      ...discoverOpts,
      onStart: (devices) => {
        state.pending = devices.length;
        ui.redraw();
      },
      onDevice: () => {
        state.pending = Math.max(0, state.pending - 1);
        ui.redraw();
      },
      onEntries: (entries) => {
        diskEntries = entries;
        showEntries();
        ui.redraw();
      },
    });
    session = s;
    state.pending = 0;
    state.discovering = false;
    diskEntries = s.result.entries;
    diskSettings = s.result.settings;
    showEntries();
    state.trustMarks.clear();
    void markUnverified(
      s.result.entries,
      trust,
      planContext(),
      state.trustMarks,
      () => session === s,
      () => ui.redraw(),
    );
    for (const d of [...s.result.diagnostics, ...s.result.devices.flatMap((x) => x.diagnostics)]) {
      log(
        d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warn' : 'info',
        d.source,
        `${d.fsId ?? d.device ?? ''} ${d.file ?? ''}${d.line ? ':' + d.line : ''} ${d.message}`.trim(),
      );
    }
    return s.result;
  };

  // Without a disk entry to boot, the countdown waits for the network's (its own deadlines,
  // net.timeout, bound the wait); with one, nothing waits for the network.
  const scanAll = async (): Promise<DiscoveryResult> => {
    const r = await scan();
    const local = r.entries.find((e) => e.id === r.settings.defaultId && isBootable(e));
    if (!local && network) await network;
    return { ...r, settings: state.settings ?? r.settings };
  };

  /**
   * Plan + execute. A kexec returns only on failure (with the error shown); a VM returns when the
   * guest ends (its outcome in the log, an error panel when it failed); a dry run returns the plan.
   */
  const boot = async (
    entry: MenuEntry,
    cmdline: string | undefined,
    out: (s: string) => void,
    writeThrough?: boolean,
  ): Promise<'dry-run' | 'failed' | 'vm-done'> => {
    try {
      const p = await plan(entry, planContext(cmdline, writeThrough));
      if (dryRun) {
        let text = await describe(p, lookup);
        if (p.kind === 'kexec') {
          const src = { entry, lookup, settingsFile: tpm.settingsFile };
          text +=
            printableLines(await describeMeasurements(tpm.state(), src, p.kexec, DRY_RUN_HASH_LIMIT)).join('\n') + '\n';
          const sigs = await trust.describe(entry, p.kexec, lookup);
          if (sigs.length) text += printableLines(sigs).join('\n') + '\n';
        }
        if (session) text += printableLines(describeBootWrites(entry, session.result)).join('\n') + '\n';
        out(text);
        return 'dry-run';
      }
      if (p.kind === 'unavailable') {
        log('error', 'boot', `${entry.id}: ${p.reason}`);
        state.showError(`Cannot boot ${entry.displayTitle}`, [p.reason]);
        ui.redraw();
        return 'failed';
      }
      if (p.kind === 'kexec') {
        state.showLoading(entry, `${p.kexec.kernel.label} via ${p.kexec.syscall}`);
        ui.redraw();
      }
      const r = await execute(p, {
        lookup,
        say: (s) => log('info', 'boot', s),
        progress: (pr) => {
          state.showLoading(entry, formatProgress(pr, 30));
          ui.redraw();
        },
        beforeKexec: async () => {
          await session?.close();
          ui.term?.destroy();
        },
        ...(ui.term ? { withTerminal: (run: () => Promise<VmOutcome>) => suspendFor(ui.term!, run) } : {}),
        measure: hookFactory(tpm, entry, lookup),
        ...(session ? { afterLoad: () => bootWrites(session!.result, stateOpts)(entry) } : {}),
        handover: hostHandover(args.force),
        verify: trust.hookFactory(entry, lookup, (s) => log('warn', 'trust', s)),
      });
      const o = r.outcome;
      for (const l of o.lines) log(o.status === 0 ? 'info' : 'error', 'vm', `${entry.id}: ${l}`);
      log(
        o.status === 0 ? 'info' : 'error',
        'vm',
        `${entry.id}: VM exit status ${o.status}; ${o.varsChanged} UEFI variable${o.varsChanged === 1 ? '' : 's'} changed`,
      );
      if (o.status === 0) state.mode = { kind: 'list' };
      else state.showError(`The VM for ${entry.displayTitle} ended with status ${o.status}`, o.lines.slice(-6));
      ui.redraw();
      return 'vm-done';
    } catch (e) {
      // Raw lines: the error panel (render) and the plain menu make them printable as they print.
      const lines = e instanceof KexecError ? failureLines(e.failure) : [e instanceof Error ? e.message : String(e)];
      log('error', 'boot', `${entry.id}: ${lines.join(' ')}`);
      state.showError(`Cannot boot ${entry.displayTitle}`, lines);
      ui.redraw();
    }
    return 'failed';
  };

  if (plain) {
    try {
      return await runPlain(state, scanAll, boot, cliTimeout, powerAllowed, dryRun, recovery, saveDefault);
    } finally {
      // The scan workers would keep the process alive after a dry-run or 'q'.
      await session?.close();
    }
  }

  // Log lines on stderr would scribble over the screen: the ring buffer (`l`) has them.
  setConsoleLevel('off');
  const term = createTerminal(glyphsFor(process.env));
  ui.term = term;
  const frameLog = frameLogger();
  let discovered = false;
  let staged = false;
  ui.redraw = () => {
    term.draw(render(state, term.width, term.height, glyphsFor(process.env), tickCount));
    const kind = discovered && state.entries.length > 0 ? 'full' : 'partial';
    frameLog?.(kind);
    // bench/boot.ts: power-on → the first frame with every disk's entries.
    if (kind === 'full' && !staged) {
      staged = true;
      stage('menu');
    }
  };
  ui.redraw();

  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = async (code: number, after?: string): Promise<void> => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      term.destroy();
      setConsoleLevel('warn');
      await session?.close();
      // blessed flushes its last escape sequences (leave the alternate screen) on a later
      // tick; print after them or the first lines land on the discarded screen.
      await new Promise((r) => setTimeout(r, 50));
      if (after) process.stdout.write(after);
      resolve(code);
    };

    const handle = async (a: Action): Promise<void> => {
      switch (a.kind) {
        case 'none':
          break;
        case 'boot': {
          let planText = '';
          const r = await boot(a.entry, a.cmdline, (s) => (planText = s), a.writeThrough);
          if (r === 'dry-run') await finish(0, planText);
          break;
        }
        case 'save-default': {
          const m = await saveDefault(a.entry);
          state.showError(m.title, m.lines);
          break;
        }
        case 'details': {
          const e = a.entry;
          const lines = await entryDetails(e, planContext(), trust);
          if (state.mode.kind === 'details' && state.mode.entry.id === e.id) state.details = lines;
          break;
        }
        case 'verify-password': {
          let ok = false;
          try {
            ok = hash !== undefined && verifyPassword(a.password, hash);
          } catch (e) {
            log('error', 'menu', `password hash unusable: ${(e as Error).message}`);
          }
          if (ok) await handle(state.passwordAccepted(a.then));
          else state.passwordRejected(a.then);
          break;
        }
        case 'recovery': {
          const err = recovery();
          if (err) state.showError('Measured boot: the editor stays closed', [err]);
          else await handle(state.recoveryMeasured(a.then));
          break;
        }
        case 'shell': {
          const err = recovery();
          if (err) {
            state.showError('Measured boot: the shell stays closed', [err]);
            break;
          }
          await term.suspend(
            () =>
              new Promise<void>((res) => {
                process.stdout.write('tendril rescue shell; exit to return to the menu\n');
                const c = spawn(shellPath(), [], { stdio: 'inherit' });
                c.on('exit', () => res());
                c.on('error', (e) => {
                  process.stdout.write(`cannot start a shell: ${e.message}\n`);
                  res();
                });
              }),
          );
          break;
        }
        case 'rescan':
          await scan();
          break;
        case 'reboot':
        case 'poweroff':
          if (dryRun || !powerAllowed) {
            if (dryRun) {
              await finish(0, `would ${a.kind}\n`);
              return;
            }
            state.showError('Not allowed', [
              `tendril is not PID 1: refusing to ${a.kind} this machine (--allow-power overrides).`,
            ]);
            break;
          }
          await power(a.kind);
          break;
        case 'quit':
          await finish(0);
          return;
      }
      ui.redraw();
    };

    let keyPressed = false;
    term.onKey((k) => {
      keyPressed = true;
      void handle(state.key(k));
    });
    term.onResize(() => ui.redraw());
    const timer = setInterval(() => {
      tickCount++;
      if (state.vmUnavailable !== undefined) refreshKvm();
      const a = state.tick();
      ui.redraw();
      if (a.kind !== 'none') void handle(a);
    }, 1000);

    void scanAll().then((r) => {
      discovered = true;
      const t: TimeoutSetting =
        cliTimeout !== undefined ? { kind: 'seconds', seconds: cliTimeout } : r.settings.timeout;
      const p = startPolicy(t);
      // A key pressed (or held) while the disks were read shows the menu (sd-boot's rule).
      if (p.kind === 'countdown') state.startCountdown(p.seconds);
      else if (p.kind === 'boot-now' && !(p.unlessKey && keyPressed)) {
        const d = state.defaultEntry;
        if (d) void handle({ kind: 'boot', entry: d });
      }
      ui.redraw();
    });
  });
}

/**
 * The network's entries as the settings say, everything it did in the log (the `l` pane): each
 * lease, each NIC without one and why, each boot file that gave no entry and why.
 */
async function startNetwork(ifaces?: readonly string[]): Promise<{
  readonly menu?: NetMenu;
  /** The interfaces this run leased or reported: the hotplug watch skips them. */
  readonly handled: readonly string[];
  /** Of those, the ones without carrier (watched for a cable). */
  readonly noCarrier: readonly string[];
  /** Whether NICs plugged in later get a lease stage too (DHCP mode only). */
  readonly watch: boolean;
}> {
  const { settings, problems } = loadSettings();
  if (!ifaces) for (const p of problems) log('warn', 'settings', p);
  // Not with VLANs or bonds: their slaves and lower NICs must not get leases of their own (docs/net-dhcp.md §13).
  const watch = settings.net.mode.kind === 'dhcp' && !settings.net.vlan.length && !settings.net.bond.length;
  try {
    const run = await runNetwork(settings.net, {
      trust: settings.trust,
      verbose: (l) => log('debug', 'net', l),
      ...(ifaces ? { ifaces } : {}),
      onClock: (r) => log(r.level, 'net', r.line),
    });
    for (const l of run.leases) log('info', 'net', describeLease(l));
    for (const e of run.errors) log('warn', 'net', e.message);
    const handled = [...run.leases.map((l) => l.iface), ...run.errors.map((e) => e.subject)];
    const noCarrier = run.errors.filter((e) => e.reason.startsWith('no carrier')).map((e) => e.subject);
    const m = run.menu;
    if (!m) return { handled, noCarrier, watch };
    for (const d of m.diagnostics)
      log(d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warn' : 'info', 'net', d.message);
    const where = ifaces ? ` on ${ifaces.join(', ')}` : '';
    log('info', 'net', `${m.entries.length} network entr${m.entries.length === 1 ? 'y' : 'ies'}${where}`);
    return { menu: m, handled, noCarrier, watch };
  } catch (e) {
    log('error', 'net', `network boot failed: ${e instanceof Error ? e.message : String(e)}`);
    // Nothing is known about the NICs: watching would only repeat the failure on each of them.
    return { handled: [], noCarrier: [], watch: false };
  }
}

/**
 * TENDRIL_FRAME_LOG=FILE appends `<kind> <ms since process start>` for the first partial
 * and the first full frame (bench/menu reads it).
 */
function frameLogger(): ((kind: 'partial' | 'full') => void) | undefined {
  const file = process.env.TENDRIL_FRAME_LOG;
  if (!file) return undefined;
  const seen = new Set<string>();
  return (kind) => {
    if (seen.has(kind)) return;
    seen.add(kind);
    fs.appendFileSync(file, `${kind} ${(process.uptime() * 1000).toFixed(1)}\n`);
  };
}

/** Runs `run` (a VM) with the terminal handed over; the screen comes back after it. */
async function suspendFor(term: Terminal, run: () => Promise<VmOutcome>): Promise<VmOutcome> {
  let outcome: VmOutcome | undefined;
  await term.suspend(async () => {
    outcome = await run();
  });
  return outcome!;
}

async function power(kind: 'reboot' | 'poweroff'): Promise<void> {
  const sys = await import('../native/sys');
  sys.sync();
  sys.reboot(kind === 'reboot' ? 'RESTART' : 'POWER_OFF');
}

async function runPlain(
  state: MenuState,
  scan: () => Promise<DiscoveryResult>,
  boot: (
    e: MenuEntry,
    cmdline: string | undefined,
    out: (s: string) => void,
  ) => Promise<'dry-run' | 'failed' | 'vm-done'>,
  cliTimeout: number | undefined,
  powerAllowed: boolean,
  dryRun: boolean,
  recovery: () => string | undefined,
  saveDefault: (e: MenuEntry) => Promise<{ title: string; lines: string[] }>,
): Promise<number> {
  const out = (s: string): void => void process.stdout.write(s);
  out('tendril: scanning disks...\n');
  const r = await scan();
  const io = readLines(process.stdin, process.stdout);
  try {
    out(listText(state));
    const t: TimeoutSetting = cliTimeout !== undefined ? { kind: 'seconds', seconds: cliTimeout } : r.settings.timeout;
    const p = startPolicy(t);
    const d = state.defaultEntry;
    if (d && p.kind !== 'wait') {
      const secs = p.kind === 'countdown' ? p.seconds : 0;
      out(`booting '${printable(d.displayTitle)}' in ${secs} s; press Enter to choose\n`);
      let timer: NodeJS.Timeout | undefined;
      const first = await Promise.race([
        io.next(''),
        new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), secs * 1000))),
      ]);
      // A line won: the pending countdown must not hold the process open after a dry-run or 'q'.
      clearTimeout(timer);
      if (first === 'timeout' || first === null) {
        const res = await boot(d, undefined, out);
        if (res === 'dry-run') return 0;
        out(`${state.mode.kind === 'error' ? printableLines(state.mode.lines).join('\n') : 'boot failed'}\n`);
      }
    }
    for (;;) {
      const line = await io.next('boot> ');
      if (line === null) return 0;
      // The editor (`e N`) asks for the new line only after PCR 4 was extended.
      let refused: string | undefined;
      const c = await plainCommand(state, line, async (pr, init) => {
        refused = recovery();
        return refused === undefined ? io.ask(pr, init) : '';
      });
      if (refused !== undefined) {
        out(`measured boot: the editor stays closed: ${printable(refused)}\n`);
        continue;
      }
      switch (c.kind) {
        case 'show':
          out(c.text);
          break;
        case 'save-default': {
          const m = await saveDefault(c.entry);
          out(`${printableLines(m.lines).join('\n')}\n`);
          break;
        }
        case 'boot': {
          const res = await boot(c.entry, c.cmdline, out);
          if (res === 'dry-run') return 0;
          if (state.mode.kind === 'error') {
            out(`${printable(state.mode.title)}\n${printableLines(state.mode.lines).join('\n')}\n`);
          }
          state.mode = { kind: 'list' };
          break;
        }
        case 'rescan':
          await scan();
          out(listText(state));
          break;
        case 'shell': {
          const err = recovery();
          if (err !== undefined) {
            out(`measured boot: the shell stays closed: ${printable(err)}\n`);
            break;
          }
          // Stop reading the terminal while the shell owns it (see tui.suspend).
          process.stdin.pause();
          await new Promise<void>((res) =>
            spawn(shellPath(), [], { stdio: 'inherit' })
              .on('exit', () => res())
              .on('error', () => res()),
          );
          process.stdin.resume();
          break;
        }
        case 'reboot':
        case 'poweroff':
          if (dryRun) {
            out(`would ${c.kind}\n`);
            return 0;
          }
          if (!powerAllowed) out(`not PID 1: refusing to ${c.kind} (--allow-power overrides)\n`);
          else await power(c.kind);
          break;
        case 'quit':
          return 0;
      }
    }
  } finally {
    io.close();
  }
}
