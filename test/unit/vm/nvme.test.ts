// The NVMe controller (src/vm/nvme/): a driver written from the NVMe 1.4c specification drives it
// through PCI configuration, BAR0's registers and doorbells and queues in guest memory, the way
// OVMF's NvmExpressDxe and Linux's nvme driver do: enable, Identify, Number of Queues, an I/O
// queue pair, reads and writes through PRP lists, and the errors a driver must see for bad
// commands. The disk is a real FAT image (mkfs.vfat); writes land in the copy-on-write overlay.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeviceManager } from '../../../src/vm/device-manager';
import { Disk, parseDiskSpec } from '../../../src/vm/disk';
import { GuestMemory } from '../../../src/vm/memory';
import type { MsiSink } from '../../../src/vm/msix';
import { LocalNvmeBackend } from '../../../src/vm/nvme/backend';
import { NvmeController } from '../../../src/vm/nvme/controller';
import { doorbellList } from '../../../src/vm/nvme/doorbells';
import type { NvmeEngine } from '../../../src/vm/nvme/engine';
import { prpSegments } from '../../../src/vm/nvme/prp';
import * as S from '../../../src/vm/nvme/spec';
import { bootorderPath } from '../../../src/vm/platform';

const BAR = 0x8000_0000;
const MEM = 4 << 20;
const ASQ = 0x10000;
const ACQ = 0x11000;
const IOSQ = 0x12000;
const IOCQ = 0x13000;
const BUF = 0x20000; // data pages from here
const LIST = 0x100000; // PRP list pages

function image(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-nvme-'));
  const img = path.join(dir, 'fat.img');
  execFileSync('truncate', ['-s', '8M', img]);
  execFileSync('mkfs.vfat', ['-n', 'NVME', img], { stdio: 'ignore' });
  return img;
}
const sha = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

interface Completion {
  dw0: number;
  sqhd: number;
  sqid: number;
  cid: number;
  sct: number;
  sc: number;
}

