// The NVMe controller's command processing (NVMe 1.4c §4–§6; docs/vmm-platform.md §14): the
// admin queue and I/O queue pairs in guest memory, the admin command subset OVMF, Linux and
// Windows use, Read/Write/Flush/Write Zeroes/Dataset Management on namespace 1, PRP transfers,
// completions with phase tags, and an interrupt per completion queue and batch. It runs on the
// I/O thread in a KVM machine (io-thread.ts) and on the device's own thread in unit tests; the
// registers (CC, CSTS, AQA, ...) stay with the PCI function on vCPU 0's thread (controller.ts),
// which tells the engine when the controller is enabled, reset or shut down.
import type { GuestMemory } from '../memory';
import type { BlockStats } from '../virtio-blk';
import {
  activeNamespaces,
  errorLog,
  firmwareSlotLog,
  identifyController,
  identifyNamespace,
  lbaCount,
  namespaceDescriptors,
  smartLog,
  type NamespaceInfo,
} from './identify';
import { prpSegments, scatter } from './prp';
import * as S from './spec';

/** What the engine needs of the disk behind the namespace (disk.ts's Disk). */
export interface NvmeDisk {
  readonly size: number;
  readonly readOnly: boolean;
  read(offset: number, dst: Uint8Array): void;
  write(offset: number, src: Uint8Array): boolean;
  flush(): void;
}

/** What CC.EN = 1 hands over: the admin queues (AQA, ASQ, ACQ) and the queue entry sizes (CC). */
export interface NvmeEnable {
  readonly asq: number;
  readonly acq: number;
  /** Entries (AQA's fields + 1). */
  readonly asqEntries: number;
  readonly acqEntries: number;
  /** CC.IOSQES and CC.IOCQES (log2 of the entry sizes). */
  readonly iosqes: number;
  readonly iocqes: number;
}

/** Interrupting for a completion queue's vector (MSI-X; masked vectors go pending). */
export type NvmeSignal = (vector: number) => void;

interface Sq {
  readonly base: number;
  readonly entries: number;
  readonly cqid: number;
  head: number;
}

interface Cq {
  readonly base: number;
  readonly entries: number;
  readonly vector: number;
  readonly interrupts: boolean;
  tail: number;
  phase: number;
}

interface Done {
  readonly status: S.Status;
  readonly dw0?: number;
}

/** Whether the admin queues CC.EN = 1 would start with are usable (sizes, alignment, in RAM). */
export function checkEnable(mem: GuestMemory, e: NvmeEnable): boolean {
  const sizeOk = (n: number) => Number.isInteger(n) && n >= 2 && n <= S.ADMIN_QUEUE_MAX;
  if (!sizeOk(e.asqEntries) || !sizeOk(e.acqEntries)) return false;
  if (e.asq % S.PAGE_SIZE || e.acq % S.PAGE_SIZE) return false;
  return mem.slice(e.asq, e.asqEntries * S.SQE_SIZE) !== null && mem.slice(e.acq, e.acqEntries * S.CQE_SIZE) !== null;
}

const HELD = null;
const ok = (dw0 = 0): Done => ({ status: S.SUCCESS, dw0 });
const fail = (status: S.Status): Done => ({ status });
const ZEROES = new Uint8Array(64 * 1024);

export class NvmeEngine {
  private mem: GuestMemory | null = null;
  private signal: NvmeSignal = () => {};
  private sqs: Array<Sq | undefined> = [];
  private cqs: Array<Cq | undefined> = [];
  private cc = { iosqes: 6, iocqes: 4 };
  private features = new Map<number, number>();
  private heldEvents = 0;
  readonly stats: BlockStats = { requests: 0, readBytes: 0, writeBytes: 0, errors: 0 };
  private readonly smart = { readBytes: 0, writeBytes: 0, reads: 0, writes: 0 };
  private readonly blocks: number;

  constructor(
    private readonly disk: NvmeDisk,
    private readonly ns: NamespaceInfo,
  ) {
    this.blocks = lbaCount(ns);
  }

