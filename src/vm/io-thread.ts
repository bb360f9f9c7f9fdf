// The I/O thread: serves the virtio-blk queues, NVMe controllers and AHCI ports of every disk, so block I/O
// never runs on a vCPU thread (src/vm/README.md "Threads"). It owns the disks (their fds and
// copy-on-write overlays, for the whole run, across guest resets) and sleeps in poll() on the
// eventfds KVM signals when the guest writes a doorbell (KVM_IOEVENTFD: the write never leaves
// the kernel): one per virtio queue, one per NVMe I/O queue and tail value (nvme/doorbells.ts),
// plus one per NVMe controller for tails that reached vCPU 0's thread, one per AHCI port (its
// PxCI writes reach vCPU 0's thread, which sets the shared PxCI and signals it), and a control
// eventfd.
// Completions interrupt through the vector's irqfd (an eventfd write), or, for virtio with MSI-X
// off, the ISR bit and KVM_IRQ_LINE, from this thread. Control messages (activate, NVMe enable,
// reset, quit) come from vCPU 0's thread, which waits for each to be done (the ack counter), so
// after a reset this thread no longer touches guest memory.
import { receiveMessageOnPort } from 'node:worker_threads';
import { kvm } from '../native/kvm';
import { Disk } from './disk';
import { GuestMemory } from './memory';
import { InterruptState, type IrqOps } from './msix';
import { NvmeEngine } from './nvme/engine';
import { AhciEngine } from './ahci/engine';
import { AhciShared } from './ahci/regs';
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

/** What one polled eventfd means: the control channel, a virtio queue's notify, an NVMe tail
 *  value (queue, value), or NVMe tails stored by vCPU 0's thread. */
type Wake =
  | { readonly kind: 'ctl' }
  | { readonly kind: 'virtio'; readonly disk: number }
  | { readonly kind: 'nvme-tail'; readonly disk: number; readonly qid: number; readonly value: number }
  | { readonly kind: 'nvme-stored'; readonly disk: number; readonly tails: Int32Array }
  | { readonly kind: 'ahci'; readonly disk: number };

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
  const engines: Array<NvmeEngine | null> = disks.map((x, i) =>
    d.wakes[i]?.kind === 'nvme' ? new NvmeEngine(x, { size: x.size, readOnly: x.readOnly, id: x.spec.path }) : null,
  );
  const ports: Array<AhciEngine | null> = disks.map((x, i) =>
    d.wakes[i]?.kind === 'ahci' ? new AhciEngine(x, { size: x.size, readOnly: x.readOnly, id: x.spec.path }) : null,
  );
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
    publish(i, st);
  };
  const publish = (i: number, st: BlockStats): void =>
    statsOut.set([st.requests, st.readBytes, st.writeBytes, st.errors], i * STATS_PER_DISK);

  const enableNvme = (q: Extract<IoRequest, { op: 'nvme-enable' }>): void => {
    const engine = engines[q.disk];
    if (!engine) return;
    const state = new InterruptState(q.irq.state);
    const ops: IrqOps = {
      fireVector: (v) => {
        const fd = q.irq.vectorFds[v];
        if (fd !== undefined) k.eventfdWrite(fd);
      },
      raiseIntx: () => {}, // MSI-X only (nvme/controller.ts)
    };
    engine.enable(memoryFor(q.mem), q.enable, (v) => state.signal(v, 0, ops));
  };

  const startAhci = (q: Extract<IoRequest, { op: 'ahci-start' }>): void => {
    const port = ports[q.disk];
    if (!port) return;
    const state = new InterruptState(q.irq.state);
    const { msiFd, intx } = q.irq;
    const ops: IrqOps = {
      fireVector: () => {
        if (msiFd !== null) k.eventfdWrite(msiFd);
      },
      raiseIntx: () => {
        if (intx) k.kvmIrqLine(intx.vmFd, intx.gsi, 1);
      },
    };
    port.start(memoryFor(q.mem), q.at, new AhciShared(q.shared), () => state.signal(0, 0, ops));
  };

  const wakes: Wake[] = [{ kind: 'ctl' }];
  const fds = [d.ctlFd];
  d.wakes.forEach((w, disk) => {
    if (w.kind === 'virtio') {
      fds.push(w.notifyFd);
      wakes.push({ kind: 'virtio', disk });
      return;
    }
    if (w.kind === 'ahci') {
      fds.push(w.kickFd);
      wakes.push({ kind: 'ahci', disk });
      return;
    }
    fds.push(w.tailFd);
    wakes.push({ kind: 'nvme-stored', disk, tails: new Int32Array(w.tails) });
    w.doorbells.sqTail.forEach((perValue, i) =>
      perValue.forEach((fd, value) => {
        fds.push(fd);
        wakes.push({ kind: 'nvme-tail', disk, qid: i + 1, value });
      }),
    );
  });

  for (;;) {
    const ready = k.eventfdWait(fds, -1);
    if (ready.includes(0)) {
      for (let m = receiveMessageOnPort(d.port); m; m = receiveMessageOnPort(d.port)) {
        const req = m.message as IoRequest;
        if (req.op === 'activate') activate(req.disk, req);
        else if (req.op === 'nvme-enable') enableNvme(req);
        else if (req.op === 'nvme-shutdown') engines[req.disk]?.shutdown();
        else if (req.op === 'ahci-start') startAhci(req);
        else if (req.op === 'ahci-reset-device') ports[req.disk]?.resetDevice();
        else if (req.op === 'reset') {
          active[req.disk] = null;
          engines[req.disk]?.disable();
          ports[req.disk]?.stop();
          if (active.every((x) => x === null) && engines.every((e) => !e?.enabled) && ports.every((p) => !p?.running)) {
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
    // NVMe tail values of one queue that fired together are handed over together (the newest
    // is the one furthest ahead; engine.ts sqTails).
    const tails = new Map<string, { disk: number; qid: number; values: number[] }>();
    const served = new Set<number>();
    for (const r of ready) {
      const w = wakes[r];
      if (!w || w.kind === 'ctl') continue;
      if (w.kind === 'virtio') serve(w.disk);
      else if (w.kind === 'ahci') {
        const port = ports[w.disk];
        port?.run();
        if (port) publish(w.disk, port.stats);
      } else if (w.kind === 'nvme-stored') {
        served.add(w.disk);
        for (let q = 0; q < w.tails.length; q++) {
          const v = Atomics.exchange(w.tails, q, -1);
          if (v >= 0) engines[w.disk]?.sqTail(q, v);
        }
      } else {
        served.add(w.disk);
        const key = `${w.disk}/${w.qid}`;
        const t = tails.get(key) ?? { disk: w.disk, qid: w.qid, values: [] };
        t.values.push(w.value);
        tails.set(key, t);
      }
    }
    for (const t of tails.values()) engines[t.disk]?.sqTails(t.qid, t.values);
    for (const i of served) {
      const e = engines[i];
      if (e) publish(i, e.stats);
    }
  }
}
