// Boot exactly the chosen loader: a Boot0000 load option whose device path is the loader's file on
// its GPT partition, and BootOrder = [0000], written into the VARS template before the VM starts
// (docs/vmm-platform.md §13.1). Layouts from the UEFI specification 2.10:
//
//   EFI_LOAD_OPTION (UEFI 2.10 §3.1.3): u32 Attributes (LOAD_OPTION_ACTIVE 1); u16
//     FilePathListLength; CHAR16 Description[] (NUL-terminated); device path; OptionalData
//     (passed to the loader as LoadOptions: here the UCS-2 command line, NUL-terminated).
//   Hard drive media path (UEFI 2.10 §10.3.5.1): type 4, subtype 1, length 42; u32 partition
//     number; u64 start LBA; u64 size in LBAs; 16-byte signature (the GPT partition GUID);
//     u8 partition format 2 (GPT); u8 signature type 2 (GUID). On an MBR disk: the 32-bit
//     disk signature (MBR bytes 440..443) in the signature's first 4 bytes, the rest zero,
//     format 1 (PC-AT MBR), signature type 1; the number is the primary slot + 1, as EDK2's
//     partition driver (MdeModulePkg/Universal/Disk/PartitionDxe/Mbr.c) numbers it.
//   File path media path (UEFI 2.10 §10.3.5.4): type 4, subtype 4; NUL-terminated UCS-2 path.
//   End of the device path: type 0x7F, subtype 0xFF, length 4.
//
// The path starts at HD(): a "short-form" device path, which OVMF expands by finding the
// partition with that GUID on any disk, so it does not matter in which slot the disk sits.
import * as fs from 'node:fs';
import { readPartitionTable } from '../discovery/partitions/detect';
import { FileSource } from '../discovery/io/source';
import {
  EFI_GLOBAL_VARIABLE,
  NV_BS_RT,
  VarStoreError,
  guidBytes,
  newVariable,
  parseVarStore,
  withVariables,
  writeVarStore,
  type UefiVariable,
} from './varstore';

export const LOAD_OPTION_ACTIVE = 0x1;

/** The partition that holds the loader, as a GPT entry describes it. */
export interface GptPartitionRef {
  /** 1-based entry number. */
  readonly number: number;
  readonly startLba: number;
  readonly sizeLba: number;
  /** The unique partition GUID (PARTUUID). */
  readonly partUuid: string;
}

/** A primary partition of an MBR disk. */
export interface MbrPartitionRef {
  /** Slot 1..4 in the MBR. */
  readonly number: number;
  readonly startLba: number;
  readonly sizeLba: number;
  /** The disk signature, MBR bytes 440..443 read as a little-endian u32. */
  readonly mbrSignature: number;
}

export type PartitionRef = GptPartitionRef | MbrPartitionRef;

const isMbr = (p: PartitionRef): p is MbrPartitionRef => 'mbrSignature' in p;

export interface BootEntrySpec {
  readonly partition: PartitionRef;
  /** Path on the partition, e.g. `\EFI\debian\shimx64.efi` (`/` is accepted and converted). */
  readonly loader: string;
  /** What the firmware's boot manager shows (default: "tendril: <loader>"). */
  readonly description?: string;
  /** The loader's command line (LoadOptions), e.g. a kernel's `initrd=... console=ttyS0`. */
  readonly args?: string;
}

const ucs2z = (s: string): Buffer => Buffer.from(s + '\0', 'utf16le');

function node(type: number, subtype: number, body: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + body.length);
  b[0] = type;
  b[1] = subtype;
  b.writeUInt16LE(b.length, 2);
  b.set(body, 4);
  return b;
}

export function hardDriveNode(p: PartitionRef): Buffer {
  if (!Number.isInteger(p.number) || p.number < 1) throw new VarStoreError(`partition number ${p.number} is invalid`);
  const body = Buffer.alloc(38);
  body.writeUInt32LE(p.number, 0);
  body.writeBigUInt64LE(BigInt(p.startLba), 4);
  body.writeBigUInt64LE(BigInt(p.sizeLba), 12);
  if (isMbr(p)) {
    if (p.number > 4) throw new VarStoreError(`MBR partition ${p.number} is not a primary partition`);
    body.writeUInt32LE(p.mbrSignature >>> 0, 20);
    body[36] = 0x01; // MBRType: PC-AT MBR
    body[37] = 0x01; // SignatureType: 32-bit MBR signature
  } else {
    body.set(guidBytes(p.partUuid), 20);
    body[36] = 0x02; // MBRType: GPT
    body[37] = 0x02; // SignatureType: GUID
  }
  return node(0x04, 0x01, body);
}

