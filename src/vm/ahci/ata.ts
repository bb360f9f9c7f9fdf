// The ATA command set of the device behind the port (ATA8-ACS §7; docs/vmm-platform.md §16):
// what a command in an H2D register FIS does to the disk and which data it moves. The engine
// (engine.ts) decodes the FIS, gives the device the command's scatter/gather list (PRDT) and
// turns the result into FISes and register updates. Commands it does not know end with ABRT
// in the error register and ERR in the status, as ATA8-ACS §6.2 has it.
import type { NamespaceInfo } from '../nvme/identify';
import type { BlockStats } from '../virtio-blk';
import {
  defaultSettings,
  identifyDevice,
  logDirectory,
  ncqErrorLog,
  sectorCount,
  type AtaSettings,
  type NcqError,
} from './identify';
import * as S from './spec';

/** What the device needs of the disk (disk.ts's Disk). */
export interface AtaDisk {
  readonly size: number;
  readonly readOnly: boolean;
  read(offset: number, dst: Uint8Array): void;
  write(offset: number, src: Uint8Array): boolean;
  flush(): void;
}

/** The task file of an H2D register FIS (SATA 3.x §10.5.5). */
export interface TaskFile {
  readonly command: number;
  /** Features 15:0. */
  readonly features: number;
  /** Count 15:0. */
  readonly count: number;
  /** LBA 47:0. */
  readonly lba: number;
  readonly device: number;
}

/** The guest memory a command's PRDT describes: views covering exactly `len` bytes from its
 *  start, or null when the PRDT is shorter or points outside RAM. */
export type Sg = (len: number) => Uint8Array[] | null;

export interface AtaResult {
  readonly status: number;
  readonly error: number;
  /** Bytes moved through the PRDT (PRDBC). */
  readonly bytes: number;
  /** A PIO data-in command: the device sends a PIO setup FIS (SATA 3.x §11.7). */
  readonly pioIn: boolean;
  /** An NCQ command (READ/WRITE FPDMA QUEUED): it completes with a set-device-bits FIS. */
  readonly ncq: boolean;
  /** Set by EXECUTE DEVICE DIAGNOSTIC: the device's signature goes back in the FIS. */
  readonly signature?: boolean;
  /** The count field the device returns (CHECK POWER MODE), else 0. */
  readonly countOut?: number;
}

const ok = (bytes = 0, pioIn = false, ncq = false): AtaResult => ({ status: S.STATUS_OK, error: 0, bytes, pioIn, ncq });
const fail = (error: number, ncq = false): AtaResult => ({
  status: S.ST_DRDY | S.ST_ERR,
  error,
  bytes: 0,
  pioIn: false,
  ncq,
});

const LBA48 = new Set([
  S.ATA_READ_SECTORS_EXT,
  S.ATA_READ_DMA_EXT,
  S.ATA_READ_MULTIPLE_EXT,
  S.ATA_WRITE_SECTORS_EXT,
  S.ATA_WRITE_DMA_EXT,
  S.ATA_WRITE_MULTIPLE_EXT,
  S.ATA_READ_VERIFY_EXT,
]);
const READS = new Set([
  S.ATA_READ_SECTORS,
  S.ATA_READ_SECTORS_EXT,
  S.ATA_READ_DMA,
  S.ATA_READ_DMA_EXT,
  S.ATA_READ_MULTIPLE,
  S.ATA_READ_MULTIPLE_EXT,
]);
const WRITES = new Set([
  S.ATA_WRITE_SECTORS,
  S.ATA_WRITE_SECTORS_EXT,
  S.ATA_WRITE_DMA,
  S.ATA_WRITE_DMA_EXT,
  S.ATA_WRITE_MULTIPLE,
  S.ATA_WRITE_MULTIPLE_EXT,
]);
const PIO = new Set([
  S.ATA_READ_SECTORS,
  S.ATA_READ_SECTORS_EXT,
  S.ATA_READ_MULTIPLE,
  S.ATA_READ_MULTIPLE_EXT,
  S.ATA_WRITE_SECTORS,
  S.ATA_WRITE_SECTORS_EXT,
  S.ATA_WRITE_MULTIPLE,
  S.ATA_WRITE_MULTIPLE_EXT,
]);
const MULTIPLE = new Set([
  S.ATA_READ_MULTIPLE,
  S.ATA_READ_MULTIPLE_EXT,
  S.ATA_WRITE_MULTIPLE,
  S.ATA_WRITE_MULTIPLE_EXT,
]);

