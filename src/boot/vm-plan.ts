// The VM plan for an `efi` entry: the whole disk holding the loader's partition becomes VM disk 0
// (copy-on-write overlay unless write-through was asked for), the loader's path and options become
// Boot0000 (HD(partition)/File(path) + LoadOptions), the firmware is Debian's OVMF unless one is
// given. Everything is decided and checked here, before anything runs, so `--dry-run` shows what
// the run would do; src/vm/command.ts runVm() executes it.

import * as fs from 'node:fs';
import type { DeviceBus, DeviceReport, EfiTarget, MenuEntry } from '../discovery/model';
import { describeEntry, diskPartition, efiPath } from '../vm/boot-entry';
import type { DiskInterface, DiskMode } from '../vm/disk';
import { loadFirmware, type FirmwareKind } from '../vm/firmware';
import { defaultGuestRam } from '../vm/memory';
import type { ConsoleInput, VmOptions } from '../vm/protocol';
import type { VmDiskInterface, VmSettings } from '../settings/schema';
import { DEFAULT_CPUS } from '../vm/limits';
import type { RtcMode } from '../vm/host-tables';
import { chooseInputDevices, readProcInputDevices, STOP_COMBO, type ChosenDevice } from '../vm/host-input';
import type { InputDevicesChoice } from '../vm/input-choice';
import { resolveDisplayOutput } from '../vm/display/host-output';

/** What the user chose for the VM (`tendril boot` options, the menu's write-through). */
export interface VmChoices {
  readonly firmware?: string;
  readonly secureBoot?: boolean;
  /** Keep the variables in this file; in memory for the run when absent. */
  readonly vars?: string;
  readonly cpus?: number;
  readonly ramBytes?: number;
  /** The loader's disk is written through instead of getting an in-memory overlay. */
  readonly writeThrough?: boolean;
  /** The controller the guest sees the disk on; absent = auto (diskInterfaceFor). */
  readonly diskInterface?: VmDiskInterface;
  /** What the guest's CMOS clock shows; absent = utc. */
  readonly rtc?: RtcMode;
  /** Where the console's keystrokes go; absent = serial. */
  readonly input?: ConsoleInput;
  /** A display device; absent = on for Windows Boot Manager only (it shows its prompts there). */
  readonly display?: boolean;
  /** Where the display is shown on this machine (--display-out); absent = auto when it has one. */
  readonly displayOutput?: string;
  /** The host's keyboards and mice for the guest; absent = auto when the VM has a display (its
   *  user sits at this machine's screen and keyboard), none otherwise. */
  readonly inputDevices?: InputDevicesChoice | 'none';
  /** Hyper-V enlightenments; absent = on for Windows Boot Manager only (a Linux guest would take
   *  the Hyper-V paths over KVM's own). */
  readonly hyperv?: boolean;
  /** Replaces the entry's options (the editor, `--cmdline`). */
  readonly replace?: string;
  /** Appended to them (`--append`). */
  readonly append?: string;
}

export interface VmPlanDisk {
  readonly path: string;
  readonly mode: Extract<DiskMode, 'cow' | 'rw'>;
  readonly iface: DiskInterface;
  /** Why that controller. */
  readonly ifaceReason: string;
  /** Why it is there: the loader's disk. */
  readonly holds: string;
}

export interface VmPlan {
  readonly kind: 'vm';
  readonly entryId: string;
  readonly title: string;
  readonly firmware: { readonly code: string; readonly kind: FirmwareKind; readonly varsTemplate: string };
  readonly variables: { readonly kind: 'memory' } | { readonly kind: 'file'; readonly path: string };
  readonly secureBoot: boolean;
  readonly disks: readonly VmPlanDisk[];
  readonly bootVariable: { readonly name: 'Boot0000'; readonly devicePath: string; readonly loadOptions?: string };
  readonly cpus: number;
  readonly ramBytes: number;
  /** The host input devices the run will grab (found now; the run looks again), and why. */
  readonly input: {
    readonly reason: string;
    readonly devices: readonly ChosenDevice[];
    readonly notes: readonly string[];
  };
  /** What runVm() is given. */
  readonly options: VmOptions;
}

