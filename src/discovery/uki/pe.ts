// PE/COFF header parser for UKIs and add-ons (docs/bls.md §10.1). Reads only the DOS header, the
// COFF/optional headers and the section table (a few KiB at most); section contents are
// described as byte ranges so a 100 MiB .linux is never read just to list an entry.
//
// One parser core (a generator that yields read requests) serves two drivers: a synchronous
// one over a ByteSource/Uint8Array and an asynchronous one over a FileSystem FileHandle.
// Every malformation is a PeError naming the field and its file offset; bounds are checked
// before each read, so no RangeError or huge allocation can come out of hostile input.

import { u16le, u32le, u8 } from '../../util/bytes';
import { type ByteSource, readExact } from '../io/source';
import { type FileHandle, FsError } from '../fs/types';

export const PE_MACHINE = {
  ia32: 0x014c,
  x64: 0x8664,
  arm: 0x01c2,
  aa64: 0xaa64,
  riscv64: 0x5064,
  loongarch64: 0x6264,
} as const;

export const PE32_MAGIC = 0x10b;
export const PE32PLUS_MAGIC = 0x20b;
export const SUBSYSTEM_EFI_APPLICATION = 10;

/** Windows' loader limit; also bounds the section table read to 3840 bytes. */
export const MAX_SECTIONS = 96;
/** Longest '/<offset>' string-table name we read. */
const MAX_LONG_NAME = 256;
const DOS_HEADER_SIZE = 64;
const COFF_HEADER_SIZE = 24; // 'PE\0\0' + 20-byte COFF header
/** Bytes of the optional header we need (magic @0 .. Subsystem @68, +2). */
const OPT_NEEDED = 70;
/** Bytes up to the end of the resource data directory entry (PE32+: 112 + 2*8 + 8). */
const OPT_WANTED = 136;
const SECTION_ENTRY_SIZE = 40;

