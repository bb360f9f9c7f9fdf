// vCPU 0's side of the I/O thread (io-thread.ts): starts it from the bundle, gives each disk a
// BlockBackend that forwards activation and reset to it (waiting until it is done), and turns a
// notify that reached JavaScript (a write no ioeventfd matched) into the same eventfd signal the
// kernel would have sent.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { kvm } from '../native/kvm';
import type { DiskSpec } from './disk';
import { STATS_PER_DISK } from './io-thread';
import { VM_IO_ROLE, type IoReply, type IoRequest, type IoWorkerData } from './protocol';
import type { VirtioActivation } from './virtio';
import type { BlockBackend, BlockStats } from './virtio-blk';

type Body<T> = T extends unknown ? Omit<T, 'seq'> : never;

export class IoThread {
  private seq = 0;
  private readonly ackArr: Int32Array;
  private readonly statsArr: Float64Array;
  readonly backends: WorkerBlockBackend[] = [];

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly ctlFd: number,
    readonly notifyFds: readonly number[],
    ack: SharedArrayBuffer,
    stats: SharedArrayBuffer,
    disks: ReadonlyArray<{ size: number; readOnly: boolean }>,
  ) {
    this.ackArr = new Int32Array(ack);
    this.statsArr = new Float64Array(stats);
    disks.forEach((info, i) => this.backends.push(new WorkerBlockBackend(this, i, info.size, info.readOnly)));
  }

  /** Starts the thread, which opens the disks; resolves when they are open. */
  static async start(bundle: string, disks: readonly DiskSpec[]): Promise<IoThread> {
    const k = kvm();
    const ctlFd = k.eventfdCreate();
    const notifyFds = disks.map(() => k.eventfdCreate());
    const ack = new SharedArrayBuffer(4);
    const stats = new SharedArrayBuffer(8 * STATS_PER_DISK * Math.max(1, disks.length));
    const { port1, port2 } = new MessageChannel();
    const data: IoWorkerData = { role: VM_IO_ROLE, disks, ctlFd, notifyFds, ack, stats, port: port2 };
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
    return new IoThread(worker, port1, ctlFd, notifyFds, ack, stats, reply.disks);
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
    for (const fd of [this.ctlFd, ...this.notifyFds]) k.kvmClose(fd);
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

  activate(a: VirtioActivation): void {
    const q = a.queues[0];
    if (!q || !a.remoteIrq) throw new Error('virtio-blk on the I/O thread needs its queue and an irqfd per vector');
    const k = kvm();
    this.io.request({
      op: 'activate',
      disk: this.index,
      queue: { size: q.size, desc: q.desc, driver: q.driver, device: q.device },
      mem: {
        low: k.kvmMemId(a.mem.low.buffer as ArrayBuffer),
        high: a.mem.high ? k.kvmMemId(a.mem.high.buffer as ArrayBuffer) : null,
      },
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
    return q === 0 ? (this.io.notifyFds[this.index] ?? null) : null;
  }
}
