// IDENTIFY DEVICE data (ATA8-ACS §7.16, table 22) and the general purpose logs the device keeps
// (log directory, NCQ command error log): a fixed, non-rotating, LBA48 disk of 512-byte sectors
// with DMA up to UDMA 6, NCQ 32 deep, a volatile write cache and TRIM.
import { serialNumber, type NamespaceInfo } from '../nvme/identify';
import * as S from './spec';

const MODEL = 'TENDRIL HARDDISK';
const FIRMWARE = '1.0';

/** What SET FEATURES and SET MULTIPLE MODE changed, which IDENTIFY reports back. */
export interface AtaSettings {
  writeCache: boolean;
  readLookahead: boolean;
  /** Sectors per DRQ block (0: READ/WRITE MULTIPLE not enabled). */
  multiple: number;
  /** The transfer mode SET FEATURES 03h chose: UDMA mode (0-6), or null for none. */
  udma: number | null;
}

export const defaultSettings = (): AtaSettings => ({ writeCache: true, readLookahead: true, multiple: 0, udma: 5 });

export const sectorCount = (d: NamespaceInfo): number => Math.floor(d.size / S.SECTOR);

/** ATA strings: space-padded, the two bytes of each word swapped. */
function ataString(w: Uint16Array, word: number, words: number, text: string): void {
  const s = text.padEnd(words * 2, ' ').slice(0, words * 2);
  for (let i = 0; i < words; i++) w[word + i] = (s.charCodeAt(2 * i) << 8) | s.charCodeAt(2 * i + 1);
}

export function identifyDevice(d: NamespaceInfo, st: AtaSettings, ncq: boolean): Uint8Array {
  const w = new Uint16Array(256);
  const sectors = sectorCount(d);
  const lba28 = Math.min(sectors, 0x0fff_ffff);
  const chs = Math.min(Math.floor(sectors / (16 * 63)), 16383);
  w[0] = 0x0040; // fixed device, ATA
  w[1] = chs;
  w[3] = 16;
  w[6] = 63;
  ataString(w, 10, 10, serialNumber(d));
  ataString(w, 23, 4, FIRMWARE);
  ataString(w, 27, 20, MODEL);
  w[47] = 0x8000 | S.MAX_MULTIPLE;
  w[49] = (1 << 11) | (1 << 9) | (1 << 8); // IORDY, LBA, DMA
  w[50] = 0x4000;
  w[53] = 0x0006; // words 64-70 and 88 valid
  w[54] = chs;
  w[55] = 16;
  w[56] = 63;
  const chsSectors = chs * 16 * 63;
  w[57] = chsSectors & 0xffff;
  w[58] = chsSectors >>> 16;
  w[59] = st.multiple ? 0x0100 | st.multiple : 0;
  w[60] = lba28 & 0xffff;
  w[61] = lba28 >>> 16;
  w[63] = 0x0007; // multiword DMA 0-2 supported
  w[64] = 0x0003; // PIO 3, 4
  w[65] = w[66] = w[67] = w[68] = 120;
  if (ncq) {
    w[75] = S.NCQ_DEPTH - 1;
    w[76] = (1 << 8) | (1 << 3) | (1 << 2) | (1 << 1); // NCQ; 1.5, 3 and 6 Gb/s
  } else w[76] = (1 << 3) | (1 << 2) | (1 << 1);
  w[80] = 0x01f0; // ATA/ATAPI-4 .. ATA8-ACS
  w[82] = (1 << 6) | (1 << 5); // look-ahead, write cache
  w[83] = 0x4000 | (1 << 13) | (1 << 12) | (1 << 10); // FLUSH CACHE EXT, FLUSH CACHE, LBA48
  w[84] = 0x4000 | (1 << 5); // general purpose logging
  w[85] = (st.readLookahead ? 1 << 6 : 0) | (st.writeCache ? 1 << 5 : 0);
  w[86] = (1 << 13) | (1 << 12) | (1 << 10);
  w[87] = 0x4000 | (1 << 5);
  w[88] = 0x007f | (st.udma === null ? 0 : 1 << (8 + st.udma));
  // Words 100-103: the LBA48 capacity, 64 bits.
  w[100] = sectors % 0x1_0000;
  w[101] = Math.floor(sectors / 0x1_0000) % 0x1_0000;
  w[102] = Math.floor(sectors / 0x1_0000_0000) % 0x1_0000;
  w[103] = 0;
  w[105] = 1; // DATA SET MANAGEMENT: one 512-byte block of ranges
  w[106] = 0x4000; // one 512-byte logical sector per physical sector
  w[169] = 1; // TRIM
  w[217] = 1; // non-rotating medium
  const b = new Uint8Array(w.buffer);
  b[510] = 0xa5; // integrity word: signature, then a checksum making all 512 bytes sum to 0
  b[511] = (0x100 - (b.subarray(0, 511).reduce((a, x) => a + x, 0) & 0xff)) & 0xff;
  return b;
}

/** A log of `pages` 512-byte pages is in the directory; a page ends with its checksum where the
 *  log has one. */
export function logDirectory(ncq: boolean): Uint8Array {
  const b = new Uint8Array(S.SECTOR);
  b[0] = 1; // general purpose logging version 1
  if (ncq) b[S.LOG_NCQ_ERROR * 2] = 1;
  return b;
}

/** The last NCQ command that failed (ATA8-ACS §A.14). */
export interface NcqError {
  readonly tag: number;
  readonly status: number;
  readonly error: number;
  readonly lba: number;
  readonly count: number;
}

export function ncqErrorLog(e: NcqError | null): Uint8Array {
  const b = new Uint8Array(S.SECTOR);
  if (!e)
    b[0] = 0x80; // NQ: no NCQ command failed
  else {
    b[0] = e.tag & 0x1f;
    b[2] = e.status;
    b[3] = e.error;
    for (let i = 0; i < 3; i++) {
      b[4 + i] = Math.floor(e.lba / 2 ** (8 * i)) & 0xff;
      b[8 + i] = Math.floor(e.lba / 2 ** (8 * (i + 3))) & 0xff;
    }
    b[7] = 0x40;
    b[12] = e.count & 0xff;
    b[13] = (e.count >>> 8) & 0xff;
  }
  b[511] = (0x100 - (b.reduce((a, x) => a + x, 0) & 0xff)) & 0xff;
  return b;
}
