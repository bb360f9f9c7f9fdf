// The AHCI HBA (src/vm/ahci/): a driver written from the AHCI 1.3.1 and ATA8-ACS specifications
// drives it through PCI configuration, ABAR's registers, and command lists, command tables and
// received-FIS areas in guest memory, the way OVMF's AtaAtapiPassThru and Linux's ahci do: HBA
// reset, COMRESET, port start, IDENTIFY DEVICE, DMA and PIO reads through multi-entry PRDTs,
// writes into the copy-on-write overlay, NCQ, and the errors a driver must see. The disk is a
// real FAT image (mkfs.vfat).
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
import { LocalAhciBackend } from '../../../src/vm/ahci/backend';
import { AhciController } from '../../../src/vm/ahci/controller';
import { prdtSg } from '../../../src/vm/ahci/engine';
import * as S from '../../../src/vm/ahci/spec';
import { bootorderPath } from '../../../src/vm/platform';

const BAR = 0x8000_0000;
const MEM = 4 << 20;
const CLB = 0x10000;
const FB = 0x11000;
const CT = 0x12000; // command tables, 0x1000 apart per slot
const BUF = 0x40000;
const P = S.PORT_BASE;
const ALL_IS = 0xfdc0_00ff;

function image(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-ahci-'));
  const img = path.join(dir, 'fat.img');
  execFileSync('truncate', ['-s', '8M', img]);
  execFileSync('mkfs.vfat', ['-n', 'AHCI', img], { stdio: 'ignore' });
  return img;
}
const sha = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

interface Cmd {
  command: number;
  lba?: number;
  count?: number;
  features?: number;
  device?: number;
  /** Data regions: guest address and byte length of each PRD entry. */
  prd?: Array<[number, number]>;
  write?: boolean;
  slot?: number;
  /** Override the header's CFL (dwords of the command FIS). */
  cfl?: number;
  fisType?: number;
}

