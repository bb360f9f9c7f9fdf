// Can this host run tendril's VM (and the UEFI firmware in it)? Asked before an `efi` entry is
// planned, so the menu, `--dry-run` and `tendril boot` can say why not instead of failing later
// inside the VM worker. In order: the device node, open(2) (errno named), the KVM API version,
// the capabilities machine.ts requires, the vendor module's parameters, and last a probe guest
// that runs x87 instructions in real mode, as OVMF's first stage does: a /dev/kvm that emulates
// every guest instruction (kvm_pvm; kvm_intel without unrestricted guest) fails right there.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitReason, exitReasonName, kvm, kvmConstants } from '../native/kvm';
import { REQUIRED_CAPS } from '../vm/machine';

export const KVM_DEVICE = '/dev/kvm';
const KVM_API_VERSION = 12;

export type KvmVerdict =
  | { readonly ok: true; readonly device: string; readonly module?: string }
  | {
      readonly ok: false;
      readonly device: string;
      readonly reason: string;
      /** The device node does not exist (yet: the initramfs loads kvm while the menu is up). */
      readonly absent?: true;
    };

export interface KvmCheckOptions {
  /** The device node (default /dev/kvm). */
  readonly device?: string;
  /** Where loaded modules show their parameters (default /sys/module). */
  readonly sysModule?: string;
  /** Run the probe guest (default true). */
  readonly probe?: boolean;
}

interface ErrnoError {
  readonly code?: string;
  readonly syscall?: string;
  readonly message: string;
}

const errnoText: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENXIO: 'no such device (the kvm module is not loaded)',
  ENODEV: 'no such device (the kvm module is not loaded)',
  ENOTTY: 'not a KVM device',
};

