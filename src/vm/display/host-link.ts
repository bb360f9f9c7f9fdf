// The VM worker's side of the display thread (host-thread.ts): starts it from the bundle, which
// opens the host's screen and says its size; then, per VM instance (a guest reset makes a new
// one), tells it which VM and framebuffer mapping to watch and where the slot is, and waits
// before the VM's fd closes until the thread has let go of it.
import { Worker } from 'node:worker_threads';
import { kvm } from '../../native/kvm';
import { VM_DISPLAY_ROLE, type DisplayReply, type DisplayWorkerData } from '../protocol';
import { DISPI_WORDS } from './bochs';
import { DisplayCtl, MAPPED, MEM_ID, QUIT, SLOT, VM_FD } from './host-ctl';

/** What the machine (machine.ts) tells the display thread about its framebuffer. */
export interface FramebufferWatch {
  /** The bochs display's DISPI registers, in memory the display thread reads. */
  readonly regs: Uint16Array;
  /** The host screen's resolution, for the guest display's EDID. */
  readonly preferred: { readonly width: number; readonly height: number };
  /** KVM_MEM_* flags for the framebuffer slot (dirty logging). */
  readonly slotFlags: number;
  attach(vmFd: number, slot: number, fb: ArrayBuffer): void;
  /** The slot was deleted (false) or (re)created where the guest maps BAR0 (true). */
  moved(mapped: boolean): void;
  /** Before the VM's fd closes. */
  detach(): void;
}

export class HostDisplay implements FramebufferWatch {
  readonly regs: Uint16Array;

  private constructor(
    private readonly exited: Promise<void>,
    private readonly ctl: DisplayCtl,
    regs: SharedArrayBuffer,
    readonly preferred: { readonly width: number; readonly height: number },
    /** What the host's screen is, for the console. */
    readonly description: string,
    readonly slotFlags: number,
  ) {
    this.regs = new Uint16Array(regs);
  }

  /** Starts the display thread on `device`; rejects with its message when it cannot open it. */
  static async start(bundle: string, device: string, logDirtyPages: number): Promise<HostDisplay> {
    const ctl = new DisplayCtl();
    const regs = new SharedArrayBuffer(DISPI_WORDS * 2);
    const data: DisplayWorkerData = { role: VM_DISPLAY_ROLE, device, ctl: ctl.sab, regs };
    const worker = new Worker(bundle, { workerData: data, stdout: false, stderr: false });
    const exited = new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.once('error', () => resolve());
    });
    const ready = await new Promise<Extract<DisplayReply, { type: 'ready' }>>((resolve, reject) => {
      worker.once('message', (r: DisplayReply) => {
        if (r.type === 'ready') resolve(r);
        else reject(new Error(r.type === 'fail' ? r.message : `${device}: the display thread stopped`));
      });
      worker.once('error', (e) => reject(new Error(`display thread: ${e.message}`)));
      worker.once('exit', (code) => reject(new Error(`display thread exited with code ${code}`)));
    });
    const preferred = { width: ready.width, height: ready.height };
    return new HostDisplay(exited, ctl, regs, preferred, ready.description, logDirtyPages);
  }

  attach(vmFd: number, slot: number, fb: ArrayBuffer): void {
    const i = this.ctl.i;
    Atomics.store(i, VM_FD, vmFd);
    Atomics.store(i, SLOT, slot);
    Atomics.store(i, MAPPED, 0);
    this.ctl.f[MEM_ID] = kvm().kvmMemId(fb);
    this.ctl.bump();
  }

  moved(mapped: boolean): void {
    Atomics.store(this.ctl.i, MAPPED, mapped ? 1 : 0);
    this.ctl.bump();
  }

  detach(): void {
    const i = this.ctl.i;
    Atomics.store(i, VM_FD, -1);
    Atomics.store(i, MAPPED, 0);
    this.ctl.f[MEM_ID] = -1;
    this.ctl.waitAck(this.ctl.bump());
  }

  /** Copy statistics for --stats. */
  stats(): Record<string, number> {
    return this.ctl.stats();
  }

  /** Ends the thread, which restores the host's screen (DRM), and waits for it. */
  async stop(): Promise<void> {
    Atomics.store(this.ctl.i, QUIT, 1);
    this.ctl.bump();
    await this.exited;
  }
}
