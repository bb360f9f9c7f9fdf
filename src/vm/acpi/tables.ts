// ACPI tables (RSDP, XSDT, FADT, FACS, DSDT, MADT, WAET, and tables passed on from the host such
// as the OEM activation table MSDM) and the QEMU table-loader script that
// delivers them through fw_cfg (docs/vmm-platform.md §8). Pointers are written as offsets into the
// blob; the loader's ADD_POINTER turns them into addresses, ADD_CHECKSUM fixes the sums.
import { ISA_IRQ0_GSI } from '../irq-routing';
import { dsdtBody } from './dsdt';
import { IOAPIC_BASE, LAPIC_BASE } from '../memory';
import { PM_BASE_DEFAULT } from '../piix4pm';

export const TABLES_FILE = 'etc/acpi/tables';
export const RSDP_FILE = 'etc/acpi/rsdp';
export const LOADER_FILE = 'etc/table-loader';
const OEM_ID = 'TENDRL';
const OEM_TABLE = 'TENDRILV';

export const SCI_IRQ = 9;

export function checksum(b: Uint8Array, start = 0, len = b.length - start): number {
  let s = 0;
  for (let i = start; i < start + len; i++) s = (s + b[i]!) & 0xff;
  return (0x100 - s) & 0xff;
}

function header(sig: string, length: number, revision: number): Buffer {
  const b = Buffer.alloc(length);
  b.write(sig, 0, 'ascii');
  b.writeUInt32LE(length, 4);
  b[8] = revision;
  b.write(OEM_ID, 10, 'ascii');
  b.write(OEM_TABLE, 16, 'ascii');
  b.writeUInt32LE(1, 24);
  b.write('TNDR', 28, 'ascii');
  b.writeUInt32LE(1, 32);
  return b;
}

function gas(b: Buffer, off: number, space: number, width: number, access: number, addr: number): void {
  b[off] = space;
  b[off + 1] = width;
  b[off + 2] = 0;
  b[off + 3] = access;
  b.writeBigUInt64LE(BigInt(addr), off + 4);
}

export function buildFacs(): Buffer {
  const b = Buffer.alloc(64);
  b.write('FACS', 0, 'ascii');
  b.writeUInt32LE(64, 4);
  b[32] = 2; // version
  return b;
}

export function buildDsdt(cpus = 1): Buffer {
  const body = dsdtBody(cpus);
  const b = header('DSDT', 36 + body.length, 2);
  Buffer.from(body).copy(b, 36);
  return b;
}

/** FADT rev 6 (276 bytes); FACS/DSDT pointer fields hold blob offsets for the loader. */
export function buildFadt(facsOff: number, dsdtOff: number): Buffer {
  const b = header('FACP', 276, 6);
  b.writeUInt32LE(facsOff, 36);
  b.writeUInt32LE(dsdtOff, 40);
  b[45] = 0;
  b.writeUInt16LE(SCI_IRQ, 46);
  b.writeUInt32LE(0, 48); // SMI_CMD = 0: always in ACPI mode
  b.writeUInt32LE(PM_BASE_DEFAULT, 56);
  b.writeUInt32LE(PM_BASE_DEFAULT + 4, 64);
  b.writeUInt32LE(PM_BASE_DEFAULT + 8, 76);
  b[88] = 4;
  b[89] = 2;
  b[91] = 4;
  b.writeUInt16LE(0x0fff, 96);
  b.writeUInt16LE(0x0fff, 98);
  b[108] = 0x32; // CENTURY
  b.writeUInt16LE((1 << 0) | (1 << 1) | (1 << 2), 109); // legacy devices; an 8042; VGA not present
  b.writeUInt32LE((1 << 0) | (1 << 2) | (1 << 5) | (1 << 10), 112); // WBINVD, PROC_C1, SLP_BUTTON, RESET_REG_SUP
  gas(b, 116, 1, 8, 1, 0xcf9);
  b[128] = 0x06;
  b[131] = 0; // minor version
  b.writeBigUInt64LE(0n, 132);
  b.writeBigUInt64LE(BigInt(dsdtOff), 140);
  gas(b, 148, 1, 32, 2, PM_BASE_DEFAULT);
  gas(b, 172, 1, 16, 2, PM_BASE_DEFAULT + 4);
  gas(b, 208, 1, 32, 3, PM_BASE_DEFAULT + 8);
  return b;
}

