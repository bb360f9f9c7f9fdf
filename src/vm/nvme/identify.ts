// The data structures the controller returns (NVMe 1.4c §5.14, §5.15): Identify Controller,
// Identify Namespace, the active namespace list, the namespace identification descriptors, and
// the error, SMART and firmware-slot log pages. One namespace (NSID 1) of 512-byte blocks, the
// whole disk.
import { createHash } from 'node:crypto';
import { ACL, AERL, IO_QUEUE_ENTRIES, LBA_SIZE, MDTS, NVME_VENDOR, PAGE_SIZE, VERSION_1_4 } from './spec';

/** What the structures say about the disk behind the namespace. */
export interface NamespaceInfo {
  /** Bytes (the namespace is the whole 512-byte blocks of it). */
  readonly size: number;
  readonly readOnly: boolean;
  /** Stable per disk (its path): serial number and UUID derive from it. */
  readonly id: string;
}

const MODEL = 'tendril NVMe';
const FIRMWARE = '1.0';

function ascii(b: Uint8Array, at: number, len: number, text: string): void {
  b.fill(0x20, at, at + len);
  b.set(Buffer.from(text.slice(0, len), 'ascii'), at);
}

export const lbaCount = (ns: NamespaceInfo): number => Math.floor(ns.size / LBA_SIZE);

export function serialNumber(ns: NamespaceInfo): string {
  return createHash('sha256').update(ns.id).digest('hex').slice(0, 20).toUpperCase();
}

/** RFC 4122 version-4-shaped UUID from the disk's id (namespace descriptor type 3). */
export function namespaceUuid(ns: NamespaceInfo): Uint8Array {
  const u = createHash('sha256').update(`nvme-ns:${ns.id}`).digest().subarray(0, 16);
  u[6] = (u[6]! & 0x0f) | 0x40;
  u[8] = (u[8]! & 0x3f) | 0x80;
  return new Uint8Array(u);
}

export function identifyController(ns: NamespaceInfo): Uint8Array {
  const b = new Uint8Array(PAGE_SIZE);
  const v = new DataView(b.buffer);
  v.setUint16(0, NVME_VENDOR, true); // VID
  v.setUint16(2, NVME_VENDOR, true); // SSVID
  ascii(b, 4, 20, serialNumber(ns)); // SN
  ascii(b, 24, 40, MODEL); // MN
  ascii(b, 64, 8, FIRMWARE); // FR
  b[72] = 6; // RAB
  b[77] = MDTS;
  v.setUint16(78, 0, true); // CNTLID
  v.setUint32(80, VERSION_1_4, true); // VER
  b[111] = 1; // CNTRLTYPE: I/O controller
  b[258] = ACL;
  b[259] = AERL;
  b[260] = 0x03; // FRMW: one slot, slot 1 read-only
  b[261] = 0x04; // LPA: extended data for Get Log Page (NUMDU, offsets)
  b[262] = 0; // ELPE: one error log entry
  v.setUint16(266, 0x157, true); // WCTEMP 343 K
  v.setUint16(268, 0x175, true); // CCTEMP 373 K
  b[512] = 0x66; // SQES: 64 bytes
  b[513] = 0x44; // CQES: 16 bytes
  v.setUint16(514, IO_QUEUE_ENTRIES, true); // MAXCMD
  v.setUint32(516, 1, true); // NN
  v.setUint16(520, (1 << 2) | (1 << 3), true); // ONCS: Dataset Management, Write Zeroes
  b[525] = 1; // VWC: a volatile write cache (Flush reaches fdatasync on a write-through disk)
  b.set(Buffer.from(`nqn.2019-08.org.tendril:nvme:${serialNumber(ns)}`, 'ascii'), 768); // SUBNQN, NUL-padded
  v.setUint16(2048, 2500, true); // power state 0: 25 W
  return b;
}

export function identifyNamespace(ns: NamespaceInfo): Uint8Array {
  const b = new Uint8Array(PAGE_SIZE);
  const v = new DataView(b.buffer);
  const blocks = BigInt(lbaCount(ns));
  v.setBigUint64(0, blocks, true); // NSZE
  v.setBigUint64(8, blocks, true); // NCAP
  v.setBigUint64(16, blocks, true); // NUSE
  b[25] = 0; // NLBAF: one format
  b[26] = 0; // FLBAS: format 0
  b[99] = ns.readOnly ? 1 : 0; // NSATTR: write protected
  // NGUID and EUI64 stay zero: OVMF matches the fw_cfg boot order's namespace@1,0 against the
  // EUI64 in the device path. The UUID descriptor gives the OS a unique identifier.
  v.setUint32(128, 9 << 16, true); // LBAF0: no metadata, 2^9-byte blocks, best performance
  return b;
}

export function activeNamespaces(after: number): Uint8Array {
  const b = new Uint8Array(PAGE_SIZE);
  if (after < 1) new DataView(b.buffer).setUint32(0, 1, true);
  return b;
}

export function namespaceDescriptors(ns: NamespaceInfo): Uint8Array {
  const b = new Uint8Array(PAGE_SIZE);
  b[0] = 3; // NIDT: UUID
  b[1] = 16; // NIDL
  b.set(namespaceUuid(ns), 4);
  return b;
}

/** Counters the SMART log reports (data units are thousands of 512-byte units, rounded up). */
export interface SmartCounters {
  readBytes: number;
  writeBytes: number;
  reads: number;
  writes: number;
}

export function smartLog(c: SmartCounters): Uint8Array {
  const b = new Uint8Array(512);
  const v = new DataView(b.buffer);
  v.setUint16(1, 0x0141, true); // composite temperature 321 K
  b[3] = 100; // available spare
  b[4] = 10; // available spare threshold
  const units = (bytes: number) => BigInt(Math.ceil(bytes / (512 * 1000)));
  v.setBigUint64(32, units(c.readBytes), true);
  v.setBigUint64(48, units(c.writeBytes), true);
  v.setBigUint64(64, BigInt(c.reads), true);
  v.setBigUint64(80, BigInt(c.writes), true);
  return b;
}

export function firmwareSlotLog(): Uint8Array {
  const b = new Uint8Array(512);
  b[0] = 1; // AFI: slot 1 active
  ascii(b, 8, 8, FIRMWARE);
  return b;
}

export const errorLog = (): Uint8Array => new Uint8Array(64);
