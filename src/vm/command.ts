// `tendril vm [--firmware FILE] [--vars-template FILE | --secure-boot] [--vars FILE]
// --disk DEV[,rw|,ro][,noboot][,if=nvme|ahci]... [--loader DISK:PART:PATH [--loader-args TEXT]] [--memory SIZE]
// [--cpus 2] [--stats]`
//
// Runs a UEFI firmware (Debian's OVMF: OVMF_CODE_4M.fd with a variable store on a flash device,
// or a unified OVMF.fd) in a KVM VM with the disks as virtio-blk devices (or NVMe) and COM1 on
// this console. Exit status: 0 when the guest powers off through ACPI (S5), 1 on a fatal
// exit (triple fault, KVM internal error, failed entry: the registers are dumped), 2 on bad
// usage or setup errors, 3 when the firmware reports that it could not load or start the loader
// --loader named (e.g. refused by Secure Boot), 130 when stopped from the host (Ctrl-]; or
// SIGINT/SIGTERM, which first press the guest's ACPI power button and stop it only if it does not
// power off in time, or when it has not armed the button). At the end it lists the UEFI variables the guest changed; they are kept only
// with --vars FILE, which is written atomically.
// A guest reset (0xCF9, 0x64 ← 0xFE, port 0x92, KVM reset event) restarts the VM with fresh
// RAM and the same disk overlay, as a real machine would; see README.md.
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { BootWatch } from './boot-watch';
import { ConsoleChannel, ConsoleOutput } from './console';
import { parseDiskSpec } from './disk';
import { describeEntry, loaderVarStore, parseLoaderSpec } from './boot-entry';
import { loadFirmware } from './firmware';
import {
  describeVarChanges,
  loadVarsFile,
  saveVarsAtomically,
  secureBootState,
  type SecureBootState,
} from './vars-file';
import { parseVarStore } from './varstore';
import { hostAcpiTables, rtcOffsetMs, RTC_MODES } from './host-tables';
import { hostSmbios } from './smbios';
import { DEFAULT_CPUS, MAX_CPUS } from './limits';
import { MiB, RAM_MAX, RAM_MIN, defaultGuestRam } from './memory';
import { MAX_DISKS } from './platform';
import { CONSOLE_INPUTS, VM_WORKER_ROLE, type VmOptions, type VmWorkerData, type VmWorkerMessage } from './protocol';
import { kvm } from '../native/kvm';
import { ConsoleEscape } from './console-escape';
import { parseDisplayOut } from './display/output-choice';
import { HostInputRing } from './host-input-ring';
import {
  chooseInputDevices,
  HostInput,
  parseInputDevicesChoice,
  POWER_COMBO,
  readProcInputDevices,
  STOP_COMBO,
  type ChosenDevice,
} from './host-input';
import { ArgError, choice, commandArgs, type CommandSpec, custom, flag, num, size, text, usage } from '../util/args';

export type { VmOptions } from './protocol';

