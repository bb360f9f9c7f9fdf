// Boot0000/BootOrder generation (src/vm/boot-entry.ts): the EFI_LOAD_OPTION and device path
// bytes against the UEFI 2.10 layouts written out by hand; the encoder against the load options
// OVMF itself wrote into Debian's template; the partition lookup against sgdisk's own report.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ovmfSplit } from '../../../initramfs/host';
import {
  END_NODE,
  bootVarStore,
  describeEntry,
  devicePathText,
  diskPartition,
  efiPath,
  hardDriveNode,
  loadOption,
  parseLoadOption,
  parseLoaderSpec,
  type GptPartitionRef,
} from '../../../src/vm/boot-entry';
import { EFI_GLOBAL_VARIABLE, NV_BS_RT, parseVarStore } from '../../../src/vm/varstore';
import { buildGptDisk, buildMbrDisk } from '../../fixtures/images';

const PART: GptPartitionRef = {
  number: 1,
  startLba: 2048,
  sizeLba: 0x1_0000,
  partUuid: '0b9b7a6e-3f33-4a5b-9c1d-2e8f7a6b5c4d',
};

const hex = (s: string) => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
const ucs2 = (s: string) => Buffer.from(s, 'utf16le').toString('hex');

describe('EFI_LOAD_OPTION', () => {
  it('matches the UEFI 2.10 layout byte for byte: header, description, HD(), File(), End, OptionalData', () => {
    const bytes = bootVarStore(fs.readFileSync(ovmfSplit().vars), {
      partition: PART,
      loader: '/EFI/tendril/x.efi',
      description: 'T',
      args: 'a',
    });
    const boot0000 = parseVarStore(bytes).variables.find((v) => v.name === 'Boot0000')!;
    const want = hex(`
      01000000                          # Attributes: LOAD_OPTION_ACTIVE
      5800                              # FilePathListLength: 42 + 42 + 4
      54000000                          # Description "T" + NUL (UCS-2)
      04 01 2a00                        # Media / Hard Drive, length 42
      01000000                          #   PartitionNumber 1
      0008000000000000                  #   PartitionStart 2048
      0000010000000000                  #   PartitionSize 0x10000
      6e7a9b0b 333f 5b4a 9c1d 2e8f7a6b5c4d  # PartitionSignature (GUID, mixed-endian)
      02 02                             #   MBRType GPT, SignatureType GUID
      04 04 2a00                        # Media / File Path, length 4 + 38
      ${ucs2('\\EFI\\tendril\\x.efi')} 0000
      7f ff 0400                        # End of entire device path
      6100 0000                         # OptionalData: "a" + NUL (UCS-2)
    `);
    expect(Buffer.from(boot0000.data).toString('hex')).toBe(want.toString('hex'));
    expect(boot0000.attributes).toBe(NV_BS_RT);
    expect(boot0000.guid).toBe(EFI_GLOBAL_VARIABLE);
    const order = parseVarStore(bytes).variables.find((v) => v.name === 'BootOrder')!;
    expect([...order.data]).toEqual([0, 0]);
    expect(describeEntry({ partition: PART, loader: 'EFI/tendril/x.efi' })).toBe(
      'HD(1,GPT,0B9B7A6E-3F33-4A5B-9C1D-2E8F7A6B5C4D,0x800,0x10000)/\\EFI\\tendril\\x.efi',
    );
    const parsed = parseLoadOption(boot0000.data);
    expect(devicePathText(parsed.devicePath)).toBe(describeEntry({ partition: PART, loader: 'EFI/tendril/x.efi' }));
    expect(parsed).toMatchObject({ attributes: 1, description: 'T' });
    expect(Buffer.from(parsed.optionalData).toString('utf16le')).toBe('a\0');
  });

  it("re-encodes the load options OVMF wrote into Debian's template byte for byte", () => {
    const vars = parseVarStore(fs.readFileSync(ovmfSplit().varsMs)).variables.filter((v) =>
      /^Boot[0-9A-F]{4}$/.test(v.name),
    );
    expect(vars.length).toBeGreaterThanOrEqual(3);
    for (const v of vars) {
      const o = parseLoadOption(v.data);
      const path = Buffer.concat([
        ...o.devicePath.map((n) => {
          const b = Buffer.alloc(4 + n.data.length);
          b[0] = n.type;
          b[1] = n.subtype;
          b.writeUInt16LE(b.length, 2);
          b.set(n.data, 4);
          return b;
        }),
        END_NODE,
      ]);
      const again = loadOption({
        attributes: o.attributes,
        description: o.description,
        devicePath: path,
        optionalData: o.optionalData,
      });
      expect(again.toString('hex'), `${v.name} "${o.description}"`).toBe(Buffer.from(v.data).toString('hex'));
    }
    expect(vars.map((v) => parseLoadOption(v.data).description)).toContain('EFI Internal Shell');
  });

  it('keeps the template and its other variables, replaces Boot0000 and BootOrder', () => {
    const t = fs.readFileSync(ovmfSplit().varsSnakeoil);
    const before = parseVarStore(t).variables;
    const after = parseVarStore(bootVarStore(t, { partition: PART, loader: '\\x.efi' })).variables;
    const names = (vs: typeof before) => vs.map((v) => v.name).filter((n) => n !== 'Boot0000' && n !== 'BootOrder');
    expect(names(after)).toEqual(names(before));
    expect(after.find((v) => v.name === 'PK')).toEqual(before.find((v) => v.name === 'PK'));
    expect(parseLoadOption(after.find((v) => v.name === 'Boot0000')!.data).description).toBe('tendril: \\x.efi');
  });

  it('normalises loader paths and parses --loader DISK:PARTITION:PATH', () => {
    expect(efiPath('EFI/debian/shimx64.efi')).toBe('\\EFI\\debian\\shimx64.efi');
    expect(efiPath('\\\\EFI\\\\x.efi')).toBe('\\EFI\\x.efi');
    expect(() => efiPath('/')).toThrow(/names no file/);
    expect(parseLoaderSpec('1:2:/EFI/BOOT/BOOTX64.EFI')).toEqual({
      disk: 1,
      partition: 2,
      path: '\\EFI\\BOOT\\BOOTX64.EFI',
    });
    expect(() => parseLoaderSpec('x.efi')).toThrow(/DISK:PARTITION:PATH/);
  });
});

