// SMBIOS for the guest, from the machine it runs on (docs/vmm-platform.md §7.1): the system,
// baseboard and chassis structures (types 1, 2, 3) and the OEM strings (type 11) of the host's
// table, so Windows on the machine's own disk sees the same maker, model, serial number and UUID
// it was installed and activated on. OVMF takes them from fw_cfg (`etc/smbios/smbios-tables`
// behind an `etc/smbios/smbios-anchor` entry point whose size must match, as its
// SmbiosVersionLib checks) and adds its own BIOS structure (type 0). Everything else of the
// host's (processors, memory, slots) would describe hardware the VM does not have, so it stays
// out; the VM's own memory is described instead (types 16, 17 and 19: memoryStructures), as
// QEMU does, so firmware setup and the OS show the RAM the VM has. The parser is bounded: a
// malformed table yields nothing, with a reason.
import * as fs from 'node:fs';

export const SMBIOS_ANCHOR_FILE = 'etc/smbios/smbios-anchor';
export const SMBIOS_TABLES_FILE = 'etc/smbios/smbios-tables';

/** The structure types passed on. */
export const PASSED_TYPES: ReadonlySet<number> = new Set([1, 2, 3, 11]);
const TABLE_MAX = 64 * 1024;
const STRUCTURES_MAX = 1024;
const END_OF_TABLE = 127;

export interface SmbiosVersion {
  readonly major: number;
  readonly minor: number;
}

/** The structures (each: formatted area and its strings) of a raw SMBIOS table, in order, up to
 *  the end-of-table structure. Throws with the offset of what is malformed. */
export function smbiosStructures(table: Uint8Array): Uint8Array[] {
  if (table.length > TABLE_MAX) throw new Error(`SMBIOS table of ${table.length} bytes (at most ${TABLE_MAX})`);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < table.length) {
    if (out.length >= STRUCTURES_MAX) throw new Error(`more than ${STRUCTURES_MAX} SMBIOS structures`);
    const type = table[at]!;
    const len = table[at + 1] ?? 0;
    if (len < 4 || at + len > table.length)
      throw new Error(`SMBIOS structure at ${at}: length ${len} runs past the table`);
    // Strings follow the formatted area; the set ends with two NULs (two even when it is empty).
    let end = at + len;
    for (;;) {
      if (end + 1 >= table.length) throw new Error(`SMBIOS structure at ${at}: strings are not terminated`);
      if (table[end] === 0 && table[end + 1] === 0) break;
      end++;
    }
    out.push(table.subarray(at, end + 2));
    if (type === END_OF_TABLE) break;
    at = end + 2;
  }
  return out;
}

const KiB = 1024;
const MiB = 1 << 20;
const GiB = 1 << 30;
const FOUR_GIB = 4 * GiB;
/** Handles of the VM's own structures start here, above what machines' firmware uses. */
const OWN_HANDLES = 0xf000;

/** A structure: its formatted area, then its strings (two NULs when there are none). */
function structure(formatted: Buffer, strings: readonly string[] = []): Buffer {
  const text = strings.length ? Buffer.from(strings.map((t) => `${t}\0`).join('') + '\0', 'latin1') : Buffer.alloc(2);
  return Buffer.concat([formatted, text]);
}

/**
 * The VM's memory as SMBIOS 3.0 describes it (SMBIOS 3.0 §7.17, §7.18, §7.20; DMTF DSP0134): one physical
 * memory array (type 16), one memory device holding all of it (type 17), and one mapped range
 * (type 19) per RAM region: below 4 GiB, and above it. OVMF's setup front page adds up type 19 for
 * its "MB RAM" line; Windows shows type 17 as installed memory. Handles are chosen from 0xF000 up,
 * skipping those of `taken` (the host's structures passed on).
 */
