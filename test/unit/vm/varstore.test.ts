// The variable store reader/writer (src/vm/varstore.ts) on Debian's real templates
// (OVMF_VARS_4M.fd, .ms.fd, .snakeoil.fd, the store inside OVMF.fd): parse, write back, parse
// again; record states; capacity; corrupt input only ever raises VarStoreError.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import { ovmfCombined, ovmfSplit } from '../../../initramfs/host';
import {
  EFI_GLOBAL_VARIABLE,
  EFI_IMAGE_SECURITY_DATABASE,
  EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS,
  NV_BS_RT,
  VarStoreError,
  diffVariables,
  guidBytes,
  newVariable,
  parseVarStore,
  withVariables,
  writeVarStore,
} from '../../../src/vm/varstore';

const s = ovmfSplit();
const templates = {
  empty: fs.readFileSync(s.vars),
  ms: fs.readFileSync(s.varsMs),
  snakeoil: fs.readFileSync(s.varsSnakeoil),
  unified: fs.readFileSync(ovmfCombined()).subarray(0, 0x2_0000),
};
const STORE_START = 0x48 + 28; // FV header (HeaderLength 0x48), VARIABLE_STORE_HEADER (28 bytes)

describe('parsing Debian templates', () => {
  it('reads the authenticated store headers: 4 MiB store 0x3FFB8 at 0x48, 2 MiB store 0xDFB8', () => {
    const e = parseVarStore(templates.empty);
    expect(e).toMatchObject({ authenticated: true, storeOffset: 0x48, storeSize: 0x3_ffb8, variables: [] });
    expect(parseVarStore(templates.unified)).toMatchObject({ authenticated: true, storeSize: 0xdfb8, variables: [] });
  });

  it('finds the enrolled keys: PK and KEK (global), db and dbx, time-based authenticated, with timestamps', () => {
    for (const t of [templates.ms, templates.snakeoil]) {
      const vars = parseVarStore(t).variables;
      const get = (name: string, guid: string) => vars.find((v) => v.name === name && v.guid === guid);
      for (const [name, guid] of [
        ['PK', EFI_GLOBAL_VARIABLE],
        ['KEK', EFI_GLOBAL_VARIABLE],
        ['db', EFI_IMAGE_SECURITY_DATABASE],
        ['dbx', EFI_IMAGE_SECURITY_DATABASE],
      ] as const) {
        const v = get(name, guid);
        expect(v, name).toBeDefined();
        expect(v!.attributes & EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS).toBeTruthy();
        expect(v!.timestamp.year).toBeGreaterThanOrEqual(2000);
        // An EFI_SIGNATURE_LIST starts with its type GUID: X.509 (A5C059A1-...) for PK.
        if (name === 'PK')
          expect(Buffer.from(v!.data.subarray(0, 16))).toEqual(
            Buffer.from(guidBytes('a5c059a1-94e4-4aa7-87b5-ab155c2bf072')),
          );
      }
      expect(vars.find((v) => v.name === 'SecureBootEnable')?.data).toEqual(Uint8Array.of(1));
    }
    // The snakeoil PK is the certificate Debian ships next to the key.
    const pem = fs.readFileSync(s.snakeoilCert, 'utf8').replace(/-----[^-]+-----|\s/g, '');
    const der = Buffer.from(pem, 'base64');
    const pk = parseVarStore(templates.snakeoil).variables.find((v) => v.name === 'PK')!;
    expect(Buffer.from(pk.data).includes(der)).toBe(true);
  });
});