  get enabled(): boolean {
    return this.mem !== null;
  }

  /** CC.EN 0 → 1. Returns false (the controller then reports CSTS.CFS) when the admin queues
   *  are unusable. */
  enable(mem: GuestMemory, e: NvmeEnable, signal: NvmeSignal): boolean {
    this.disable();
    if (!checkEnable(mem, e)) return false;
    this.mem = mem;
    this.signal = signal;
    this.cc = { iosqes: e.iosqes, iocqes: e.iocqes };
    this.cqs[0] = { base: e.acq, entries: e.acqEntries, vector: 0, interrupts: true, tail: 0, phase: 1 };
    this.sqs[0] = { base: e.asq, entries: e.asqEntries, cqid: 0, head: 0 };
    this.features = new Map([
      [S.FEAT_TEMP_THRESHOLD, 0x157],
      [S.FEAT_VOLATILE_WC, 1],
      [S.FEAT_NUM_QUEUES, (S.MAX_IO_QUEUES - 1) | ((S.MAX_IO_QUEUES - 1) << 16)],
    ]);
    return true;
  }

  /** CC.EN 1 → 0 (controller reset) or a guest reset: forget every queue and held command. */
  disable(): void {
    this.mem = null;
    this.sqs = [];
    this.cqs = [];
    this.heldEvents = 0;
  }

  /** CC.SHN: finish what is written. */
  shutdown(): void {
    this.disk.flush();
  }

  /** A value written to SQ `qid`'s tail doorbell. */
  sqTail(qid: number, tail: number): void {
    const sq = this.sqs[qid];
    if (!sq || !Number.isInteger(tail) || tail < 0 || tail >= sq.entries) return; // an invalid doorbell write
    this.drain(qid, sq, tail);
  }

  /**
   * Several tail values of one queue signalled at once (one eventfd per value, doorbells.ts): the
   * newest is the one furthest ahead of the head, since a tail never passes the head.
   */
  sqTails(qid: number, values: readonly number[]): void {
    const sq = this.sqs[qid];
    if (!sq) return;
    let best = -1;
    let bestAhead = 0;
    for (const v of values) {
      if (v >= sq.entries) continue;
      const ahead = (v - sq.head + sq.entries) % sq.entries;
      if (ahead > bestAhead) [best, bestAhead] = [v, ahead];
    }
    if (best >= 0) this.drain(qid, sq, best);
  }

  private drain(qid: number, sq: Sq, tail: number): void {
    const mem = this.mem;
    if (!mem) return;
    const posted = new Set<number>();
    // At most one pass over the queue per doorbell: a tail that moves on meanwhile rings again.
    for (let n = 0; sq.head !== tail && n < sq.entries; n++) {
      const raw = mem.slice(sq.base + sq.head * S.SQE_SIZE, S.SQE_SIZE);
      sq.head = (sq.head + 1) % sq.entries;
      if (!raw) continue;
      const cmd = new DataView(raw.buffer, raw.byteOffset, S.SQE_SIZE);
      const cid = cmd.getUint32(0, true) >>> 16;
      const done = qid === 0 ? this.admin(cmd) : this.io(cmd);
      if (done === HELD) continue;
      if (qid !== 0) {
        this.stats.requests++;
        if (done.status !== S.SUCCESS) this.stats.errors++;
      }
      if (this.post(sq.cqid, done, sq.head, qid, cid)) posted.add(sq.cqid);
      // A Delete of this very queue's CQ cannot happen (admin SQ 0 → CQ 0 is never deleted).
      if (this.sqs[qid] !== sq) break;
    }
    for (const c of posted) {
      const cq = this.cqs[c];
      if (cq?.interrupts) this.signal(cq.vector);
    }
  }

