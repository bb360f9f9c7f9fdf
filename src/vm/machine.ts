// One VM instance on KVM: creates the VM, memory slots, in-kernel irqchip/PIT, the vCPUs and the
// platform, then runs until power-off, reset or a fatal exit. Runs on the VM worker thread, which
// is also vCPU 0's thread; every other vCPU runs on its own worker (vcpu-thread.ts) and hands the
// exits JavaScript must see to this thread through a mailbox (README.md "Threads").
import { Worker } from 'node:worker_threads';
import {
  COUNT_EINTR,
  COUNT_FAST_PMTIMER,
  COUNT_FAST_SINK,
  ExitReason,
  PortMode,
  exitReasonName,
  decodeRegs,
  formatRegisterDump,
  kvm,
  kvmConstants,
} from '../native/kvm';
import { hasDoorbells } from './bus';
import { decodeCpuid, encodeCpuid, vcpuCpuid, type CpuidEntry } from './cpuid';
import {
  describeGuestCrash,
  HV_CRASH_CTL,
  HV_CRASH_CTL_NOTIFY,
  HV_CRASH_P0,
  HV_CRASH_PARAMS,
  withHyperv,
} from './hyperv';
import { MsiRoutes, routingEntries } from './irq-routing';
import type { MsiSink } from './msix';
import { FOUR_GIB, GuestMemory, IDENTITY_MAP_ADDR, TSS_ADDR, memoryLayout } from './memory';
import type { CfiFlash } from './pflash';
import { Platform, type PlatformDisk } from './platform';
import { ApMailbox } from './ap-mailbox';
import { MAX_CPUS } from './limits';
import { VM_VCPU_ROLE, type ConsoleInput, type MachineResult, type VcpuWorkerData } from './protocol';
import { ConsoleKeys, strokeEvents } from './console-keys';
import { HostInputSink, type HostInputBatch } from './host-input-ring';
import type { SmbiosVersion } from './smbios';
import { FB_SIZE } from './display/bochs';
import { encodePng } from './display/png';
import type { FramebufferWatch } from './display/host-link';

/**
 * The flash banks in memory KVM can map (page-aligned anonymous mappings). The caller keeps them
 * across guest resets, so the variable store survives a reboot as on a real board.
 */
export interface FlashBanks {
  readonly code: ArrayBuffer;
  readonly vars: ArrayBuffer | null;
}

/** Copies the firmware's banks into KVM-mappable memory. */
export function mapFlash(code: Uint8Array, vars: Uint8Array | null): FlashBanks {
  const k = kvm();
  const c = k.kvmMapAnon(code.length);
  new Uint8Array(c).set(code);
  let v: ArrayBuffer | null = null;
  if (vars && vars.length) {
    v = k.kvmMapAnon(vars.length);
    new Uint8Array(v).set(vars);
  }
  return { code: c, vars: v };
}

/**
 * KVM on AMD re-initialises the VMCB at a shutdown intercept (svm.c shutdown_interception), so the
 * registers read back after a triple fault are the reset state, not those of the fault.
 */
const RESET_AFTER_SHUTDOWN =
  '; KVM reset the vCPU at the shutdown (AMD does), so the registers below are the reset state, not the faulting one';

/** Memory slots: 0 low RAM, 1 high RAM, then one per flash bank. */
const SLOT_FLASH_CODE = 2;
const SLOT_FLASH_VARS = 3;
const SLOT_FRAMEBUFFER = 4;

/** TLFS: the status a hypercall the hypervisor does not implement returns. */
const HV_STATUS_INVALID_HYPERCALL_CODE = 2n;