describe('writing', () => {
  it('round-trips every template: same variables, and writing again changes nothing', () => {
    for (const [name, t] of Object.entries(templates)) {
      const a = parseVarStore(t);
      const w = writeVarStore(t, a.variables);
      const b = parseVarStore(w);
      expect(b.variables, name).toEqual(a.variables);
      expect(Buffer.from(writeVarStore(w, b.variables)).equals(Buffer.from(w)), name).toBe(true);
      // Outside the variable area nothing moves: FV and store headers, event log, FTW blocks.
      const end = a.storeOffset + a.storeSize;
      expect(Buffer.from(w.subarray(0, STORE_START)).equals(t.subarray(0, STORE_START)), name).toBe(true);
      expect(Buffer.from(w.subarray(end)).equals(t.subarray(end)), name).toBe(true);
    }
    // The empty template is already in the writer's form, byte for byte.
    expect(Buffer.from(writeVarStore(templates.empty, [])).equals(templates.empty)).toBe(true);
  });

  it('lays records out as EDK2 does: 0x55AA, VAR_ADDED, attributes, name, data, 4-byte alignment', () => {
    const v = newVariable('Abc', '01234567-89ab-cdef-0123-456789abcdef', NV_BS_RT, Uint8Array.of(1, 2, 3));
    const w = Buffer.from(writeVarStore(templates.empty, [v, { ...v, name: 'Second' }]));
    const o = STORE_START; // already 4-aligned
    expect(w.readUInt16LE(o)).toBe(0x55aa);
    expect(w[o + 2]).toBe(0x3f);
    expect(w.readUInt32LE(o + 4)).toBe(NV_BS_RT);
    expect(w.readBigUInt64LE(o + 8)).toBe(0n); // MonotonicCount
    expect(w.subarray(o + 16, o + 36).every((b) => b === 0)).toBe(true); // TimeStamp, PubKeyIndex
    expect(w.readUInt32LE(o + 36)).toBe(8); // NameSize: "Abc\0" in UCS-2
    expect(w.readUInt32LE(o + 40)).toBe(3);
    expect(w.subarray(o + 44, o + 60)).toEqual(Buffer.from('67452301ab89efcd0123456789abcdef', 'hex'));
    expect(w.toString('utf16le', o + 60, o + 66)).toBe('Abc');
    expect([...w.subarray(o + 68, o + 71)]).toEqual([1, 2, 3]);
    const next = o + ((60 + 8 + 3 + 3) & ~3);
    expect(w.readUInt16LE(next)).toBe(0x55aa);
    expect(w.toString('utf16le', next + 60, next + 72)).toBe('Second');
    expect(w[next + 60 + 14 + 3]).toBe(0xff); // erased after the last record... and all the way
    expect(w.subarray(next + 80, 0x48 + 0x3_ffb8).every((b) => b === 0xff)).toBe(true);
  });

  it('replaces a variable of the same name and GUID, refuses duplicates and what does not fit', () => {
    const a = newVariable('X', EFI_GLOBAL_VARIABLE, NV_BS_RT, Uint8Array.of(1));
    const b = newVariable('X', EFI_GLOBAL_VARIABLE, NV_BS_RT, Uint8Array.of(2));
    expect(withVariables([a], [b])).toEqual([b]);
    expect(() => writeVarStore(templates.empty, [a, b])).toThrow(/given twice/);
    const big = newVariable('Big', EFI_GLOBAL_VARIABLE, NV_BS_RT, new Uint8Array(0xe000));
    expect(() => writeVarStore(templates.unified, [big])).toThrow(VarStoreError);
    expect(() => writeVarStore(templates.unified, [big])).toThrow(/need \d+ bytes; the store holds \d+/);
  });

  it('honours record states: deleted records vanish, an in-transition copy counts only alone', () => {
    const one = newVariable('One', EFI_GLOBAL_VARIABLE, NV_BS_RT, Uint8Array.of(1));
    const two = newVariable('Two', EFI_GLOBAL_VARIABLE, NV_BS_RT, Uint8Array.of(2));
    const twoNew = { ...two, data: Uint8Array.of(3) };
    // Records: One, Two, Two' (as EDK2 leaves them mid-update: the old copy in transition).
    const w = Buffer.from(writeVarStore(templates.empty, [one, two, { ...twoNew, name: 'Tw0' }]));
    const rec = (i: number) => STORE_START + i * ((60 + 8 + 1 + 3) & ~3);
    w.write('Two\0', rec(2) + 60, 'utf16le'); // make the third record a second copy of "Two"
    w[rec(1) + 2] = 0x3f & 0xfe; // Two: VAR_ADDED & VAR_IN_DELETED_TRANSITION
    expect(parseVarStore(w).variables).toEqual([one, twoNew]);
    w[rec(2) + 2] = 0x3f & 0xfe & 0xfd; // the new copy deleted: the old one in transition is live
    expect(parseVarStore(w).variables).toEqual([one, two]);
    w[rec(0) + 2] = 0x3f & 0xfd; // One deleted
    expect(parseVarStore(w).variables).toEqual([two]);
  });

  it('reports what the guest changed', () => {
    const a = newVariable('A', EFI_GLOBAL_VARIABLE, NV_BS_RT, Uint8Array.of(1));
    const b = newVariable('B', EFI_GLOBAL_VARIABLE, NV_BS_RT, Uint8Array.of(1));
    const c = newVariable('C', EFI_GLOBAL_VARIABLE, NV_BS_RT, Uint8Array.of(1));
    expect(diffVariables([a, b], [{ ...b, data: Uint8Array.of(2) }, c])).toEqual([
      { kind: 'changed', name: 'B', guid: EFI_GLOBAL_VARIABLE },
      { kind: 'added', name: 'C', guid: EFI_GLOBAL_VARIABLE },
      { kind: 'deleted', name: 'A', guid: EFI_GLOBAL_VARIABLE },
    ]);
  });
});

describe('corrupt stores', () => {
  it('refuses what is not a store, naming the reason', () => {
    expect(() => parseVarStore(new Uint8Array(50))).toThrow(/too small/);
    expect(() => parseVarStore(new Uint8Array(0x1000))).toThrow(/no firmware volume header/);
    const bad = Buffer.from(templates.empty);
    bad.writeUInt8(bad.readUInt8(0x48) ^ 0xff, 0x48);
    expect(() => parseVarStore(bad)).toThrow(/unknown variable store signature/);
    const big = Buffer.from(templates.empty);
    big.writeUInt32LE(0x10_0000, 0x48 + 16);
    expect(() => parseVarStore(big)).toThrow(/does not fit the image/);
  });

  it('random damage to the variable area raises VarStoreError or parses; nothing else, no hang', () => {
    // Damage within the records only (the headers have their own test above).
    const used = parseVarStore(templates.snakeoil).usedBytes;
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: STORE_START, max: STORE_START + used + 64 }), fc.integer({ min: 0, max: 255 })),
          {
            minLength: 1,
            maxLength: 16,
          },
        ),
        (edits) => {
          const img = Buffer.from(templates.snakeoil);
          for (const [at, v] of edits) img[at] = v;
          try {
            const st = parseVarStore(img);
            writeVarStore(img, st.variables);
          } catch (e) {
            if (!(e instanceof VarStoreError)) throw e;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});