function driver(mode: 'cow' | 'ro' = 'cow', msix = true) {
  const img = image();
  const disk = Disk.open({ path: img, mode });
  const mem = new GuestMemory(new ArrayBuffer(MEM), null);
  const dv = new DataView(mem.low.buffer);
  const fired: number[] = [];
  const sink: MsiSink = { vectors: () => ({ fds: null }), route: () => {}, fire: (v) => fired.push(v) };
  const dm = new DeviceManager();
  const ctrl = new NvmeController(new LocalNvmeBackend(disk), mem, msix ? sink : undefined);
  dm.addPci('nvme0', 3, 0, ctrl);
  const cfg = (reg: number, size: number, v?: number) => {
    dm.ports.write(0xcf8, 4, 0x8000_1800 | reg);
    if (v === undefined) return Number(dm.ports.read(0xcfc + (reg & 3), size));
    dm.ports.write(0xcfc + (reg & 3), size, v);
    return 0;
  };
  cfg(0x10, 4, BAR);
  cfg(0x04, 2, 0x0006);
  const w = (off: number, v: number) => dm.mmio.write(BAR + off, 4, v);
  const r = (off: number) => Number(dm.mmio.read(BAR + off, 4));

  const queues = new Map<
    number,
    { sq: number; cq: number; entries: number; tail: number; head: number; phase: number }
  >();
  const openQueue = (qid: number, sq: number, cq: number, entries: number) =>
    queues.set(qid, { sq, cq, entries, tail: 0, head: 0, phase: 1 });
  let cid = 1;
  /** Submits one command on queue qid, rings its doorbell, returns its completion. */
  const submit = (qid: number, fill: (c: DataView) => void): Completion => {
    const q = queues.get(qid)!;
    const at = q.sq + q.tail * 64;
    new Uint8Array(mem.low.buffer, at, 64).fill(0);
    const c = new DataView(mem.low.buffer, at, 64);
    fill(c);
    const id = cid++ & 0xffff;
    c.setUint16(2, id, true);
    q.tail = (q.tail + 1) % q.entries;
    w(S.sqTailDoorbell(qid), q.tail);
    const e = q.cq + q.head * 16;
    const dw3 = dv.getUint32(e + 12, true);
    expect((dw3 >>> 16) & 1, 'a completion with the current phase').toBe(q.phase);
    q.head = (q.head + 1) % q.entries;
    if (q.head === 0) q.phase ^= 1;
    w(S.cqHeadDoorbell(qid), q.head);
    const dw2 = dv.getUint32(e + 8, true);
    expect(dw3 & 0xffff).toBe(id);
    return {
      dw0: dv.getUint32(e, true),
      sqhd: dw2 & 0xffff,
      sqid: dw2 >>> 16,
      cid: dw3 & 0xffff,
      sc: (dw3 >>> 17) & 0xff,
      sct: (dw3 >>> 25) & 7,
    };
  };
  const enable = (entries = 32) => {
    expect(r(S.REG_CSTS) & S.CSTS_RDY).toBe(0);
    w(S.REG_AQA, ((entries - 1) << 16) | (entries - 1));
    w(S.REG_ASQ, ASQ);
    w(S.REG_ASQ + 4, 0);
    w(S.REG_ACQ, ACQ);
    w(S.REG_ACQ + 4, 0);
    w(S.REG_CC, (4 << 20) | (6 << 16) | S.CC_EN);
    openQueue(0, ASQ, ACQ, entries);
  };
  const ioQueues = (entries = 16) => {
    let c = submit(0, (x) => {
      x.setUint8(0, S.ADM_CREATE_CQ);
      x.setBigUint64(24, BigInt(IOCQ), true);
      x.setUint32(40, ((entries - 1) << 16) | 1, true);
      x.setUint32(44, (1 << 16) | 3, true); // vector 1, IEN, PC
    });
    expect([c.sct, c.sc]).toEqual([0, 0]);
    c = submit(0, (x) => {
      x.setUint8(0, S.ADM_CREATE_SQ);
      x.setBigUint64(24, BigInt(IOSQ), true);
      x.setUint32(40, ((entries - 1) << 16) | 1, true);
      x.setUint32(44, (1 << 16) | 1, true); // CQ 1, PC
    });
    expect([c.sct, c.sc]).toEqual([0, 0]);
    openQueue(1, IOSQ, IOCQ, entries);
  };
  /** Read or write `blocks` 512-byte blocks at `lba` through PRP1/PRP2 (a list past two pages). */
  const rw = (op: number, lba: number, blocks: number, dataAt = BUF, nsid = 1): Completion => {
    const bytes = blocks * 512;
    const pages = Math.ceil(((dataAt % 4096) + bytes) / 4096);
    let prp2 = 0;
    if (pages === 2) prp2 = (Math.floor(dataAt / 4096) + 1) * 4096;
    if (pages > 2) {
      for (let i = 1; i < pages; i++)
        dv.setBigUint64(LIST + (i - 1) * 8, BigInt((Math.floor(dataAt / 4096) + i) * 4096), true);
      prp2 = LIST;
    }
    return submit(1, (x) => {
      x.setUint8(0, op);
      x.setUint32(4, nsid, true);
      x.setBigUint64(24, BigInt(dataAt), true);
      x.setBigUint64(32, BigInt(prp2), true);
      x.setBigUint64(40, BigInt(lba), true);
      x.setUint32(48, blocks - 1, true);
    });
  };
  const bytes = (at: number, n: number) => new Uint8Array(mem.low.buffer, at, n);
  /** MSI-X on, every vector unmasked (Linux's order: enable with the function masked, unmask). */
  const msixOn = () => {
    const cap = cfg(0x34, 1);
    for (let v = 0; v <= S.MAX_IO_QUEUES; v++) dm.mmio.write(BAR + 0x2000 + v * 16 + 12, 4, 0);
    cfg(cap + 2, 2, 0x8000);
  };
  return { img, disk, mem, dv, ctrl, cfg, w, r, submit, enable, ioQueues, rw, bytes, fired, openQueue, msixOn };
}