/** The loader path as UEFI writes it: backslashes, one leading backslash. */
export function efiPath(p: string): string {
  const s = p.replace(/\//g, '\\').replace(/\\{2,}/g, '\\');
  if (!s || s === '\\') throw new VarStoreError(`loader path '${p}' names no file`);
  return s.startsWith('\\') ? s : `\\${s}`;
}

export function filePathNode(p: string): Buffer {
  return node(0x04, 0x04, ucs2z(efiPath(p)));
}

export const END_NODE = Buffer.from([0x7f, 0xff, 0x04, 0x00]);

/** HD(...)/File(...)/End for the loader. */
export function loaderDevicePath(partition: PartitionRef, loader: string): Buffer {
  return Buffer.concat([hardDriveNode(partition), filePathNode(loader), END_NODE]);
}

export function loadOption(o: {
  readonly description: string;
  readonly devicePath: Uint8Array;
  readonly optionalData?: Uint8Array;
  readonly attributes?: number;
}): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32LE(o.attributes ?? LOAD_OPTION_ACTIVE, 0);
  head.writeUInt16LE(o.devicePath.length, 4);
  return Buffer.concat([head, ucs2z(o.description), o.devicePath, o.optionalData ?? Buffer.alloc(0)]);
}

/** A device path as UEFI prints it: `HD(1,GPT,<guid>,0x800,0x10000)/\EFI\x.efi` (MBR: `HD(1,MBR,0x7E57D15C,...)`). */
export function describeEntry(e: BootEntrySpec): string {
  const p = e.partition;
  const sig = isMbr(p) ? `MBR,${mbrSignatureText(p.mbrSignature)}` : `GPT,${p.partUuid.toUpperCase()}`;
  return `HD(${p.number},${sig},0x${p.startLba.toString(16)},0x${p.sizeLba.toString(16)})/${efiPath(e.loader)}`;
}

const mbrSignatureText = (n: number): string => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

/** Boot0000 (the loader) and BootOrder = [0x0000], both NV+BS+RT in EFI_GLOBAL_VARIABLE. */
export function bootVariables(e: BootEntrySpec): UefiVariable[] {
  const option = loadOption({
    description: e.description ?? `tendril: ${efiPath(e.loader)}`,
    devicePath: loaderDevicePath(e.partition, e.loader),
    ...(e.args !== undefined ? { optionalData: ucs2z(e.args) } : {}),
  });
  return [
    newVariable('Boot0000', EFI_GLOBAL_VARIABLE, NV_BS_RT, option),
    newVariable('BootOrder', EFI_GLOBAL_VARIABLE, NV_BS_RT, Uint8Array.of(0x00, 0x00)),
  ];
}

/**
 * The variable store to boot `e`: `template` (a VARS image) with Boot0000 and BootOrder set.
 * Boot#### options the template brings stay, outside BootOrder. Throws VarStoreError.
 */
export function bootVarStore(template: Uint8Array, e: BootEntrySpec): Uint8Array {
  const store = parseVarStore(template);
  return writeVarStore(template, withVariables(store.variables, bootVariables(e)));
}

/**
 * Partition `number` of `disk` as the hard drive node needs it: a GPT entry, or a primary MBR
 * partition. Throws with the disk and the reason otherwise (a logical MBR partition: EDK2 numbers
 * those by their place in the EBR chain, which tendril does not reproduce; no partition table).
 */
export function diskPartition(disk: string, number: number): PartitionRef {
  let src: FileSource;
  try {
    src = FileSource.open(disk);
  } catch (e) {
    throw new Error(`${disk}: ${(e as Error).message}`);
  }
  try {
    const { table, diagnostics } = readPartitionTable(src);
    const ss = table.sectorSize;
    const p = table.partitions.find((x) => x.number === number);
    if (table.scheme === 'gpt') {
      if (!p?.partUuid) throw new Error(`${disk}: no GPT partition ${number}`);
      return { number, startLba: p.start / ss, sizeLba: p.size / ss, partUuid: p.partUuid };
    }
    if (table.scheme === 'mbr') {
      if (!p) throw new Error(`${disk}: no MBR partition ${number}`);
      if (p.logical || number > 4)
        throw new Error(
          `${disk}: partition ${number} is a logical MBR partition; tendril can name only a GPT or a primary MBR partition in a boot variable`,
        );
      if (table.mbrSignature === undefined) throw new Error(`${disk}: the MBR has no disk signature`);
      return { number, startLba: p.start / ss, sizeLba: p.size / ss, mbrSignature: parseInt(table.mbrSignature, 16) };
    }
    const why = diagnostics.map((d) => d.message).join('; ');
    throw new Error(`${disk}: no partition table${why ? ` (${why})` : ''}; a boot entry needs a GPT or MBR partition`);
  } finally {
    src.close();
  }
}