export const VM_OPTIONS = {
  firmware: text({
    metavar: 'FILE',
    help: "UEFI firmware: a CODE image with a separate variable store (default: Debian's OVMF_CODE_4M.fd, found through the ovmf package) or a unified image (OVMF.fd)",
  }),
  varsTemplate: text({
    metavar: 'FILE',
    help: 'variable store to start from, copied into memory (default: the OVMF_VARS image paired with the CODE image)',
  }),
  vars: text({
    metavar: 'FILE',
    help: 'keep the UEFI variables in FILE: start from it (from the template when it does not exist) and write it back atomically at the end; without it they live in memory for this run only',
  }),
  secureBoot: flag({
    help: "start from a variable store with Secure Boot keys enrolled (Debian's OVMF_VARS_4M.ms.fd: Microsoft's KEK and db) and Secure Boot on; --vars-template names another",
  }),
  loader: custom({
    metavar: 'DISK:PART:PATH',
    parse: (raw) => {
      try {
        return parseLoaderSpec(raw);
      } catch (e) {
        throw new ArgError((e as Error).message);
      }
    },
    help: 'boot exactly this EFI program: partition PART (GPT, or a primary MBR partition; 1-based) of the DISK-th --disk (0-based), e.g. 0:1:\\EFI\\debian\\shimx64.efi; tendril writes Boot0000 and BootOrder into the variable store, and the firmware gets no other boot order',
  }),
  loaderArgs: text({
    metavar: 'TEXT',
    empty: true,
    help: "the loader's command line (its LoadOptions), e.g. a kernel's",
  }),
  disk: custom({
    metavar: 'DEV[,rw|,ro][,noboot][,if=nvme|ahci]',
    repeat: true,
    parse: parseDiskSpec,
    help: `block device or image (up to ${MAX_DISKS}, in PCI slots 2..5); read-only with an in-memory copy-on-write overlay; ",rw" writes through to DEV, ",ro" offers a read-only disk; ",noboot" leaves it out of the firmware's boot order; ",if=nvme" puts it on an NVMe controller (8086:5845) instead of virtio-blk, for guests without virtio drivers such as Windows; ",if=ahci" on an AHCI (SATA) controller (ICH9, 8086:2922), for a Windows installed in SATA mode`,
  }),
  memory: size({
    metavar: 'SIZE',
    min: RAM_MIN,
    max: RAM_MAX,
    defaultUnit: MiB,
    help: "guest RAM (default: half of the host's available memory, at least 2G when it can spare that, at most 8G)",
  }),
  cpus: num({
    metavar: 'N',
    integer: true,
    min: 1,
    max: MAX_CPUS,
    help: `vCPUs, one thread each (default ${DEFAULT_CPUS})`,
  }),
  stats: flag({ help: 'print VM exit counts by kind to stderr at the end' }),
  input: choice({
    values: CONSOLE_INPUTS,
    help: "where this console's keystrokes go: serial (COM1, default) or keyboard (typed on the guest's PS/2 keyboard, US layout, for OSes that read no serial console, like Windows)",
  }),
  inputDevices: custom({
    metavar: 'auto|none|DEV[,DEV...]',
    parse: (raw) => {
      try {
        return parseInputDevicesChoice(raw) ?? 'none';
      } catch (e) {
        throw new ArgError((e as Error).message);
      }
    },
    help: `give the guest's PS/2 keyboard and mouse this machine's own input devices (evdev): auto (every keyboard, mouse and touchpad in /proc/bus/input/devices; a touchpad moves the guest's mouse), none (default), or /dev/input/eventN nodes; they are grabbed while the VM runs, so this machine's console gets none of their keys; ${STOP_COMBO} on them stops the VM at once (as Ctrl-]), ${POWER_COMBO} presses its power button`,
  }),
  display: flag({
    help: "give the VM a display (bochs-display, 1234:1111): OVMF's GOP and the OS draw on a linear 32-bit framebuffer, as Windows needs",
  }),
  screenshot: text({
    metavar: 'FILE',
    help: 'when the VM ends, write its screen to FILE as a PNG (implies --display); Ctrl-\\ then s writes it while the VM runs',
  }),
  displayOut: custom({
    metavar: 'auto|none|DEV',
    parse: (raw) => {
      try {
        return parseDisplayOut(raw);
      } catch (e) {
        throw new ArgError(`--${(e as Error).message}`);
      }
    },
    help: "show the VM's screen on this machine's own screen (implies --display): a framebuffer device (/dev/fbN) or a DRM card (/dev/dri/cardN, taken over while the VM runs); auto: /dev/fb0 if there is one, else the first DRM card with a connected display; none (default). The guest's preferred resolution becomes the host screen's",
  }),
  hyperv: flag({
    help: 'offer the Hyper-V enlightenments KVM implements (reference clock and TSC page, SynIC timers, APIC MSRs, TLB-flush and IPI hypercalls, relaxed timing, the crash MSRs, which make a Windows bug check a reported error with its code); Windows runs faster and more robustly with them, a Linux guest takes Hyper-V paths instead of KVM ones',
  }),
  rtc: choice({
    values: RTC_MODES,
    help: "what the guest's CMOS clock shows: utc (default), localtime (this machine's time zone, as Windows keeps its RTC), or host (the value this machine's RTC holds, /sys/class/rtc/rtc0)",
  }),
};

