// The CFI flash bank against the Intel command set (docs/vmm-platform.md §11) and the exact
// access sequences of OVMF's QemuFlashFvbServicesRuntimeDxe/QemuFlash.c: the probe of
// edk2-stable202211 (Debian 12) and the newer one that also checks write protection, byte
// programming (0x10 + data, then 0xFF) and block erase (0x20, 0xD0).
import { describe, expect, it } from 'vitest';
import {
  CfiFlash,
  CMD_BLOCK_ERASE,
  CMD_CFI_QUERY,
  CMD_CLEAR_STATUS,
  CMD_CONFIRM,
  CMD_PROGRAM,
  CMD_READ_ARRAY,
  CMD_READ_ID,
  CMD_READ_STATUS,
  FLASH_BLOCK,
  SR_ERASE_ERROR,
  SR_PROGRAM_ERROR,
  SR_READY,
} from '../../../src/vm/pflash';

function bank(size = 0x84000, readOnly = false) {
  const storage = new Uint8Array(size).fill(0xff);
  storage.fill(0, 0, 0x10); // a varstore begins with the FV header's zero vector ...
  storage.set([0x8d, 0x2b, 0xf1, 0xff], 0x10); // ... then EFI_SYSTEM_NV_DATA_FV_GUID
  const f = new CfiFlash(storage, readOnly);
  const romd: boolean[] = [];
  f.onRomd = (on) => romd.push(on);
  const w = (off: number, v: number) => f.mmioWrite(off, 1, v);
  const r = (off: number, size = 1) => f.mmioRead(off, size);
  return { f, storage, romd, w, r };
}

/** QemuFlashDetected(): the first byte of block 0 that is not 0x00, 0x50 or 0x70. */
function probeLocation(r: (o: number) => number): number {
  for (let o = 0; o < FLASH_BLOCK; o++) if (![0x00, 0x50, 0x70].includes(r(o))) return o;
  return -1;
}

describe('CFI flash: what OVMF does', () => {
  it("edk2-stable202211's probe finds FLASH: 0x50 reads back the array, 0x70 reads status 0x00", () => {
    const { w, r, romd, f } = bank();
    const at = probeLocation(r);
    expect(at).toBe(0x10);
    const original = r(at);
    w(at, CMD_CLEAR_STATUS);
    const p1 = r(at);
    expect(p1 !== CMD_CLEAR_STATUS).toBe(true); // not "FD behaves as RAM"
    expect(p1).toBe(original);
    w(at, CMD_READ_STATUS);
    expect(r(at)).toBe(0x00); // CLEARED_ARRAY_STATUS: "FD behaves as FLASH"
    w(at, CMD_READ_ARRAY);
    expect(r(at)).toBe(original);
    expect(f.romd).toBe(true);
    // 0x50 leaves the array readable, so the slot stays; 0x70 drops it until 0xFF.
    expect(romd).toEqual([false, true]);
  });

  it('the newer probe programs the byte it read and sees no programming error on a writable bank', () => {
    const { w, r, storage } = bank();
    const at = probeLocation(r);
    const original = r(at);
    w(at, CMD_CLEAR_STATUS);
    w(at, CMD_READ_STATUS);
    expect(r(at)).toBe(0);
    w(at, CMD_PROGRAM);
    w(at, original);
    w(at, CMD_READ_STATUS);
    const status = r(at);
    w(at, CMD_READ_ARRAY);
    expect(status & SR_PROGRAM_ERROR).toBe(0);
    expect(status & SR_READY).toBe(SR_READY);
    expect(storage[at]).toBe(original);
  });

  it('and a programming error on a read-only bank (the CODE unit)', () => {
    const { w, r, storage } = bank(0x10000, true);
    const at = probeLocation(r);
    const before = storage[at];
    w(at, CMD_CLEAR_STATUS);
    w(at, CMD_PROGRAM);
    w(at, 0x00);
    w(at, CMD_READ_STATUS);
    expect(r(at)).toBe(SR_READY | SR_PROGRAM_ERROR);
    w(at, CMD_READ_ARRAY);
    expect(storage[at]).toBe(before);
  });

  it('QemuFlashWrite: 0x10 + byte for each byte, reads return status meanwhile, 0xFF at the end', () => {
    const { w, r, storage, romd, f } = bank();
    const data = [0xaa, 0x55, 0x3f, 0x00];
    data.forEach((b, i) => {
      w(0x100 + i, CMD_PROGRAM);
      expect(r(0x100 + i)).toBe(i === 0 ? 0 : SR_READY); // program cycle pending: status, not data
      w(0x100 + i, b);
      expect(r(0x100 + i)).toBe(SR_READY);
    });
    w(0x100 + data.length - 1, CMD_READ_ARRAY);
    expect([...storage.subarray(0x100, 0x104)]).toEqual(data);
    expect(r(0x100, 4)).toBe(0x003f55aa);
    expect(romd).toEqual([false, true]); // one slot toggle per write call
    expect(f.stats.programmed).toBe(4);
  });

  it('QemuFlashEraseBlock: 0x20, 0xD0 erases exactly the 4 KiB block holding the address', () => {
    const { w, r, storage } = bank();
    storage.fill(0x12, 0x1000, 0x4000);
    w(0x2000, CMD_BLOCK_ERASE);
    expect(storage[0x2000]).toBe(0x12); // nothing happens before the confirm
    w(0x2000, CMD_CONFIRM);
    expect(r(0x2000)).toBe(SR_READY);
    w(0x2000, CMD_READ_ARRAY);
    expect(storage.subarray(0x2000, 0x3000).every((b) => b === 0xff)).toBe(true);
    expect(storage[0x1fff]).toBe(0x12);
    expect(storage[0x3000]).toBe(0x12);
    // An erase confirmed at an address inside the block erases the same block.
    w(0x1abc, CMD_BLOCK_ERASE);
    w(0x1abc, CMD_CONFIRM);
    w(0x1abc, CMD_READ_ARRAY);
    expect(storage.subarray(0x1000, 0x2000).every((b) => b === 0xff)).toBe(true);
  });

  it('an erase not confirmed (0x20 then 0xFF) erases nothing; a read-only bank reports an erase error', () => {
    const a = bank();
    a.storage.fill(0x12, 0, FLASH_BLOCK);
    a.w(0, CMD_BLOCK_ERASE);
    a.w(0, CMD_READ_ARRAY);
    expect(a.storage[0]).toBe(0x12);
    const b = bank(0x10000, true);
    b.w(0, CMD_BLOCK_ERASE);
    b.w(0, CMD_CONFIRM);
    expect(b.r(0)).toBe(SR_READY | SR_ERASE_ERROR);
  });
});