export class AtaDevice {
  settings: AtaSettings = defaultSettings();
  /** The NCQ command that failed last, until READ LOG EXT of log 10h reports it. */
  ncqError: NcqError | null = null;
  private readonly sectors: number;

  constructor(
    private readonly disk: AtaDisk,
    private readonly info: NamespaceInfo,
    readonly ncq: boolean,
    readonly stats: BlockStats,
  ) {
    this.sectors = sectorCount(info);
  }

  /** A device reset (COMRESET, HBA reset): the settings go back to their defaults. */
  reset(): void {
    this.settings = defaultSettings();
    this.ncqError = null;
  }

  execute(tf: TaskFile, sg: Sg): AtaResult {
    const c = tf.command;
    if (READS.has(c) || WRITES.has(c)) return this.readWrite(tf, sg);
    switch (c) {
      case S.ATA_READ_FPDMA_QUEUED:
      case S.ATA_WRITE_FPDMA_QUEUED:
        return this.queued(tf, sg);
      case S.ATA_IDENTIFY:
        return this.toHost(identifyDevice(this.info, this.settings, this.ncq), sg, true);
      case S.ATA_READ_LOG_EXT:
      case S.ATA_READ_LOG_DMA_EXT:
        return this.readLog(tf, sg, c === S.ATA_READ_LOG_EXT);
      case S.ATA_FLUSH_CACHE:
      case S.ATA_FLUSH_CACHE_EXT:
        return this.guard(S.ERR_ABRT, () => this.disk.flush());
      case S.ATA_READ_VERIFY:
      case S.ATA_READ_VERIFY_EXT: {
        const r = this.range(tf, c === S.ATA_READ_VERIFY_EXT);
        return r ? ok() : fail(S.ERR_IDNF);
      }
      case S.ATA_SET_FEATURES:
        return this.setFeatures(tf);
      case S.ATA_SET_MULTIPLE: {
        const n = tf.count & 0xff;
        // A power of two up to MAX_MULTIPLE, or 0 to disable (ATA8-ACS §7.46).
        if (n > S.MAX_MULTIPLE || (n & (n - 1)) !== 0) return fail(S.ERR_ABRT);
        this.settings.multiple = n;
        return ok();
      }
      case S.ATA_DSM:
        return this.dsm(tf, sg);
      case S.ATA_EXECUTE_DIAGNOSTIC:
        return { status: S.STATUS_OK, error: 0x01, bytes: 0, pioIn: false, ncq: false, signature: true };
      case S.ATA_IDLE_IMMEDIATE:
      case S.ATA_IDLE:
      case S.ATA_STANDBY_IMMEDIATE:
      case S.ATA_STANDBY:
      case S.ATA_RECALIBRATE:
      case S.ATA_INITIALIZE_PARAMS:
        return ok();
      case S.ATA_CHECK_POWER_MODE:
        return { ...ok(), countOut: 0xff }; // active or idle
      default:
        return fail(S.ERR_ABRT); // NOP, SMART, security, ... (not in IDENTIFY)
    }
  }

  /** The command's LBA range, or null when it leaves the disk (or is not an LBA command). */
  private range(tf: TaskFile, ext: boolean): { lba: number; n: number } | null {
    if (!(tf.device & 0x40) && !ext) return null; // CHS addressing: not offered
    const lba = ext ? tf.lba : tf.lba % 0x1000_0000;
    const n = ext ? tf.count || 0x10000 : tf.count & 0xff || 0x100;
    if (lba + n > this.sectors) return null;
    return { lba, n };
  }

  private readWrite(tf: TaskFile, sg: Sg): AtaResult {
    const c = tf.command;
    if (MULTIPLE.has(c) && !this.settings.multiple) return fail(S.ERR_ABRT);
    const r = this.range(tf, LBA48.has(c));
    if (!r) return fail(S.ERR_IDNF);
    return this.transfer(WRITES.has(c), r.lba, r.n, sg, PIO.has(c) && READS.has(c), false);
  }

  private queued(tf: TaskFile, sg: Sg): AtaResult {
    if (!this.ncq) return fail(S.ERR_ABRT);
    const n = tf.features || 0x10000;
    const lba = tf.lba;
    const write = tf.command === S.ATA_WRITE_FPDMA_QUEUED;
    const tag = (tf.count >>> 3) & 0x1f;
    if (lba + n > this.sectors) {
      this.ncqError = { tag, status: S.ST_DRDY | S.ST_ERR, error: S.ERR_IDNF, lba, count: n };
      return fail(S.ERR_ABRT, true);
    }
    const r = this.transfer(write, lba, n, sg, false, true);
    if (r.status & S.ST_ERR) this.ncqError = { tag, status: r.status, error: r.error, lba, count: n };
    return r.status & S.ST_ERR ? fail(S.ERR_ABRT, true) : r;
  }