export const VM_COMMAND: CommandSpec<typeof VM_OPTIONS, VmOptions> = {
  name: 'vm',
  synopsis:
    '[--firmware FILE] [--vars-template FILE] [--secure-boot] [--vars FILE] --disk DEV[,rw|,ro][,noboot][,if=nvme|ahci]... [--loader DISK:PART:PATH [--loader-args TEXT]] [--memory SIZE] [--cpus 2] [--rtc utc|localtime|host] [--input serial|keyboard] [--input-devices auto|none|DEV,...] [--display] [--screenshot FILE] [--display-out auto|none|DEV] [--hyperv] [--stats]',
  summary: 'Run UEFI firmware in a KVM virtual machine with the disks passed through; COM1 is this console.',
  options: VM_OPTIONS,
  notes: [
    'Ctrl-] stops the VM at once. SIGINT or SIGTERM presses its ACPI power button, so the OS shuts down cleanly; a second signal, or a guest still running 60 s later, stops it at once.',
    'Ctrl-\\ then s writes a screenshot of the VM display to the --screenshot FILE (default /tmp/tendril-screen-N.png); Ctrl-\\ twice sends one Ctrl-\\ to the guest.',
    `With --input-devices, ${STOP_COMBO} on a grabbed keyboard stops the VM at once and ${POWER_COMBO} presses its power button (a second time: stop at once); neither reaches the guest.`,
  ],
  build: ({ opts: o }) => {
    if (o.disk.length > MAX_DISKS) throw new ArgError(`--disk given ${o.disk.length} times, at most ${MAX_DISKS}`);
    if (o.loader && o.loader.disk >= o.disk.length)
      throw new ArgError(
        `--loader names disk ${o.loader.disk}, but only ${o.disk.length} --disk given (counting from 0)`,
      );
    if (o.loaderArgs !== undefined && !o.loader) throw new ArgError('--loader-args needs --loader');
    return {
      ...(o.firmware !== undefined ? { firmware: o.firmware } : {}),
      ...(o.varsTemplate !== undefined ? { varsTemplate: o.varsTemplate } : {}),
      ...(o.vars !== undefined ? { vars: o.vars } : {}),
      secureBoot: o.secureBoot,
      disks: o.disk,
      ...(o.loader ? { loader: o.loader } : {}),
      ...(o.loaderArgs !== undefined ? { loaderArgs: o.loaderArgs } : {}),
      ramBytes: o.memory ?? defaultGuestRam(),
      cpus: o.cpus ?? DEFAULT_CPUS,
      stats: o.stats,
      ...(o.rtc !== undefined ? { rtc: o.rtc } : {}),
      ...(o.input !== undefined ? { input: o.input } : {}),
      ...(o.display ? { display: true } : {}),
      ...(o.hyperv ? { hyperv: true } : {}),
      ...(o.screenshot !== undefined ? { screenshot: o.screenshot } : {}),
      ...(o.displayOut !== undefined && o.displayOut !== 'none' ? { displayOut: o.displayOut } : {}),
      ...(o.inputDevices !== undefined && o.inputDevices !== 'none' ? { inputDevices: o.inputDevices } : {}),
    };
  },
};

const CTRL_RIGHT_BRACKET = 0x1d;
/** How long a guest has to power off after the host pressed its power button. */
export const SHUTDOWN_GRACE_S = 60;
/** The file this code runs from: dist/tendril.js in a checkout, /tendril.js in the initramfs. */
const bundle = typeof __filename === 'string' ? __filename : '';

export async function runVmCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs(VM_COMMAND, argv);
  if ('exit' in parsed) return parsed.exit;
  const r = await runVm(parsed.args);
  if (r.setupFailed) process.stderr.write(usage(VM_COMMAND));
  return r.status;
}

