// What the `tendril vm` main thread and its worker threads tell each other. Every VM worker
// starts from the same bundle as the command (one file ships in the initramfs); src/cli.ts
// reads `role` at the bundle's top level and hands such a worker to src/vm/worker.ts. This
// module holds types and constants only, so cli.ts can import it without loading the VMM.
import type { LoaderSpec } from './boot-entry';
import type { DiskSpec } from './disk';
import type { InputDevicesChoice } from './input-choice';
import type { RtcMode } from './host-tables';
import type { SmbiosVersion } from './smbios';
import type { NvmeDoorbellFds } from './nvme/doorbells';
import type { NvmeEnable } from './nvme/engine';
import type { AhciStart } from './ahci/engine';
import type { RemoteIrq } from './virtio';
import type { MessagePort } from 'node:worker_threads';

export const VM_WORKER_ROLE = 'tendril-vm';

/** How one VM instance ended (machine.ts). */
export type MachineResult =
  | { kind: 'poweroff'; reason: string }
  | { kind: 'reset'; reason: string }
  | { kind: 'stopped'; reason: string }
  | { kind: 'error'; reason: string; dump: string };
/** An AP's thread (vcpu-thread.ts), started by the VM worker. */
export const VM_VCPU_ROLE = 'tendril-vm-vcpu';

/** The I/O thread (io-thread.ts), started by the VM worker when there are disks. */
export const VM_IO_ROLE = 'tendril-vm-io';

/** The display thread (display/host-thread.ts), started by the VM worker with a host output. */
export const VM_DISPLAY_ROLE = 'tendril-vm-display';

export interface DisplayWorkerData {
  readonly role: typeof VM_DISPLAY_ROLE;
  /** The host's fbdev or DRM card (display/host-output.ts). */
  readonly device: string;
  /** The control block (display/host-link.ts) and the bochs-display's DISPI registers. */
  readonly ctl: SharedArrayBuffer;
  readonly regs: SharedArrayBuffer;
}

export type DisplayReply =
  | { readonly type: 'ready'; readonly width: number; readonly height: number; readonly description: string }
  | { readonly type: 'fail'; readonly message: string }
  | { readonly type: 'closed' };

export interface IoWorkerData {
  readonly role: typeof VM_IO_ROLE;
  readonly disks: readonly DiskSpec[];
  /** Wakes the I/O thread for a control message (eventfd). */
  readonly ctlFd: number;
  /** How each disk's doorbells wake the thread. */
  readonly wakes: readonly DiskWake[];
  /** Int32[0]: the sequence number of the last control message done. */
  readonly ack: SharedArrayBuffer;
  /** Float64 per disk: requests, bytes read, bytes written, errors. */
  readonly stats: SharedArrayBuffer;
  /** Control messages (IoRequest), read with receiveMessageOnPort. */
  readonly port: MessagePort;
}

/** A disk's doorbells as the I/O thread sees them. */
export type DiskWake =
  /** virtio-blk: queue 0's notify eventfd (the ioeventfd KVM signals). */
  | { readonly kind: 'virtio'; readonly notifyFd: number }
  /** NVMe: the eventfds per I/O queue and tail value (nvme/doorbells.ts), and the tail values that
   *  reached vCPU 0's thread (Int32 per queue, -1 when none is waiting), with the eventfd it
   *  signals after storing one. */
  | {
      readonly kind: 'nvme';
      readonly doorbells: NvmeDoorbellFds;
      readonly tails: SharedArrayBuffer;
      readonly tailFd: number;
    }
  /** AHCI: the eventfd vCPU 0's thread signals after setting PxCI bits (ahci/regs.ts). */
  | { readonly kind: 'ahci'; readonly kickFd: number };

export type IoRequest =
  | {
      readonly op: 'activate';
      readonly seq: number;
      readonly disk: number;
      readonly queue: {
        readonly size: number;
        readonly desc: number;
        readonly driver: number;
        readonly device: number;
      };
      /** kvmMemId of guest RAM below and above 4 GiB. */
      readonly mem: { readonly low: number; readonly high: number | null };
      readonly irq: RemoteIrq;
    }
  | {
      readonly op: 'nvme-enable';
      readonly seq: number;
      readonly disk: number;
      readonly enable: NvmeEnable;
      readonly mem: { readonly low: number; readonly high: number | null };
      /** The controller's InterruptState and its vectors' irqfds. */
      readonly irq: { readonly state: SharedArrayBuffer; readonly vectorFds: readonly number[] };
    }
  | { readonly op: 'nvme-shutdown'; readonly seq: number; readonly disk: number }
  | {
      /** PxCMD.ST 0 → 1 (ahci/engine.ts). */
      readonly op: 'ahci-start';
      readonly seq: number;
      readonly disk: number;
      readonly at: AhciStart;
      readonly mem: { readonly low: number; readonly high: number | null };
      /** The port's shared registers (ahci/regs.ts). */
      readonly shared: SharedArrayBuffer;
      /** The function's InterruptState, MSI's irqfd, and the INTx line to assert without MSI. */
      readonly irq: {
        readonly state: SharedArrayBuffer;
        readonly msiFd: number | null;
        readonly intx: { readonly vmFd: number; readonly gsi: number } | null;
      };
    }
  | { readonly op: 'ahci-reset-device'; readonly seq: number; readonly disk: number }
  | { readonly op: 'reset'; readonly seq: number; readonly disk: number }
  | { readonly op: 'quit'; readonly seq: number };