describe('diskPartition on GPT', () => {
  it('reads number, start, size and PARTUUID as sgdisk reports them, read-only', () => {
    const img = buildGptDisk([
      { type: 'linux', sizeMiB: 4, partUuid: '11111111-2222-4333-8444-555555555555' },
      { type: 'esp', sizeMiB: 8, partUuid: '6e7a9b0b-3f33-4a5b-9c1d-2e8f7a6b5c4d' },
    ]);
    const before = fs.readFileSync(img);
    const p = diskPartition(img, 2);
    if (!('partUuid' in p)) throw new Error('not a GPT partition');
    const info = execFileSync('sgdisk', ['-i', '2', img], { encoding: 'utf8' });
    expect(p.partUuid.toUpperCase()).toBe(/Partition unique GUID: (\S+)/.exec(info)?.[1]);
    expect(p.startLba).toBe(Number(/First sector: (\d+)/.exec(info)?.[1]));
    expect(p.sizeLba).toBe(Number(/Partition size: (\d+) sectors/.exec(info)?.[1]));
    expect(p.number).toBe(2);
    expect(() => diskPartition(img, 3)).toThrow(/no GPT partition 3/);
    expect(fs.readFileSync(img).equals(before)).toBe(true);
  });

  it('refuses a disk without a partition table', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-be-')), 'blank.img');
    fs.writeFileSync(f, Buffer.alloc(1 << 20));
    expect(() => diskPartition(f, 1)).toThrow(/no partition table/);
  });
});

describe('MBR partitions in the hard drive node', () => {
  it('a primary partition: signature type 1 with the disk signature, format 1; text round-trips', () => {
    const img = buildMbrDisk([
      { type: 'linux', sizeMiB: 2 },
      { type: 'esp', sizeMiB: 8 },
    ]);
    const p = diskPartition(img, 2);
    expect(p).toEqual({ number: 2, startLba: 2048 + 4096, sizeLba: 8 * 2048, mbrSignature: 0x7e57d15c });
    const node = hardDriveNode(p);
    expect(node.subarray(0, 4)).toEqual(Buffer.from([4, 1, 42, 0]));
    expect(node.readUInt32LE(4 + 20)).toBe(0x7e57d15c);
    expect(node.subarray(4 + 24, 4 + 36)).toEqual(Buffer.alloc(12));
    expect([node[4 + 36], node[4 + 37]]).toEqual([1, 1]);
    const text = describeEntry({ partition: p, loader: '/EFI/BOOT/BOOTX64.EFI' });
    expect(text).toBe('HD(2,MBR,0x7E57D15C,0x1800,0x4000)/\\EFI\\BOOT\\BOOTX64.EFI');
    const store = parseVarStore(
      bootVarStore(fs.readFileSync(ovmfSplit().vars), { partition: p, loader: '/EFI/BOOT/BOOTX64.EFI' }),
    );
    const boot = store.variables.find((v) => v.name === 'Boot0000')!;
    expect(devicePathText(parseLoadOption(boot.data).devicePath)).toBe(text);
  });

  it('a logical partition or no table: refused with the disk and the reason', () => {
    const img = buildMbrDisk([{ type: 'linux', sizeMiB: 2 }], [{ type: 'esp', sizeMiB: 4 }]);
    expect(() => diskPartition(img, 5)).toThrow(`${img}: partition 5 is a logical MBR partition`);
    expect(() => diskPartition(img, 3)).toThrow(`${img}: no MBR partition 3`);
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-be-')), 'blank.img');
    fs.writeFileSync(f, Buffer.alloc(1 << 20));
    expect(() => diskPartition(f, 1)).toThrow(/: no partition table.*a boot entry needs a GPT or MBR partition/);
  });
});
