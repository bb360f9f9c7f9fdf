// OVMF's variable store, read and written offline (docs/vmm-platform.md §11): the firmware
// volume that OVMF_VARS*.fd holds (EFI_FIRMWARE_VOLUME_HEADER, PI specification volume 3), the
// VARIABLE_STORE_HEADER after it and the variable records, as EDK2 lays them out
// (MdeModulePkg/Include/Guid/VariableFormat.h at edk2-stable202211):
//
//   VARIABLE_STORE_HEADER  {GUID Signature; u32 Size; u8 Format 0x5A; u8 State 0xFE; u16; u32}
//   AUTHENTICATED_VARIABLE_HEADER {u16 StartId 0x55AA; u8 State; u8; u32 Attributes;
//     u64 MonotonicCount; EFI_TIME TimeStamp; u32 PubKeyIndex; u32 NameSize; u32 DataSize;
//     GUID VendorGuid} then the UCS-2 name (NUL-terminated), the data, padding to 4 bytes.
//   (A store signed with EFI_VARIABLE_GUID uses VARIABLE_HEADER: no count, time or key index.)
//
// A record is live when its State is VAR_ADDED (0x3F), or VAR_ADDED with the in-deleted-
// transition bit cleared (0x3E) and no VAR_ADDED copy of it exists. Writing keeps the FV header,
// the store header and everything after the store (event log, fault-tolerant-write blocks) and
// lays the live variables out again, compacted, erased bytes (0xFF) after them.
import { guidAt } from '../discovery/partitions/guids';

export const EFI_GLOBAL_VARIABLE = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
export const EFI_IMAGE_SECURITY_DATABASE = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
const AUTH_STORE_SIGNATURE = 'aaf32c78-947b-439a-a180-2e144ec37792';
const STORE_SIGNATURE = 'ddcf3616-3275-4164-98b6-fe85707ffe7d';
const NV_DATA_FV = 'fff12b8d-7696-4c8b-a985-2747075b4f50';

export const EFI_VARIABLE_NON_VOLATILE = 0x01;
export const EFI_VARIABLE_BOOTSERVICE_ACCESS = 0x02;
export const EFI_VARIABLE_RUNTIME_ACCESS = 0x04;
export const EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS = 0x20;
export const NV_BS_RT = EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS;

const START_ID = 0x55aa;
const VAR_ADDED = 0x3f;
const VAR_IN_DELETED_TRANSITION = 0xfe;
const STORE_FORMATTED = 0x5a;
const STORE_HEALTHY = 0xfe;
const STORE_HEADER_SIZE = 28;
const AUTH_HEADER_SIZE = 60;
const PLAIN_HEADER_SIZE = 32;
/** A name longer than this is corrupt, not a variable (EDK2's own limit is far below). */
const MAX_NAME_BYTES = 1024;

/** EFI_TIME (UEFI 2.10 §8.3): 16 bytes. */
export interface EfiTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly nanosecond: number;
  readonly timeZone: number;
  readonly daylight: number;
}

export const ZERO_TIME: EfiTime = {
  year: 0,
  month: 0,
  day: 0,
  hour: 0,
  minute: 0,
  second: 0,
  nanosecond: 0,
  timeZone: 0,
  daylight: 0,
};

export interface UefiVariable {
  readonly name: string;
  /** Vendor GUID, lower-case dashed. */
  readonly guid: string;
  readonly attributes: number;
  readonly data: Uint8Array;
  /** Authenticated stores only (0 / ZERO_TIME / 0 for ordinary variables). */
  readonly monotonicCount: bigint;
  readonly timestamp: EfiTime;
  readonly pubKeyIndex: number;
}

export interface VarStore {
  readonly authenticated: boolean;
  /** Offset of VARIABLE_STORE_HEADER in the image (the FV header's HeaderLength). */
  readonly storeOffset: number;
  /** The store header's Size: header plus variable area. */
  readonly storeSize: number;
  /** Live variables, in the order they appear. */
  readonly variables: readonly UefiVariable[];
  /** Bytes the live variables would take, written compactly (for "does it fit"). */
  readonly usedBytes: number;
}

export class VarStoreError extends Error {
  override readonly name = 'VarStoreError';
}

export const varKey = (v: { readonly guid: string; readonly name: string }): string => `${v.guid}:${v.name}`;

export function newVariable(
  name: string,
  guid: string,
  attributes: number,
  data: Uint8Array,
  auth: { monotonicCount?: bigint; timestamp?: EfiTime; pubKeyIndex?: number } = {},
): UefiVariable {
  return {
    name,
    guid: guid.toLowerCase(),
    attributes,
    data,
    monotonicCount: auth.monotonicCount ?? 0n,
    timestamp: auth.timestamp ?? ZERO_TIME,
    pubKeyIndex: auth.pubKeyIndex ?? 0,
  };
}