function param(sysModule: string, mod: string, name: string): string | undefined {
  try {
    return fs.readFileSync(path.join(sysModule, mod, 'parameters', name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Which vendor module serves KVM, from /sys/module (several may be loaded; the first wins). */
function vendorModule(sysModule: string): string | undefined {
  return ['kvm_intel', 'kvm_amd', 'kvm_pvm'].find((m) => fs.existsSync(path.join(sysModule, m)));
}

/**
 * The verdict for `o.device`. Never throws: every failure becomes a reason naming the device,
 * the syscall or ioctl and the errno.
 */
export function checkKvm(o: KvmCheckOptions = {}): KvmVerdict {
  const device = o.device ?? KVM_DEVICE;
  const sysModule = o.sysModule ?? '/sys/module';
  const no = (reason: string): KvmVerdict & { ok: false } => ({ ok: false, device, reason });
  let st: fs.Stats;
  try {
    st = fs.statSync(device);
  } catch (e) {
    const code = (e as ErrnoError).code ?? 'EIO';
    if (code === 'ENOENT')
      return {
        ...no(
          `${device}: stat: ENOENT (no such file): this kernel offers no KVM (load kvm_intel or kvm_amd; inside a VM, nested virtualization must be on)`,
        ),
        absent: true,
      };
    return no(`${device}: stat: ${code}${errnoText[code] ? ` (${errnoText[code]})` : ''}`);
  }
  if (!st.isCharacterDevice())
    return no(`${device} is not a character device (${st.isFile() ? 'a regular file' : 'not a device'}): not KVM`);
  let k: ReturnType<typeof kvm>;
  try {
    k = kvm();
  } catch (e) {
    return no(`the native addon cannot be loaded: ${(e as Error).message}`);
  }
  let sys: number;
  try {
    sys = k.kvmOpen(device);
  } catch (e) {
    const code = (e as ErrnoError).code ?? 'EIO';
    const hint = code === 'EACCES' || code === 'EPERM' ? ': run tendril as root or in the kvm group' : '';
    return no(`${device}: open: ${code}${errnoText[code] ? ` (${errnoText[code]})` : ''}${hint}`);
  }
  try {
    let api: number;
    try {
      api = k.kvmApiVersion(sys);
    } catch (e) {
      const code = (e as ErrnoError).code ?? 'EIO';
      return no(`${device}: ioctl KVM_GET_API_VERSION: ${code}${errnoText[code] ? ` (${errnoText[code]})` : ''}`);
    }
    if (api !== KVM_API_VERSION)
      return no(`${device}: KVM_GET_API_VERSION is ${api}; tendril needs API version ${KVM_API_VERSION}`);
    const c = kvmConstants();
    const missing = REQUIRED_CAPS.filter((cap) => k.kvmCheckExtension(sys, c[cap]) <= 0);
    if (missing.length)
      return no(`${device}: KVM lacks ${missing.map(capName).join(', ')} (KVM_CHECK_EXTENSION), which the VM needs`);
    const mod = vendorModule(sysModule);
    if (mod === 'kvm_intel' && /^[N0]$/.test(param(sysModule, 'kvm_intel', 'unrestricted_guest') ?? ''))
      return no(
        `kvm_intel has unrestricted_guest=N: the CPU cannot run the firmware's real-mode start natively (needs EPT and unrestricted guest; reload kvm_intel with unrestricted_guest=1)`,
      );
    if (o.probe !== false) {
      const why = probeFirmwareCapable(k, sys);
      if (why)
        return no(
          `${device}${mod ? ` (${mod})` : ''} cannot run UEFI firmware: ${why}${mod === 'kvm_pvm' ? '; kvm_pvm (Pagetable-based Virtual Machine) runs such code through the KVM instruction emulator' : ''}`,
        );
    }
    return mod ? { ok: true, device, module: mod } : { ok: true, device };
  } finally {
    try {
      k.kvmClose(sys);
    } catch {
      /* closing a descriptor we opened does not fail in a way that matters here */
    }
  }
}

const CAP_NAMES: Record<(typeof REQUIRED_CAPS)[number], string> = {
  capIrqchip: 'KVM_CAP_IRQCHIP',
  capPit2: 'KVM_CAP_PIT2',
  capReadonlyMem: 'KVM_CAP_READONLY_MEM',
  capSetTssAddr: 'KVM_CAP_SET_TSS_ADDR',
  capImmediateExit: 'KVM_CAP_IMMEDIATE_EXIT',
  capUserMemory: 'KVM_CAP_USER_MEMORY',
  capSetIdentityMapAddr: 'KVM_CAP_SET_IDENTITY_MAP_ADDR',
};
const capName = (cap: (typeof REQUIRED_CAPS)[number]): string => CAP_NAMES[cap];

/**
 * A one-page guest: the reset vector jumps to 0000:7C00, which runs `fninit; fwait; hlt`. Real
 * hardware virtualization runs it and exits on hlt (no in-kernel irqchip here); an emulating KVM
 * stops with KVM_EXIT_INTERNAL_ERROR (emulation failure). Returns why not, or null when it ran.
 */
function probeFirmwareCapable(k: ReturnType<typeof kvm>, sys: number): string | null {
  const c = kvmConstants();
  let vm = -1;
  let vcpu = -1;
  const maps: ArrayBuffer[] = [];
  try {
    vm = k.kvmCreateVm(sys, 0);
    k.kvmSetIdentityMapAddr(vm, 0xfeffc000);
    k.kvmSetTssAddr(vm, 0xfeffd000);
    const ram = k.kvmMapAnon(0x10000);
    const rom = k.kvmMapAnon(0x1000);
    maps.push(ram, rom);
    new Uint8Array(ram).set([0xdb, 0xe3, 0x9b, 0xf4], 0x7c00); // fninit; fwait; hlt
    new Uint8Array(rom).set([0xea, 0x00, 0x7c, 0x00, 0x00], 0xff0); // jmp far 0000:7C00
    k.kvmSetMemoryRegion(vm, 0, 0, 0, ram, 0x10000);
    k.kvmSetMemoryRegion(vm, 1, c.memReadonly, 0xfffff000, rom, 0x1000);
    vcpu = k.kvmCreateVcpu(vm, 0, k.kvmVcpuMmapSize(sys));
    for (let i = 0; i < 8; i++) {
      const reason = k.kvmRun(vcpu);
      if (reason === ExitReason.HLT) return null;
      if (reason === ExitReason.INTERNAL_ERROR) {
        const run = new DataView(k.kvmVcpuRunBuffer(vcpu));
        const sub = run.getUint32(c.runInternalSuberror, true);
        return `a probe guest's x87 instructions (fninit) ended in KVM_EXIT_INTERNAL_ERROR${sub === 1 ? ' (emulation failure)' : ` (suberror ${sub})`}`;
      }
      if (reason !== ExitReason.INTR) return `a probe guest ended in KVM_EXIT_${exitReasonName(reason)} instead of hlt`;
    }
    return 'a probe guest did not reach hlt';
  } catch (e) {
    const err = e as ErrnoError;
    return `a probe guest could not run: ${err.syscall ?? 'ioctl'}: ${err.code ?? err.message}`;
  } finally {
    if (vcpu >= 0) k.kvmDestroyVcpu(vcpu);
    if (vm >= 0) k.kvmClose(vm);
    for (const m of maps) k.kvmMemRelease(m);
  }
}