  private post(cqid: number, d: Done, sqhd: number, sqid: number, cid: number): boolean {
    const cq = this.cqs[cqid];
    const slot = cq && this.mem?.slice(cq.base + cq.tail * S.CQE_SIZE, S.CQE_SIZE);
    if (!cq || !slot) return false;
    const v = new DataView(slot.buffer, slot.byteOffset, S.CQE_SIZE);
    v.setUint32(0, (d.dw0 ?? 0) >>> 0, true);
    v.setUint32(4, 0, true);
    v.setUint32(8, (sqhd & 0xffff) | (sqid << 16), true);
    v.setUint32(12, S.statusDword(cid, cq.phase, d.status), true); // the phase tag last
    cq.tail++;
    if (cq.tail === cq.entries) {
      cq.tail = 0;
      cq.phase ^= 1;
    }
    return true;
  }

  /** Copies `data` to the command's PRPs (`len` bytes; zero-filled past data). */
  private toHost(cmd: DataView, data: Uint8Array, len = data.length): Done {
    const r = prpSegments(this.mem!, prp(cmd, 24), prp(cmd, 32), len);
    if (!r.ok) return fail(r.status);
    scatter(r.segments, data);
    return ok();
  }

  private admin(cmd: DataView): Done | typeof HELD {
    const opcode = cmd.getUint8(0);
    if (cmd.getUint8(1) & 0xc3) return fail(S.INVALID_FIELD); // fused operations, SGLs
    const dw10 = cmd.getUint32(40, true);
    const dw11 = cmd.getUint32(44, true);
    switch (opcode) {
      case S.ADM_IDENTIFY:
        return this.identify(cmd, dw10 & 0xff, cmd.getUint32(4, true));
      case S.ADM_CREATE_CQ:
        return this.createCq(cmd, dw10, dw11);
      case S.ADM_CREATE_SQ:
        return this.createSq(cmd, dw10, dw11);
      case S.ADM_DELETE_SQ: {
        const q = dw10 & 0xffff;
        if (q === 0 || !this.sqs[q]) return fail(S.INVALID_QUEUE_ID);
        this.sqs[q] = undefined;
        return ok();
      }
      case S.ADM_DELETE_CQ: {
        const q = dw10 & 0xffff;
        if (q === 0 || !this.cqs[q]) return fail(S.INVALID_QUEUE_ID);
        if (this.sqs.some((s) => s?.cqid === q)) return fail(S.INVALID_QUEUE_DELETION);
        this.cqs[q] = undefined;
        return ok();
      }
      case S.ADM_GET_LOG_PAGE:
        return this.logPage(cmd, dw10, dw11);
      case S.ADM_GET_FEATURES:
        return this.getFeature(dw10 & 0xff, dw11);
      case S.ADM_SET_FEATURES:
        return this.setFeature(dw10, dw11);
      case S.ADM_ABORT:
        return ok(1); // bit 0: not aborted (every command completes as it is fetched)
      case S.ADM_ASYNC_EVENT:
        if (this.heldEvents > S.AERL) return fail(S.AER_LIMIT_EXCEEDED);
        this.heldEvents++; // completes only when there is an event to report: never, so far
        return HELD;
      default:
        return fail(S.INVALID_OPCODE);
    }
  }

  private identify(cmd: DataView, cns: number, nsid: number): Done {
    switch (cns) {
      case S.CNS_CONTROLLER:
        return this.toHost(cmd, identifyController(this.ns));
      case S.CNS_NAMESPACE:
        if (nsid === 1) return this.toHost(cmd, identifyNamespace(this.ns));
        return fail(S.INVALID_NAMESPACE);
      case S.CNS_ACTIVE_NS_LIST:
        if (nsid >= 0xfffffffe) return fail(S.INVALID_NAMESPACE);
        return this.toHost(cmd, activeNamespaces(nsid));
      case S.CNS_NS_DESCRIPTORS:
        if (nsid !== 1) return fail(S.INVALID_NAMESPACE);
        return this.toHost(cmd, namespaceDescriptors(this.ns));
      default:
        return fail(S.INVALID_FIELD);
    }
  }