export function memoryStructures(
  layout: { readonly lowBytes: number; readonly highBytes: number },
  taken: readonly Uint8Array[] = [],
): Buffer[] {
  const used = new Set(taken.filter((t) => t.length >= 4).map((t) => t[2]! | (t[3]! << 8)));
  let next = OWN_HANDLES;
  const handle = (): number => {
    while (used.has(next)) next++;
    used.add(next);
    return next++;
  };
  const total = layout.lowBytes + layout.highBytes;
  const arrayHandle = handle();
  const t16 = Buffer.alloc(0x17);
  t16[0] = 16;
  t16[1] = t16.length;
  t16.writeUInt16LE(arrayHandle, 2);
  t16[4] = 0x01; // location: other
  t16[5] = 0x03; // use: system memory
  t16[6] = 0x06; // error correction: multi-bit ECC, as QEMU says
  const kib = Math.ceil(total / KiB);
  if (kib < 0x80000000) t16.writeUInt32LE(kib, 7);
  else {
    t16.writeUInt32LE(0x80000000, 7);
    t16.writeBigUInt64LE(BigInt(total), 0x0f);
  }
  t16.writeUInt16LE(0xfffe, 0x0b); // no error information
  t16.writeUInt16LE(1, 0x0d); // one memory device
  const t17 = Buffer.alloc(0x28);
  t17[0] = 17;
  t17[1] = t17.length;
  t17.writeUInt16LE(handle(), 2);
  t17.writeUInt16LE(arrayHandle, 4);
  t17.writeUInt16LE(0xfffe, 6);
  t17.writeUInt16LE(0xffff, 8); // total and data width unknown
  t17.writeUInt16LE(0xffff, 0x0a);
  const mib = Math.ceil(total / MiB);
  if (mib < 0x7fff) t17.writeUInt16LE(mib, 0x0c);
  else {
    t17.writeUInt16LE(0x7fff, 0x0c);
    t17.writeUInt32LE(mib, 0x1c);
  }
  t17[0x0e] = 0x09; // form factor: DIMM
  t17[0x10] = 1; // device locator: string 1
  t17[0x12] = 0x07; // memory type: RAM
  t17.writeUInt16LE(0x0002, 0x13); // type detail: unknown
  const ranges: Array<[number, number]> = [[0, layout.lowBytes]];
  if (layout.highBytes > 0) ranges.push([FOUR_GIB, layout.highBytes]);
  const t19s = ranges.map(([start, bytes]) => {
    const t = Buffer.alloc(0x1f);
    t[0] = 19;
    t[1] = t.length;
    t.writeUInt16LE(handle(), 2);
    const first = start / KiB;
    const last = (start + bytes) / KiB - 1;
    if (last < 0xffffffff) {
      t.writeUInt32LE(first, 4);
      t.writeUInt32LE(last, 8);
    } else {
      t.writeUInt32LE(0xffffffff, 4);
      t.writeUInt32LE(0xffffffff, 8);
      t.writeBigUInt64LE(BigInt(start), 0x0f);
      t.writeBigUInt64LE(BigInt(start + bytes - 1), 0x17);
    }
    t.writeUInt16LE(arrayHandle, 0x0c);
    t[0x0e] = 1; // partition width: one device
    return structure(t);
  });
  return [structure(t16), structure(t17, ['DIMM 0']), ...t19s];
}

/** The SMBIOS version an entry point (sysfs smbios_entry_point) declares, or null. */
export function entryPointVersion(ep: Uint8Array): SmbiosVersion | null {
  const sig = Buffer.from(ep.subarray(0, 5)).toString('latin1');
  if (sig === '_SM3_' && ep.length >= 24) return { major: ep[7]!, minor: ep[8]! };
  if (sig.startsWith('_SM_') && ep.length >= 31) return { major: ep[6]!, minor: ep[7]! };
  return null;
}

/**
 * The fw_cfg files for `structures`: the table (with an end-of-table structure) and a 3.x entry
 * point naming its size. A host on SMBIOS 2.x is announced as 3.0: the structures are the same.
 */
export function smbiosFiles(
  structures: readonly Uint8Array[],
  host: SmbiosVersion | null,
): { readonly anchor: Buffer; readonly tables: Buffer } {
  const end = Buffer.from([END_OF_TABLE, 4, 0xfe, 0xff, 0, 0]);
  const tables = Buffer.concat([...structures.map((s) => Buffer.from(s)), end]);
  const version = host && host.major >= 3 ? host : { major: 3, minor: 0 };
  const anchor = Buffer.alloc(24);
  anchor.write('_SM3_', 0, 'latin1');
  anchor[6] = 24;
  anchor[7] = version.major;
  anchor[8] = version.minor;
  anchor[10] = 1; // entry point revision
  anchor.writeUInt32LE(tables.length, 12); // OVMF requires it to equal the table's size
  let sum = 0;
  for (const b of anchor) sum = (sum + b) & 0xff;
  anchor[5] = (0x100 - sum) & 0xff;
  return { anchor, tables };
}

/** The host's structures of the passed-on types, from sysfs; none (with a note) when absent or bad. */
export function hostSmbios(dir = '/sys/firmware/dmi/tables'): {
  readonly structures: Uint8Array[];
  readonly version: SmbiosVersion | null;
  readonly note: string | null;
} {
  let table: Buffer;
  let ep: Buffer;
  try {
    table = Buffer.from(readSmall(`${dir}/DMI`));
    ep = Buffer.from(readSmall(`${dir}/smbios_entry_point`));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      structures: [],
      version: null,
      note: code === 'ENOENT' ? null : `${dir}: ${code ?? (e as Error).message}`,
    };
  }
  try {
    const structures = smbiosStructures(table).filter((s) => PASSED_TYPES.has(s[0]!));
    const types = [...new Set(structures.map((s) => s[0]))].join(', ');
    return {
      structures,
      version: entryPointVersion(ep),
      note: `SMBIOS ${dir}/DMI: types ${types || 'none'} passed on to the guest`,
    };
  } catch (e) {
    return { structures: [], version: null, note: `SMBIOS ${dir}/DMI: ${(e as Error).message}; not passed on` };
  }
}

/** A sysfs binary attribute (its reported size is not its length): read up to the limit. */
function readSmall(file: string): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(TABLE_MAX + 1);
    let got = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
      if (got === buf.length) throw new Error(`${file}: larger than ${TABLE_MAX} bytes`);
    }
    return buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}