function driver(mode: 'cow' | 'ro' = 'cow', msi = false) {
  const img = image();
  const disk = Disk.open({ path: img, mode });
  const mem = new GuestMemory(new ArrayBuffer(MEM), null);
  const dv = new DataView(mem.low.buffer);
  const fired: number[] = [];
  const line: boolean[] = [];
  const sink: MsiSink = { vectors: () => ({ fds: null }), route: () => {}, fire: (v) => fired.push(v) };
  const dm = new DeviceManager();
  const ctrl = new AhciController(new LocalAhciBackend(disk), mem, {
    msi: msi ? sink : undefined,
    intx: (l) => line.push(l),
  });
  dm.addPci('ahci0', 3, 0, ctrl);
  const cfg = (reg: number, size: number, v?: number) => {
    dm.ports.write(0xcf8, 4, 0x8000_1800 | (reg & ~3));
    if (v === undefined) return Number(dm.ports.read(0xcfc + (reg & 3), size));
    dm.ports.write(0xcfc + (reg & 3), size, v);
    return 0;
  };
  cfg(0x24, 4, BAR);
  cfg(0x04, 2, 0x0006);
  const w = (off: number, v: number) => dm.mmio.write(BAR + off, 4, v >>> 0);
  const r = (off: number) => Number(dm.mmio.read(BAR + off, 4)) >>> 0;

  /** HBA reset, AE and IE, then the port as Linux brings it up: CLB/FB, FRE, COMRESET, ST. */
  const bringUp = () => {
    w(S.HBA_GHC, S.GHC_HR);
    expect(r(S.HBA_GHC) & S.GHC_HR, 'HR self-clears').toBe(0);
    w(S.HBA_GHC, S.GHC_AE | S.GHC_IE);
    w(P + S.PX_CLB, CLB);
    w(P + S.PX_CLBU, 0);
    w(P + S.PX_FB, FB);
    w(P + S.PX_FBU, 0);
    w(P + S.PX_CMD, S.CMD_FRE | S.CMD_SUD);
    expect(r(P + S.PX_CMD) & S.CMD_FR).toBe(S.CMD_FR);
    w(P + S.PX_SCTL, 0x301); // COMRESET
    expect(r(P + S.PX_SSTS) & 0xf).toBe(0);
    w(P + S.PX_SCTL, 0x300);
    expect(r(P + S.PX_SSTS)).toBe(0x133);
    expect(r(P + S.PX_TFD) & (S.ST_BSY | S.ST_DRQ)).toBe(0);
    expect(r(P + S.PX_SIG)).toBe(0x101);
    w(P + S.PX_SERR, 0xffffffff);
    w(P + S.PX_IS, 0xffffffff);
    w(P + S.PX_IE, ALL_IS);
    w(P + S.PX_CMD, S.CMD_FRE | S.CMD_SUD | S.CMD_ST);
    expect(r(P + S.PX_CMD) & S.CMD_CR).toBe(S.CMD_CR);
  };

  /** Builds slot's command header, table, H2D FIS and PRDT. */
  const build = (c: Cmd) => {
    const slot = c.slot ?? 0;
    const ct = CT + slot * 0x1000;
    const prd = c.prd ?? [];
    new Uint8Array(mem.low.buffer, ct, 0x80 + prd.length * 16).fill(0);
    const h = CLB + slot * 32;
    dv.setUint32(h, (c.cfl ?? 5) | (c.write ? 1 << 6 : 0) | (prd.length << 16), true);
    dv.setUint32(h + 4, 0xdeadbeef, true); // PRDBC: the HBA writes it
    dv.setUint32(h + 8, ct, true);
    dv.setUint32(h + 12, 0, true);
    const lba = c.lba ?? 0;
    const f = new Uint8Array(mem.low.buffer, ct, 20);
    f[0] = c.fisType ?? S.FIS_H2D;
    f[1] = 0x80;
    f[2] = c.command;
    f[3] = (c.features ?? 0) & 0xff;
    f[11] = ((c.features ?? 0) >>> 8) & 0xff;
    for (let i = 0; i < 3; i++) {
      f[4 + i] = Math.floor(lba / 2 ** (8 * i)) & 0xff;
      f[8 + i] = Math.floor(lba / 2 ** (8 * (i + 3))) & 0xff;
    }
    f[7] = c.device ?? 0x40;
    f[12] = (c.count ?? 0) & 0xff;
    f[13] = ((c.count ?? 0) >>> 8) & 0xff;
    prd.forEach(([addr, len], i) => {
      const e = ct + 0x80 + i * 16;
      dv.setUint32(e, addr, true);
      dv.setUint32(e + 4, 0, true);
      dv.setUint32(e + 12, (len - 1) | (1 << 31), true);
    });
    return slot;
  };
  /** Issues one non-queued command and reports what the HBA left. */
  const run = (c: Cmd) => {
    new Uint8Array(mem.low.buffer, FB, 256).fill(0);
    const slot = build(c);
    w(P + S.PX_CI, 1 << slot);
    const is = r(P + S.PX_IS);
    w(P + S.PX_IS, is);
    return {
      is,
      tfd: r(P + S.PX_TFD),
      ci: r(P + S.PX_CI),
      prdbc: dv.getUint32(CLB + slot * 32 + 4, true),
      d2h: new Uint8Array(mem.low.buffer, FB + S.RX_RFIS, 20).slice(),
      pio: new Uint8Array(mem.low.buffer, FB + S.RX_PSFIS, 20).slice(),
      sdb: new Uint8Array(mem.low.buffer, FB + S.RX_SDBFIS, 8).slice(),
    };
  };
  /** After an error: stop and restart the port, as Linux's EH and OVMF's recovery do. */
  const restart = () => {
    w(P + S.PX_CMD, S.CMD_FRE);
    expect(r(P + S.PX_CI)).toBe(0);
    expect(r(P + S.PX_CMD) & S.CMD_CR).toBe(0);
    w(P + S.PX_IS, 0xffffffff);
    w(P + S.PX_CMD, S.CMD_FRE | S.CMD_ST);
  };
  const bytes = (at: number, n: number) => new Uint8Array(mem.low.buffer, at, n);
  return { img, disk, mem, dv, ctrl, cfg, w, r, bringUp, build, run, restart, bytes, fired, line };
}

