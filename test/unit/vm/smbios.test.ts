// SMBIOS passed on from the host (src/vm/smbios.ts): which structures go, the fw_cfg entry point
// OVMF validates (its size must equal the table's), and a bounded parser for hostile tables.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { entryPointVersion, hostSmbios, memoryStructures, smbiosFiles, smbiosStructures } from '../../../src/vm/smbios';

/** One structure: type, formatted area (after the 4-byte header), strings. */
function structure(type: number, handle: number, formatted: number[], strings: string[]): Buffer {
  const head = Buffer.from([type, 4 + formatted.length, handle & 0xff, handle >> 8, ...formatted]);
  const tail = strings.length
    ? Buffer.from(strings.map((s) => s + '\0').join('') + '\0', 'latin1')
    : Buffer.from([0, 0]);
  return Buffer.concat([head, tail]);
}

const type0 = structure(0, 0, [1, 2, 0, 0xe8], ['Vendor BIOS', '1.0']);
// Type 1: manufacturer 1, product 2, version 0, serial 3, then a 16-byte UUID, wake-up type.
const uuid = Array.from({ length: 16 }, (_, i) => i * 17);
const type1 = structure(1, 1, [1, 2, 0, 3, ...uuid, 6], ['LENOVO', 'ThinkPad X1', 'PF-SERIAL']);
const type4 = structure(4, 2, new Array<number>(40).fill(0), ['CPU']);
const type11 = structure(11, 3, [1], ['oem string']);
const end = structure(127, 4, [], []);
const table = Buffer.concat([type0, type1, type4, type11, end]);

describe('SMBIOS', () => {
  it('splits a table into structures up to the end-of-table one', () => {
    const s = smbiosStructures(table);
    expect(s.map((x) => x[0])).toEqual([0, 1, 4, 11, 127]);
    expect(Buffer.from(s[1]!)).toEqual(type1);
    expect(Buffer.from(s[2]!)).toEqual(type4);
  });

  it('refuses a structure that runs past the table or has unterminated strings', () => {
    expect(() => smbiosStructures(Buffer.from([1, 40, 0, 0, 1, 2]))).toThrow(/at 0: length 40 runs past the table/);
    expect(() => smbiosStructures(Buffer.from([1, 4, 0, 0, 0x41, 0x42, 0]))).toThrow(
      /at 0: strings are not terminated/,
    );
    expect(() => smbiosStructures(Buffer.from([1, 2, 0, 0]))).toThrow(/length 2/);
  });

  it('the fw_cfg files: the table with an end marker, a 3.x entry point with its size and checksum', () => {
    const f = smbiosFiles([type1, type11], { major: 2, minor: 8 });
    expect(f.tables).toEqual(Buffer.concat([type1, type11, Buffer.from([127, 4, 0xfe, 0xff, 0, 0])]));
    expect(f.anchor).toHaveLength(24);
    expect(f.anchor.toString('latin1', 0, 5)).toBe('_SM3_');
    expect([f.anchor[7], f.anchor[8]]).toEqual([3, 0]); // a 2.8 host is announced as 3.0
    expect(f.anchor.readUInt32LE(12)).toBe(f.tables.length);
    expect(f.anchor.reduce((a, b) => (a + b) & 0xff, 0)).toBe(0);
    expect([...smbiosFiles([type1], { major: 3, minor: 4 }).anchor.subarray(7, 9)]).toEqual([3, 4]);
  });

  it("the VM's memory: an array (16), a device (17) and a mapped range per RAM region (19), on free handles", () => {
    const MiB = 1 << 20;
    const taken = [structure(1, 0xf000, [], []), structure(2, 0xf002, [], [])];
    const low = memoryStructures({ lowBytes: 512 * MiB, highBytes: 0 }, taken);
    // They parse back as a table (each with its strings).
    expect(smbiosStructures(Buffer.concat(low)).map((x) => x[0])).toEqual([16, 17, 19]);
    const [t16, t17, t19] = low as [Buffer, Buffer, Buffer];
    const handles = low.map((t) => t.readUInt16LE(2));
    expect(handles).toEqual([0xf001, 0xf003, 0xf004]);
    expect(t16.readUInt32LE(7)).toBe(512 * 1024); // KiB
    expect(t16.readUInt16LE(0x0d)).toBe(1);
    expect(t17.readUInt16LE(4)).toBe(0xf001);
    expect(t17.readUInt16LE(0x0c)).toBe(512); // MiB
    expect(t17.toString('latin1', 0x28)).toBe('DIMM 0\0\0');
    expect([t19.readUInt32LE(4), t19.readUInt32LE(8)]).toEqual([0, 512 * 1024 - 1]); // KiB, inclusive
    expect(t19.readUInt16LE(0x0c)).toBe(0xf001);
    // 40 GiB: 3 GiB below 4 GiB, the rest above; the device's size overflows the word field.
    const big = memoryStructures({ lowBytes: 3072 * MiB, highBytes: 37 * 1024 * MiB });
    const b17 = big[1]!;
    expect(b17.readUInt16LE(0x0c)).toBe(0x7fff);
    expect(b17.readUInt32LE(0x1c)).toBe(40 * 1024);
    const above = big[3]!;
    expect([above.readUInt32LE(4), above.readUInt32LE(8)]).toEqual([4 * 1024 * 1024, (4 + 37) * 1024 * 1024 - 1]);
    // OVMF's front page adds the ranges up: (end - start + 1) KiB each.
    const kib = big.slice(2).reduce((a, t) => a + (t.readUInt32LE(8) - t.readUInt32LE(4) + 1), 0);
    expect(kib / 1024).toBe(40 * 1024);
  });

  it('entry point versions: 3.x and 2.x', () => {
    const v3 = Buffer.alloc(24);
    v3.write('_SM3_', 0, 'latin1');
    v3[7] = 3;
    v3[8] = 2;
    expect(entryPointVersion(v3)).toEqual({ major: 3, minor: 2 });
    const v2 = Buffer.alloc(31);
    v2.write('_SM_', 0, 'latin1');
    v2[6] = 2;
    v2[7] = 8;
    expect(entryPointVersion(v2)).toEqual({ major: 2, minor: 8 });
    expect(entryPointVersion(Buffer.from('nonsense'))).toBeNull();
  });

  it("the host's types 1, 2, 3 and 11 go, processors and BIOS stay; no sysfs, no note", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-dmi-'));
    expect(hostSmbios(dir)).toEqual({ structures: [], version: null, note: null });
    fs.writeFileSync(path.join(dir, 'DMI'), table);
    const ep = Buffer.alloc(24);
    ep.write('_SM3_', 0, 'latin1');
    ep[7] = 3;
    ep[8] = 3;
    fs.writeFileSync(path.join(dir, 'smbios_entry_point'), ep);
    const h = hostSmbios(dir);
    expect(h.structures.map((s) => s[0])).toEqual([1, 11]);
    expect(h.version).toEqual({ major: 3, minor: 3 });
    expect(h.note).toBe(`SMBIOS ${dir}/DMI: types 1, 11 passed on to the guest`);
    fs.writeFileSync(path.join(dir, 'DMI'), Buffer.from([1, 200, 0, 0]));
    expect(hostSmbios(dir).note).toMatch(/runs past the table; not passed on$/);
  });

  it('never throws anything but an Error, and never loops, on random tables (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => {
        try {
          const s = smbiosStructures(b);
          expect(s.reduce((a, x) => a + x.length, 0)).toBeLessThanOrEqual(b.length);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
        }
      }),
      { numRuns: 500 },
    );
  });
});
