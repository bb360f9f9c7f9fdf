// The I/O thread: serves the virtio-blk queues of every disk, so block I/O never runs on a vCPU
// thread (src/vm/README.md "Threads"). It owns the disks (their fds and copy-on-write overlays,
// for the whole run, across guest resets) and sleeps in poll() on one eventfd per queue, which
// KVM signals when the guest writes the queue's notify address (KVM_IOEVENTFD: the write never
// leaves the kernel), plus a control eventfd. Completions interrupt through the queue's MSI-X
// vector's irqfd (an eventfd write), or, with MSI-X off, the ISR bit and KVM_IRQ_LINE, from this
// thread. Control messages (activate, reset, quit) come from vCPU 0's thread, which waits for
// each to be done (the ack counter), so after a reset this thread no longer touches guest memory.
import { receiveMessageOnPort } from 'node:worker_threads';
import { kvm } from '../native/kvm';
import { Disk } from './disk';
import { GuestMemory } from './memory';
import { InterruptState, type IrqOps } from './msix';
import type { IoReply, IoRequest, IoWorkerData } from './protocol';
import { IRQ_FLAG_NEEDS_RESET, type RemoteIrq } from './virtio';
import { newBlockStats, serveBlockRequest, type BlockStats } from './virtio-blk';
import { SplitQueue } from './virtqueue';

interface Active {
  readonly queue: SplitQueue;
  readonly irq: InterruptState;
  readonly vector: number;
  readonly ops: IrqOps;
}

export const STATS_PER_DISK = 4;

export function runIoThread(d: IoWorkerData, reply: (r: IoReply) => void): void {
  const k = kvm();
  const disks: Disk[] = [];
  try {
    for (const spec of d.disks) disks.push(Disk.open(spec));
  } catch (e) {
    for (const x of disks) x.close();
    reply({ type: 'fail', message: e instanceof Error ? e.message : String(e) });
    return;
  }
  reply({ type: 'ready', disks: disks.map((x) => ({ size: x.size, readOnly: x.readOnly })) });
  const ack = new Int32Array(d.ack);
  const statsOut = new Float64Array(d.stats);
  const stats: BlockStats[] = disks.map(() => newBlockStats());
  const active: Array<Active | null> = disks.map(() => null);
  /** Views of guest RAM by kvmMemId; dropped when a disk's queue is reset. */
  const memories = new Map<string, GuestMemory>();

  const memoryFor = (m: { low: number; high: number | null }): GuestMemory => {
    const key = `${m.low}/${m.high}`;
    let g = memories.get(key);
    if (!g) {
      g = new GuestMemory(k.kvmMemView(m.low), m.high === null ? null : k.kvmMemView(m.high));
      memories.set(key, g);
    }
    return g;
  };

  const activate = (i: number, q: Extract<IoRequest, { op: 'activate' }>): void => {
    const irq: RemoteIrq = q.irq;
    const ops: IrqOps = {
      fireVector: (v) => {
        const fd = irq.vectorFds[v];
        if (fd !== undefined) k.eventfdWrite(fd);
      },
      raiseIntx: () => k.kvmIrqLine(irq.vmFd, irq.intxGsi, 1),
    };
    const cfg = {
      size: q.queue.size,
      enabled: true,
      desc: q.queue.desc,
      driver: q.queue.driver,
      device: q.queue.device,
    };
    active[i] = {
      queue: new SplitQueue(cfg, memoryFor(q.mem)),
      irq: new InterruptState(irq.state),
      vector: irq.queueVectors[0] ?? 0xffff,
      ops,
    };
  };

  const serve = (i: number): void => {
    const a = active[i];
    const disk = disks[i];
    const st = stats[i];
    if (!a || !disk || !st) return;
    const served = a.queue.drain((c) => serveBlockRequest(disk, c, st));
    if (served < 0) a.irq.setFlag(IRQ_FLAG_NEEDS_RESET);
    else if (served > 0) a.irq.signal(a.vector, 1, a.ops);
    statsOut.set([st.requests, st.readBytes, st.writeBytes, st.errors], i * STATS_PER_DISK);
  };

  const fds = [d.ctlFd, ...d.notifyFds];
  for (;;) {
    const ready = k.eventfdWait(fds, -1);
    if (ready.includes(0)) {
      for (let m = receiveMessageOnPort(d.port); m; m = receiveMessageOnPort(d.port)) {
        const req = m.message as IoRequest;
        if (req.op === 'activate') activate(req.disk, req);
        else if (req.op === 'reset') {
          active[req.disk] = null;
          if (active.every((x) => x === null)) {
            // This VM is going: give its RAM back now (vCPU 0's thread releases its own buffers).
            for (const g of memories.values()) {
              k.kvmMemRelease(g.low.buffer as ArrayBuffer);
              if (g.high) k.kvmMemRelease(g.high.buffer as ArrayBuffer);
            }
            memories.clear();
          }
        } else {
          for (const x of disks) x.close();
          d.port.close();
          Atomics.store(ack, 0, req.seq);
          Atomics.notify(ack, 0);
          return;
        }
        Atomics.store(ack, 0, req.seq);
        Atomics.notify(ack, 0);
      }
    }
    for (const r of ready) if (r > 0) serve(r - 1);
  }
}
