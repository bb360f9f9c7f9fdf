// One VM instance on KVM: creates the VM, memory slots, in-kernel irqchip/PIT, the vCPU and
// the platform, then runs the vCPU until power-off, reset or a fatal exit. Runs on a worker
// thread (KVM_RUN blocks); see README.md for why devices live in that worker.
import * as fs from 'node:fs';
import {
  COUNT_EINTR,
  COUNT_FAST_PMTIMER,
  COUNT_FAST_SINK,
  ExitReason,
  PortMode,
  exitReasonName,
  formatRegisterDump,
  kvm,
  kvmConstants,
} from '../native/kvm';
import { decodeCpuid, encodeCpuid, vcpuCpuid } from './cpuid';
import { FOUR_GIB, GuestMemory, IDENTITY_MAP_ADDR, TSS_ADDR, memoryLayout } from './memory';
import type { CfiFlash } from './pflash';
import { Platform, type PlatformDisk } from './platform';

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

/** Memory slots: 0 low RAM, 1 high RAM, then one per flash bank. */
const SLOT_FLASH_CODE = 2;
const SLOT_FLASH_VARS = 3;

export interface MachineConfig {
  readonly flash: FlashBanks;
  readonly ramBytes: number;
  readonly cpus: number;
  readonly disks: readonly PlatformDisk[];
  /** Publish the fw_cfg `bootorder` of the bootable disks (platform.ts). */
  readonly fwBootOrder: boolean;
  readonly serialOut: (bytes: Uint8Array) => void;
  /** Console input and stop requests, polled when KVM_RUN is interrupted. */
  readonly poll: () => { stop: boolean; input: Uint8Array | null };
  /** Called once the vCPU exists, with its handle (for kvmKick from other threads). */
  readonly onVcpu: (handle: number) => void;
}

export type MachineResult =
  | { kind: 'poweroff'; reason: string }
  | { kind: 'reset'; reason: string }
  | { kind: 'stopped'; reason: string }
  | { kind: 'error'; reason: string; dump: string };

export interface ExitStats {
  readonly byKind: Record<string, number>;
}

const REQUIRED_CAPS = [
  'capIrqchip',
  'capPit2',
  'capReadonlyMem',
  'capSetTssAddr',
  'capImmediateExit',
  'capUserMemory',
  'capSetIdentityMapAddr',
] as const;

export class Machine {
  private readonly k = kvm();
  private readonly c = kvmConstants();
  private sys = -1;
  private vm = -1;
  private vcpu = -1;
  platform!: Platform;
  private run!: DataView;
  private runBytes!: Uint8Array;
  private pmPort: number | null = null;
  /** Counts of exits handled in TypeScript, by device/port class (for the bench). */
  readonly jsExits = new Map<string, number>();
  private outBuf: number[] = [];
  private outSince = 0;
  /** The guest memory mappings must outlive the VM: KVM holds their addresses. */
  private readonly keep: ArrayBuffer[] = [];

  constructor(private readonly cfg: MachineConfig) {}

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
    k.kvmSetIdentityMapAddr(this.vm, IDENTITY_MAP_ADDR);
    k.kvmSetTssAddr(this.vm, TSS_ADDR);
    k.kvmCreateIrqchip(this.vm);
    k.kvmCreatePit2(this.vm, c.pitSpeakerDummy);

    const layout = memoryLayout(this.cfg.ramBytes);
    const low = k.kvmMapAnon(layout.lowBytes);
    k.kvmSetMemoryRegion(this.vm, 0, 0, 0, low, layout.lowBytes);
    let high: ArrayBuffer | null = null;
    if (layout.highBytes > 0) {
      high = k.kvmMapAnon(layout.highBytes);
      k.kvmSetMemoryRegion(this.vm, 1, 0, FOUR_GIB, high, layout.highBytes);
    }
    this.keep.push(low, ...(high ? [high] : []));
    const mem = new GuestMemory(low, high);

    this.vcpu = k.kvmCreateVcpu(this.vm, 0, mmapSize);
    const runAb = k.kvmVcpuRunBuffer(this.vcpu);
    this.run = new DataView(runAb);
    this.runBytes = new Uint8Array(runAb);
    const supported = decodeCpuid(k.kvmGetSupportedCpuid(this.sys));
    k.kvmSetCpuid2(this.vcpu, encodeCpuid(vcpuCpuid(supported, 0, this.cfg.cpus)));