/** How a VM run ended, for whoever started it (`tendril vm`, `tendril boot`, the menu's log). */
export interface VmOutcome {
  /** The exit status `tendril vm` documents (0 power-off, 1 fatal, 2 setup, 3 loader refused, 130 stopped). */
  readonly status: number;
  /** Every line the run reported (also written to stderr), without the "tendril vm: " prefix. */
  readonly lines: readonly string[];
  /** The run never started: bad firmware, variables, disk or bundle. */
  readonly setupFailed: boolean;
  /** UEFI variables the guest changed (0 when it never ran). */
  readonly varsChanged: number;
}

/**
 * Runs one VM with the options given (the run loop `tendril vm` and the boot dispatch share):
 * checks the firmware and variables, writes Boot0000 for --loader, starts the VM worker from the
 * bundle, bridges the console (stdin raw when a terminal, Ctrl-] stops), waits for the guest's end,
 * reports changed variables (keeping them with --vars) and returns the outcome.
 */
export async function runVm(opts: VmOptions): Promise<VmOutcome> {
  const lines: string[] = [];
  let varsChanged = 0;
  const say = (line: string, lead = ''): void => {
    lines.push(line);
    process.stderr.write(`${lead}tendril vm: ${line}\n`);
  };
  const done = (status: number, setupFailed = false): VmOutcome => ({ status, lines, setupFailed, varsChanged });
  let flash: VmWorkerData['flash'];
  let host: VmWorkerData['host'];
  let secureBoot: SecureBootState | 'unknown' = 'unknown';
  let inputDevices: ChosenDevice[] = [];
  try {
    const fw = loadFirmware({ firmware: opts.firmware, varsTemplate: opts.varsTemplate, secureBoot: opts.secureBoot });
    let vars: Uint8Array = fw.vars;
    let from = fw.varsFrom;
    if (opts.vars !== undefined) {
      const v = loadVarsFile(opts.vars, fw.vars);
      vars = v.vars;
      if (v.fromFile) from = opts.vars;
    }
    try {
      secureBoot = secureBootState(parseVarStore(vars).variables);
    } catch (e) {
      // OVMF formats a store it cannot read; tendril only needs to read it for what follows.
      if (opts.secureBoot || opts.loader) throw new Error(`variable store from ${from}: ${(e as Error).message}`);
    }
    if (opts.secureBoot && secureBoot !== 'on')
      throw new Error(`--secure-boot: the variable store from ${from} has Secure Boot ${secureBoot}, not on`);
    say(
      `UEFI variables from ${from}${opts.vars === undefined ? ' (in memory for this run)' : ''}; Secure Boot ${secureBoot}`,
    );
    if (opts.loader) {
      const disk = opts.disks[opts.loader.disk]!.path;
      const boot = loaderVarStore(vars, disk, opts.loader, opts.loaderArgs);
      vars = boot.vars;
      say(`Boot0000 = ${describeEntry(boot.entry)} on ${disk}`);
    }
    flash = { code: fw.code, vars };
    const acpi = hostAcpiTables();
    for (const n of acpi.notes) say(`ACPI ${n}`);
    const smbios = hostSmbios();
    if (smbios.note) say(smbios.note);
    host = {
      acpiTables: acpi.tables,
      rtcOffsetMs: rtcOffsetMs(opts.rtc ?? 'utc'),
      smbios: { structures: smbios.structures, version: smbios.version },
    };
    if (host.rtcOffsetMs !== 0) say(`guest clock (CMOS RTC): ${opts.rtc}, ${host.rtcOffsetMs / 1000} s from host UTC`);
    for (const d of opts.disks) if (!fs.existsSync(d.path)) throw new Error(`--disk ${d.path}: no such file or device`);
    kvm(); // the addon must load here, not only in the worker
    if (opts.inputDevices !== undefined) {
      const chosen = chooseInputDevices(opts.inputDevices, readProcInputDevices());
      for (const n of chosen.notes) say(`input: ${n}`);
      inputDevices = chosen.devices;
    }
    if (!bundle.endsWith('.js'))
      throw new Error(`the VM workers start from the bundle; ${bundle} is not one (npm run build)`);
  } catch (e) {
    say((e as Error).message);
    return done(2, true);
  }
  const channel = new ConsoleChannel();
  const output = new ConsoleOutput();
  const ring = opts.inputDevices !== undefined ? new HostInputRing() : null;
  let handle = -1;
  const kick = () => {
    if (handle >= 0) kvm().kvmKick(handle);
  };
  // The host's keyboards and mice: grabbed from here to the end of the run (the finally below, or
  // the kernel when this process dies, gives them back). Their combinations act as Ctrl-] and a
  // signal do on the console.
  let hostInput: HostInput | null = null;
  const hostAction = { stop: () => {}, power: () => {} };
  if (ring && inputDevices.length) {
    try {
      hostInput = HostInput.grab(inputDevices, {
        push: (r) => ring.push(r),
        kick,
        action: (a) => (a === 'stop' ? hostAction.stop() : hostAction.power()),
      });
    } catch (e) {
      say(`input: ${(e as Error).message}`);
      return done(2, true);
    }
    for (const d of inputDevices) say(`input: grabbed ${d.path} (${d.name}; ${d.kinds.join(', ') || 'other'})`);
    say(`input: ${STOP_COMBO} stops the VM, ${POWER_COMBO} presses its power button`);
  }
  // The guest's console: drained every few milliseconds and written in chunks; with a generated
  // Boot0000, watched for the firmware reporting that it could not load or start it.
  const watch = opts.loader ? new BootWatch('Boot0000') : null;
  const boot: { failure: string | null } = { failure: null };
  // The worker runs this same bundle; src/cli.ts sees its role at the top level and starts
  // src/vm/worker.ts (the command module itself is loaded lazily and never runs there).
  const worker = new Worker(bundle, {
    workerData: {
      role: VM_WORKER_ROLE,
      opts,
      bundle,
      flash,
      host,
      channel: channel.sab,
      output: output.sab,
      ...(ring ? { hostInput: ring.sab } : {}),
    } satisfies VmWorkerData,
    stdout: false,
    stderr: false,
  });
  const stop = () => {
    channel.requestStop();
    if (handle >= 0) kvm().kvmKick(handle);
  };
  // SIGINT/SIGTERM press the guest's ACPI power button, so an OS shuts down cleanly; a second
  // signal, or a guest still running after SHUTDOWN_GRACE_S, stops it at once. Ctrl-] always
  // stops at once.
  let grace: NodeJS.Timeout | null = null;
  const powerButton = () => {
    if (grace) return stop();
    say(
      `pressing the guest's power button (ACPI); it has ${SHUTDOWN_GRACE_S} s to shut down (again: stop at once)`,
      '\n',
    );
    channel.pressPowerButton();
    if (handle >= 0) kvm().kvmKick(handle);
    grace = setTimeout(() => {
      say(`the guest did not shut down within ${SHUTDOWN_GRACE_S} s; stopping it`, '\n');
      stop();
    }, SHUTDOWN_GRACE_S * 1000);
  };
  hostAction.stop = stop;
  hostAction.power = powerButton;
  hostInput?.start();
  const stdin = process.stdin;
  const escape = new ConsoleEscape();
  const onData = (d: Buffer) => {
    if (d.includes(CTRL_RIGHT_BRACKET)) return stop();
    const { bytes, commands } = escape.feed(d);
    if (commands.includes('screenshot')) channel.requestScreenshot();
    if (bytes.length) channel.push(bytes);
    if (handle >= 0) kvm().kvmKick(handle);
  };
  const drain = () => {
    const chunk = output.drain();
    if (!chunk.length) return;
    writeAll(chunk);
    if (watch && boot.failure === null) {
      boot.failure = watch.feed(chunk);
      if (boot.failure !== null) stop();
    }
  };
  const drainer = setInterval(drain, 10);
  const tty = stdin.isTTY === true;
  if (tty) stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.on('error', () => {});
  // A caller that paused stdin (the menu hands its terminal over paused) gets it read again.
  stdin.resume();
  process.on('SIGINT', powerButton);
  process.on('SIGTERM', powerButton);
  try {
    const msg = await new Promise<VmWorkerMessage>((resolve, reject) => {
      worker.on('message', (m: VmWorkerMessage) => {
        if (m.type === 'vcpu') handle = m.handle;
        else if (m.type === 'note') say(m.line);
        else if (m.type === 'screenshot') say(describeShot(m.shot), '\n');
        else resolve(m);
      });
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`VM worker exited with code ${code}`)));
    });
    drain();
    if (msg.type === 'fail') {
      say(msg.message);
      return done(2);
    }
    if (msg.type !== 'done') return done(1);
    const { result } = msg;
    if (opts.stats)
      process.stderr.write(
        `tendril-vm-stats ${JSON.stringify({ result: result.kind, resets: msg.resets, exits: msg.stats })}\n`,
      );
    varsChanged = reportVariables(flash.vars, msg.vars, opts.vars, say);
    if (msg.screenshot) say(describeShot(msg.screenshot));
    if (boot.failure !== null) {
      const hint =
        secureBoot === 'on' && /Access Denied|Security Violation/.test(boot.failure)
          ? ' (Secure Boot is on: the loader is not signed by a key in db, or its hash is in dbx)'
          : '';
      say(`the firmware did not start the loader: ${boot.failure}${hint}`, '\n');
      return done(3);
    }
    switch (result.kind) {
      case 'poweroff':
        say(`guest powered off (${result.reason})`, '\n');
        return done(0);
      case 'stopped':
        say(result.reason, '\n');
        return done(130);
      case 'reset':
        return done(0);
      case 'error':
        say(`fatal: ${result.reason}`, '\n');
        process.stderr.write(`${result.dump}\n`);
        return done(1);
    }
    return done(1);
  } catch (e) {
    say((e as Error).message);
    return done(1);
  } finally {
    for (const l of hostInput?.close() ?? []) say(`input: ${l}`);
    clearInterval(drainer);
    drain();
    if (grace) clearTimeout(grace);
    process.off('SIGINT', powerButton);
    process.off('SIGTERM', powerButton);
    stdin.off('data', onData);
    if (tty) stdin.setRawMode(false);
    stdin.pause();
    await worker.terminate();
  }
}