describe('CFI flash: the rest of the command set', () => {
  it('status bits stay until clear status (0x50); 0x70 reads them; a 32-bit read repeats them', () => {
    const { w, r } = bank(0x10000, true);
    w(0, CMD_PROGRAM);
    w(0, 0);
    w(0, CMD_READ_ARRAY);
    w(0, CMD_READ_STATUS);
    expect(r(0)).toBe(0x90);
    expect(r(0, 4)).toBe(0x0090_0090);
    w(0, CMD_CLEAR_STATUS);
    w(0, CMD_READ_STATUS);
    expect(r(0)).toBe(0);
  });

  it('answers the CFI query (0x98): "QRY", the Intel command set, one region of 4 KiB blocks', () => {
    const { w, r, romd } = bank(0x84000);
    w(0x55, CMD_CFI_QUERY);
    expect(String.fromCharCode(r(0x10), r(0x11), r(0x12))).toBe('QRY');
    expect(r(0x13) | (r(0x14) << 8)).toBe(1);
    expect(r(0x2c)).toBe(1);
    expect((r(0x2d) | (r(0x2e) << 8)) + 1).toBe(0x84);
    expect((r(0x2f) | (r(0x30) << 8)) * 256).toBe(FLASH_BLOCK);
    expect(1 << r(0x27)).toBeGreaterThanOrEqual(0x84000);
    expect(String.fromCharCode(r(0x31), r(0x32), r(0x33))).toBe('PRI');
    w(0, CMD_READ_ARRAY);
    expect(r(0x10)).toBe(0x8d);
    expect(romd).toEqual([false, true]);
  });

  it('answers read identifier (0x90) with QEMU pc flash codes 0, then returns to the array', () => {
    const { w, r } = bank();
    w(0, CMD_READ_ID);
    expect(r(0)).toBe(0);
    expect(r(1)).toBe(0);
    w(0, CMD_READ_ARRAY);
    expect(r(0x10)).toBe(0x8d);
  });

  it('a machine reset returns to read array with status cleared and keeps the contents', () => {
    const { w, r, f, storage } = bank();
    w(0x40, CMD_PROGRAM);
    w(0x40, 0x42);
    expect(f.romd).toBe(false);
    f.reset();
    expect(f.romd).toBe(true);
    expect(r(0x40)).toBe(0x42);
    w(0, CMD_READ_STATUS);
    expect(r(0)).toBe(0);
    expect(storage[0x40]).toBe(0x42);
  });

  it('refuses banks that are not whole 4 KiB blocks', () => {
    expect(() => new CfiFlash(new Uint8Array(0x1800), false)).toThrow(/multiple of 4096/);
  });
});
