// vCPU 0's side of the I/O thread (io-thread.ts): starts it from the bundle, gives each disk a
// backend that forwards activation and reset to it (waiting until it is done): WorkerBlockBackend
// for virtio-blk, WorkerNvmeBackend for NVMe, WorkerAhciBackend for AHCI. A virtio notify that reached JavaScript (a write no
// ioeventfd matched) becomes the same eventfd signal the kernel would have sent; an NVMe tail
// doorbell that reached JavaScript is stored for the thread and signalled the same way.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { kvm } from '../native/kvm';
import type { DiskSpec } from './disk';
import { STATS_PER_DISK } from './io-thread';
import type { GuestMemory } from './memory';
import type { NvmeBackend, NvmeIrq } from './nvme/backend';
import type { AhciBackend, AhciIrq } from './ahci/backend';
import type { AhciStart } from './ahci/engine';
import type { AhciShared } from './ahci/regs';
import { closeDoorbellFds, createDoorbellFds, type NvmeDoorbellFds } from './nvme/doorbells';
import type { NvmeEnable } from './nvme/engine';
import { MAX_IO_QUEUES } from './nvme/spec';
import { VM_IO_ROLE, type DiskWake, type IoReply, type IoRequest, type IoWorkerData } from './protocol';
import type { VirtioActivation } from './virtio';
import type { BlockBackend, BlockStats } from './virtio-blk';

type Body<T> = T extends unknown ? Omit<T, 'seq'> : never;

/** The ids of guest RAM's mappings, for the I/O thread's views of it. */
function memIds(mem: GuestMemory): { low: number; high: number | null } {
  const k = kvm();
  return {
    low: k.kvmMemId(mem.low.buffer as ArrayBuffer),
    high: mem.high ? k.kvmMemId(mem.high.buffer as ArrayBuffer) : null,
  };
}

function wakeFds(w: DiskWake): number[] {
  return w.kind === 'virtio' ? [w.notifyFd] : w.kind === 'ahci' ? [w.kickFd] : [w.tailFd];
}

export class IoThread {
  private seq = 0;
  private readonly ackArr: Int32Array;
  private readonly statsArr: Float64Array;
  readonly backends: Array<WorkerBlockBackend | WorkerNvmeBackend | WorkerAhciBackend> = [];

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly ctlFd: number,
    readonly wakes: readonly DiskWake[],
    ack: SharedArrayBuffer,
    stats: SharedArrayBuffer,
    disks: ReadonlyArray<{ size: number; readOnly: boolean }>,
    specs: readonly DiskSpec[],
  ) {
    this.ackArr = new Int32Array(ack);
    this.statsArr = new Float64Array(stats);
    disks.forEach((info, i) => {
      const w = wakes[i]!;
      this.backends.push(
        w.kind === 'nvme'
          ? new WorkerNvmeBackend(this, i, info, specs[i]!.path, w)
          : w.kind === 'ahci'
            ? new WorkerAhciBackend(this, i, info, specs[i]!.path, w.kickFd)
            : new WorkerBlockBackend(this, i, info.size, info.readOnly),
      );
    });
  }

  /** Starts the thread, which opens the disks; resolves when they are open. */
  static async start(bundle: string, disks: readonly DiskSpec[]): Promise<IoThread> {
    const k = kvm();
    const ctlFd = k.eventfdCreate();
    const wakes: DiskWake[] = disks.map((d) =>
      d.iface === 'nvme'
        ? {
            kind: 'nvme',
            doorbells: createDoorbellFds(),
            tails: new SharedArrayBuffer(4 * (1 + MAX_IO_QUEUES)),
            tailFd: k.eventfdCreate(),
          }
        : d.iface === 'ahci'
          ? { kind: 'ahci', kickFd: k.eventfdCreate() }
          : { kind: 'virtio', notifyFd: k.eventfdCreate() },
    );
    for (const w of wakes) if (w.kind === 'nvme') new Int32Array(w.tails).fill(-1);
    const ack = new SharedArrayBuffer(4);
    const stats = new SharedArrayBuffer(8 * STATS_PER_DISK * Math.max(1, disks.length));
    const { port1, port2 } = new MessageChannel();
    const data: IoWorkerData = { role: VM_IO_ROLE, disks, ctlFd, wakes, ack, stats, port: port2 };
    const worker = new Worker(bundle, { workerData: data, transferList: [port2], stdout: false, stderr: false });
    const reply = await new Promise<IoReply>((resolve, reject) => {
      worker.once('message', (m: IoReply) => resolve(m));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`I/O thread exited with code ${code} before it was ready`)));
    });
    if (reply.type === 'fail') {
      await worker.terminate();
      throw new Error(reply.message);
    }
    return new IoThread(worker, port1, ctlFd, wakes, ack, stats, reply.disks, disks);
  }

  /** Sends a control message and waits until the I/O thread has done it (at most 30 s: a thread
   *  that died cannot answer, and its 'exit' event would need this thread's event loop). */
  request(body: Body<IoRequest>): void {
    const seq = ++this.seq;
    this.port.postMessage({ ...body, seq });
    kvm().eventfdWrite(this.ctlFd);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const done = Atomics.load(this.ackArr, 0);
      if (done >= seq) return;
      if (Date.now() > deadline) throw new Error(`the I/O thread did not answer '${body.op}' within 30 s`);
      Atomics.wait(this.ackArr, 0, done, 1000);
    }
  }

  stats(disk: number): BlockStats {
    const o = disk * STATS_PER_DISK;
    const s = this.statsArr;
    return { requests: s[o] ?? 0, readBytes: s[o + 1] ?? 0, writeBytes: s[o + 2] ?? 0, errors: s[o + 3] ?? 0 };
  }

  /** Asks the thread to close the disks and end; resolves when it has. */
  async stop(): Promise<void> {
    const gone = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.request({ op: 'quit' });
    await gone;
    this.port.close();
    const k = kvm();
    for (const fd of [this.ctlFd, ...this.wakes.flatMap(wakeFds)]) k.kvmClose(fd);
    for (const w of this.wakes) if (w.kind === 'nvme') closeDoorbellFds(w.doorbells);
  }
}