export function buildMadt(cpus: number): Buffer {
  const entries: number[] = [];
  for (let i = 0; i < cpus; i++) entries.push(0, 8, i, i, 1, 0, 0, 0);
  const io = Buffer.alloc(12);
  io[0] = 1;
  io[1] = 12;
  io[2] = 0;
  io[3] = 0;
  io.writeUInt32LE(IOAPIC_BASE, 4);
  io.writeUInt32LE(0, 8);
  entries.push(...io);
  const iso = (src: number, gsi: number, flags: number) => {
    const e = Buffer.alloc(10);
    e[0] = 2;
    e[1] = 10;
    e[2] = 0;
    e[3] = src;
    e.writeUInt32LE(gsi, 4);
    e.writeUInt16LE(flags, 8);
    entries.push(...e);
  };
  iso(0, ISA_IRQ0_GSI, 0); // the PIT: irq-routing.ts sends GSI 0 to this pin
  iso(SCI_IRQ, SCI_IRQ, 0x000d); // active-high, level
  entries.push(4, 6, 0xff, 0, 0, 1); // LAPIC NMI on LINT1 for all processors
  const b = header('APIC', 44 + entries.length, 3);
  b.writeUInt32LE(LAPIC_BASE, 36);
  b.writeUInt32LE(1, 40); // PCAT_COMPAT
  Buffer.from(entries).copy(b, 44);
  return b;
}

/**
 * WAET, Microsoft's "Windows ACPI Emulated devices Table": bit 1 says the PM timer needs one read
 * (not the three Windows otherwise makes to catch a torn 24-bit read), which saves exits.
 */
export function buildWaet(): Buffer {
  const b = header('WAET', 40, 1);
  b.writeUInt32LE(1 << 1, 36);
  b[9] = checksum(b);
  return b;
}

/** Sets a complete table's checksum (byte 9) so its bytes sum to zero. */
export function sealTable(t: Buffer): Buffer {
  const b = Buffer.from(t);
  b[9] = 0;
  b[9] = checksum(b);
  return b;
}

export function buildXsdt(entryOffs: number[]): Buffer {
  const b = header('XSDT', 36 + 8 * entryOffs.length, 1);
  entryOffs.forEach((o, i) => b.writeBigUInt64LE(BigInt(o), 36 + 8 * i));
  return b;
}

export function buildRsdp(xsdtOff: number): Buffer {
  const b = Buffer.alloc(36);
  b.write('RSD PTR ', 0, 'ascii');
  b.write(OEM_ID, 9, 'ascii');
  b[15] = 2;
  b.writeUInt32LE(0, 16);
  b.writeUInt32LE(36, 20);
  b.writeBigUInt64LE(BigInt(xsdtOff), 24);
  return b;
}

// ---- table-loader (Include/IndustryStandard/QemuLoader.h) ----
const ENTRY = 128;
const NAME = 56;
export const LOADER_ALLOCATE = 1;
export const LOADER_ADD_POINTER = 2;
export const LOADER_ADD_CHECKSUM = 3;
export const ZONE_HIGH = 1;
export const ZONE_FSEG = 2;

class LoaderScript {
  private readonly entries: Buffer[] = [];
  private entry(type: number): Buffer {
    const e = Buffer.alloc(ENTRY);
    e.writeUInt32LE(type, 0);
    this.entries.push(e);
    return e;
  }
  allocate(file: string, align: number, zone: number): void {
    const e = this.entry(LOADER_ALLOCATE);
    e.write(file, 4, 'ascii');
    e.writeUInt32LE(align, 4 + NAME);
    e[8 + NAME] = zone;
  }
  addPointer(pointerFile: string, pointeeFile: string, offset: number, size: number): void {
    const e = this.entry(LOADER_ADD_POINTER);
    e.write(pointerFile, 4, 'ascii');
    e.write(pointeeFile, 4 + NAME, 'ascii');
    e.writeUInt32LE(offset, 4 + 2 * NAME);
    e[8 + 2 * NAME] = size;
  }
  addChecksum(file: string, resultOffset: number, start: number, length: number): void {
    const e = this.entry(LOADER_ADD_CHECKSUM);
    e.write(file, 4, 'ascii');
    e.writeUInt32LE(resultOffset, 4 + NAME);
    e.writeUInt32LE(start, 8 + NAME);
    e.writeUInt32LE(length, 12 + NAME);
  }
  bytes(): Buffer {
    return Buffer.concat(this.entries);
  }
}

export interface AcpiBlobs {
  readonly tables: Buffer;
  readonly rsdp: Buffer;
  readonly loader: Buffer;
  /** Offsets of each table inside `tables` (for tests and the disassembly check). */
  readonly offsets: { facs: number; dsdt: number; fadt: number; madt: number; waet: number; xsdt: number };
  /** Offsets of the extra tables, in order. */
  readonly extraOffsets: readonly number[];
}

const align = (n: number, a: number) => (n + a - 1) & ~(a - 1);

/**
 * Blob = FACS | DSDT | FADT | MADT | WAET | extra tables | XSDT, each 8-aligned (FACS first,
 * 64-aligned). `extra` are whole tables with their own signatures (the host's MSDM, platform.ts);
 * their checksums are set here, and the XSDT lists them after the WAET.
 */