export interface MachineConfig {
  readonly flash: FlashBanks;
  readonly ramBytes: number;
  readonly cpus: number;
  readonly disks: readonly PlatformDisk[];
  /** Publish the fw_cfg `bootorder` of the bootable disks (platform.ts). */
  readonly fwBootOrder: boolean;
  /** One byte the guest wrote to COM1 (console.ts: ConsoleOutput.put in the product). */
  readonly serialOut: (byte: number) => void;
  /** Console input and stop requests, polled when KVM_RUN is interrupted. */
  readonly poll: () => {
    stop: boolean;
    input: Uint8Array | null;
    powerButton: boolean;
    /** Host keyboard and mouse input (--input-devices; host-input-ring.ts). */
    hostInput?: HostInputBatch | null;
  };
  /** Called once vCPU 0 exists, with its handle (for kvmKick from other threads). */
  readonly onVcpu: (handle: number) => void;
  /** The bundle the AP threads start from (more than one vCPU). */
  readonly bundle?: string;
  /** Whole ACPI tables from the host to list in the XSDT (MSDM, SLIC). */
  readonly acpiTables?: readonly Uint8Array[];
  /** The CMOS clock's start, relative to host UTC (ms). */
  readonly rtcOffsetMs?: number;
  /** The host's SMBIOS structures to publish (smbios.ts); none when empty. */
  readonly smbios?: { readonly structures: readonly Uint8Array[]; readonly version: SmbiosVersion | null };
  /** A display (display/bochs.ts) whose framebuffer is guest RAM where the guest maps it. */
  readonly display?: boolean;
  /** The host screen's copier (--display-out; display/host-link.ts): dirty-logs the framebuffer slot. */
  readonly hostDisplay?: FramebufferWatch;
  /** Where console input goes: COM1 (default), or the PS/2 keyboard as key strokes. */
  readonly input?: ConsoleInput;
  /** Offer the Hyper-V enlightenments KVM implements (hyperv.ts). */
  readonly hyperv?: boolean;
}

export type { MachineResult } from './protocol';

export const REQUIRED_CAPS = [
  'capIrqchip',
  'capPit2',
  'capReadonlyMem',
  'capSetTssAddr',
  'capImmediateExit',
  'capUserMemory',
  'capSetIdentityMapAddr',
] as const;

/** A vCPU as this thread sees it: its handle and its kvm_run page. */
interface Vcpu {
  readonly index: number;
  readonly handle: number;
  readonly run: DataView;
  readonly bytes: Uint8Array;
}

export class Machine {
  private readonly k = kvm();
  private readonly c = kvmConstants();
  private sys = -1;
  private vm = -1;
  private readonly vcpus: Vcpu[] = [];
  platform!: Platform;
  private pmPort: number | null = null;
  private mailbox: ApMailbox | null = null;
  /** Decodes console bytes into key strokes when console input goes to the keyboard. */
  private keys: ConsoleKeys | null = null;
  /** Applies the host's keyboards and mice (--input-devices) to the i8042. */
  private hostInput: HostInputSink | null = null;
  private readonly apWorkers: Worker[] = [];
  /** Counts of exits handled in TypeScript, by device (range name), for --stats and the bench. */
  readonly jsExits = new Map<string, number>();
  /** The guest memory mappings must outlive the VM: KVM holds their addresses. */
  private readonly keep: ArrayBuffer[] = [];
  /** eventfds this VM owns (irqfds), closed with it. */
  private readonly fds: number[] = [];