  private transfer(write: boolean, lba: number, n: number, sg: Sg, pioIn: boolean, ncq: boolean): AtaResult {
    const len = n * S.SECTOR;
    const segs = sg(len);
    if (!segs) return fail(S.ERR_ABRT, ncq); // the PRDT is shorter than the transfer
    if (write && this.disk.readOnly) return fail(S.ERR_ABRT, ncq); // a write-protected medium
    let pos = lba * S.SECTOR;
    this.stats.requests++;
    try {
      for (const s of segs) {
        if (write) {
          if (!this.disk.write(pos, s)) throw new Error('refused'); // overlay full
        } else this.disk.read(pos, s);
        pos += s.length;
      }
    } catch {
      this.stats.errors++;
      return fail(write ? S.ERR_ABRT : S.ERR_UNC, ncq);
    }
    if (write) this.stats.writeBytes += len;
    else this.stats.readBytes += len;
    return ok(len, pioIn, ncq);
  }

  private toHost(data: Uint8Array, sg: Sg, pioIn: boolean): AtaResult {
    const segs = sg(data.length);
    if (!segs) return fail(S.ERR_ABRT);
    let off = 0;
    for (const s of segs) {
      s.set(data.subarray(off, off + s.length));
      off += s.length;
    }
    return ok(data.length, pioIn);
  }

  private readLog(tf: TaskFile, sg: Sg, pio: boolean): AtaResult {
    const log = tf.lba & 0xff;
    const page = Math.floor(tf.lba / 0x100) & 0xff;
    const pages = tf.count;
    if (pages === 0) return fail(S.ERR_ABRT);
    let data: Uint8Array;
    if (log === S.LOG_DIRECTORY) data = logDirectory(this.ncq);
    else if (log === S.LOG_NCQ_ERROR && this.ncq) {
      data = ncqErrorLog(this.ncqError);
      this.ncqError = null;
    } else return fail(S.ERR_ABRT);
    if (page !== 0 || pages > 1 || Math.floor(tf.lba / 0x1_0000) !== 0) return fail(S.ERR_ABRT);
    return this.toHost(data, sg, pio);
  }

  private setFeatures(tf: TaskFile): AtaResult {
    const sub = tf.features & 0xff;
    const st = this.settings;
    switch (sub) {
      case S.SF_ENABLE_WRITE_CACHE:
      case S.SF_DISABLE_WRITE_CACHE:
        st.writeCache = sub === S.SF_ENABLE_WRITE_CACHE;
        if (!st.writeCache) this.disk.flush();
        return ok();
      case S.SF_ENABLE_READ_LOOKAHEAD:
      case S.SF_DISABLE_READ_LOOKAHEAD:
        st.readLookahead = sub === S.SF_ENABLE_READ_LOOKAHEAD;
        return ok();
      case S.SF_TRANSFER_MODE: {
        const mode = tf.count & 0xff;
        const kind = mode >>> 3;
        if (kind === 0 || kind === 1) return ok(); // PIO default / flow control
        if (kind === 4) {
          st.udma = null; // multiword DMA
          return (mode & 7) <= 2 ? ok() : fail(S.ERR_ABRT);
        }
        if (kind === 8 && (mode & 7) <= 6) {
          st.udma = mode & 7;
          return ok();
        }
        return fail(S.ERR_ABRT);
      }
      default:
        return fail(S.ERR_ABRT); // SATA features (DIPM, ...) are not offered in IDENTIFY word 78
    }
  }

  /** DATA SET MANAGEMENT with TRIM: the ranges are advisory, so only the transfer is checked. */
  private dsm(tf: TaskFile, sg: Sg): AtaResult {
    const blocks = tf.count;
    if (!(tf.features & 1) || blocks === 0 || blocks > 1) return fail(S.ERR_ABRT);
    if (this.disk.readOnly) return fail(S.ERR_ABRT);
    return sg(blocks * S.SECTOR) ? ok(blocks * S.SECTOR) : fail(S.ERR_ABRT);
  }

  private guard(error: number, f: () => void): AtaResult {
    try {
      f();
      return ok();
    } catch {
      return fail(error);
    }
  }
}
