// ACPI tables: layout rules from docs/vmm-platform.md §8, checksums after running the table-loader
// the way OVMF does, AML encodings, and a round trip through Debian's iasl (disassemble with
// `iasl -d`, recompile the .dsl: both must succeed without errors).
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as aml from '../../../src/vm/acpi/aml';
import { applyLoader, buildAcpi, checksum, RSDP_FILE, TABLES_FILE } from '../../../src/vm/acpi/tables';
import { pciGsi } from '../../../src/vm/acpi/dsdt';

const haveIasl = spawnSync('iasl', ['-v']).status === 0;

function loaded(cpus = 1, extra: Buffer[] = []) {
  const a = buildAcpi(cpus, extra);
  const bases = new Map([
    [TABLES_FILE, 0x7fe0_0000n],
    [RSDP_FILE, 0xf_0000n],
  ]);
  const out = applyLoader(
    a.loader,
    new Map([
      [TABLES_FILE, a.tables],
      [RSDP_FILE, a.rsdp],
    ]),
    bases,
  );
  return { a, tables: out.get(TABLES_FILE)!, rsdp: out.get(RSDP_FILE)!, base: 0x7fe0_0000 };
}

function table(b: Buffer, off: number): Buffer {
  return b.subarray(off, off + b.readUInt32LE(off + 4));
}

describe('AML encoder', () => {
  it('encodes PkgLength with 1–4 bytes', () => {
    expect(aml.pkgLength(10)).toEqual([11]);
    expect(aml.pkgLength(62)).toEqual([63]);
    // 63 content bytes → total 65 = 0x41 with one extra byte: lead 0x41 & 0xF | 1<<6, then 0x04.
    expect(aml.pkgLength(63)).toEqual([0x41, 0x04]);
    // 0x1000 content + 3 length bytes = 0x1003: two extra bytes, lead 0x80 | 3.
    expect(aml.pkgLength(0x1000)).toEqual([0x83, 0x00, 0x01]);
  });
  it('encodes EISA ids as in the ACPI spec', () => {
    expect(aml.eisaId('PNP0A03')).toEqual([0x0c, ...aml.le(0x030ad041, 4)]);
    expect(aml.eisaId('PNP0501')).toEqual([0x0c, ...aml.le(0x0105d041, 4)]);
    expect(aml.eisaId('PNP0B00')).toEqual([0x0c, ...aml.le(0x000bd041, 4)]);
  });
  it('picks the shortest integer encoding', () => {
    expect(aml.integer(0)).toEqual([0]);
    expect(aml.integer(1)).toEqual([1]);
    expect(aml.integer(0xff)).toEqual([0x0a, 0xff]);
    expect(aml.integer(0x100)).toEqual([0x0b, 0, 1]);
    expect(aml.integer(0x1_0000)).toEqual([0x0c, 0, 0, 1, 0]);
  });
  it('encodes name strings with root and multi-segment prefixes', () => {
    expect(aml.nameString('\\_S5')).toEqual([0x5c, 0x5f, 0x53, 0x35, 0x5f]);
    expect(aml.nameString('\\_SB.PCI0')).toEqual([0x5c, 0x2e, ...Buffer.from('_SB_PCI0')]);
  });
});