export function buildAcpi(cpus: number, extra: readonly Buffer[] = []): AcpiBlobs {
  const facs = buildFacs();
  const dsdt = buildDsdt(cpus);
  const facsOff = 0;
  const dsdtOff = align(facs.length, 8);
  const fadtOff = align(dsdtOff + dsdt.length, 8);
  const fadt = buildFadt(facsOff, dsdtOff);
  const madtOff = align(fadtOff + fadt.length, 8);
  const madt = buildMadt(cpus);
  let at = align(madtOff + madt.length, 8);
  const listed: Array<{ off: number; table: Buffer }> = [];
  for (const t of [buildWaet(), ...extra.map(sealTable)]) {
    listed.push({ off: at, table: t });
    at = align(at + t.length, 8);
  }
  const xsdtOff = at;
  const xsdt = buildXsdt([fadtOff, madtOff, ...listed.map((l) => l.off)]);
  const tables = Buffer.alloc(xsdtOff + xsdt.length);
  facs.copy(tables, facsOff);
  dsdt.copy(tables, dsdtOff);
  fadt.copy(tables, fadtOff);
  madt.copy(tables, madtOff);
  for (const l of listed) l.table.copy(tables, l.off);
  xsdt.copy(tables, xsdtOff);
  const rsdp = buildRsdp(xsdtOff);

  const s = new LoaderScript();
  s.allocate(RSDP_FILE, 16, ZONE_FSEG);
  s.allocate(TABLES_FILE, 64, ZONE_HIGH);
  s.addPointer(TABLES_FILE, TABLES_FILE, fadtOff + 36, 4);
  s.addPointer(TABLES_FILE, TABLES_FILE, fadtOff + 40, 4);
  s.addPointer(TABLES_FILE, TABLES_FILE, fadtOff + 140, 8);
  s.addChecksum(TABLES_FILE, fadtOff + 9, fadtOff, fadt.length);
  s.addChecksum(TABLES_FILE, dsdtOff + 9, dsdtOff, dsdt.length);
  s.addChecksum(TABLES_FILE, madtOff + 9, madtOff, madt.length);
  for (let i = 0; i < 2 + listed.length; i++) s.addPointer(TABLES_FILE, TABLES_FILE, xsdtOff + 36 + 8 * i, 8);
  s.addChecksum(TABLES_FILE, xsdtOff + 9, xsdtOff, xsdt.length);
  s.addPointer(RSDP_FILE, TABLES_FILE, 24, 8);
  s.addChecksum(RSDP_FILE, 8, 0, 20);
  s.addChecksum(RSDP_FILE, 32, 0, 36);
  return {
    tables,
    rsdp,
    loader: s.bytes(),
    offsets: { facs: facsOff, dsdt: dsdtOff, fadt: fadtOff, madt: madtOff, waet: listed[0]!.off, xsdt: xsdtOff },
    extraOffsets: listed.slice(1).map((l) => l.off),
  };
}

/**
 * Run a loader script the way OVMF does, placing each allocated file at `bases[file]`.
 * Used by tests (and handy for debugging): returns the patched copies.
 */
export function applyLoader(
  loader: Uint8Array,
  files: Map<string, Uint8Array>,
  bases: Map<string, bigint>,
): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of files) out.set(k, Buffer.from(v));
  const str = (b: Buffer, o: number) => b.toString('ascii', o, o + NAME).replace(/\0.*$/s, '');
  const L = Buffer.from(loader);
  for (let o = 0; o + ENTRY <= L.length; o += ENTRY) {
    const type = L.readUInt32LE(o);
    if (type === LOADER_ADD_POINTER) {
      const ptr = out.get(str(L, o + 4))!;
      const pointee = str(L, o + 4 + NAME);
      const off = L.readUInt32LE(o + 4 + 2 * NAME);
      const size = L[o + 8 + 2 * NAME]!;
      let v = 0n;
      for (let i = 0; i < size; i++) v |= BigInt(ptr[off + i]!) << BigInt(8 * i);
      v += bases.get(pointee)!;
      if (size < 8 && v >> BigInt(8 * size) !== 0n) throw new Error('pointer overflow');
      for (let i = 0; i < size; i++) ptr[off + i] = Number((v >> BigInt(8 * i)) & 0xffn);
    } else if (type === LOADER_ADD_CHECKSUM) {
      const f = out.get(str(L, o + 4))!;
      const res = L.readUInt32LE(o + 4 + NAME);
      const start = L.readUInt32LE(o + 8 + NAME);
      const len = L.readUInt32LE(o + 12 + NAME);
      f[res] = 0;
      f[res] = checksum(f, start, len);
    }
  }
  return out;
}