export class PeError extends Error {
  constructor(
    /** File or source name. */
    readonly file: string,
    /** The header field at fault: 'e_lfanew', 'NumberOfSections', 'section[3].PointerToRawData'. */
    readonly field: string,
    /** File offset of that field. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${file}: PE ${field} at 0x${offset.toString(16)}: ${reason}`);
    this.name = 'PeError';
  }
}

export interface PeSection {
  /** Position in the section table (0-based). */
  readonly index: number;
  /** Name as matched: the 8-byte field up to its first NUL, or the resolved long name. */
  readonly name: string;
  /** The raw 8-byte field up to its first NUL ('/4' for a long name). */
  readonly rawName: string;
  /** Why a '/<offset>' long name could not be resolved; `name` is then `rawName`. */
  readonly nameError?: string;
  readonly virtualSize: number;
  readonly virtualAddress: number;
  readonly sizeOfRawData: number;
  readonly pointerToRawData: number;
  readonly characteristics: number;
  /** Content range in the file: [offset, offset + length), length = min(VirtualSize, SizeOfRawData). */
  readonly offset: number;
  readonly length: number;
}

export interface PeImage {
  readonly file: string;
  /** File size in bytes. */
  readonly size: number;
  readonly format: 'PE32' | 'PE32+';
  readonly machine: number;
  readonly subsystem: number;
  readonly sections: readonly PeSection[];
  /** Data directory 2 (resources), when the optional header has it and it is not empty. */
  readonly resourceDirectory?: { readonly rva: number; readonly size: number };
}

interface ReadReq {
  readonly pos: number;
  readonly len: number;
}

/** The parser core: yields read requests that are already bounds-checked against `size`. */
function* parser(size: number, file: string): Generator<ReadReq, PeImage, Uint8Array> {
  const fail = (field: string, offset: number, reason: string): never => {
    throw new PeError(file, field, offset, reason);
  };
  if (!Number.isSafeInteger(size) || size < 0) fail('size', 0, `bad file size ${size}`);
  if (size < DOS_HEADER_SIZE) fail('e_magic', 0, `file too small for a DOS header (${size} < 64 bytes)`);
  const dos = yield { pos: 0, len: DOS_HEADER_SIZE };
  if (dos[0] !== 0x4d || dos[1] !== 0x5a) fail('e_magic', 0, `not 'MZ' (${hex2(u8(dos, 0))} ${hex2(u8(dos, 1))})`);
  const lfanew = u32le(dos, 0x3c);
  if (lfanew < DOS_HEADER_SIZE) fail('e_lfanew', 0x3c, `${lfanew} points inside the DOS header`);
  if (lfanew + COFF_HEADER_SIZE + OPT_NEEDED > size) {
    fail('e_lfanew', 0x3c, `PE header at ${lfanew} runs past end of file (size ${size})`);
  }

  const coff = yield { pos: lfanew, len: COFF_HEADER_SIZE };
  if (coff[0] !== 0x50 || coff[1] !== 0x45 || coff[2] !== 0 || coff[3] !== 0) {
    fail('Signature', lfanew, "not 'PE\\0\\0'");
  }
  const machine = u16le(coff, 4);
  const nSections = u16le(coff, 6);
  const symTab = u32le(coff, 12);
  const nSymbols = u32le(coff, 16);
  const optSize = u16le(coff, 20);
  if (nSections === 0) fail('NumberOfSections', lfanew + 6, 'no sections');
  if (nSections > MAX_SECTIONS) fail('NumberOfSections', lfanew + 6, `${nSections} > limit ${MAX_SECTIONS}`);
  if (optSize < OPT_NEEDED) {
    fail('SizeOfOptionalHeader', lfanew + 20, `${optSize} is too small to hold Subsystem (need >= ${OPT_NEEDED})`);
  }
  const optPos = lfanew + COFF_HEADER_SIZE;
  const tablePos = optPos + optSize;
  const tableLen = nSections * SECTION_ENTRY_SIZE;
  if (tablePos + tableLen > size) {
    fail(
      'SizeOfOptionalHeader',
      lfanew + 20,
      `section table ${tablePos}+${tableLen} runs past end of file (size ${size})`,
    );
  }

  const opt = yield { pos: optPos, len: Math.min(optSize, OPT_WANTED) };
  const magic = u16le(opt, 0);
  if (magic !== PE32_MAGIC && magic !== PE32PLUS_MAGIC) {
    fail('OptionalHeader.Magic', optPos, `0x${magic.toString(16)} is neither PE32 (0x10b) nor PE32+ (0x20b)`);
  }
  const subsystem = u16le(opt, 68);
  // NumberOfRvaAndSizes and the data directories follow the fields above; PE32+ has 16 more bytes of them.
  const dirsAt = magic === PE32_MAGIC ? 96 : 112;
  let resourceDirectory: { rva: number; size: number } | undefined;
  if (opt.length >= dirsAt + 24 && u32le(opt, dirsAt - 4) > 2) {
    const rva = u32le(opt, dirsAt + 16);
    const len = u32le(opt, dirsAt + 20);
    if (rva !== 0 && len !== 0) resourceDirectory = { rva, size: len };
  }

  const table = yield { pos: tablePos, len: tableLen };
  const sections: PeSection[] = [];
  for (let i = 0; i < nSections; i++) {
    const e = i * SECTION_ENTRY_SIZE;
    const entryPos = tablePos + e;
    const rawName = latin1(table.subarray(e, e + 8));
    const virtualSize = u32le(table, e + 8);
    const virtualAddress = u32le(table, e + 12);
    const sizeOfRawData = u32le(table, e + 16);
    const pointerToRawData = u32le(table, e + 20);
    const characteristics = u32le(table, e + 36);
    const length = Math.min(virtualSize, sizeOfRawData);
    if (length > 0 && pointerToRawData + length > size) {
      fail(
        `section[${i}](${rawName}).PointerToRawData`,
        entryPos + 20,
        `content ${pointerToRawData}+${length} runs past end of file (size ${size})`,
      );
    }
    let name = rawName;
    let nameError: string | undefined;
    if (/^\/[0-9]+$/.test(rawName)) {
      // COFF long name: '/<decimal offset>' into the string table after the symbol table.
      const strTab = symTab + nSymbols * 18;
      const at = strTab + Number(rawName.slice(1));
      if (symTab === 0) nameError = 'long section name but no COFF symbol/string table';
      else if (at >= size) nameError = `long section name offset ${at} past end of file`;
      else {
        const bytes = yield { pos: at, len: Math.min(MAX_LONG_NAME, size - at) };
        const nul = bytes.indexOf(0);
        if (nul < 0) nameError = `long section name at ${at} is not NUL-terminated within ${MAX_LONG_NAME} bytes`;
        else name = latin1(bytes.subarray(0, nul));
      }
    }
    sections.push({
      index: i,
      name,
      rawName,
      ...(nameError !== undefined ? { nameError } : {}),
      virtualSize,
      virtualAddress,
      sizeOfRawData,
      pointerToRawData,
      characteristics,
      offset: length > 0 ? pointerToRawData : 0,
      length,
    });
  }
  return {
    file,
    size,
    format: magic === PE32_MAGIC ? 'PE32' : 'PE32+',
    machine,
    subsystem,
    sections,
    ...(resourceDirectory ? { resourceDirectory } : {}),
  };
}

/** Parse from an in-memory image or a synchronous ByteSource. Throws PeError (or IoError from the source). */
export function parsePe(src: ByteSource | Uint8Array, file?: string): PeImage {
  const name = file ?? (src instanceof Uint8Array ? 'buffer' : src.name);
  const size = src instanceof Uint8Array ? src.length : src.size;
  const gen = parser(size, name);
  let step = advance(gen, name);
  while (!step.done) {
    const req = step.value;
    const bytes =
      src instanceof Uint8Array ? src.subarray(req.pos, req.pos + req.len) : readExact(src, req.pos, req.len);
    step = advance(gen, name, req, bytes);
  }
  return step.value;
}

/** Parse from an open file of a FileSystem. Throws PeError or FsError. */
export async function parsePeHandle(h: FileHandle, file: string): Promise<PeImage> {
  const gen = parser(h.size, file);
  let step = advance(gen, file);
  while (!step.done) {
    const req = step.value;
    step = advance(gen, file, req, await readHandleExact(h, req.pos, req.len, file));
  }
  return step.value;
}

/**
 * One parser step. The byte reads throw RangeError past the end of a buffer; the checks above
 * them make that unreachable, but should one be missed it is still a PeError naming the file.
 */
function advance(
  gen: Generator<ReadReq, PeImage, Uint8Array>,
  file: string,
  req?: ReadReq,
  bytes?: Uint8Array,
): IteratorResult<ReadReq, PeImage> {
  try {
    return bytes === undefined ? gen.next() : gen.next(bytes);
  } catch (e) {
    if (e instanceof RangeError) throw new PeError(file, 'header', req?.pos ?? 0, e.message);
    throw e;
  }
}

/** Read exactly `len` bytes; a short read inside the known size means the file changed or I/O failed. */
export async function readHandleExact(h: FileHandle, pos: number, len: number, file: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let done = 0;
  while (done < len) {
    const chunk = await h.read(pos + done, len - done);
    if (chunk.length === 0)
      throw new FsError('EIO', file, `short read at ${pos + done} (wanted ${len} bytes at ${pos})`);
    parts.push(chunk);
    done += chunk.length;
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** First section with exactly this name (case-sensitive), as systemd-stub matches. */
export function findSection(pe: PeImage, name: string): PeSection | undefined {
  return pe.sections.find((s) => s.name === name);
}

export function machineName(machine: number): string {
  for (const [k, v] of Object.entries(PE_MACHINE)) if (v === machine) return k;
  return `0x${machine.toString(16).padStart(4, '0')}`;
}

function hex2(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/** The 8-byte name field up to its first NUL, one char per byte (names are ASCII in practice). */
function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}