describe('ACPI tables via the table-loader', () => {
  it('has valid checksums for every table and the RSDP after loading', () => {
    const { a, tables, rsdp } = loaded();
    for (const off of Object.values(a.offsets)) {
      const t = table(tables, off);
      if (t.toString('ascii', 0, 4) === 'FACS') continue; // no checksum field
      expect(checksum(t), t.toString('ascii', 0, 4)).toBe(0);
    }
    expect(checksum(rsdp, 0, 20)).toBe(0);
    expect(checksum(rsdp, 0, 36)).toBe(0);
    expect(rsdp.toString('ascii', 0, 8)).toBe('RSD PTR ');
    expect(rsdp[15]).toBe(2);
  });

  it('patches FADT → FACS/DSDT and XSDT → FADT/MADT, RSDP → XSDT to absolute addresses', () => {
    const { a, tables, rsdp, base } = loaded();
    const fadt = table(tables, a.offsets.fadt);
    expect(fadt.readUInt32LE(36)).toBe(base + a.offsets.facs);
    expect(fadt.readUInt32LE(40)).toBe(base + a.offsets.dsdt);
    expect(Number(fadt.readBigUInt64LE(140))).toBe(base + a.offsets.dsdt);
    const xsdt = table(tables, a.offsets.xsdt);
    expect(Number(xsdt.readBigUInt64LE(36))).toBe(base + a.offsets.fadt);
    expect(Number(xsdt.readBigUInt64LE(44))).toBe(base + a.offsets.madt);
    expect(Number(rsdp.readBigUInt64LE(24))).toBe(base + a.offsets.xsdt);
  });

  it('every table is the target of an ADD_POINTER, and ADD_POINTERs into a table precede its checksum', () => {
    const { a } = loaded();
    const L = a.loader;
    const pointees = new Set<number>();
    const checksummed = new Set<number>();
    for (let o = 0; o < L.length; o += 128) {
      const type = L.readUInt32LE(o);
      if (type === 2) {
        const file = L.toString('ascii', o + 4, o + 60).replace(/\0.*$/s, '');
        const off = L.readUInt32LE(o + 116);
        // The pointer's initial value is the pointee offset.
        const blob = file === TABLES_FILE ? a.tables : a.rsdp;
        const size = L[o + 120]!;
        const target = size === 8 ? Number(blob.readBigUInt64LE(off)) : blob.readUInt32LE(off);
        pointees.add(target);
        for (const t of Object.values(a.offsets)) {
          if (file === TABLES_FILE && off >= t && off < t + a.tables.readUInt32LE(t + 4))
            expect(checksummed.has(t)).toBe(false);
        }
      } else if (type === 3) {
        const file = L.toString('ascii', o + 4, o + 60).replace(/\0.*$/s, '');
        if (file === TABLES_FILE) checksummed.add(L.readUInt32LE(o + 64));
      }
    }
    for (const off of Object.values(a.offsets)) expect(pointees.has(off), `table at ${off}`).toBe(true);
    expect(L.length % 128).toBe(0);
    expect(a.offsets.facs % 64).toBe(0);
  });

  it('FADT matches the PIIX4 ports, SCI 9, reset register 0xCF9/6 and is not HW-reduced', () => {
    const { a, tables } = loaded();
    const f = table(tables, a.offsets.fadt);
    expect(f.length).toBe(276);
    expect(f.readUInt16LE(46)).toBe(9);
    expect(f.readUInt32LE(48)).toBe(0);
    expect([f.readUInt32LE(56), f.readUInt32LE(64), f.readUInt32LE(76)]).toEqual([0xb000, 0xb004, 0xb008]);
    expect([f[88], f[89], f[91]]).toEqual([4, 2, 4]);
    const flags = f.readUInt32LE(112);
    expect(flags & (1 << 20)).toBe(0);
    expect(flags & (1 << 8)).toBe(0); // 24-bit timer
    expect(flags & (1 << 4)).toBe(0); // fixed power button
    expect(Number(f.readBigUInt64LE(120))).toBe(0xcf9);
    expect(f[128]).toBe(6);
  });

  it('MADT lists the LAPIC, IOAPIC id 0 at 0xFEC00000 and the IRQ0→2, IRQ9 level overrides', () => {
    const { a, tables } = loaded();
    const m = table(tables, a.offsets.madt);
    expect(m.readUInt32LE(36)).toBe(0xfee0_0000);
    const entries: number[][] = [];
    for (let o = 44; o < m.length; o += m[o + 1]!) entries.push([...m.subarray(o, o + m[o + 1]!)]);
    expect(entries[0]).toEqual([0, 8, 0, 0, 1, 0, 0, 0]);
    expect(entries[1]!.slice(0, 8)).toEqual([1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe]);
    expect(entries[2]).toEqual([2, 10, 0, 0, 2, 0, 0, 0, 0, 0]);
    expect(entries[3]).toEqual([2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0]);
  });

  it.skipIf(!haveIasl)('disassembles with iasl -d and recompiles clean', () => {
    const { a, tables } = loaded();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-acpi-'));
    for (const [name, off] of Object.entries(a.offsets)) {
      const file = path.join(dir, `${name}.dat`);
      fs.writeFileSync(file, table(tables, off));
      execFileSync('iasl', ['-d', file], { cwd: dir, stdio: 'pipe' });
      const dsl = path.join(dir, `${name}.dsl`);
      expect(fs.existsSync(dsl)).toBe(true);
      const r = spawnSync('iasl', [dsl], { cwd: dir, encoding: 'utf8' });
      expect(r.status, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/Compilation successful|0 Errors/);
      if (name === 'dsdt') {
        const src = fs.readFileSync(dsl, 'utf8');
        expect(src).toMatch(/Name \(\\_S5, Package \(0x04\)/);
        expect(src).toMatch(/Device \(PCI0\)/);
        expect(src).toMatch(/EisaId \("PNP0A03"\)/);
        expect(src).toMatch(/0x80000000,\s*\/\/ Range Minimum/);
        expect(src).toMatch(/0xFBFFFFFF,\s*\/\/ Range Maximum/);
        // _PRT routes INTA of every disk slot (2–5, MAX_DISKS of them) and the slots after them
        // to the GSI the device raises (pciGsi); it used to stop at slot 3.
        for (let slot = 1; slot < 32; slot++) {
          const gsi = pciGsi(slot, 0);
          const entry = new RegExp(
            `0x${slot.toString(16).toUpperCase().padStart(4, '0')}FFFF,\\s*Zero,\\s*Zero,\\s*0x${gsi.toString(16).toUpperCase()}\\s`,
          );
          expect(src, `slot ${slot}`).toMatch(entry);
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("what Windows checks: processor devices, WAET, the host's MSDM", () => {
  /** A fake OEM activation table as a machine's firmware would have it (checksum deliberately off). */
  function msdm(): Buffer {
    const b = Buffer.alloc(85);
    b.write('MSDM', 0, 'ascii');
    b.writeUInt32LE(85, 4);
    b[8] = 3;
    b.write('LENOVO', 10, 'ascii');
    b.write('XXXXX-XXXXX-XXXXX-XXXXX-XXXXX', 56, 'ascii');
    b[9] = 0x42;
    return b;
  }

  it('the XSDT lists FADT, MADT, WAET and the host table; every checksum holds after loading', () => {
    const { a, tables, base } = loaded(3, [msdm()]);
    const xsdt = table(tables, a.offsets.xsdt);
    const entries = (xsdt.length - 36) / 8;
    const sigs = Array.from({ length: entries }, (_, i) =>
      tables.toString(
        'ascii',
        Number(xsdt.readBigUInt64LE(36 + 8 * i)) - base,
        Number(xsdt.readBigUInt64LE(36 + 8 * i)) - base + 4,
      ),
    );
    expect(sigs).toEqual(['FACP', 'APIC', 'WAET', 'MSDM']);
    const waet = table(tables, a.offsets.waet);
    expect(waet.readUInt32LE(36)).toBe(2); // the PM timer needs one read
    expect(checksum(waet)).toBe(0);
    const m = table(tables, a.extraOffsets[0]!);
    expect(checksum(m)).toBe(0);
    const want = msdm();
    expect(Buffer.concat([m.subarray(0, 9), m.subarray(10)])).toEqual(
      Buffer.concat([want.subarray(0, 9), want.subarray(10)]),
    );
    expect(checksum(table(tables, a.offsets.xsdt))).toBe(0);
  });

  it.skipIf(!haveIasl)('the DSDT has an ACPI0007 processor device per vCPU, _UID = APIC ID (iasl -d)', () => {
    const { a, tables } = loaded(3);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-acpi-cpu-'));
    fs.writeFileSync(path.join(dir, 'dsdt.dat'), table(tables, a.offsets.dsdt));
    execFileSync('iasl', ['-d', 'dsdt.dat'], { cwd: dir, stdio: 'pipe' });
    const src = fs.readFileSync(path.join(dir, 'dsdt.dsl'), 'utf8');
    for (const [i, n] of ['C000', 'C001', 'C002'].entries())
      expect(src).toMatch(
        new RegExp(
          `Device \\(${n}\\)\\s*\\{\\s*Name \\(_HID, "ACPI0007"[^\\n]*\\n\\s*Name \\(_UID, ${['Zero', 'One', '0x02'][i]}\\)`,
        ),
      );
    expect(src).not.toContain('C003');
  });
});