export class WorkerBlockBackend implements BlockBackend {
  constructor(
    private readonly io: IoThread,
    private readonly index: number,
    readonly size: number,
    readonly readOnly: boolean,
  ) {}

  get stats(): BlockStats {
    return this.io.stats(this.index);
  }

  readonly kind = 'virtio-blk';

  activate(a: VirtioActivation): void {
    const q = a.queues[0];
    if (!q || !a.remoteIrq) throw new Error('virtio-blk on the I/O thread needs its queue and an irqfd per vector');
    this.io.request({
      op: 'activate',
      disk: this.index,
      queue: { size: q.size, desc: q.desc, driver: q.driver, device: q.device },
      mem: memIds(a.mem),
      irq: a.remoteIrq,
    });
  }

  notify(q: number): void {
    const fd = this.notifyFd(q);
    if (fd !== null) kvm().eventfdWrite(fd);
  }

  reset(): void {
    this.io.request({ op: 'reset', disk: this.index });
  }

  notifyFd(q: number): number | null {
    const w = this.io.wakes[this.index];
    return q === 0 && w?.kind === 'virtio' ? w.notifyFd : null;
  }
}

export class WorkerNvmeBackend implements NvmeBackend {
  readonly kind = 'nvme';
  readonly size: number;
  readonly readOnly: boolean;
  private readonly tails: Int32Array;

  constructor(
    private readonly io: IoThread,
    private readonly index: number,
    info: { size: number; readOnly: boolean },
    readonly id: string,
    private readonly wake: Extract<DiskWake, { kind: 'nvme' }>,
  ) {
    this.size = info.size;
    this.readOnly = info.readOnly;
    this.tails = new Int32Array(wake.tails);
  }

  get stats(): BlockStats {
    return this.io.stats(this.index);
  }

  enable(mem: GuestMemory, e: NvmeEnable, irq: NvmeIrq): void {
    if (!irq.fds) throw new Error('NVMe on the I/O thread needs an irqfd per vector');
    this.io.request({
      op: 'nvme-enable',
      disk: this.index,
      enable: e,
      mem: memIds(mem),
      irq: { state: irq.state.sab, vectorFds: irq.fds },
    });
  }

  disable(): void {
    this.io.request({ op: 'reset', disk: this.index });
  }

  shutdown(): void {
    this.io.request({ op: 'nvme-shutdown', disk: this.index });
  }

  sqTail(qid: number, value: number): void {
    if (qid < 0 || qid >= this.tails.length) return;
    Atomics.store(this.tails, qid, value & 0x7fffffff);
    kvm().eventfdWrite(this.wake.tailFd);
  }

  doorbellFds(): NvmeDoorbellFds {
    return this.wake.doorbells;
  }
}

/** An AHCI port whose engine runs on the I/O thread: PxCMD.ST starts and stops it there; PxCI
 *  bits set by vCPU 0's thread reach it through the kick eventfd. */
export class WorkerAhciBackend implements AhciBackend {
  readonly kind = 'ahci';
  readonly size: number;
  readonly readOnly: boolean;

  constructor(
    private readonly io: IoThread,
    private readonly index: number,
    info: { size: number; readOnly: boolean },
    readonly id: string,
    private readonly kickFd: number,
  ) {
    this.size = info.size;
    this.readOnly = info.readOnly;
  }

  get stats(): BlockStats {
    return this.io.stats(this.index);
  }

  start(mem: GuestMemory, at: AhciStart, shared: AhciShared, irq: AhciIrq): void {
    this.io.request({
      op: 'ahci-start',
      disk: this.index,
      at,
      mem: memIds(mem),
      shared: shared.sab,
      irq: { state: irq.state.sab, msiFd: irq.msiFd, intx: irq.intx },
    });
  }

  stop(): void {
    this.io.request({ op: 'reset', disk: this.index });
  }

  resetDevice(): void {
    this.io.request({ op: 'ahci-reset-device', disk: this.index });
  }

  kick(): void {
    kvm().eventfdWrite(this.kickFd);
  }
}
