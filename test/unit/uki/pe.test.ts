// PE/COFF parsing (docs/bls.md §10.1) against real images: Debian's systemd-stub, UKIs made by
// objcopy, PE32 and PE32+ made by ld. Expectations come from `objdump -h` and from the spec.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import { BufferSource, FileSource } from '../../../src/discovery/io/source';
import { MAX_SECTIONS, PE_MACHINE, PeError, findSection, parsePe, parsePeHandle } from '../../../src/discovery/uki/pe';
import { KERNEL, STUB, buildPe32, buildUki, fakeKernel, objdumpSections } from '../../fixtures/uki';

function parseFile(file: string) {
  const src = FileSource.open(file);
  try {
    return parsePe(src);
  } finally {
    src.close();
  }
}

/** Compare our section table with `objdump -h` (names, VirtualSize, VMA, file offset). */
function expectMatchesObjdump(file: string): void {
  const pe = parseFile(file);
  const od = objdumpSections(file);
  expect(pe.sections.map((s) => s.name)).toEqual(od.map((s) => s.name));
  expect(pe.sections.map((s) => s.virtualSize)).toEqual(od.map((s) => s.size));
  expect(pe.sections.map((s) => s.pointerToRawData)).toEqual(od.map((s) => s.fileOffset));
  // objdump prints VMA = ImageBase + VirtualAddress.
  const base = od[0]!.vma - pe.sections[0]!.virtualAddress;
  expect(pe.sections.map((s) => s.virtualAddress + base)).toEqual(od.map((s) => s.vma));
}

function errorOf(fn: () => unknown): PeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PeError);
    return e as PeError;
  }
  throw new Error('expected a PeError');
}