  private createCq(cmd: DataView, dw10: number, dw11: number): Done {
    const q = dw10 & 0xffff;
    const entries = (dw10 >>> 16) + 1;
    const base = prp(cmd, 24);
    if (q === 0 || q > S.MAX_IO_QUEUES || this.cqs[q]) return fail(S.INVALID_QUEUE_ID);
    if (entries < 2 || entries > S.IO_QUEUE_ENTRIES) return fail(S.INVALID_QUEUE_SIZE);
    if (!(dw11 & 1) || this.cc.iocqes !== 4) return fail(S.INVALID_FIELD); // CAP.CQR: contiguous only
    const vector = dw11 >>> 16;
    if (vector > S.MAX_IO_QUEUES) return fail(S.INVALID_VECTOR);
    if (base % S.PAGE_SIZE) return fail(S.INVALID_PRP_OFFSET);
    if (!this.mem?.slice(base, entries * S.CQE_SIZE)) return fail(S.INVALID_FIELD);
    this.cqs[q] = { base, entries, vector, interrupts: (dw11 & 2) !== 0, tail: 0, phase: 1 };
    return ok();
  }

  private createSq(cmd: DataView, dw10: number, dw11: number): Done {
    const q = dw10 & 0xffff;
    const entries = (dw10 >>> 16) + 1;
    const cqid = dw11 >>> 16;
    const base = prp(cmd, 24);
    if (q === 0 || q > S.MAX_IO_QUEUES || this.sqs[q]) return fail(S.INVALID_QUEUE_ID);
    if (cqid === 0 || !this.cqs[cqid]) return fail(S.CQ_INVALID);
    if (entries < 2 || entries > S.IO_QUEUE_ENTRIES) return fail(S.INVALID_QUEUE_SIZE);
    if (!(dw11 & 1) || this.cc.iosqes !== 6) return fail(S.INVALID_FIELD);
    if (base % S.PAGE_SIZE) return fail(S.INVALID_PRP_OFFSET);
    if (!this.mem?.slice(base, entries * S.SQE_SIZE)) return fail(S.INVALID_FIELD);
    this.sqs[q] = { base, entries, cqid, head: 0 };
    return ok();
  }

  private logPage(cmd: DataView, dw10: number, dw11: number): Done {
    const lid = dw10 & 0xff;
    const dwords = ((dw11 & 0xffff) * 0x10000 + (dw10 >>> 16) + 1) >>> 0;
    const offset = cmd.getUint32(48, true) + cmd.getUint32(52, true) * 0x1_0000_0000;
    const len = dwords * 4;
    if (len > S.MAX_TRANSFER || offset % 4) return fail(S.INVALID_FIELD);
    let page: Uint8Array;
    if (lid === S.LOG_ERROR) page = errorLog();
    else if (lid === S.LOG_SMART) page = smartLog(this.smart);
    else if (lid === S.LOG_FIRMWARE_SLOT) page = firmwareSlotLog();
    else return fail(S.INVALID_LOG_PAGE);
    if (offset >= page.length) return fail(S.INVALID_FIELD);
    return this.toHost(cmd, page.subarray(offset), len);
  }

  private getFeature(fid: number, dw11: number): Done {
    if (fid === S.FEAT_IRQ_VECTOR_CONFIG) return ok(dw11 & 0xffff); // coalescing off for every vector
    const v = this.features.get(fid);
    if (v !== undefined) return ok(v);
    return KNOWN_FEATURES.has(fid) ? ok(0) : fail(S.INVALID_FIELD);
  }

  private setFeature(dw10: number, dw11: number): Done {
    const fid = dw10 & 0xff;
    if (dw10 & 0x8000_0000) return fail(S.FEATURE_NOT_SAVEABLE);
    if (!KNOWN_FEATURES.has(fid)) return fail(S.INVALID_FIELD);
    if (fid === S.FEAT_NUM_QUEUES) {
      if ((dw11 & 0xffff) === 0xffff || dw11 >>> 16 === 0xffff) return fail(S.INVALID_FIELD);
      return ok(this.features.get(fid));
    }
    if (fid === S.FEAT_VOLATILE_WC) dw11 &= 1;
    this.features.set(fid, dw11 >>> 0);
    return ok();
  }