  constructor(private readonly cfg: MachineConfig) {
    if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > MAX_CPUS)
      throw new RangeError(`${cfg.cpus} vCPUs: 1..${MAX_CPUS} are supported`);
  }

  create(): void {
    const k = this.k;
    const c = this.c;
    this.sys = k.kvmOpen();
    const api = k.kvmApiVersion(this.sys);
    if (api !== 12) throw new Error(`KVM_GET_API_VERSION: ${api}, expected 12`);
    for (const cap of REQUIRED_CAPS) {
      if (k.kvmCheckExtension(this.sys, c[cap]) <= 0)
        throw new Error(`KVM_CHECK_EXTENSION: ${cap} missing; this KVM cannot run the VM`);
    }
    const mmapSize = k.kvmVcpuMmapSize(this.sys);
    this.vm = k.kvmCreateVm(this.sys, 0);
    const vmFd = this.vm;
    k.kvmSetIdentityMapAddr(vmFd, IDENTITY_MAP_ADDR);
    k.kvmSetTssAddr(vmFd, TSS_ADDR);
    k.kvmCreateIrqchip(vmFd);
    k.kvmCreatePit2(vmFd, c.pitSpeakerDummy);

    const layout = memoryLayout(this.cfg.ramBytes);
    const low = k.kvmMapAnon(layout.lowBytes);
    k.kvmSetMemoryRegion(vmFd, 0, 0, 0, low, layout.lowBytes);
    let high: ArrayBuffer | null = null;
    if (layout.highBytes > 0) {
      high = k.kvmMapAnon(layout.highBytes);
      k.kvmSetMemoryRegion(vmFd, 1, 0, FOUR_GIB, high, layout.highBytes);
    }
    this.keep.push(low, ...(high ? [high] : []));
    const mem = new GuestMemory(low, high);

    // vCPU i has APIC ID i (the MADT's, fw_cfg's CPU count, CMOS 0x5F). KVM starts vCPU 0 at the
    // reset vector; the others wait for INIT-SIPI-SIPI from OVMF's MpInitLib in the in-kernel
    // LAPIC (KVM_MP_STATE_UNINITIALIZED until then), so they need no setup here.
    const supported = decodeCpuid(k.kvmGetSupportedCpuid(this.sys));
    for (let i = 0; i < this.cfg.cpus; i++) {
      const handle = k.kvmCreateVcpu(vmFd, i, mmapSize);
      const ab = k.kvmVcpuRunBuffer(handle);
      this.vcpus.push({ index: i, handle, run: new DataView(ab), bytes: new Uint8Array(ab) });
    }
    const hv = this.cfg.hyperv ? this.hypervLeaves() : null;
    for (const v of this.vcpus) {
      const own = vcpuCpuid(supported, v.index, this.cfg.cpus);
      k.kvmSetCpuid2(v.handle, encodeCpuid(hv ? withHyperv(own, hv.leaves, hv.synic) : own));
      // The crash MSRs offer "notify" (hyperv.ts); KVM keeps the value per VM.
      if (hv && v.index === 0) k.kvmSetMsr(v.handle, HV_CRASH_CTL, HV_CRASH_CTL_NOTIFY);
    }

    // MSI-X through irqfd (docs/vmm-platform.md §12.1) when this KVM routes MSIs to GSIs; without
    // it the virtio functions offer INTx only.
    const canRoute = k.kvmCheckExtension(this.sys, c.capIrqRouting) > 0;
    const canMsi = canRoute && k.kvmCheckExtension(this.sys, c.capIrqfd) > 0;
    // The PC's irqchip routes from the start (irq-routing.ts: the PIT on the MADT's GSI 2).
    if (canRoute) k.kvmSetGsiRouting(vmFd, routingEntries(c, []));
    const routes = canMsi ? new MsiRoutes(c, (entries) => k.kvmSetGsiRouting(vmFd, entries)) : null;
    let display: { fb: Uint8Array; map: (addr: number | null) => void } | undefined;
    if (this.cfg.display) {
      const fb = k.kvmMapAnon(FB_SIZE);
      this.keep.push(fb);
      let at: number | null = null;
      const host = this.cfg.hostDisplay;
      const flags = host?.slotFlags ?? 0;
      display = {
        fb: new Uint8Array(fb),
        map: (addr) => {
          // A slot cannot simply move: drop it, then add it at the new address.
          if (at !== null) k.kvmSetMemoryRegion(vmFd, SLOT_FRAMEBUFFER, 0, at, null, 0);
          if (addr !== null) k.kvmSetMemoryRegion(vmFd, SLOT_FRAMEBUFFER, flags, addr, fb, FB_SIZE);
          at = addr;
          host?.moved(addr !== null);
        },
        ...(host ? { preferred: host.preferred, regs: host.regs } : {}),
      };
      host?.attach(vmFd, SLOT_FRAMEBUFFER, fb);
    }
    this.platform = new Platform({
      ...(display ? { display } : {}),
      layout,
      mem,
      cpus: this.cfg.cpus,
      vmFd,
      ...(routes ? { msi: () => this.msiSink(routes) } : {}),
      disks: this.cfg.disks,
      fwBootOrder: this.cfg.fwBootOrder,
      ...(this.cfg.acpiTables ? { acpiTables: this.cfg.acpiTables } : {}),
      ...(this.cfg.rtcOffsetMs !== undefined ? { rtcOffsetMs: this.cfg.rtcOffsetMs } : {}),
      ...(this.cfg.smbios ? { smbios: this.cfg.smbios } : {}),
      flash: {
        code: new Uint8Array(this.cfg.flash.code),
        vars: this.cfg.flash.vars ? new Uint8Array(this.cfg.flash.vars) : null,
      },
      irqLine: (gsi, level) => k.kvmIrqLine(vmFd, gsi, level ? 1 : 0),
      serialOut: this.cfg.serialOut,
      pmTimerPort: (port) => {
        for (const v of this.vcpus) {
          if (this.pmPort !== null) k.kvmSetPortMode(v.handle, this.pmPort, PortMode.Js);
          if (port !== null) k.kvmSetPortMode(v.handle, port, PortMode.PmTimer);
        }
        this.pmPort = port;
      },
    });
    if (routes) routes.commit();
    if (k.kvmCheckExtension(this.sys, c.capIoeventfd) > 0) this.registerDoorbells();
    for (const v of this.vcpus) {
      k.kvmSetPmTimerStart(v.handle, this.platform.pm.startNs);
      k.kvmSetPortMode(v.handle, 0x80, PortMode.Sink); // POST codes / Linux io_delay
    }
    // Flash banks in read-array mode are read-only slots (reads stay in the guest, writes exit
    // to the CFI state machine); in any other mode the slot goes and reads exit too (pflash.ts).
    const bank = (slot: number, b: { device: CfiFlash; base: number }, buf: ArrayBuffer) => {
      const map = (romd: boolean) =>
        k.kvmSetMemoryRegion(vmFd, slot, c.memReadonly, b.base, romd ? buf : null, romd ? buf.byteLength : 0);
      b.device.onRomd = map;
      map(true);
    };
    bank(SLOT_FLASH_CODE, this.platform.flash.code, this.cfg.flash.code);
    const vars = this.platform.flash.vars;
    if (vars && this.cfg.flash.vars) bank(SLOT_FLASH_VARS, vars, this.cfg.flash.vars);
    this.cfg.onVcpu(this.bsp.handle);
  }

  /**
   * KVM's supported Hyper-V leaves (from the system fd where KVM_CAP_SYS_HYPERV_CPUID says so,
   * else from vCPU 0), and whether the SynIC is on: KVM_CAP_HYPERV_SYNIC2 on every vCPU, or
   * its MSRs and timers are not offered.
   */
  private hypervLeaves(): { leaves: CpuidEntry[]; synic: boolean } {
    const k = this.k;
    const c = this.c;
    let raw: Buffer;
    if (k.kvmCheckExtension(this.sys, c.capSysHypervCpuid) > 0) raw = k.kvmGetSupportedHvCpuid(this.sys);
    else if (k.kvmCheckExtension(this.sys, c.capHypervCpuid) > 0)
      raw = k.kvmGetSupportedHvCpuid(k.kvmVcpuFd(this.bsp.handle));
    else
      throw new Error('Hyper-V enlightenments: this KVM has neither KVM_CAP_SYS_HYPERV_CPUID nor KVM_CAP_HYPERV_CPUID');
    let synic = k.kvmCheckExtension(this.sys, c.capHypervSynic2) > 0;
    for (const v of this.vcpus) {
      if (!synic) break;
      try {
        k.kvmEnableVcpuCap(v.handle, c.capHypervSynic2);
      } catch {
        synic = false;
      }
    }
    return { leaves: decodeCpuid(raw), synic };
  }

  /** One virtio function's vectors: a GSI with an MSI route and an irqfd each. */
  private msiSink(routes: MsiRoutes): MsiSink {
    const k = this.k;
    const gsis: number[] = [];
    const fds: number[] = [];
    return {
      vectors: (n) => {
        for (let v = 0; v < n; v++) {
          const gsi = routes.allocate();
          const fd = k.eventfdCreate();
          this.fds.push(fd);
          k.kvmIrqfd(this.vm, fd, gsi, 0);
          gsis.push(gsi);
          fds.push(fd);
        }
        return { fds };
      },
      route: (v, lo, hi, data) => {
        const gsi = gsis[v];
        if (gsi !== undefined) routes.set(gsi, lo, hi, data);
      },
      fire: (v) => {
        const fd = fds[v];
        if (fd !== undefined) k.eventfdWrite(fd);
      },
    };
  }

  /**
   * Doorbells (virtio notify addresses, NVMe queue doorbells) become ioeventfds wherever the guest maps their BAR, so a
   * notify signals the I/O thread in the kernel and never exits to this thread.
   */
  private registerDoorbells(): void {
    const k = this.k;
    const vmFd = this.vm;
    const deassign = this.c.ioeventfdFlagDeassign;
    const match = this.c.ioeventfdFlagDatamatch;
    const live = new Map<object, Array<{ addr: number; length: number; fd: number; datamatch?: number }>>();
    const set = (d: { addr: number; length: number; fd: number; datamatch?: number }, flags: number) =>
      d.datamatch === undefined
        ? k.kvmIoeventfd(vmFd, d.addr, d.length, d.fd, flags)
        : k.kvmIoeventfd(vmFd, d.addr, d.length, d.fd, flags | match, d.datamatch);
    this.platform.devices.onMapping((m) => {
      if (m.kind !== 'mmio' || !hasDoorbells(m.dev)) return;
      for (const d of live.get(m.dev) ?? []) set(d, deassign);
      live.delete(m.dev);
      if (m.base === null) return;
      const now = m.dev.doorbells().map((d) => ({ ...d, addr: m.base! + d.offset }));
      for (const d of now) set(d, 0);
      live.set(m.dev, now);
    });
  }

  private get bsp(): Vcpu {
    const v = this.vcpus[0];
    if (!v) throw new Error('the VM has no vCPU (create() not called)');
    return v;
  }

  /**
   * One worker per AP, started from the bundle; each runs its vCPU and forwards exits here.
   * Resolves once every AP thread is in its run loop: a worker does not start while its parent's
   * event loop is blocked, and runUntilEvent() blocks this thread's.
   */
  async startAps(): Promise<void> {
    if (this.vcpus.length < 2) return;
    const bundle = this.cfg.bundle;
    if (!bundle) throw new Error(`${this.vcpus.length} vCPUs need the bundle to start their threads from`);
    this.mailbox = new ApMailbox();
    for (const v of this.vcpus.slice(1)) {
      const data: VcpuWorkerData = {
        role: VM_VCPU_ROLE,
        index: v.index,
        handle: v.handle,
        bspHandle: this.bsp.handle,
        mailbox: this.mailbox.sab,
      };
      this.apWorkers.push(new Worker(bundle, { workerData: data, stdout: false, stderr: false }));
    }
    await Promise.all(
      this.apWorkers.map(
        (w, i) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('error', (e) => reject(new Error(`vCPU ${i + 1} thread: ${e.message}`)));
            w.once('exit', (code) => reject(new Error(`vCPU ${i + 1} thread exited with code ${code} before running`)));
          }),
      ),
    );
  }

  /** Stops the AP threads (kick, release any forwarded exit) and waits until they are gone. */
  async stopAps(): Promise<void> {
    const mb = this.mailbox;
    if (!mb) return;
    mb.stopAll();
    for (const v of this.vcpus.slice(1)) this.k.kvmKick(v.handle);
    await Promise.all(
      this.apWorkers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.once('error', () => resolve());
          }),
      ),
    );
    this.apWorkers.length = 0;
  }

  private count(kind: string): void {
    this.jsExits.set(kind, (this.jsExits.get(kind) ?? 0) + 1);
  }

  /** Exit counts: KVM exits by reason (from C, all vCPUs), fast paths, JS-handled exits by device. */
  exitStats(): Record<string, number> {
    const out: Record<string, number> = {};
    const add = (k: string, n: number) => (out[k] = (out[k] ?? 0) + n);
    for (const v of this.vcpus) {
      this.k.kvmExitCounts(v.handle).forEach((n, i) => {
        if (!n) return;
        if (i === COUNT_FAST_PMTIMER) add('IO(pm-timer, in C)', n);
        else if (i === COUNT_FAST_SINK) add('IO(sink, in C)', n);
        else if (i === COUNT_EINTR) add('KVM_RUN EINTR', n);
        else add(exitReasonName(i), n);
      });
    }
    for (const [k, n] of this.jsExits) out[`js:${k}`] = n;
    this.platform.disks.forEach((d, i) => {
      const st = d.kind === 'virtio-blk' ? d.blk.stats : d.controller.backend.stats;
      out[`disk${i}:notifies reaching JS`] =
        d.kind === 'nvme'
          ? d.controller.stats.doorbellsReachingJs
          : d.kind === 'ahci'
            ? d.controller.stats.commandIssueWrites
            : d.transport.stats.notifies;
      out[`disk${i}:requests`] = st.requests;
      out[`disk${i}:bytes read`] = st.readBytes;
      out[`disk${i}:bytes written`] = st.writeBytes;
    });
    if (this.mailbox) out['js:forwarded from APs'] = this.mailbox.forwarded;
    return out;
  }

  private handleIo(v: Vcpu): void {
    const r = v.run;
    const c = this.c;
    const dir = r.getUint8(c.runIoDirection);
    const size = r.getUint8(c.runIoSize);
    const port = r.getUint16(c.runIoPort, true);
    const count = r.getUint32(c.runIoCount, true);
    const off = Number(r.getBigUint64(c.runIoDataOffset, true));
    const ports = this.platform.devices.ports;
    this.count(ports.range(port)?.name ?? 'unassigned port');
    for (let i = 0; i < count; i++) {
      const at = off + i * size;
      if (dir === 1) {
        const val = size === 1 ? r.getUint8(at) : size === 2 ? r.getUint16(at, true) : r.getUint32(at, true);
        ports.write(port, size, val);
      } else {
        const val = ports.read(port, size);
        if (size === 1) r.setUint8(at, val & 0xff);
        else if (size === 2) r.setUint16(at, val & 0xffff, true);
        else r.setUint32(at, val >>> 0, true);
      }
    }
  }

  private handleMmio(v: Vcpu): void {
    const r = v.run;
    const c = this.c;
    const addr = Number(r.getBigUint64(c.runMmioPhysAddr, true));
    const len = r.getUint32(c.runMmioLen, true);
    const isWrite = r.getUint8(c.runMmioIsWrite) !== 0;
    const mmio = this.platform.devices.mmio;
    this.count(mmio.range(addr)?.name ?? 'unassigned mmio');
    mmio.access(addr, len, isWrite, v.bytes.subarray(c.runMmioData, c.runMmioData + 8));
  }

  private atResetVector(v: Vcpu): boolean {
    try {
      return decodeRegs(this.k.kvmGetRegs(v.handle)).rip === 0xfff0n;
    } catch {
      return false;
    }
  }

  private dump(v: Vcpu): string {
    try {
      const head = this.vcpus.length > 1 ? `vCPU ${v.index}:\n` : '';
      return head + formatRegisterDump(this.k.kvmGetRegs(v.handle), this.k.kvmGetSregs(v.handle));
    } catch (e) {
      return `(registers unavailable: ${(e as Error).message})`;
    }
  }

  private fatal(v: Vcpu, reason: string): MachineResult {
    const who = this.vcpus.length > 1 ? `vCPU ${v.index}: ` : '';
    return { kind: 'error', reason: who + reason, dump: this.dump(v) };
  }

  /** Handles exit `reason` of `v`; a result ends the run. KVM_EXIT_INTR is the caller's. */
  private handleExit(v: Vcpu, reason: number): MachineResult | null {
    const c = this.c;
    const ev = this.platform.events;
    switch (reason) {
      case ExitReason.IO:
        this.handleIo(v);
        return null;
      case ExitReason.MMIO:
        this.handleMmio(v);
        return null;
      case ExitReason.SHUTDOWN:
        return this.fatal(v, `triple fault (KVM_EXIT_SHUTDOWN)${this.atResetVector(v) ? RESET_AFTER_SHUTDOWN : ''}`);
      case ExitReason.SYSTEM_EVENT: {
        const type = v.run.getUint32(c.runSystemEventType, true);
        if (type === 1) ev.request('poweroff', 'KVM_SYSTEM_EVENT_SHUTDOWN');
        else if (type === 2) ev.request('reset', 'KVM_SYSTEM_EVENT_RESET');
        else if (type === c.systemEventCrash && this.cfg.hyperv) return this.fatal(v, this.guestCrash(v));
        else return this.fatal(v, `KVM_SYSTEM_EVENT type ${type} (crash)`);
        return null;
      }
      case ExitReason.HYPERV:
        // SynIC MSR writes are KVM's to act on (nothing here listens for them); a hypercall KVM
        // passes on (post message, signal event: VMBus) is one this VMM does not implement.
        this.count('hyperv');
        if (v.run.getUint32(c.runHypervType, true) === c.hypervExitHcall)
          v.run.setBigUint64(c.runHypervHcallResult, HV_STATUS_INVALID_HYPERCALL_CODE, true);
        return null;
      case ExitReason.INTERNAL_ERROR: {
        const sub = v.run.getUint32(c.runInternalSuberror, true);
        const nd = Math.min(v.run.getUint32(c.runInternalNdata, true), 16);
        const data: string[] = [];
        for (let i = 0; i < nd; i++) data.push('0x' + v.run.getBigUint64(c.runInternalData + 8 * i, true).toString(16));
        return this.fatal(
          v,
          `KVM_EXIT_INTERNAL_ERROR suberror ${sub}${sub === 1 ? ' (emulation failure; a KVM without VT-x/AMD-V, e.g. PVM, cannot run firmware)' : ''} data [${data.join(' ')}]`,
        );
      }
      case ExitReason.FAIL_ENTRY:
        return this.fatal(
          v,
          `KVM_EXIT_FAIL_ENTRY hardware reason 0x${v.run.getBigUint64(c.runFailEntryReason, true).toString(16)}`,
        );
      default:
        return this.fatal(v, `unexpected exit ${exitReasonName(reason)}`);
    }
  }

  /** The crash MSRs' report (hyperv.ts), read from the vCPU that wrote them. */
  private guestCrash(v: Vcpu): string {
    try {
      const p0 = HV_CRASH_P0;
      return describeGuestCrash(
        this.k.kvmGetMsrs(
          v.handle,
          Array.from({ length: HV_CRASH_PARAMS }, (_, i) => p0 + i),
        ),
      );
    } catch (e) {
      return `the guest reported a crash through the Hyper-V crash MSRs (KVM_GET_MSRS failed: ${(e as Error).message})`;
    }
  }

  /** Serves the exits the APs forwarded; returns a result if one of them ends the run. */
  private serviceAps(): MachineResult | null {
    const mb = this.mailbox;
    if (!mb) return null;
    let result: MachineResult | null = null;
    for (const i of mb.takePending()) {
      const v = this.vcpus[i];
      if (!v) continue;
      const reason = v.run.getUint32(this.c.runExitReason, true);
      result ??= this.handleExit(v, reason);
      mb.complete(i);
    }
    return result;
  }

  /** The display's visible screen as a PNG; null without a display or while it is off. */
  screenshotPng(): { png: Buffer; width: number; height: number } | null {
    const s = this.platform.display?.screen();
    return s ? { png: encodePng(s.width, s.height, s.rgb), width: s.width, height: s.height } : null;
  }

  /** Console bytes: to COM1, or typed on the PS/2 keyboard (US layout; console-keys.ts). */
  private consoleInput(bytes: Uint8Array): void {
    if (this.cfg.input !== 'keyboard') return this.platform.uart.input(bytes);
    this.keys ??= new ConsoleKeys();
    const strokes = this.keys.feed(bytes);
    // A chunk that ends in ESC is the Escape key: a terminal sends a whole sequence in one write.
    if (bytes[bytes.length - 1] === 0x1b) strokes.push(...this.keys.flush());
    const kbc = this.platform.kbc;
    for (const s of strokes)
      for (const e of strokeEvents(s)) {
        if (e.down) kbc.keyDown(e.code);
        else kbc.keyUp(e.code);
      }
  }

  /** Runs vCPU 0 here and serves the APs' exits, until power-off, reset, stop or a fatal exit. */
  runUntilEvent(): MachineResult {
    const k = this.k;
    const c = this.c;
    const ev = this.platform.events;
    const bsp = this.bsp;
    const mb = this.mailbox;
    for (;;) {
      const reason = k.kvmRun(bsp.handle);
      let result: MachineResult | null = null;
      if (reason === ExitReason.INTR) {
        bsp.run.setUint8(c.runImmediateExit, 0);
        const p = this.cfg.poll();
        if (p.input) this.consoleInput(p.input);
        if (p.hostInput) (this.hostInput ??= new HostInputSink(this.platform.kbc)).apply(p.hostInput);
        if (p.powerButton) {
          // Firmware never arms the button; only an OS whose ACPI driver set PWRBTN_EN can take it.
          if (!this.platform.pm.powerButtonEnabled)
            return { kind: 'stopped', reason: 'stopped by the host (the guest had not armed its ACPI power button)' };
          this.platform.pm.pressPowerButton();
        }
        if (p.stop) {
          return { kind: 'stopped', reason: 'stopped by the host' };
        }
      } else result = this.handleExit(bsp, reason);
      if (mb?.hasPending()) result ??= this.serviceAps();
      if (result) return result;
      if (ev.pending) {
        return { kind: ev.pending, reason: ev.reason };
      }
    }
  }

  destroy(): void {
    // Backends on the I/O thread must let go of this VM's memory and irqfds first.
    for (const d of this.platform?.disks ?? []) {
      if (d.kind === 'virtio-blk') d.transport.device.reset();
      else d.controller.reset();
    }
    // The display thread must stop using this VM's fd before it closes.
    if (this.vm >= 0) this.cfg.hostDisplay?.detach();
    for (const fd of this.fds) this.k.kvmClose(fd);
    this.fds.length = 0;
    for (const v of this.vcpus) this.k.kvmDestroyVcpu(v.handle);
    this.vcpus.length = 0;
    if (this.vm >= 0) this.k.kvmClose(this.vm);
    if (this.sys >= 0) this.k.kvmClose(this.sys);
    // Guest RAM goes now, not at some garbage collection: a guest that reboots often would
    // otherwise keep every old VM's touched memory.
    for (const b of this.keep) this.k.kvmMemRelease(b);
    this.keep.length = 0;
    this.vm = this.sys = -1;
  }
}
