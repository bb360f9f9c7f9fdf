// A byte-wide CFI parallel flash bank with the Intel/Sharp command set, as QEMU's
// `-drive if=pflash` gives an i440FX machine (docs/vmm-platform.md §11): 4 KiB blocks, bank
// width 1, device IDs 0. OVMF's QemuFlashFvbServicesRuntimeDxe (QemuFlash.c) probes it with
// clear status (0x50) and read status (0x70), programs bytes with 0x10 + data, erases blocks
// with 0x20 + 0xD0 and returns to read-array mode with 0xFF after every operation.
//
// "romd" (QEMU's name): in read-array mode the bank is a read-only memory slot, so reads never
// leave the guest and only writes exit; a command that leaves the bank answering something
// other than its contents (status, ID, CFI query, an operation in progress) switches romd off,
// the board removes the slot and reads exit to read(). `onRomd` tells the board.
import type { MmioDevice } from './bus';

export const FLASH_BLOCK = 0x1000;

export const CMD_PROGRAM = 0x10;
export const CMD_PROGRAM_ALT = 0x40;
export const CMD_BLOCK_ERASE = 0x20;
export const CMD_CLEAR_STATUS = 0x50;
export const CMD_BLOCK_LOCK = 0x60;
export const CMD_READ_STATUS = 0x70;
export const CMD_READ_ID = 0x90;
export const CMD_CFI_QUERY = 0x98;
export const CMD_CONFIRM = 0xd0;
export const CMD_READ_ARRAY = 0xff;

/** Status register bits (Intel StrataFlash "SR"): ready, erase error, program error. */
export const SR_READY = 0x80;
export const SR_ERASE_ERROR = 0x20;
export const SR_PROGRAM_ERROR = 0x10;

type Mode =
  | 'array' // read array
  | 'status' // reads return the status register
  | 'id' // reads return identifier codes
  | 'cfi' // reads return the CFI query structure
  | 'program' // the next write is the data byte
  | 'erase' // the next write must be the confirm (0xD0)
  | 'lock'; // the next write is lock/unlock confirm (0x01/0xD0)

/**
 * The CFI query structure (JEDEC JESD68, "Common Flash Interface"), at byte offsets 0x10–0x3F
 * of a byte-wide part: "QRY", the Intel command set, timing hints, the size, the x8 interface,
 * one uniform erase-block region and a minimal primary extended table ("PRI" 1.0).
 */
function cfiTable(size: number): Uint8Array {
  const t = new Uint8Array(0x40);
  t.set([0x51, 0x52, 0x59], 0x10); // "QRY"
  t[0x13] = 0x01; // primary command set: Intel/Sharp extended
  t[0x15] = 0x31; // primary extended table at 0x31
  t[0x1b] = 0x45; // Vcc min 4.5 V
  t[0x1c] = 0x55; // Vcc max 5.5 V
  t[0x1f] = 0x07; // typical byte program 2^7 µs
  t[0x21] = 0x0a; // typical block erase 2^10 ms
  t[0x23] = 0x04; // max byte program 2^4 × typical
  t[0x25] = 0x04; // max block erase 2^4 × typical
  t[0x27] = Math.ceil(Math.log2(size)); // device size 2^n bytes
  t[0x28] = 0x00; // interface: x8 only
  t[0x2c] = 0x01; // one erase-block region
  const blocks = size / FLASH_BLOCK - 1;
  t[0x2d] = blocks & 0xff;
  t[0x2e] = (blocks >> 8) & 0xff;
  t[0x2f] = (FLASH_BLOCK >> 8) & 0xff; // block size / 256
  t[0x30] = (FLASH_BLOCK >> 16) & 0xff;
  t.set([0x50, 0x52, 0x49, 0x31, 0x30], 0x31); // "PRI", version "1", "0"
  return t;
}

export class CfiFlash implements MmioDevice {
  private mode: Mode = 'array';
  private status = 0;
  private readonly cfi: Uint8Array;
  /** Called when the bank enters (true) or leaves (false) read-array mode. */
  onRomd: (romd: boolean) => void = () => {};
  readonly stats = { programmed: 0, erased: 0, commands: 0 };

  constructor(
    /** The bank's contents; programming and erasing change it in place. */
    readonly storage: Uint8Array,
    readonly readOnly: boolean,
  ) {
    if (storage.length === 0 || storage.length % FLASH_BLOCK)
      throw new RangeError(`flash bank size ${storage.length} is not a multiple of ${FLASH_BLOCK}`);
    this.cfi = cfiTable(storage.length);
  }

  /** In read-array mode: the board may serve reads from a memory slot over `storage`. */
  get romd(): boolean {
    return this.mode === 'array';
  }

  /** A machine reset: back to read array, status cleared (the contents stay). */
  reset(): void {
    this.setMode('array');
    this.status = 0;
  }

  private setMode(m: Mode): void {
    const was = this.romd;
    this.mode = m;
    if (this.romd !== was) this.onRomd(this.romd);
  }

  mmioRead(offset: number, size: number): number {
    switch (this.mode) {
      case 'array': {
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | (this.storage[offset + i] ?? 0xff);
        return v >>> 0;
      }
      case 'id':
        return 0; // manufacturer and device codes 0, as QEMU's pc flash
      case 'cfi':
        return this.cfi[offset & 0xff] ?? 0;
      default:
        // Status (also while an operation's second cycle is pending): one byte-wide part.
        return size > 2 ? (this.status | (this.status << 16)) >>> 0 : this.status;
    }
  }

  mmioWrite(offset: number, _size: number, value: number): void {
    const cmd = value & 0xff;
    this.stats.commands++;
    switch (this.mode) {
      case 'program':
        if (this.readOnly) this.status |= SR_PROGRAM_ERROR;
        else {
          this.storage[offset] = cmd; // as QEMU's pflash: the byte is stored, not ANDed
          this.stats.programmed++;
        }
        this.status |= SR_READY;
        this.setMode('status');
        return;
      case 'erase':
        if (cmd === CMD_CONFIRM) {
          if (this.readOnly) this.status |= SR_ERASE_ERROR;
          else {
            const base = offset - (offset % FLASH_BLOCK);
            this.storage.fill(0xff, base, base + FLASH_BLOCK);
            this.stats.erased++;
          }
          this.status |= SR_READY;
          this.setMode('status');
        } else this.setMode('array'); // 0xFF or anything else cancels
        return;
      case 'lock':
        if (cmd === 0x01 || cmd === CMD_CONFIRM) {
          this.status |= SR_READY;
          this.setMode('status');
        } else this.setMode('array');
        return;
      default:
        this.command(cmd);
    }
  }

  private command(cmd: number): void {
    switch (cmd) {
      case CMD_PROGRAM:
      case CMD_PROGRAM_ALT:
        return this.setMode('program');
      case CMD_BLOCK_ERASE:
        return this.setMode('erase');
      case CMD_BLOCK_LOCK:
        return this.setMode('lock');
      case CMD_CLEAR_STATUS:
        this.status = 0;
        return this.setMode('array');
      case CMD_READ_STATUS:
        return this.setMode('status');
      case CMD_READ_ID:
        return this.setMode('id');
      case CMD_CFI_QUERY:
        return this.setMode('cfi');
      default:
        // 0xFF read array, 0x00 and 0xF0 (AMD reset), and anything unknown: back to the array.
        return this.setMode('array');
    }
  }
}