    const vmFd = this.vm;
    this.platform = new Platform({
      layout,
      mem,
      cpus: this.cfg.cpus,
      disks: this.cfg.disks,
      fwBootOrder: this.cfg.fwBootOrder,
      flash: {
        code: new Uint8Array(this.cfg.flash.code),
        vars: this.cfg.flash.vars ? new Uint8Array(this.cfg.flash.vars) : null,
      },
      irqLine: (gsi, level) => k.kvmIrqLine(vmFd, gsi, level ? 1 : 0),
      serialOut: (b) => this.serial(b),
      pmTimerPort: (port) => {
        if (this.pmPort !== null) k.kvmSetPortMode(this.vcpu, this.pmPort, PortMode.Js);
        this.pmPort = port;
        if (port !== null) k.kvmSetPortMode(this.vcpu, port, PortMode.PmTimer);
      },
    });
    k.kvmSetPmTimerStart(this.vcpu, this.platform.pm.startNs);
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
    k.kvmSetPortMode(this.vcpu, 0x80, PortMode.Sink); // POST codes / Linux io_delay
    this.cfg.onVcpu(this.vcpu);
  }

  private serial(b: number): void {
    if (this.outBuf.length === 0) this.outSince = performance.now();
    this.outBuf.push(b);
    if (this.outBuf.length >= 4096) this.flush();
  }

  flush(): void {
    if (this.outBuf.length) {
      this.cfg.serialOut(Uint8Array.from(this.outBuf));
      this.outBuf = [];
    }
  }

  private count(kind: string): void {
    this.jsExits.set(kind, (this.jsExits.get(kind) ?? 0) + 1);
  }

  /** Exit counts: KVM exits by reason (from C), fast paths, and JS-handled exits by device. */
  exitStats(): Record<string, number> {
    const out: Record<string, number> = {};
    const counts = this.k.kvmExitCounts(this.vcpu);
    counts.forEach((n, i) => {
      if (!n) return;
      if (i === COUNT_FAST_PMTIMER) out['IO(pm-timer, in C)'] = n;
      else if (i === COUNT_FAST_SINK) out['IO(sink, in C)'] = n;
      else if (i === COUNT_EINTR) out['KVM_RUN EINTR'] = n;
      else out[exitReasonName(i)] = n;
    });
    for (const [k, n] of this.jsExits) out[`js:${k}`] = n;
    return out;
  }

  private handleIo(): void {
    const r = this.run;
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
        const v = size === 1 ? r.getUint8(at) : size === 2 ? r.getUint16(at, true) : r.getUint32(at, true);
        ports.write(port, size, v);
      } else {
        const v = ports.read(port, size);
        if (size === 1) r.setUint8(at, v & 0xff);
        else if (size === 2) r.setUint16(at, v & 0xffff, true);
        else r.setUint32(at, v >>> 0, true);
      }
    }
  }

  private handleMmio(): void {
    const r = this.run;
    const c = this.c;
    const addr = Number(r.getBigUint64(c.runMmioPhysAddr, true));
    const len = r.getUint32(c.runMmioLen, true);
    const isWrite = r.getUint8(c.runMmioIsWrite) !== 0;
    const mmio = this.platform.devices.mmio;
    this.count(mmio.range(addr)?.name ?? 'unassigned mmio');
    mmio.access(addr, len, isWrite, this.runBytes.subarray(c.runMmioData, c.runMmioData + 8));
  }

  private dump(): string {
    try {
      return formatRegisterDump(this.k.kvmGetRegs(this.vcpu), this.k.kvmGetSregs(this.vcpu));
    } catch (e) {
      return `(registers unavailable: ${(e as Error).message})`;
    }
  }

  private fatal(reason: string): MachineResult {
    return { kind: 'error', reason, dump: this.dump() };
  }

  runUntilEvent(): MachineResult {
    const k = this.k;
    const c = this.c;
    const ev = this.platform.events;
    for (;;) {
      const reason = k.kvmRun(this.vcpu);
      switch (reason) {
        case ExitReason.IO:
          this.handleIo();
          break;
        case ExitReason.MMIO:
          this.handleMmio();
          break;
        case ExitReason.INTR: {
          this.run.setUint8(c.runImmediateExit, 0);
          const p = this.cfg.poll();
          if (p.input) this.platform.uart.input(p.input);
          if (p.stop) {
            this.flush();
            return { kind: 'stopped', reason: 'stopped by the host' };
          }
          break;
        }
        case ExitReason.SHUTDOWN:
          this.flush();
          return this.fatal('triple fault (KVM_EXIT_SHUTDOWN)');
        case ExitReason.SYSTEM_EVENT: {
          const type = this.run.getUint32(c.runSystemEventType, true);
          if (type === 1) ev.request('poweroff', 'KVM_SYSTEM_EVENT_SHUTDOWN');
          else if (type === 2) ev.request('reset', 'KVM_SYSTEM_EVENT_RESET');
          else {
            this.flush();
            return this.fatal(`KVM_SYSTEM_EVENT type ${type} (crash)`);
          }
          break;
        }
        case ExitReason.INTERNAL_ERROR: {
          this.flush();
          const sub = this.run.getUint32(c.runInternalSuberror, true);
          const nd = Math.min(this.run.getUint32(c.runInternalNdata, true), 16);
          const data: string[] = [];
          for (let i = 0; i < nd; i++)
            data.push('0x' + this.run.getBigUint64(c.runInternalData + 8 * i, true).toString(16));
          return this.fatal(
            `KVM_EXIT_INTERNAL_ERROR suberror ${sub}${sub === 1 ? ' (emulation failure; a KVM without VT-x/AMD-V, e.g. PVM, cannot run firmware)' : ''} data [${data.join(' ')}]`,
          );
        }
        case ExitReason.FAIL_ENTRY:
          this.flush();
          return this.fatal(
            `KVM_EXIT_FAIL_ENTRY hardware reason 0x${this.run.getBigUint64(c.runFailEntryReason, true).toString(16)}`,
          );
        default:
          this.flush();
          return this.fatal(`unexpected exit ${exitReasonName(reason)}`);
      }
      if (this.outBuf.length && performance.now() - this.outSince > 15) this.flush();
      if (ev.pending) {
        this.flush();
        const kind = ev.pending;
        return { kind, reason: ev.reason };
      }
    }
  }

  destroy(): void {
    if (this.vcpu >= 0) this.k.kvmDestroyVcpu(this.vcpu);
    if (this.vm >= 0) this.k.kvmClose(this.vm);
    if (this.sys >= 0) this.k.kvmClose(this.sys);
    this.vcpu = this.vm = this.sys = -1;
  }
}

/** Write console bytes straight to fd 1 (the worker must not depend on the main loop). */
export function writeStdout(bytes: Uint8Array): void {
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