describe('NVMe controller (nvme/controller.ts, nvme/engine.ts)', () => {
  it('is 8086:5845, class 01:08:02, a 16 KiB BAR0, MSI-X with a vector per queue, no INTx', () => {
    const d = driver();
    expect(d.cfg(0, 4, undefined)).toBe(0x5845_8086);
    expect(d.cfg(0x08, 4, undefined) >>> 8).toBe(0x010802);
    expect(d.cfg(0x3d, 1, undefined)).toBe(0);
    const cap = d.cfg(0x34, 1, undefined);
    expect(d.cfg(cap, 1, undefined)).toBe(0x11);
    expect((d.cfg(cap + 2, 2, undefined) & 0x7ff) + 1).toBe(1 + S.MAX_IO_QUEUES);
    d.cfg(0x10, 4, 0xffffffff);
    expect(d.cfg(0x10, 4, undefined) >>> 0).toBe(0xffffc000);
  });

  it('CAP, VS; enable reports RDY; Identify Controller and Namespace describe the disk', () => {
    const d = driver();
    const cap = d.r(S.REG_CAP) + d.r(S.REG_CAP + 4) * 2 ** 32;
    expect(cap % 0x10000).toBe(S.IO_QUEUE_ENTRIES - 1); // MQES
    expect(Math.floor(cap / 2 ** 16) & 1).toBe(1); // CQR
    expect(Math.floor(cap / 2 ** 37) & 1).toBe(1); // CSS: NVM
    expect(Math.floor(cap / 2 ** 32) & 0xf).toBe(0); // DSTRD
    expect(d.r(S.REG_VS)).toBe(0x00010400);
    d.enable();
    expect(d.r(S.REG_CSTS) & (S.CSTS_RDY | S.CSTS_CFS)).toBe(S.CSTS_RDY);
    let c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_IDENTIFY);
      x.setBigUint64(24, BigInt(BUF), true);
      x.setUint32(40, S.CNS_CONTROLLER, true);
    });
    expect([c.sct, c.sc, c.sqid, c.sqhd]).toEqual([0, 0, 0, 1]);
    const id = d.bytes(BUF, 4096);
    expect(Buffer.from(id.subarray(24, 64)).toString('ascii').trim()).toBe('tendril NVMe');
    expect(d.dv.getUint32(BUF + 516, true)).toBe(1); // NN
    expect(id[512]).toBe(0x66);
    expect(id[513]).toBe(0x44);
    c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_IDENTIFY);
      x.setUint32(4, 1, true);
      x.setBigUint64(24, BigInt(BUF), true);
      x.setUint32(40, S.CNS_NAMESPACE, true);
    });
    expect(c.sc).toBe(0);
    expect(Number(d.dv.getBigUint64(BUF, true))).toBe(d.disk.size / 512); // NSZE
    expect((d.dv.getUint32(BUF + 128, true) >>> 16) & 0xff).toBe(9); // 512-byte LBAs
    expect(d.dv.getBigUint64(BUF + 120, true)).toBe(0n); // EUI-64 0: OVMF's boot order matches namespace@1,0
    c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_IDENTIFY);
      x.setBigUint64(24, BigInt(BUF), true);
      x.setUint32(40, S.CNS_ACTIVE_NS_LIST, true);
    });
    expect([c.sc, d.dv.getUint32(BUF, true), d.dv.getUint32(BUF + 4, true)]).toEqual([0, 1, 0]);
    c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_IDENTIFY);
      x.setUint32(4, 1, true);
      x.setBigUint64(24, BigInt(BUF), true);
      x.setUint32(40, S.CNS_NS_DESCRIPTORS, true);
    });
    expect([c.sc, d.bytes(BUF, 2)[0], d.bytes(BUF, 2)[1]]).toEqual([0, 3, 16]); // a UUID
    c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_IDENTIFY);
      x.setUint32(4, 2, true);
      x.setBigUint64(24, BigInt(BUF), true);
      x.setUint32(40, S.CNS_NAMESPACE, true);
    });
    expect([c.sct, c.sc]).toEqual([0, 0x0b]); // invalid namespace
  });

  it('features, log pages, abort, async events as the drivers use them', () => {
    const d = driver();
    d.enable();
    let c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_SET_FEATURES);
      x.setUint32(40, S.FEAT_NUM_QUEUES, true);
      x.setUint32(44, (7 << 16) | 7, true); // asks for 8 + 8
    });
    expect([c.sc, c.dw0]).toEqual([0, ((S.MAX_IO_QUEUES - 1) << 16) | (S.MAX_IO_QUEUES - 1)]);
    c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_GET_FEATURES);
      x.setUint32(40, S.FEAT_VOLATILE_WC, true);
    });
    expect([c.sc, c.dw0]).toEqual([0, 1]);
    c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_SET_FEATURES);
      x.setUint32(40, 0x80000000 | S.FEAT_ARBITRATION, true);
    });
    expect([c.sct, c.sc]).toEqual([1, 0x0d]); // not saveable
    c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_GET_FEATURES);
      x.setUint32(40, 0x0c, true); // autonomous power state transitions: not offered
    });
    expect([c.sct, c.sc]).toEqual([0, 0x02]);
    c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_GET_LOG_PAGE);
      x.setBigUint64(24, BigInt(BUF), true);
      x.setUint32(40, S.LOG_SMART | ((512 / 4 - 1) << 16), true);
    });
    expect([c.sc, d.bytes(BUF, 4)[3]]).toEqual([0, 100]); // available spare 100 %
    c = d.submit(0, (x) => {
      x.setUint8(0, S.ADM_GET_LOG_PAGE);
      x.setBigUint64(24, BigInt(BUF), true);
      x.setUint32(40, 0x7f | (3 << 16), true);
    });
    expect([c.sct, c.sc]).toEqual([1, 0x09]); // invalid log page
    c = d.submit(0, (x) => x.setUint8(0, S.ADM_ABORT));
    expect([c.sc, c.dw0 & 1]).toEqual([0, 1]);
    c = d.submit(0, (x) => x.setUint8(0, 0x7f));
    expect([c.sct, c.sc]).toEqual([0, 0x01]); // invalid opcode
    // Async Event Requests are held: no completion, the next command's completes in their place.
    const head = d.r(S.REG_CSTS);
    expect(head & S.CSTS_RDY).toBe(S.CSTS_RDY);
  });

  it('an I/O queue pair: reads match the image through PRP1, PRP2 and PRP lists; writes stay in the overlay', () => {
    const d = driver();
    const before = sha(fs.readFileSync(d.img));
    d.msixOn();
    d.enable();
    d.ioQueues();
    const file = fs.readFileSync(d.img);
    for (const [lba, blocks, at] of [
      [0, 1, BUF],
      [0, 8, BUF], // one page
      [3, 9, BUF + 512], // two pages, PRP1 with an offset
      [100, 256, BUF], // 128 KiB: a PRP list
    ] as const) {
      const c = d.rw(S.NVM_READ, lba, blocks, at);
      expect([c.sct, c.sc, c.sqid]).toEqual([0, 0, 1]);
      expect(sha(d.bytes(at, blocks * 512))).toBe(sha(file.subarray(lba * 512, (lba + blocks) * 512)));
    }
    expect(d.fired.filter((v) => v === 1).length, 'MSI-X vector 1 per completion batch').toBeGreaterThan(0);
    d.bytes(BUF, 4096).fill(0xa5);
    expect(d.rw(S.NVM_WRITE, 40, 8).sc).toBe(0);
    d.bytes(BUF, 4096).fill(0);
    expect(d.rw(S.NVM_READ, 40, 8).sc).toBe(0);
    expect(d.bytes(BUF, 4096).every((b) => b === 0xa5)).toBe(true);
    const flush = d.submit(1, (x) => {
      x.setUint8(0, S.NVM_FLUSH);
      x.setUint32(4, 1, true);
    });
    expect(flush.sc).toBe(0);
    expect(sha(fs.readFileSync(d.img)), 'the image is unchanged').toBe(before);
  });

  it('bad I/O commands fail with the status a driver expects, and the queue goes on', () => {
    const d = driver();
    d.enable();
    d.ioQueues();
    const blocks = d.disk.size / 512;
    let c = d.rw(S.NVM_READ, blocks - 1, 2);
    expect([c.sct, c.sc]).toEqual([0, 0x80]); // LBA out of range
    c = d.rw(S.NVM_READ, 0, 1, BUF, 2);
    expect([c.sct, c.sc]).toEqual([0, 0x0b]); // invalid namespace
    c = d.rw(S.NVM_READ, 0, 1, BUF + 2);
    expect([c.sct, c.sc]).toEqual([0, 0x13]); // PRP offset not dword-aligned
    c = d.rw(S.NVM_READ, 0, 8, MEM - 2048); // runs past guest RAM
    expect([c.sct, c.sc]).toEqual([0, 0x04]);
    c = d.submit(1, (x) => {
      x.setUint8(0, S.NVM_READ);
      x.setUint8(1, 0x40); // PSDT: SGL, not offered
      x.setUint32(4, 1, true);
    });
    expect([c.sct, c.sc]).toEqual([0, 0x02]);
    c = d.rw(S.NVM_READ, 0, 2048); // 1 MiB > MDTS
    expect([c.sct, c.sc]).toEqual([0, 0x02]);
    expect(d.rw(S.NVM_READ, 0, 1).sc).toBe(0);
  });

  it('a read-only disk: writes fail as write-protected, Identify Namespace says so', () => {
    const d = driver('ro');
    d.enable();
    d.ioQueues();
    const c = d.rw(S.NVM_WRITE, 0, 1);
    expect([c.sct, c.sc]).toEqual([0, 0x20]);
    d.submit(0, (x) => {
      x.setUint8(0, S.ADM_IDENTIFY);
      x.setUint32(4, 1, true);
      x.setBigUint64(24, BigInt(BUF), true);
      x.setUint32(40, S.CNS_NAMESPACE, true);
    });
    expect(d.bytes(BUF, 100)[99]).toBe(1);
  });

  it('queue creation checks ids, sizes, the CQ and vectors; a CQ in use cannot be deleted', () => {
    const d = driver();
    d.enable();
    const create = (op: number, qid: number, entries: number, dw11: number, base = IOCQ) =>
      d.submit(0, (x) => {
        x.setUint8(0, op);
        x.setBigUint64(24, BigInt(base), true);
        x.setUint32(40, ((entries - 1) << 16) | qid, true);
        x.setUint32(44, dw11, true);
      });
    expect(create(S.ADM_CREATE_SQ, 1, 16, (1 << 16) | 1, IOSQ).sc).toBe(0x00); // SCT 1: CQ invalid
    expect(create(S.ADM_CREATE_SQ, 1, 16, (1 << 16) | 1, IOSQ).sct).toBe(1);
    expect(create(S.ADM_CREATE_CQ, 9, 16, 3).sc).toBe(0x01); // invalid queue id
    expect(create(S.ADM_CREATE_CQ, 1, S.IO_QUEUE_ENTRIES + 1, 3).sc).toBe(0x02); // invalid size
    expect(create(S.ADM_CREATE_CQ, 1, 16, (9 << 16) | 3).sc).toBe(0x08); // invalid vector
    expect(create(S.ADM_CREATE_CQ, 1, 16, 2)).toMatchObject({ sct: 0, sc: 0x02 }); // not contiguous
    expect(create(S.ADM_CREATE_CQ, 1, 16, (1 << 16) | 3)).toMatchObject({ sct: 0, sc: 0 });
    expect(create(S.ADM_CREATE_SQ, 1, 16, (1 << 16) | 1, IOSQ)).toMatchObject({ sct: 0, sc: 0 });
    const del = (op: number, qid: number) =>
      d.submit(0, (x) => {
        x.setUint8(0, op);
        x.setUint32(40, qid, true);
      });
    expect(del(S.ADM_DELETE_CQ, 1)).toMatchObject({ sct: 1, sc: 0x0c });
    expect(del(S.ADM_DELETE_SQ, 1)).toMatchObject({ sct: 0, sc: 0 });
    expect(del(S.ADM_DELETE_CQ, 1)).toMatchObject({ sct: 0, sc: 0 });
  });

  it('admin queues outside RAM or misaligned: CSTS.CFS, not ready; CC.EN = 0 resets; CC.SHN completes', () => {
    const d = driver();
    d.w(S.REG_AQA, (31 << 16) | 31);
    d.w(S.REG_ASQ, MEM); // just past guest RAM
    d.w(S.REG_ACQ, ACQ);
    d.w(S.REG_CC, (4 << 20) | (6 << 16) | 1);
    expect(d.r(S.REG_CSTS)).toBe(S.CSTS_CFS);
    d.w(S.REG_CC, 0);
    expect(d.r(S.REG_CSTS)).toBe(0);
    d.enable();
    expect(d.r(S.REG_CSTS)).toBe(S.CSTS_RDY);
    d.w(S.REG_CC, (1 << 14) | (4 << 20) | (6 << 16) | 1);
    expect(d.r(S.REG_CSTS) & 0xc).toBe(S.CSTS_SHST_COMPLETE);
    d.w(S.REG_CC, 0);
    expect(d.r(S.REG_CSTS)).toBe(0);
  });

  it('doorbells: one datamatch eventfd per I/O queue and tail value, CQ heads to one sink', () => {
    const fds = {
      sqTail: [0, 1].map((q) => Array.from({ length: S.IO_QUEUE_ENTRIES }, (_, v) => 100 + q * 64 + v)),
      cqHeadSink: 7,
    };
    const list = doorbellList(fds);
    expect(list.filter((x) => x.datamatch !== undefined)).toHaveLength(S.MAX_IO_QUEUES * S.IO_QUEUE_ENTRIES);
    expect(list.find((x) => x.offset === S.sqTailDoorbell(2) && x.datamatch === 5)?.fd).toBe(100 + 64 + 5);
    expect(list.filter((x) => x.fd === 7).map((x) => x.offset)).toEqual([0x1004, 0x100c, 0x1014]);
    expect(
      list.some((x) => x.offset === S.sqTailDoorbell(0)),
      'the admin SQ exits (its depth may be 4096)',
    ).toBe(false);
  });

  it('several tail values at once: the newest is the one furthest ahead of the head', () => {
    const d = driver();
    d.enable();
    d.ioQueues(16);
    // Queue three reads without ringing, then hand the engine the values 1, 3 and 2 together.
    const engine = (d.ctrl.backend as unknown as { engine: NvmeEngine }).engine;
    const q = { sq: IOSQ };
    for (let i = 0; i < 3; i++) {
      const c = new DataView(d.mem.low.buffer, q.sq + i * 64, 64);
      new Uint8Array(d.mem.low.buffer, q.sq + i * 64, 64).fill(0);
      c.setUint8(0, S.NVM_READ);
      c.setUint16(2, 500 + i, true);
      c.setUint32(4, 1, true);
      c.setBigUint64(24, BigInt(BUF + i * 4096), true);
    }
    engine.sqTails(1, [1, 3, 2]);
    const cids = [0, 1, 2].map((i) => d.dv.getUint32(IOCQ + i * 16 + 12, true) & 0xffff);
    expect(cids).toEqual([500, 501, 502]);
    engine.sqTails(1, [3]); // the same tail again: nothing new
    expect(d.dv.getUint32(IOCQ + 3 * 16 + 12, true)).toBe(0);
  });

  it('--disk DEV,if=nvme; OVMF boot-order path for an NVMe namespace', () => {
    expect(parseDiskSpec('/dev/sda,if=nvme')).toEqual({ path: '/dev/sda', mode: 'cow', iface: 'nvme' });
    expect(parseDiskSpec('/dev/sda,ro,if=virtio')).toEqual({ path: '/dev/sda', mode: 'ro' });
    expect(() => parseDiskSpec('/dev/sda,if=scsi')).toThrow(/unknown interface 'scsi'/);
    expect(bootorderPath(3, 'nvme')).toBe('/pci@i0cf8/pci8086,5845@3/namespace@1,0');
  });

  it('PRP walking is bounded and never throws on hostile pointers (fast-check)', () => {
    const mem = new GuestMemory(new ArrayBuffer(1 << 20), null);
    const dv = new DataView(mem.low.buffer);
    fc.assert(
      fc.property(
        fc.nat(2 ** 40),
        fc.nat(2 ** 40),
        fc.integer({ min: 0, max: 2 << 20 }),
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { maxLength: 600 }),
        (prp1, prp2, len, list) => {
          list.forEach((v, i) => dv.setBigUint64((i * 8) % (1 << 20), v, true));
          const r = prpSegments(mem, prp1 % (1 << 21), prp2 % (1 << 21), len);
          if (r.ok) expect(r.segments.reduce((a, s) => a + s.length, 0)).toBe(len);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random admin and I/O commands never throw and always complete (fast-check)', () => {
    const d = driver();
    d.enable(8);
    d.ioQueues(8);
    fc.assert(
      fc.property(fc.constantFrom(0, 1), fc.uint8Array({ minLength: 64, maxLength: 64 }), (qid, raw) => {
        const c = d.submit(qid, (x) => {
          new Uint8Array(x.buffer, x.byteOffset, 64).set(raw);
          if (qid === 0 && (raw[0] === S.ADM_ASYNC_EVENT || raw[0] === S.ADM_DELETE_SQ || raw[0] === S.ADM_DELETE_CQ))
            x.setUint8(0, S.ADM_ABORT); // held or destructive: covered above
        });
        expect(c.sqid).toBe(qid);
      }),
      { numRuns: 400 },
    );
  });
});