/** The settings' [vm] table as choices; the menu and `tendril boot` put their own over it. */
export function vmChoicesFrom(s: VmSettings): VmChoices {
  return {
    ...(s.cpus !== undefined ? { cpus: s.cpus } : {}),
    ...(s.ramBytes !== undefined ? { ramBytes: s.ramBytes } : {}),
    ...(s.firmware !== undefined ? { firmware: s.firmware } : {}),
    ...(s.secureBoot ? { secureBoot: true } : {}),
    ...(s.diskInterface !== undefined ? { diskInterface: s.diskInterface } : {}),
    ...(s.rtc !== undefined ? { rtc: s.rtc } : {}),
    ...(s.input !== undefined ? { input: s.input } : {}),
    ...(s.display !== undefined ? { display: s.display } : {}),
    ...(s.displayOutput !== undefined ? { displayOutput: s.displayOutput } : {}),
    ...(s.inputDevices !== undefined ? { inputDevices: s.inputDevices } : {}),
    ...(s.hyperv !== undefined ? { hyperv: s.hyperv } : {}),
  };
}

/** Windows Boot Manager's path on an ESP (and its removable-media copy is shim-free bootmgfw too). */
const WINDOWS_LOADER = /^\\EFI\\Microsoft\\Boot\\bootmgfw\.efi$/i;

/**
 * The controller for the loader's disk. Windows boots only from a controller of the kind it was
 * installed on (it has no virtio driver, and loads only the boot-critical storage driver of its
 * own hardware; docs/vmm-platform.md §14), so `auto` chooses NVMe for a disk that is NVMe on the
 * host, AHCI for Windows Boot Manager on a host SATA disk (a Windows installed in SATA mode starts
 * only storahci; docs/vmm-platform.md §16), NVMe for Windows Boot Manager elsewhere, and
 * virtio-blk otherwise (every Linux has its driver). `bus` is discovery's (devices.ts).
 */
export function diskInterfaceFor(
  choice: VmDiskInterface | undefined,
  disk: string,
  loader: string,
  bus?: DeviceBus,
): { readonly iface: DiskInterface; readonly reason: string } {
  if (choice === 'virtio' || choice === 'nvme' || choice === 'ahci') return { iface: choice, reason: 'chosen' };
  const base = disk.split('/').pop() ?? '';
  if (/^nvme\d+n\d+$/.test(base))
    return { iface: 'nvme', reason: `auto: ${disk} is an NVMe namespace on this machine` };
  if (WINDOWS_LOADER.test(loader) && bus === 'sata')
    return {
      iface: 'ahci',
      reason: `auto: the loader is Windows Boot Manager on ${disk}, a SATA disk here, so Windows expects storahci`,
    };
  if (WINDOWS_LOADER.test(loader))
    return { iface: 'nvme', reason: 'auto: the loader is Windows Boot Manager, which has no virtio driver' };
  return { iface: 'virtio', reason: 'auto' };
}

/** Thrown when an efi entry has no VM plan; the message is the one-line reason. */
export class VmPlanError extends Error {}