  private io(cmd: DataView): Done {
    const opcode = cmd.getUint8(0);
    if (cmd.getUint8(1) & 0xc3) return fail(S.INVALID_FIELD);
    const nsid = cmd.getUint32(4, true);
    if (opcode === S.NVM_FLUSH) {
      if (nsid !== 1 && nsid !== 0xffffffff) return fail(S.INVALID_NAMESPACE);
      return this.guard(S.WRITE_FAULT, () => this.disk.flush());
    }
    if (nsid !== 1) return fail(S.INVALID_NAMESPACE);
    const slba = cmd.getUint32(40, true) + cmd.getUint32(44, true) * 0x1_0000_0000;
    const nlb = (cmd.getUint32(48, true) & 0xffff) + 1;
    switch (opcode) {
      case S.NVM_READ:
      case S.NVM_WRITE: {
        if (slba + nlb > this.blocks) return fail(S.LBA_OUT_OF_RANGE);
        const write = opcode === S.NVM_WRITE;
        if (write && this.disk.readOnly) return fail(S.NAMESPACE_WRITE_PROTECTED);
        const r = prpSegments(this.mem!, prp(cmd, 24), prp(cmd, 32), nlb * S.LBA_SIZE);
        if (!r.ok) return fail(r.status);
        let pos = slba * S.LBA_SIZE;
        if (write) {
          return this.guard(S.WRITE_FAULT, () => {
            for (const s of r.segments) {
              if (!this.disk.write(pos, s)) throw new Error('refused'); // overlay full
              pos += s.length;
            }
            this.stats.writeBytes += nlb * S.LBA_SIZE;
            this.smart.writeBytes += nlb * S.LBA_SIZE;
            this.smart.writes++;
          });
        }
        return this.guard(S.UNRECOVERED_READ_ERROR, () => {
          for (const s of r.segments) {
            this.disk.read(pos, s);
            pos += s.length;
          }
          this.stats.readBytes += nlb * S.LBA_SIZE;
          this.smart.readBytes += nlb * S.LBA_SIZE;
          this.smart.reads++;
        });
      }
      case S.NVM_WRITE_ZEROES: {
        if (slba + nlb > this.blocks) return fail(S.LBA_OUT_OF_RANGE);
        if (this.disk.readOnly) return fail(S.NAMESPACE_WRITE_PROTECTED);
        let pos = slba * S.LBA_SIZE;
        const end = pos + nlb * S.LBA_SIZE;
        return this.guard(S.WRITE_FAULT, () => {
          while (pos < end) {
            const n = Math.min(ZEROES.length, end - pos);
            if (!this.disk.write(pos, ZEROES.subarray(0, n))) throw new Error('refused');
            pos += n;
          }
        });
      }
      case S.NVM_DSM:
        return ok(); // deallocation is advisory; DLFEAT promises nothing about what reads return
      default:
        return fail(S.INVALID_OPCODE);
    }
  }

  private guard(onError: S.Status, f: () => void): Done {
    try {
      f();
      return ok();
    } catch {
      return fail(onError);
    }
  }
}

const KNOWN_FEATURES = new Set([
  S.FEAT_ARBITRATION,
  S.FEAT_POWER_MGMT,
  S.FEAT_TEMP_THRESHOLD,
  S.FEAT_ERROR_RECOVERY,
  S.FEAT_VOLATILE_WC,
  S.FEAT_NUM_QUEUES,
  S.FEAT_IRQ_COALESCING,
  S.FEAT_IRQ_VECTOR_CONFIG,
  S.FEAT_WRITE_ATOMICITY,
  S.FEAT_ASYNC_EVENT_CONFIG,
]);

/** A 64-bit PRP entry of the command at byte `at`. */
function prp(cmd: DataView, at: number): number {
  return cmd.getUint32(at, true) + cmd.getUint32(at + 4, true) * 0x1_0000_0000;
}
