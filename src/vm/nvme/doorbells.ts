// How an NVMe controller's doorbells avoid exits (docs/vmm-platform.md §14.2). An SQ tail doorbell
// carries a value the I/O thread needs, and a plain ioeventfd drops it; so each I/O submission
// queue gets one eventfd per tail value, registered with KVM_IOEVENTFD_FLAG_DATAMATCH: the
// guest's write signals the eventfd of the value it wrote, in the kernel, and the I/O thread
// reads the value back from which eventfd fired. When several fired, the newest tail is the one
// furthest ahead of the queue's head (engine.ts sqTails). The completion queues' head doorbells
// all go to one eventfd nobody reads: the controller never needs them (every completion queue is
// as deep as the submission queues on it, and a command completes when it is fetched). Admin SQ
// doorbells (its queue may be 4,096 deep) and values no eventfd matches exit to vCPU 0's thread,
// which passes the value on (controller.ts).
import type { Doorbell } from '../bus';
import { kvm } from '../../native/kvm';
import { IO_QUEUE_ENTRIES, MAX_IO_QUEUES, cqHeadDoorbell, sqTailDoorbell } from './spec';

export interface NvmeDoorbellFds {
  /** sqTail[q - 1][v] is signalled when the guest writes v to I/O SQ q's tail doorbell. */
  readonly sqTail: ReadonlyArray<readonly number[]>;
  /** Every CQ head doorbell. */
  readonly cqHeadSink: number;
}

export function createDoorbellFds(): NvmeDoorbellFds {
  const k = kvm();
  const sqTail: number[][] = [];
  for (let q = 1; q <= MAX_IO_QUEUES; q++) {
    const fds: number[] = [];
    for (let v = 0; v < IO_QUEUE_ENTRIES; v++) fds.push(k.eventfdCreate());
    sqTail.push(fds);
  }
  return { sqTail, cqHeadSink: k.eventfdCreate() };
}

export function closeDoorbellFds(d: NvmeDoorbellFds): void {
  const k = kvm();
  for (const fd of [...d.sqTail.flat(), d.cqHeadSink]) k.kvmClose(fd);
}

/** The ioeventfds for the controller's BAR (offsets into it). */
export function doorbellList(d: NvmeDoorbellFds): Doorbell[] {
  const out: Doorbell[] = [];
  d.sqTail.forEach((fds, i) =>
    fds.forEach((fd, v) => out.push({ offset: sqTailDoorbell(i + 1), length: 4, fd, datamatch: v })),
  );
  for (let q = 0; q <= MAX_IO_QUEUES; q++) out.push({ offset: cqHeadDoorbell(q), length: 4, fd: d.cqHeadSink });
  return out;
}