function describeShot(shot: { file: string; width: number; height: number } | { file: string; error: string }): string {
  return 'error' in shot
    ? `screenshot ${shot.file}: not written: ${shot.error}`
    : `screenshot: ${shot.file} (${shot.width}x${shot.height})`;
}

/** Lists what the guest did to its variables and, with --vars, keeps them; returns how many changed. */
function reportVariables(
  before: Uint8Array,
  after: Uint8Array,
  file: string | undefined,
  say: (line: string, lead?: string) => void,
): number {
  if (after.length === 0) return 0;
  const { changes, lines } = describeVarChanges(before, after);
  let where = file === undefined ? 'not kept (--vars FILE keeps them)' : `kept in ${file}`;
  if (file !== undefined) {
    try {
      saveVarsAtomically(file, after);
    } catch (e) {
      where = `NOT saved to ${file}: ${(e as Error).message}`;
    }
  }
  const what =
    changes.length === 0 && lines.length === 0
      ? 'the guest changed no UEFI variables'
      : `the guest changed ${changes.length} UEFI variable${changes.length === 1 ? '' : 's'}`;
  say(`${what}; ${where}${lines.length ? ':' : ''}`, '\n');
  for (const l of lines) {
    process.stderr.write(`${l}\n`);
  }
  return changes.length;
}

/** Console bytes to fd 1, whole (stdout may be a pipe that takes them in parts). */
function writeAll(bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    try {
      off += fs.writeSync(1, bytes, off, bytes.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
  }
}