export type IoReply =
  | { readonly type: 'ready'; readonly disks: ReadonlyArray<{ readonly size: number; readonly readOnly: boolean }> }
  | { readonly type: 'fail'; readonly message: string };

export interface VcpuWorkerData {
  readonly role: typeof VM_VCPU_ROLE;
  readonly index: number;
  readonly handle: number;
  readonly bspHandle: number;
  readonly mailbox: SharedArrayBuffer;
}

export interface VmOptions {
  /** --firmware: a CODE or unified OVMF image; default: Debian's OVMF_CODE_4M.fd (firmware.ts). */
  readonly firmware?: string;
  /** --vars-template: the variable store to start from (CODE images). */
  readonly varsTemplate?: string;
  /** --vars: keep the variable store in this host file (vars-file.ts). */
  readonly vars?: string;
  /** --secure-boot: start from a template with keys enrolled. */
  readonly secureBoot: boolean;
  readonly disks: readonly DiskSpec[];
  /** --loader: boot exactly this file through a generated Boot0000 (boot-entry.ts). */
  readonly loader?: LoaderSpec;
  /** --loader-args: its command line (LoadOptions). */
  readonly loaderArgs?: string;
  readonly ramBytes: number;
  readonly cpus: number;
  readonly stats: boolean;
  /** --rtc: what the guest's CMOS clock shows (host-tables.ts); default utc. */
  readonly rtc?: RtcMode;
  /** --input: where this console's keystrokes go; default serial. */
  readonly input?: ConsoleInput;
  /** --display: a display device (display/bochs.ts); --screenshot implies it. */
  readonly display?: boolean;
  /** --hyperv: offer the Hyper-V enlightenments KVM implements (hyperv.ts). */
  readonly hyperv?: boolean;
  /** --screenshot: write the screen as a PNG here when the VM ends. */
  readonly screenshot?: string;
  /** --display-out: show the screen on the host's fbdev or DRM card: auto, none or a device path. */
  readonly displayOut?: string;
  /** --input-devices: the host's keyboards and mice grabbed for the guest's PS/2 devices
   *  (host-input.ts); absent: none. */
  readonly inputDevices?: InputDevicesChoice;
}

/** `serial`: COM1 receives the console's bytes. `keyboard`: they are typed on the PS/2 keyboard
 *  (US layout), for guests that read no serial console, like Windows past its boot manager. */
export const CONSOLE_INPUTS = ['serial', 'keyboard'] as const;
export type ConsoleInput = (typeof CONSOLE_INPUTS)[number];

export interface VmWorkerData {
  readonly role: typeof VM_WORKER_ROLE;
  readonly opts: VmOptions;
  /** The bundle, which the APs' threads start from too. */
  readonly bundle: string;
  /** The flash banks' initial contents, resolved and checked by the main thread. */
  readonly flash: { readonly code: Uint8Array; readonly vars: Uint8Array };
  /** The host's ACPI tables passed on (MSDM, SLIC; host-tables.ts) and the RTC's start offset. */
  readonly host: {
    readonly acpiTables: readonly Uint8Array[];
    readonly rtcOffsetMs: number;
    /** The host's SMBIOS structures passed on, and its version (smbios.ts). */
    readonly smbios: { readonly structures: readonly Uint8Array[]; readonly version: SmbiosVersion | null };
  };
  /** The console-input ring and stop flag, and the console-output ring (console.ts). */
  readonly channel: SharedArrayBuffer;
  readonly output: SharedArrayBuffer;
  /** Host keyboard and mouse input (host-input-ring.ts), with --input-devices. */
  readonly hostInput?: SharedArrayBuffer;
}

export type VmWorkerMessage =
  | { readonly type: 'vcpu'; readonly handle: number }
  | {
      readonly type: 'done';
      readonly result: MachineResult;
      readonly stats: Record<string, number>;
      readonly resets: number;
      /** The variable store as the guest left it. */
      readonly vars: Uint8Array;
      /** --screenshot: what was written, or why nothing was. */
      readonly screenshot?:
        | { readonly file: string; readonly width: number; readonly height: number }
        | { readonly file: string; readonly error: string };
    }
  | { readonly type: 'fail'; readonly message: string }
  /** A screenshot asked for from the console while the VM runs (Ctrl-\ then s). */
  | {
      readonly type: 'screenshot';
      readonly shot:
        | { readonly file: string; readonly width: number; readonly height: number }
        | { readonly file: string; readonly error: string };
    }
  /** A line for the console from the VM worker (the host output's). */
  | { readonly type: 'note'; readonly line: string };

/** The role a worker thread was started with, or undefined on the main thread. */
export function workerRole(isMainThread: boolean, data: unknown): string | undefined {
  if (isMainThread || typeof data !== 'object' || data === null) return undefined;
  const role = (data as { role?: unknown }).role;
  return typeof role === 'string' ? role : undefined;
}