const ok = (res: { tfd: number; ci: number }) => {
  expect(res.tfd & 0xff, `TFD ${res.tfd.toString(16)}`).toBe(S.STATUS_OK);
  expect(res.ci).toBe(0);
};

describe('AHCI HBA (ahci/controller.ts, ahci/engine.ts, ahci/ata.ts)', () => {
  it('is 8086:2922, class 01:06:01, ABAR in BAR5 (4 KiB), MSI, INTx on pin A', () => {
    const d = driver('cow', true);
    expect(d.cfg(0, 4)).toBe(0x2922_8086);
    expect(d.cfg(0x08, 4) >>> 8).toBe(0x010601);
    expect(d.cfg(0x3d, 1)).toBe(1);
    const cap = d.cfg(0x34, 1);
    expect(d.cfg(cap, 1)).toBe(0x05);
    expect(d.cfg(cap + 2, 2) & 0x80, '64-bit MSI').toBe(0x80);
    d.cfg(0x24, 4, 0xffffffff);
    expect(d.cfg(0x24, 4) >>> 0).toBe(0xfffff000);
  });

  it('CAP, PI, VS; HBA reset; COMRESET brings the link up with an ATA signature', () => {
    const d = driver();
    const cap = d.r(S.HBA_CAP);
    expect(cap & S.CAP_S64A).not.toBe(0);
    expect(cap & S.CAP_SNCQ).not.toBe(0);
    expect((cap >>> 8) & 0x1f).toBe(31); // 32 slots
    expect(cap & 0x1f).toBe(0); // one port
    expect(d.r(S.HBA_PI)).toBe(1);
    expect(d.r(S.HBA_VS)).toBe(0x00010301);
    expect(d.r(S.HBA_GHC) & S.GHC_AE).not.toBe(0);
    d.bringUp();
    // The signature FIS reached the received-FIS area at COMRESET's end.
    expect(d.bytes(FB + S.RX_RFIS, 1)[0]).toBe(S.FIS_D2H);
  });

  it('IDENTIFY DEVICE (PIO in): model, serial, LBA48 capacity, NCQ depth, checksum; PIO setup FIS, PRDBC', () => {
    const d = driver();
    d.bringUp();
    const res = d.run({ command: S.ATA_IDENTIFY, prd: [[BUF, 512]] });
    ok(res);
    expect(res.is & S.IS_PSS).not.toBe(0);
    expect(res.is & S.IS_DHRS).not.toBe(0);
    expect(res.pio[0]).toBe(S.FIS_PIO_SETUP);
    expect(res.pio[15]).toBe(S.STATUS_OK); // E_Status
    expect(res.prdbc).toBe(512);
    const id = d.bytes(BUF, 512);
    const w = (i: number) => id[2 * i]! | (id[2 * i + 1]! << 8);
    const str = (from: number, words: number) => {
      let s = '';
      for (let i = 0; i < words; i++) s += String.fromCharCode(w(from + i) >> 8, w(from + i) & 0xff);
      return s.trim();
    };
    expect(str(27, 20)).toBe('TENDRIL HARDDISK');
    expect(str(10, 10)).toMatch(/^[0-9A-F]{20}$/);
    expect(str(23, 4)).toBe('1.0');
    const sectors = w(100) + w(101) * 2 ** 16 + w(102) * 2 ** 32;
    expect(sectors).toBe((8 << 20) / 512);
    expect(w(60) + w(61) * 2 ** 16).toBe((8 << 20) / 512);
    expect(w(83) & (1 << 10), 'LBA48').not.toBe(0);
    expect(w(76) & (1 << 8), 'NCQ').not.toBe(0);
    expect(w(75)).toBe(31);
    expect(w(106)).toBe(0x4000);
    expect(w(49) & (1 << 8), 'DMA').not.toBe(0);
    expect(w(88) & 0x7f).toBe(0x7f);
    expect(id.reduce((a, x) => a + x, 0) & 0xff, 'integrity word').toBe(0);
    expect(id[510]).toBe(0xa5);
  });

  it('READ DMA EXT through a multi-entry PRDT matches the image; READ SECTORS (PIO) too', () => {
    const d = driver();
    d.bringUp();
    const want = fs.readFileSync(d.img).subarray(0, 64 * 512);
    // Entries of odd, even sizes across pages: 1 KiB, 6 KiB, then the rest.
    const prd: Array<[number, number]> = [
      [BUF + 0x10000, 1024],
      [BUF + 0x3000, 6144],
      [BUF + 0x20000, 64 * 512 - 7168],
    ];
    const res = d.run({ command: S.ATA_READ_DMA_EXT, lba: 0, count: 64, prd });
    ok(res);
    expect(res.prdbc).toBe(64 * 512);
    expect(res.d2h[0]).toBe(S.FIS_D2H);
    const got = Buffer.concat(prd.map(([a, n]) => Buffer.from(d.bytes(a, n))));
    expect(sha(got)).toBe(sha(want));
    const pio = d.run({ command: S.ATA_READ_SECTORS, lba: 1, count: 2, prd: [[BUF, 1024]] });
    ok(pio);
    expect(pio.is & S.IS_PSS).not.toBe(0);
    expect(sha(d.bytes(BUF, 1024))).toBe(sha(want.subarray(512, 1536)));
  });

  it('WRITE DMA EXT lands in the overlay (the image is unchanged) and reads back; FLUSH CACHE EXT', () => {
    const d = driver();
    d.bringUp();
    const before = sha(fs.readFileSync(d.img));
    const data = crypto.randomBytes(8 * 512);
    d.bytes(BUF, data.length).set(data);
    ok(d.run({ command: S.ATA_WRITE_DMA_EXT, lba: 100, count: 8, write: true, prd: [[BUF, 4096]] }));
    ok(d.run({ command: S.ATA_FLUSH_CACHE_EXT }));
    d.bytes(BUF, 4096).fill(0);
    ok(d.run({ command: S.ATA_READ_DMA_EXT, lba: 100, count: 8, prd: [[BUF + 0x8000, 4096]] }));
    expect(sha(d.bytes(BUF + 0x8000, 4096))).toBe(sha(data));
    expect(d.disk.overlaySize).toBeGreaterThan(0);
    expect(sha(fs.readFileSync(d.img))).toBe(before);
  });

  it('a read-only disk: writes abort', () => {
    const d = driver('ro');
    d.bringUp();
    const res = d.run({ command: S.ATA_WRITE_DMA, lba: 0, count: 1, write: true, prd: [[BUF, 512]] });
    expect(res.tfd & S.ST_ERR).toBe(S.ST_ERR);
    expect(res.tfd >>> 8).toBe(S.ERR_ABRT);
  });

  it('errors: out-of-range LBA (IDNF), unknown command and NOP (ABRT), a PRDT too short; the port halts until ST is cleared', () => {
    const d = driver();
    d.bringUp();
    const sectors = (8 << 20) / 512;
    const expectError = (res: ReturnType<typeof d.run>, err: number) => {
      expect(res.tfd & S.ST_ERR, `TFD ${res.tfd.toString(16)}`).toBe(S.ST_ERR);
      expect(res.tfd >>> 8).toBe(err);
      expect(res.is & S.IS_TFES).not.toBe(0);
      expect(res.d2h[2]! & S.ST_ERR).toBe(S.ST_ERR);
      expect(res.d2h[3]).toBe(err);
      expect(res.ci, 'the failed slot stays in PxCI').toBe(1);
      d.restart();
    };
    expectError(d.run({ command: S.ATA_READ_DMA_EXT, lba: sectors - 1, count: 2, prd: [[BUF, 1024]] }), S.ERR_IDNF);
    expectError(d.run({ command: S.ATA_READ_DMA, lba: 0x0fff_ffff, count: 1, prd: [[BUF, 512]] }), S.ERR_IDNF);
    expectError(d.run({ command: 0xfe }), S.ERR_ABRT);
    expectError(d.run({ command: S.ATA_NOP }), S.ERR_ABRT);
    expectError(d.run({ command: S.ATA_SMART, features: 0xd0, prd: [[BUF, 512]] }), S.ERR_ABRT);
    expectError(d.run({ command: S.ATA_READ_DMA_EXT, lba: 0, count: 8, prd: [[BUF, 2048]] }), S.ERR_ABRT);
    expectError(d.run({ command: S.ATA_READ_DMA_EXT, lba: 0, count: 1, prd: [[MEM - 256, 512]] }), S.ERR_ABRT);
    expectError(d.run({ command: S.ATA_IDENTIFY, cfl: 2, prd: [[BUF, 512]] }), S.ERR_ABRT);
    expectError(d.run({ command: S.ATA_IDENTIFY, fisType: 0x39, prd: [[BUF, 512]] }), S.ERR_ABRT);
    // Once restarted the port works again.
    ok(d.run({ command: S.ATA_READ_VERIFY_EXT, lba: 0, count: 8 }));
  });

  it('SET FEATURES, SET MULTIPLE MODE, CHECK POWER MODE, EXECUTE DEVICE DIAGNOSTIC, READ LOG EXT, idle, TRIM', () => {
    const d = driver();
    d.bringUp();
    ok(d.run({ command: S.ATA_SET_FEATURES, features: S.SF_TRANSFER_MODE, count: 0x40 | 6 }));
    ok(d.run({ command: S.ATA_SET_FEATURES, features: S.SF_DISABLE_WRITE_CACHE }));
    ok(d.run({ command: S.ATA_SET_MULTIPLE, count: 16 }));
    ok(d.run({ command: S.ATA_IDENTIFY, prd: [[BUF, 512]] }));
    const w = (i: number) => d.dv.getUint16(BUF + 2 * i, true);
    expect(w(88) >>> 8).toBe(1 << 6); // UDMA 6 selected
    expect(w(85) & (1 << 5)).toBe(0); // write cache off
    expect(w(59)).toBe(0x0110);
    ok(d.run({ command: S.ATA_READ_MULTIPLE_EXT, lba: 0, count: 4, prd: [[BUF, 2048]] }));
    const power = d.run({ command: S.ATA_CHECK_POWER_MODE });
    ok(power);
    expect(power.d2h[12]).toBe(0xff);
    const diag = d.run({ command: S.ATA_EXECUTE_DIAGNOSTIC });
    ok(diag);
    expect([diag.d2h[3], diag.d2h[4], diag.d2h[12]]).toEqual([1, 1, 1]);
    ok(d.run({ command: S.ATA_IDLE_IMMEDIATE }));
    ok(d.run({ command: S.ATA_STANDBY_IMMEDIATE }));
    ok(d.run({ command: S.ATA_READ_LOG_EXT, lba: S.LOG_DIRECTORY, count: 1, prd: [[BUF, 512]] }));
    expect(d.dv.getUint16(BUF, true)).toBe(1);
    expect(d.dv.getUint16(BUF + 2 * S.LOG_NCQ_ERROR, true)).toBe(1);
    ok(d.run({ command: S.ATA_DSM, features: 1, count: 1, write: true, prd: [[BUF, 512]] }));
    const bad = d.run({ command: S.ATA_SET_FEATURES, features: 0x66 });
    expect(bad.tfd >>> 8).toBe(S.ERR_ABRT);
  });

  it('NCQ: READ/WRITE FPDMA QUEUED in several slots complete with a set-device-bits FIS; a failed one is in log 10h', () => {
    const d = driver();
    d.bringUp();
    const want = fs.readFileSync(d.img);
    const data = crypto.randomBytes(4096);
    d.bytes(BUF + 0x20000, 4096).set(data);
    for (const [slot, cmd] of [
      [3, { command: S.ATA_READ_FPDMA_QUEUED, lba: 16, features: 8, prd: [[BUF, 4096]] }],
      [7, { command: S.ATA_WRITE_FPDMA_QUEUED, lba: 200, features: 8, write: true, prd: [[BUF + 0x20000, 4096]] }],
    ] as const) {
      d.build({ ...cmd, prd: [...cmd.prd] as Array<[number, number]>, slot, count: slot << 3 });
    }
    d.w(P + S.PX_SACT, (1 << 3) | (1 << 7));
    d.w(P + S.PX_CI, (1 << 3) | (1 << 7));
    expect(d.r(P + S.PX_SACT)).toBe(0);
    expect(d.r(P + S.PX_CI)).toBe(0);
    expect(d.r(P + S.PX_IS) & S.IS_SDBS).not.toBe(0);
    expect(d.bytes(FB + S.RX_SDBFIS, 1)[0]).toBe(S.FIS_SDB);
    expect(sha(d.bytes(BUF, 4096))).toBe(sha(want.subarray(16 * 512, 24 * 512)));
    d.w(P + S.PX_IS, 0xffffffff);
    ok(d.run({ command: S.ATA_READ_DMA_EXT, lba: 200, count: 8, prd: [[BUF, 4096]] }));
    expect(sha(d.bytes(BUF, 4096))).toBe(sha(data));
    // Out of range in slot 5: TFES, then log 10h names tag 5 and IDNF, and reading it clears it.
    d.build({ command: S.ATA_READ_FPDMA_QUEUED, lba: 1 << 20, features: 1, count: 5 << 3, slot: 5, prd: [[BUF, 512]] });
    d.w(P + S.PX_SACT, 1 << 5);
    d.w(P + S.PX_CI, 1 << 5);
    expect(d.r(P + S.PX_IS) & S.IS_TFES).not.toBe(0);
    expect(d.r(P + S.PX_SACT)).toBe(1 << 5);
    d.restart();
    expect(d.r(P + S.PX_SACT)).toBe(0);
    ok(d.run({ command: S.ATA_READ_LOG_EXT, lba: S.LOG_NCQ_ERROR, count: 1, prd: [[BUF, 512]] }));
    const log = d.bytes(BUF, 512);
    expect([log[0], log[3]]).toEqual([5, S.ERR_IDNF]);
    expect(log.reduce((a, x) => a + x, 0) & 0xff).toBe(0);
    ok(d.run({ command: S.ATA_READ_LOG_EXT, lba: S.LOG_NCQ_ERROR, count: 1, prd: [[BUF, 512]] }));
    expect(d.bytes(BUF, 1)[0]).toBe(0x80); // NQ: nothing to report now
  });

  it('interrupts: INTx follows IS while MSI is off; with MSI on each completion sends the message', () => {
    const d = driver('cow', true);
    d.bringUp();
    d.line.length = 0;
    d.build({ command: S.ATA_FLUSH_CACHE });
    d.w(P + S.PX_CI, 1);
    expect(d.r(S.HBA_IS)).toBe(1);
    expect(d.line.at(-1)).toBe(true);
    d.w(P + S.PX_IS, d.r(P + S.PX_IS));
    d.w(S.HBA_IS, 1);
    expect(d.r(S.HBA_IS)).toBe(0);
    expect(d.line.at(-1)).toBe(false);
    // MSI on (Linux's order: address, data, then enable).
    const cap = d.cfg(0x34, 1);
    d.cfg(cap + 4, 4, 0xfee0_0000);
    d.cfg(cap + 8, 4, 0);
    d.cfg(cap + 12, 2, 0x41);
    d.cfg(cap + 2, 2, 0x81);
    d.build({ command: S.ATA_FLUSH_CACHE });
    d.w(P + S.PX_CI, 1);
    expect(d.fired).toEqual([0]);
    // GHC.IE off: no interrupt, IS still says why.
    d.w(P + S.PX_IS, 0xffffffff);
    d.w(S.HBA_GHC, S.GHC_AE);
    d.build({ command: S.ATA_FLUSH_CACHE });
    d.w(P + S.PX_CI, 1);
    expect(d.fired).toEqual([0]);
    d.w(S.HBA_GHC, S.GHC_AE | S.GHC_IE);
    expect(d.fired, 'enabling IE with one pending sends it').toEqual([0, 0]);
  });

  it('registers: CLB/FB keep their alignment and cannot move while running; CLO clears BSY; soft reset', () => {
    const d = driver();
    d.bringUp();
    d.w(P + S.PX_CLB, 0x12345);
    expect(d.r(P + S.PX_CLB)).toBe(CLB);
    d.w(P + S.PX_CMD, S.CMD_FRE);
    d.w(P + S.PX_CLB, 0x12345);
    expect(d.r(P + S.PX_CLB)).toBe(0x12000);
    d.w(P + S.PX_CLB, CLB);
    d.w(P + S.PX_CMD, S.CMD_FRE | S.CMD_ST);
    // A device control FIS (C = 0): SRST set, then cleared; the second answers with the signature.
    for (const srst of [0x04, 0x00]) {
      d.build({ command: 0 });
      const f = d.bytes(CT, 20);
      f[1] = 0;
      f[15] = srst;
      d.w(P + S.PX_CI, 1);
      expect(d.r(P + S.PX_CI)).toBe(0);
    }
    expect(d.bytes(FB + S.RX_RFIS, 13)[12]).toBe(1);
    ok(d.run({ command: S.ATA_FLUSH_CACHE }));
  });

  it('--disk DEV,if=ahci; the OVMF boot-order path QEMU gives an ich9-ahci disk', () => {
    expect(parseDiskSpec('/dev/sda,if=ahci')).toEqual({ path: '/dev/sda', mode: 'cow', iface: 'ahci' });
    expect(bootorderPath(0x1f, 'ahci')).toBe('/pci@i0cf8/pci8086,2922@1f/drive@0/disk@0');
    expect(bootorderPath(3, 'ahci')).toBe('/pci@i0cf8/pci8086,2922@3/drive@0/disk@0');
  });

  it('PRDT walking is bounded and never throws on hostile tables (fast-check)', () => {
    const mem = new GuestMemory(new ArrayBuffer(1 << 20), null);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0x80 + 16 * 64, maxLength: 0x80 + 16 * 64 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 64 << 20 }),
        (table, prdtl, len) => {
          mem.low.set(table, 0x1000);
          const segs = prdtSg(mem, 0x1000, prdtl)(len);
          if (segs) expect(segs.reduce((a, s) => a + s.length, 0)).toBe(len);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random command tables, FISes and PRDTs never throw, hang or leave the port busy (fast-check)', () => {
    const d = driver();
    d.bringUp();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.array(fc.tuple(fc.nat(MEM + 4096), fc.integer({ min: 1, max: 1 << 22 })), { maxLength: 8 }),
        fc.nat(31),
        fc.boolean(),
        (hdr, fis, prd, slot, useKnown) => {
          if (useKnown) fis[0] = S.FIS_H2D;
          const ct = CT + slot * 0x1000;
          d.bytes(CLB + slot * 32, 32).set(hdr);
          d.dv.setUint32(CLB + slot * 32 + 8, ct, true);
          d.dv.setUint16(CLB + slot * 32 + 2, prd.length, true);
          d.bytes(ct, 20).set(fis);
          prd.forEach(([a, n], i) => {
            d.dv.setUint32(ct + 0x80 + i * 16, a, true);
            d.dv.setUint32(ct + 0x80 + i * 16 + 12, n - 1, true);
          });
          if (fis[2] === S.ATA_READ_FPDMA_QUEUED || fis[2] === S.ATA_WRITE_FPDMA_QUEUED) d.w(P + S.PX_SACT, 1 << slot);
          d.w(P + S.PX_CI, 1 << slot);
          const tfd = d.r(P + S.PX_TFD);
          expect(tfd & (S.ST_BSY | S.ST_DRQ)).toBe(0);
          if (d.r(P + S.PX_CI) || d.r(P + S.PX_IS) & ((1 << 30) | (1 << 29))) d.restart();
          d.w(P + S.PX_IS, 0xffffffff);
          expect(d.r(P + S.PX_CI)).toBe(0);
        },
      ),
      { numRuns: 400 },
    );
    expect(sha(fs.readFileSync(d.img))).toBeDefined();
  });
});