/** The mixed-endian byte form of a dashed GUID (UEFI 2.10 appendix A). */
export function guidBytes(guid: string): Uint8Array {
  const h = guid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new VarStoreError(`'${guid}' is not a GUID`);
  const b = Buffer.from(h, 'hex');
  return Uint8Array.of(b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8));
}

function readTime(v: DataView, o: number): EfiTime {
  return {
    year: v.getUint16(o, true),
    month: v.getUint8(o + 2),
    day: v.getUint8(o + 3),
    hour: v.getUint8(o + 4),
    minute: v.getUint8(o + 5),
    second: v.getUint8(o + 6),
    nanosecond: v.getUint32(o + 8, true),
    timeZone: v.getInt16(o + 12, true),
    daylight: v.getUint8(o + 14),
  };
}

function writeTime(v: DataView, o: number, t: EfiTime): void {
  v.setUint16(o, t.year, true);
  v.setUint8(o + 2, t.month);
  v.setUint8(o + 3, t.day);
  v.setUint8(o + 4, t.hour);
  v.setUint8(o + 5, t.minute);
  v.setUint8(o + 6, t.second);
  v.setUint8(o + 7, 0);
  v.setUint32(o + 8, t.nanosecond, true);
  v.setInt16(o + 12, t.timeZone, true);
  v.setUint8(o + 14, t.daylight);
  v.setUint8(o + 15, 0);
}

const align4 = (n: number): number => (n + 3) & ~3;

function decodeName(b: Uint8Array): string | null {
  if (b.length < 2 || b.length % 2 || b[b.length - 1] !== 0 || b[b.length - 2] !== 0) return null;
  const s = Buffer.from(b.subarray(0, b.length - 2)).toString('utf16le');
  return s.includes('\0') ? null : s;
}

function encodeName(name: string): Uint8Array {
  return Buffer.from(name + '\0', 'utf16le');
}

/** The FV and store headers: where the variables are and which record format they use. */
function storeHeader(img: Uint8Array): { authenticated: boolean; storeOffset: number; storeSize: number } {
  const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
  if (img.length < 0x48 + STORE_HEADER_SIZE)
    throw new VarStoreError(`${img.length} bytes is too small for a variable store`);
  if (Buffer.from(img.subarray(0x28, 0x2c)).toString('latin1') !== '_FVH')
    throw new VarStoreError('no firmware volume header (_FVH at 0x28)');
  if (guidAt(img, 0x10) !== NV_DATA_FV) throw new VarStoreError('the firmware volume is not EFI_SYSTEM_NV_DATA_FV');
  const storeOffset = v.getUint16(0x30, true);
  if (storeOffset < 0x38 || storeOffset + STORE_HEADER_SIZE > img.length)
    throw new VarStoreError(`firmware volume header length 0x${storeOffset.toString(16)} is out of range`);
  const sig = guidAt(img, storeOffset);
  const authenticated = sig === AUTH_STORE_SIGNATURE;
  if (!authenticated && sig !== STORE_SIGNATURE) throw new VarStoreError(`unknown variable store signature ${sig}`);
  const storeSize = v.getUint32(storeOffset + 16, true);
  if (storeSize < STORE_HEADER_SIZE || storeOffset + storeSize > img.length)
    throw new VarStoreError(`variable store size 0x${storeSize.toString(16)} does not fit the image`);
  if (img[storeOffset + 20] !== STORE_FORMATTED || img[storeOffset + 21] !== STORE_HEALTHY)
    throw new VarStoreError('variable store is not formatted and healthy (format 0x5A, state 0xFE)');
  return { authenticated, storeOffset, storeSize };
}

interface RawRecord {
  readonly v: UefiVariable;
  readonly state: number;
}