/** `DISK:PART:PATH` as `--loader` takes it (DISK: 0-based index into --disk). */
export interface LoaderSpec {
  readonly disk: number;
  readonly partition: number;
  readonly path: string;
}

export function parseLoaderSpec(raw: string): LoaderSpec {
  const m = /^(\d+):(\d+):(.+)$/.exec(raw);
  if (!m) throw new Error(`'${raw}' is not DISK:PARTITION:PATH (e.g. 0:1:\\EFI\\debian\\shimx64.efi)`);
  return { disk: Number(m[1]), partition: Number(m[2]), path: efiPath(m[3]!) };
}

/** Reads the template, finds the partition on `diskPath` and returns the store to boot with. */
export function loaderVarStore(
  template: Uint8Array,
  diskPath: string,
  l: LoaderSpec,
  args?: string,
): {
  readonly vars: Uint8Array;
  readonly entry: BootEntrySpec;
} {
  if (!fs.existsSync(diskPath)) throw new Error(`${diskPath}: no such file or device`);
  const entry: BootEntrySpec = {
    partition: diskPartition(diskPath, l.partition),
    loader: l.path,
    ...(args !== undefined ? { args } : {}),
  };
  return { vars: bootVarStore(template, entry), entry };
}

export interface DevicePathNode {
  readonly type: number;
  readonly subtype: number;
  readonly data: Uint8Array;
}

export interface ParsedLoadOption {
  readonly attributes: number;
  readonly description: string;
  readonly devicePath: readonly DevicePathNode[];
  readonly optionalData: Uint8Array;
}

/** Decodes an EFI_LOAD_OPTION (Boot####); throws VarStoreError when it is malformed. */
export function parseLoadOption(b: Uint8Array): ParsedLoadOption {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length < 8) throw new VarStoreError('load option shorter than its header');
  const attributes = buf.readUInt32LE(0);
  const pathLen = buf.readUInt16LE(4);
  let o = 6;
  while (o + 1 < buf.length && buf.readUInt16LE(o) !== 0) o += 2;
  if (o + 1 >= buf.length) throw new VarStoreError('load option description is not NUL-terminated');
  const description = buf.toString('utf16le', 6, o);
  o += 2;
  if (o + pathLen > buf.length) throw new VarStoreError('load option device path runs past its end');
  const nodes: DevicePathNode[] = [];
  let p = o;
  for (;;) {
    if (p + 4 > o + pathLen) throw new VarStoreError('device path has no end node');
    const len = buf.readUInt16LE(p + 2);
    if (len < 4 || p + len > o + pathLen) throw new VarStoreError(`device path node at ${p - o} has length ${len}`);
    const n = { type: buf[p]!, subtype: buf[p + 1]!, data: Uint8Array.from(buf.subarray(p + 4, p + len)) };
    p += len;
    if (n.type === 0x7f && n.subtype === 0xff) break;
    nodes.push(n);
  }
  return { attributes, description, devicePath: nodes, optionalData: Uint8Array.from(buf.subarray(o + pathLen)) };
}

/** Text for the nodes tendril writes (HD, File); others as the spec's generic `Path(type,subtype,hex)`. */
export function devicePathText(nodes: readonly DevicePathNode[]): string {
  return nodes
    .map((n) => {
      const d = Buffer.from(n.data);
      if (n.type === 4 && n.subtype === 1 && d.length === 38 && d[36] === 2 && d[37] === 2) {
        const g = guidFromBytes(d.subarray(20, 36));
        return `HD(${d.readUInt32LE(0)},GPT,${g.toUpperCase()},0x${d.readBigUInt64LE(4).toString(16)},0x${d.readBigUInt64LE(12).toString(16)})`;
      }
      if (n.type === 4 && n.subtype === 1 && d.length === 38 && d[36] === 1 && d[37] === 1)
        return `HD(${d.readUInt32LE(0)},MBR,${mbrSignatureText(d.readUInt32LE(20))},0x${d.readBigUInt64LE(4).toString(16)},0x${d.readBigUInt64LE(12).toString(16)})`;
      if (n.type === 4 && n.subtype === 4) return d.toString('utf16le').replace(/\0+$/, '');
      return `Path(${n.type},${n.subtype},${d.toString('hex')})`;
    })
    .join('/');
}

function guidFromBytes(b: Uint8Array): string {
  const h = (i: number) => b[i]!.toString(16).padStart(2, '0');
  const r = (...i: number[]) => i.map(h).join('');
  return `${r(3, 2, 1, 0)}-${r(5, 4)}-${r(7, 6)}-${r(8, 9)}-${r(10, 11, 12, 13, 14, 15)}`;
}