/** The disk and partition that hold `fsId`, from discovery's device reports. */
function loaderDisk(
  fsId: string,
  devices: readonly DeviceReport[],
): { disk: string; partition: number; bus: DeviceBus } {
  for (const d of devices) {
    const f = d.filesystems.find((x) => x.fsId === fsId);
    if (!f) continue;
    if (f.partition === 0)
      throw new VmPlanError(
        `the loader's filesystem ${fsId} fills the whole of ${d.device.path} (no partition table); a boot variable names a partition`,
      );
    let st: fs.Stats;
    try {
      st = fs.statSync(d.device.path);
    } catch (e) {
      throw new VmPlanError(`${d.device.path}: stat: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!st.isFile() && !st.isBlockDevice())
      throw new VmPlanError(
        `the loader's filesystem ${fsId} is ${d.device.path}, a host directory, not a disk the VM can be given`,
      );
    return { disk: d.device.path, partition: f.partition, bus: d.device.bus };
  }
  throw new VmPlanError(`filesystem ${fsId} is on no discovered disk`);
}

/** The loader's LoadOptions: the entry's options (or the replacement), then --append; none when neither. */
function loadOptions(t: EfiTarget, c: VmChoices): string | undefined {
  const base = c.replace ?? t.options;
  if (base === undefined && c.append === undefined) return undefined;
  return [base, c.append].filter((s) => s !== undefined && s !== '').join(' ');
}

/** The VM plan for `entry`'s efi target. Throws VmPlanError with the reason there is none. */
export function planVm(entry: MenuEntry, t: EfiTarget, devices: readonly DeviceReport[], c: VmChoices): VmPlan {
  const { disk, partition, bus } = loaderDisk(t.image.fsId, devices);
  let loader: string;
  let devicePath: string;
  try {
    loader = efiPath(t.image.path);
    devicePath = describeEntry({ partition: diskPartition(disk, partition), loader });
  } catch (e) {
    throw new VmPlanError((e as Error).message);
  }
  let fw: ReturnType<typeof loadFirmware>;
  try {
    fw = loadFirmware({ firmware: c.firmware, secureBoot: c.secureBoot });
  } catch (e) {
    throw new VmPlanError((e as Error).message);
  }
  const args = loadOptions(t, c);
  const mode = c.writeThrough ? 'rw' : 'cow';
  const iface = diskInterfaceFor(c.diskInterface, disk, loader, bus);
  const cpus = c.cpus ?? DEFAULT_CPUS;
  const ramBytes = c.ramBytes ?? defaultGuestRam();
  const display = c.display ?? WINDOWS_LOADER.test(loader);
  const inputDevices = c.inputDevices ?? (display ? 'auto' : 'none');
  const displayOut = display ? (c.displayOutput ?? 'auto') : 'none';
  const chosen =
    inputDevices === 'none' ? { devices: [], notes: [] } : chooseInputDevices(inputDevices, readProcInputDevices());
  const options: VmOptions = {
    ...(c.firmware !== undefined ? { firmware: c.firmware } : {}),
    ...(c.vars !== undefined ? { vars: c.vars } : {}),
    secureBoot: c.secureBoot === true,
    disks: [{ path: disk, mode, ...(iface.iface !== 'virtio' ? { iface: iface.iface } : {}) }],
    loader: { disk: 0, partition, path: loader },
    ...(args !== undefined ? { loaderArgs: args } : {}),
    ramBytes,
    cpus,
    stats: false,
    ...(c.rtc !== undefined ? { rtc: c.rtc } : {}),
    ...(c.input !== undefined ? { input: c.input } : {}),
    ...(display ? { display: true } : {}),
    ...(displayOut !== 'none' ? { displayOut } : {}),
    ...(inputDevices !== 'none' ? { inputDevices } : {}),
    ...((c.hyperv ?? WINDOWS_LOADER.test(loader)) ? { hyperv: true } : {}),
  };
  return {
    kind: 'vm',
    entryId: entry.id,
    title: entry.displayTitle,
    firmware: { code: fw.path, kind: fw.kind, varsTemplate: fw.varsFrom },
    variables: c.vars === undefined ? { kind: 'memory' } : { kind: 'file', path: c.vars },
    secureBoot: c.secureBoot === true,
    disks: [
      { path: disk, mode, iface: iface.iface, ifaceReason: iface.reason, holds: `${t.image.fsId}:${t.image.path}` },
    ],
    bootVariable: { name: 'Boot0000', devicePath, ...(args !== undefined ? { loadOptions: args } : {}) },
    cpus,
    ramBytes,
    input: {
      reason: c.inputDevices !== undefined ? 'chosen' : display ? 'auto: the VM has a display' : 'auto: no display',
      devices: chosen.devices,
      notes: chosen.notes,
    },
    options,
  };
}

const GIB = 1 << 30;
const MIB = 1 << 20;
const sizeText = (n: number): string => (n % GIB === 0 ? `${n / GIB} GiB` : `${Math.round(n / MIB)} MiB`);

/** Where the screen goes, as the dry run says it (the run resolves `auto` again). */
function displayOutLine(spec: string | undefined): string {
  if (spec === undefined || spec === 'none')
    return "nothing on this machine's screen ([vm] display-output = none, or no display)";
  if (spec !== 'auto')
    return `${spec} (${spec.startsWith('/dev/fb') ? 'fbdev' : 'DRM card, taken over while the VM runs'})`;
  const dev = resolveDisplayOutput('auto');
  return dev
    ? `${dev} (auto: found now; the run looks again)`
    : 'nothing (auto: no /dev/fb0 and no DRM card with a connected display now)';
}

/** The plan as `--dry-run` prints it (raw lines: the caller makes them printable). */
export function vmPlanLines(p: VmPlan): string[] {
  const lines = [
    `firmware: ${p.firmware.code} (${p.firmware.kind === 'code' ? 'CODE image' : 'unified image'})`,
    `variable store template: ${p.firmware.varsTemplate}${p.secureBoot ? ' (Secure Boot keys enrolled, Secure Boot on)' : ''}`,
    p.variables.kind === 'memory'
      ? 'variables: in memory for this run (--vars FILE keeps them)'
      : `variables: kept in ${p.variables.path} (${fs.existsSync(p.variables.path) ? 'read from it' : 'created from the template'}; written atomically at the end)`,
  ];
  p.disks.forEach((d, i) =>
    lines.push(
      `disk ${i}: ${d.path} ${d.mode === 'rw' ? 'WRITE-THROUGH (the guest writes to it)' : 'read-only, guest writes go to an in-memory copy-on-write overlay'}; on ${d.iface === 'nvme' ? 'NVMe' : d.iface === 'ahci' ? 'AHCI (SATA)' : 'virtio-blk'} (${d.ifaceReason}); holds ${d.holds}`,
    ),
  );
  lines.push(`boot variable: ${p.bootVariable.name} = ${p.bootVariable.devicePath}; BootOrder = 0000`);
  lines.push(
    p.bootVariable.loadOptions === undefined
      ? 'load options: none'
      : `load options (${Buffer.byteLength(p.bootVariable.loadOptions, 'utf16le') + 2} bytes UCS-2): ${p.bootVariable.loadOptions}`,
  );
  lines.push(
    `vCPUs: ${p.cpus}`,
    `memory: ${sizeText(p.ramBytes)}`,
    `guest clock (CMOS RTC): ${p.options.rtc ?? 'utc'}`,
    `console keystrokes go to: ${p.options.input === 'keyboard' ? 'the PS/2 keyboard' : 'COM1 (serial)'}`,
    `display: ${p.options.display ? 'a GOP framebuffer (bochs-display)' : 'none (serial console only)'}`,
    `display shown on: ${displayOutLine(p.options.displayOut)}`,
    p.options.inputDevices === undefined
      ? `host keyboards and mice: none (${p.input.reason}; [vm] input-devices = auto grabs them)`
      : `host keyboards and mice (${p.input.reason}): ${p.input.devices.length ? 'grabbed while the VM runs' : 'none found now'}; ${STOP_COMBO} on them stops the VM`,
    ...p.input.devices.map((d) => `  input device: ${d.path} (${d.name}; ${d.kinds.join(', ') || 'other'})`),
    ...p.input.notes.map((n) => `  input: ${n}`),
    `Hyper-V enlightenments: ${p.options.hyperv ? 'on (what KVM implements: clock, timers, APIC, TLB flush, IPIs, crash report)' : 'off'}`,
  );
  return lines;
}