/** Parses a VARS image (OVMF_VARS*.fd, or the VARS bank after a run). Throws VarStoreError. */
export function parseVarStore(img: Uint8Array): VarStore {
  const h = storeHeader(img);
  const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const end = h.storeOffset + h.storeSize;
  const hdrSize = h.authenticated ? AUTH_HEADER_SIZE : PLAIN_HEADER_SIZE;
  const records: RawRecord[] = [];
  let o = align4(h.storeOffset + STORE_HEADER_SIZE);
  while (o + hdrSize <= end && v.getUint16(o, true) === START_ID) {
    const state = v.getUint8(o + 2);
    const attributes = v.getUint32(o + 4, true);
    const nameSize = v.getUint32(o + hdrSize - 24, true);
    const dataSize = v.getUint32(o + hdrSize - 20, true);
    const guid = guidAt(img, o + hdrSize - 16);
    const nameAt = o + hdrSize;
    if (nameSize > MAX_NAME_BYTES || nameAt + nameSize + dataSize > end)
      throw new VarStoreError(`variable record at 0x${o.toString(16)}: name or data runs past the store`);
    const name = decodeName(img.subarray(nameAt, nameAt + nameSize));
    if (name === null && state === VAR_ADDED)
      throw new VarStoreError(`variable record at 0x${o.toString(16)}: the name is not NUL-terminated UCS-2`);
    if (name !== null) {
      const data = Uint8Array.from(img.subarray(nameAt + nameSize, nameAt + nameSize + dataSize));
      const auth = h.authenticated
        ? {
            monotonicCount: v.getBigUint64(o + 8, true),
            timestamp: readTime(v, o + 16),
            pubKeyIndex: v.getUint32(o + 32, true),
          }
        : {};
      records.push({ state, v: newVariable(name, guid, attributes, data, auth) });
    }
    o = align4(nameAt + nameSize + dataSize);
  }
  const added = new Set(records.filter((r) => r.state === VAR_ADDED).map((r) => varKey(r.v)));
  const inTransition = VAR_ADDED & VAR_IN_DELETED_TRANSITION;
  const variables = records
    .filter((r) => r.state === VAR_ADDED || (r.state === inTransition && !added.has(varKey(r.v))))
    .map((r) => r.v);
  return { ...h, variables, usedBytes: recordsSize(variables, hdrSize) };
}

function recordsSize(vars: readonly UefiVariable[], hdrSize: number): number {
  return vars.reduce((n, x) => n + align4(hdrSize + encodeName(x.name).length + x.data.length), 0);
}

/**
 * A copy of `img` whose store holds exactly `variables` (live, compacted, in the given order).
 * Throws VarStoreError when they do not fit, or when an authenticated store is asked to hold a
 * plain one's fields (never: plain stores ignore them).
 */
export function writeVarStore(img: Uint8Array, variables: readonly UefiVariable[]): Uint8Array {
  const h = storeHeader(img);
  const out = Uint8Array.from(img);
  const v = new DataView(out.buffer);
  const hdrSize = h.authenticated ? AUTH_HEADER_SIZE : PLAIN_HEADER_SIZE;
  const start = align4(h.storeOffset + STORE_HEADER_SIZE);
  const end = h.storeOffset + h.storeSize;
  const seen = new Set<string>();
  for (const x of variables) {
    if (seen.has(varKey(x))) throw new VarStoreError(`variable ${x.name} (${x.guid}) given twice`);
    seen.add(varKey(x));
  }
  const need = recordsSize(variables, hdrSize);
  if (start + need > end) throw new VarStoreError(`the variables need ${need} bytes; the store holds ${end - start}`);
  out.fill(0xff, start, end);
  let o = start;
  for (const x of variables) {
    const name = encodeName(x.name);
    out.fill(0, o, o + hdrSize);
    v.setUint16(o, START_ID, true);
    v.setUint8(o + 2, VAR_ADDED);
    v.setUint32(o + 4, x.attributes >>> 0, true);
    if (h.authenticated) {
      v.setBigUint64(o + 8, x.monotonicCount, true);
      writeTime(v, o + 16, x.timestamp);
      v.setUint32(o + 32, x.pubKeyIndex >>> 0, true);
    }
    v.setUint32(o + hdrSize - 24, name.length, true);
    v.setUint32(o + hdrSize - 20, x.data.length, true);
    out.set(guidBytes(x.guid), o + hdrSize - 16);
    out.set(name, o + hdrSize);
    out.set(x.data, o + hdrSize + name.length);
    o = align4(o + hdrSize + name.length + x.data.length);
  }
  return out;
}

/** `vars` with `set` put in place of a variable of the same name and GUID (or appended). */
export function withVariables(vars: readonly UefiVariable[], set: readonly UefiVariable[]): UefiVariable[] {
  const keys = new Set(set.map(varKey));
  return [...vars.filter((x) => !keys.has(varKey(x))), ...set];
}

export interface VarChange {
  readonly kind: 'added' | 'changed' | 'deleted';
  readonly name: string;
  readonly guid: string;
}

/** What the guest did to the store: variables added, changed (attributes or data), deleted. */
export function diffVariables(before: readonly UefiVariable[], after: readonly UefiVariable[]): VarChange[] {
  const a = new Map(before.map((x) => [varKey(x), x]));
  const b = new Map(after.map((x) => [varKey(x), x]));
  const out: VarChange[] = [];
  for (const [k, x] of b) {
    const old = a.get(k);
    if (!old) out.push({ kind: 'added', name: x.name, guid: x.guid });
    else if (old.attributes !== x.attributes || !Buffer.from(old.data).equals(Buffer.from(x.data)))
      out.push({ kind: 'changed', name: x.name, guid: x.guid });
  }
  for (const [k, x] of a) if (!b.has(k)) out.push({ kind: 'deleted', name: x.name, guid: x.guid });
  return out;
}
