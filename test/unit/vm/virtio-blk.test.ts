// virtio-blk over the modern PCI transport: a driver written from the virtio 1.2 spec drives the
// device through its BAR and a split virtqueue in guest memory. Reads come from a real FAT
// image (mkfs.vfat); writes land in the copy-on-write overlay and never reach the file.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeviceManager } from '../../../src/vm/device-manager';
import { Disk, parseDiskSpec } from '../../../src/vm/disk';
import { GuestMemory } from '../../../src/vm/memory';
import { VirtioPciTransport } from '../../../src/vm/virtio-pci';
import {
  LocalBlockBackend,
  VirtioBlk,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
} from '../../../src/vm/virtio-blk';

const BAR = 0x8000_0000;
const Q = 8;
const DESC = 0x10000,
  AVAIL = 0x11000,
  USED = 0x12000,
  HDR = 0x13000,
  DATA = 0x14000,
  STATUS = 0x18000;

function image(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-vblk-'));
  const img = path.join(dir, 'fat.img');
  execFileSync('truncate', ['-s', '8M', img]);
  execFileSync('mkfs.vfat', ['-n', 'VBLK', img], { stdio: 'ignore' });
  return img;
}
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

function driver(mode: 'cow' | 'ro') {
  const img = image();
  const disk = Disk.open({ path: img, mode });
  const mem = new GuestMemory(new ArrayBuffer(1 << 20), null);
  const dm = new DeviceManager();
  const { mmio, ports: io } = dm;
  const irqs: boolean[] = [];
  const dev = new VirtioPciTransport(new VirtioBlk(new LocalBlockBackend(disk)), mem, { intx: (l) => irqs.push(l) });
  dm.addPci('virtio-blk0', 2, 0, dev);
  io.write(0xcf8, 4, 0x8000_1010);
  io.write(0xcfc, 4, BAR);
  io.write(0xcf8, 4, 0x8000_1004);
  io.write(0xcfc, 2, 0x0006);
  const w = (off: number, size: number, v: number) => mmio.write(BAR + off, size, v);
  const r = (off: number, size: number) => Number(mmio.read(BAR + off, size));
  const dv = new DataView(mem.low.buffer);
  let availIdx = 0;
  // Initialisation per virtio 1.2 §3.1.1.
  w(0x14, 1, 0);
  w(0x14, 1, 1);
  w(0x14, 1, 3);
  w(0x00, 4, 1);
  const featHi = r(0x04, 4);
  w(0x00, 4, 0);
  const featLo = r(0x04, 4);
  w(0x08, 4, 0);
  w(0x0c, 4, featLo);
  w(0x08, 4, 1);
  w(0x0c, 4, featHi);
  w(0x14, 1, 0x0b);
  w(0x16, 2, 0);
  const maxQ = r(0x18, 2);
  w(0x18, 2, Q);
  w(0x20, 4, DESC);
  w(0x24, 4, 0);
  w(0x28, 4, AVAIL);
  w(0x2c, 4, 0);
  w(0x30, 4, USED);
  w(0x34, 4, 0);
  w(0x1c, 2, 1);
  w(0x14, 1, 0x0f);
  const desc = (i: number, addr: number, len: number, flags: number, next: number) => {
    dv.setBigUint64(DESC + 16 * i, BigInt(addr), true);
    dv.setUint32(DESC + 16 * i + 8, len, true);
    dv.setUint16(DESC + 16 * i + 12, flags, true);
    dv.setUint16(DESC + 16 * i + 14, next, true);
  };
  /** Three-descriptor request: header, data, status (OVMF's layout). */
  const request = (type: number, sector: number, len: number) => {
    dv.setUint32(HDR, type, true);
    dv.setUint32(HDR + 4, 0, true);
    dv.setBigUint64(HDR + 8, BigInt(sector), true);
    mem.low[STATUS] = 0xff;
    const dataWrite = type === VIRTIO_BLK_T_OUT ? 0 : 2;
    desc(0, HDR, 16, 1, 1);
    desc(1, DATA, len, 1 | dataWrite, 2);
    desc(2, STATUS, 1, 2, 0);
    dv.setUint16(AVAIL + 4 + 2 * (availIdx % Q), 0, true);
    availIdx++;
    dv.setUint16(AVAIL + 2, availIdx, true);
    w(0x3000, 2, 0); // notify queue 0 (queue_notify_off 0)
    const usedIdx = dv.getUint16(USED + 2, true);
    const e = USED + 4 + 8 * ((usedIdx - 1) % Q);
    return { status: mem.low[STATUS], usedIdx, id: dv.getUint32(e, true), len: dv.getUint32(e + 4, true) };
  };
  return { img, disk, mem, r, w, request, irqs, featLo, featHi, maxQ };
}