describe('parsePe on real images', () => {
  it('reads the Debian systemd-stub (PE32+, x86_64, EFI application) like objdump', () => {
    const pe = parseFile(STUB);
    expect(pe.format).toBe('PE32+');
    expect(pe.machine).toBe(PE_MACHINE.x64);
    expect(pe.subsystem).toBe(10);
    expectMatchesObjdump(STUB);
  });

  it('reads an objcopy-built UKI with the real Debian kernel', () => {
    const file = buildUki({ osrel: 'ID=debian\nVERSION_ID=12\n', cmdline: 'quiet', uname: '6.1.0-56-amd64' });
    expectMatchesObjdump(file);
    const pe = parseFile(file);
    const linux = findSection(pe, '.linux')!;
    const kernel = fs.readFileSync(KERNEL);
    expect(linux.length).toBe(kernel.length);
    const bytes = Buffer.alloc(linux.length);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, bytes, 0, linux.length, linux.offset);
    fs.closeSync(fd);
    expect(bytes.equals(kernel)).toBe(true);
  });

  it('PE32 from ld -m i386pe', () => {
    const file = buildPe32([{ name: '.osrel', text: 'ID=x32\n' }]);
    const pe = parseFile(file);
    expect(pe.format).toBe('PE32');
    expect(pe.machine).toBe(PE_MACHINE.ia32);
    expect(pe.subsystem).toBe(10);
    expectMatchesObjdump(file);
  });

  it('PE32+ from ld -m i386pep, with a long section name from the string table', () => {
    const file = buildPe32([{ name: '.longsectionname', text: 'hello' }], { pe32plus: true, longNames: true });
    const pe = parseFile(file);
    expect(pe.format).toBe('PE32+');
    const s = findSection(pe, '.longsectionname')!;
    expect(s.rawName).toMatch(/^\/[0-9]+$/);
    expect(s.length).toBe(5);
    expectMatchesObjdump(file);
  });

  it('section length is min(VirtualSize, SizeOfRawData)', () => {
    const file = buildUki({ osrel: 'NAME=x\nVERSION=1\n', linux: fakeKernel() });
    const pe = parseFile(file);
    const osrel = findSection(pe, '.osrel')!;
    // objcopy pads SizeOfRawData to FileAlignment; VirtualSize is the real length.
    expect(osrel.sizeOfRawData).toBeGreaterThan(osrel.virtualSize);
    expect(osrel.length).toBe('NAME=x\nVERSION=1\n'.length);
    // A .bss-like section: VirtualSize larger than the raw data → only the raw data is content.
    const b = Buffer.from(fs.readFileSync(file));
    const entry = sectionEntryOffset(b, osrel.index);
    b.writeUInt32LE(osrel.sizeOfRawData + 0x10000, entry + 8);
    const patched = parsePe(b).sections[osrel.index]!;
    expect(patched.virtualSize).toBe(osrel.sizeOfRawData + 0x10000);
    expect(patched.length).toBe(osrel.sizeOfRawData);
  });

  it('section names are exact and case-sensitive', () => {
    const file = buildUki({
      osrel: 'NAME=x\nVERSION=1\n',
      linux: fakeKernel(),
      extra: [{ name: '.OSREL', data: 'other' }],
    });
    const pe = parseFile(file);
    expect(findSection(pe, '.osrel')!.length).toBe(17);
    expect(findSection(pe, '.OSREL')!.length).toBe(5);
    expect(findSection(pe, '.osre')).toBeUndefined();
  });

  it('the FileHandle driver gives the same result as the ByteSource driver', async () => {
    const file = buildUki({ osrel: 'NAME=x\nVERSION=1\n', linux: fakeKernel() });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-pe-'));
    try {
      fs.copyFileSync(file, path.join(dir, 'a.efi'));
      const hfs = new HostDirFileSystem(dir);
      const h = await hfs.open('/a.efi');
      const viaHandle = await parsePeHandle(h, 'a.efi');
      await h.close();
      expect(viaHandle).toEqual(parsePe(fs.readFileSync(file), 'a.efi'));
      expect(parsePe(new BufferSource(fs.readFileSync(file), 'a.efi'))).toEqual(viaHandle);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Offset of section table entry `i` in a PE buffer (from the headers, per docs/bls.md §10.1). */
function sectionEntryOffset(b: Buffer, i: number): number {
  const pe = b.readUInt32LE(0x3c);
  return pe + 24 + b.readUInt16LE(pe + 20) + i * 40;
}

describe('malformed headers give PeError naming the field', () => {
  const good = (): Buffer =>
    Buffer.from(fs.readFileSync(buildUki({ osrel: 'NAME=x\nVERSION=1\n', linux: fakeKernel() })));
  const lfanew = (b: Buffer): number => b.readUInt32LE(0x3c);

  it('short file', () => {
    expect(errorOf(() => parsePe(good().subarray(0, 10))).field).toBe('e_magic');
  });
  it('bad MZ', () => {
    const b = good();
    b[0] = 0x4e;
    const e = errorOf(() => parsePe(b));
    expect([e.field, e.offset]).toEqual(['e_magic', 0]);
  });
  it('e_lfanew inside the DOS header', () => {
    const b = good();
    b.writeUInt32LE(0x20, 0x3c);
    expect(errorOf(() => parsePe(b)).field).toBe('e_lfanew');
  });
  it('e_lfanew past the end', () => {
    const b = good();
    b.writeUInt32LE(0xfffffff0, 0x3c);
    const e = errorOf(() => parsePe(b));
    expect([e.field, e.offset]).toEqual(['e_lfanew', 0x3c]);
  });
  it('bad PE signature', () => {
    const b = good();
    b[lfanew(b) + 1] = 0;
    const e = errorOf(() => parsePe(b));
    expect([e.field, e.offset]).toEqual(['Signature', lfanew(b)]);
  });
  it('zero and too many sections', () => {
    const b = good();
    b.writeUInt16LE(0, lfanew(b) + 6);
    expect(errorOf(() => parsePe(b)).field).toBe('NumberOfSections');
    b.writeUInt16LE(MAX_SECTIONS + 1, lfanew(b) + 6);
    const e = errorOf(() => parsePe(b));
    expect([e.field, e.offset]).toEqual(['NumberOfSections', lfanew(b) + 6]);
  });
  it('SizeOfOptionalHeader too small or pushing the table past the end', () => {
    const b = good();
    b.writeUInt16LE(8, lfanew(b) + 20);
    expect(errorOf(() => parsePe(b)).field).toBe('SizeOfOptionalHeader');
    b.writeUInt16LE(0xffff, lfanew(b) + 20);
    const small = b.subarray(0, 0x8000);
    expect(errorOf(() => parsePe(small)).reason).toMatch(/section table .* past end/);
  });
  it('bad optional header magic', () => {
    const b = good();
    b.writeUInt16LE(0x107, lfanew(b) + 24);
    const e = errorOf(() => parsePe(b));
    expect([e.field, e.offset]).toEqual(['OptionalHeader.Magic', lfanew(b) + 24]);
  });
  it('section content past the end of the file names the section and its entry', () => {
    const b = good();
    const pe = parsePe(b);
    const osrel = findSection(pe, '.osrel')!;
    const entry = sectionEntryOffset(b, osrel.index);
    b.writeUInt32LE(b.length - 4, entry + 20);
    const e = errorOf(() => parsePe(b));
    expect(e.field).toBe(`section[${osrel.index}](.osrel).PointerToRawData`);
    expect(e.offset).toBe(entry + 20);
    expect(e.message).toContain('runs past end of file');
  });
  it('an unresolvable long name is kept raw with a reason, not thrown', () => {
    const b = good();
    const entry = sectionEntryOffset(b, 0);
    b.write('/999999\0', entry, 'latin1');
    const s = parsePe(b).sections[0]!;
    expect(s.name).toBe('/999999');
    expect(s.nameError).toMatch(/no COFF symbol\/string table|past end/);
  });
});