describe('virtio-blk (modern PCI)', () => {
  it('offers VERSION_1 and BLK_SIZE, reports capacity and num_queues', () => {
    const d = driver('cow');
    expect(d.featHi & 1).toBe(1);
    expect(d.featLo & (1 << 6)).toBeTruthy();
    expect(d.featLo & (1 << VIRTIO_BLK_F_RO)).toBe(0);
    expect(d.maxQ).toBeGreaterThanOrEqual(3);
    expect(d.r(0x2000, 4) + d.r(0x2004, 4) * 2 ** 32).toBe(fs.statSync(d.img).size / 512);
    expect(d.r(0x12, 2)).toBe(1);
    expect(d.r(0x2014, 4)).toBe(512);
  });

  it('reads sectors from the image (boot sector signature 55 AA)', () => {
    const d = driver('cow');
    const res = d.request(VIRTIO_BLK_T_IN, 0, 1024);
    expect(res).toEqual({ status: VIRTIO_BLK_S_OK, usedIdx: 1, id: 0, len: 1025 });
    const want = fs.readFileSync(d.img).subarray(0, 1024);
    expect(Buffer.from(d.mem.low.subarray(DATA, DATA + 1024)).equals(want)).toBe(true);
    expect([d.mem.low[DATA + 510], d.mem.low[DATA + 511]]).toEqual([0x55, 0xaa]);
  });

  it('raises INTx on completion and lowers it when ISR is read (read-to-clear)', () => {
    const d = driver('cow');
    d.request(VIRTIO_BLK_T_IN, 0, 512);
    expect(d.irqs[d.irqs.length - 1]).toBe(true);
    expect(d.r(0x1000, 1)).toBe(1);
    expect(d.irqs[d.irqs.length - 1]).toBe(false);
    expect(d.r(0x1000, 1)).toBe(0);
  });

  it('keeps guest writes in the overlay: readable back, the image file unchanged', () => {
    const d = driver('cow');
    const before = sha(d.img);
    d.mem.low.fill(0x5a, DATA, DATA + 4096);
    expect(d.request(VIRTIO_BLK_T_OUT, 3, 4096).status).toBe(VIRTIO_BLK_S_OK);
    d.mem.low.fill(0, DATA, DATA + 4096);
    expect(d.request(VIRTIO_BLK_T_IN, 2, 4096 + 512).status).toBe(VIRTIO_BLK_S_OK);
    const back = d.mem.low.subarray(DATA, DATA + 4096 + 512);
    expect(Buffer.from(back.subarray(0, 512)).equals(fs.readFileSync(d.img).subarray(1024, 1536))).toBe(true);
    expect(back.subarray(512).every((b) => b === 0x5a)).toBe(true);
    expect(sha(d.img)).toBe(before);
    expect(d.disk.overlaySize).toBeGreaterThan(0);
  });

  it('advertises RO and refuses writes with ",ro"', () => {
    const d = driver('ro');
    expect(d.featLo & (1 << VIRTIO_BLK_F_RO)).toBeTruthy();
    expect(d.request(VIRTIO_BLK_T_OUT, 0, 512).status).toBe(VIRTIO_BLK_S_IOERR);
  });

  it('fails reads past the end and answers GET_ID', () => {
    const d = driver('cow');
    const sectors = fs.statSync(d.img).size / 512;
    expect(d.request(VIRTIO_BLK_T_IN, sectors, 512).status).toBe(VIRTIO_BLK_S_IOERR);
    expect(d.request(VIRTIO_BLK_T_GET_ID, 0, 20).status).toBe(VIRTIO_BLK_S_OK);
    expect(Buffer.from(d.mem.low.subarray(DATA, DATA + 12)).toString()).toBe('tendril-disk');
  });

  it('parses --disk specs', () => {
    expect(parseDiskSpec('/dev/sda')).toEqual({ path: '/dev/sda', mode: 'cow' });
    expect(parseDiskSpec('/dev/sda,rw')).toEqual({ path: '/dev/sda', mode: 'rw' });
    expect(parseDiskSpec('x.img,ro')).toEqual({ path: 'x.img', mode: 'ro' });
    expect(() => parseDiskSpec('x.img,wat')).toThrow(/unknown option/);
  });
});
