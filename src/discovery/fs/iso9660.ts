// ISO 9660 reader: primary volume descriptor, Joliet supplementary descriptor and Rock Ridge.
// The name space used is Rock Ridge if present (POSIX names, symlinks, modes), else Joliet
// (UCS-2 names), else the plain ISO names with ';1' stripped and case-insensitive lookups.
// File data is contiguous per extent, so reads are single large readAt calls.

import { u16le, u32le, u8 } from '../../util/bytes';
import type { ByteSource } from '../io/source';
import { readExact } from '../io/source';
import {
  FLAG_ASSOCIATED,
  FLAG_DIR,
  FLAG_MULTI_EXTENT,
  type IsoRecord,
  SECTOR,
  rockRidge,
  splitRecords,
  suspEntries,
  suspSkip,
} from './iso-record';
import type { DirEntry, FileHandle, FileKind, FileSystem } from './types';
import { FsError } from './types';
import { ParsedDirs, type Run, TreeFileSystem, type TreeNode, type TreeOps, ioGuard, runsHandle } from './walk';

const MAX_DESCRIPTORS = 64;
const MAX_DIR_BYTES = 16 * 1024 * 1024;
const MAX_DIR_RECORDS = 100_000;
const MAX_EXTENTS_PER_FILE = 4096;

export type IsoNames = 'rockridge' | 'joliet' | 'iso9660';

/** [logical block, byte length] of one section of a file. */
type Extent = readonly [number, number];

interface IsoNode extends TreeNode {
  /** Never empty: a node is made from at least one directory record. */
  readonly extents: readonly [Extent, ...Extent[]];
  readonly symlink?: string;
}

interface Volume {
  readonly root: IsoRecord;
  readonly names: IsoNames;
  readonly suspSkip: number;
}

/** The root directory record inside a 2048-byte volume descriptor (bytes 156..156+len). */
function recordRoot(vd: Uint8Array): IsoRecord | null {
  const len = u8(vd, 156);
  if (len < 34) return null;
  const b = vd.subarray(156, 156 + len);
  return {
    extent: u32le(b, 2),
    dataLength: u32le(b, 10),
    flags: u8(b, 25),
    interleaved: false,
    rawName: new Uint8Array(0),
    systemUse: new Uint8Array(0),
  };
}

function isJoliet(vd: Uint8Array): boolean {
  const esc = vd.subarray(88, 120);
  for (let i = 0; i + 3 <= esc.length; i++) {
    if (esc[i] === 0x25 && esc[i + 1] === 0x2f && (esc[i + 2] === 0x40 || esc[i + 2] === 0x43 || esc[i + 2] === 0x45))
      return true;
  }
  return false;
}

const utf16be = new TextDecoder('utf-16be');
const utf8 = new TextDecoder('utf-8');

function stripVersion(n: string): string {
  const semi = n.lastIndexOf(';');
  if (semi >= 0 && /^[0-9]*$/.test(n.slice(semi + 1))) n = n.slice(0, semi);
  if (n.endsWith('.') && !n.slice(0, -1).includes('.')) n = n.slice(0, -1);
  return n;
}

function extentOf(r: IsoRecord): Extent {
  return [r.extent, r.dataLength];
}

function isDotRecord(r: IsoRecord): boolean {
  return r.rawName.length === 1 && (r.rawName[0] === 0 || r.rawName[0] === 1);
}

function validName(n: string): boolean {
  return n.length > 0 && n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0');
}

class IsoOps implements TreeOps<IsoNode> {
  private readonly dirs: ParsedDirs<IsoNode>;

  constructor(
    private readonly src: ByteSource,
    readonly vol: Volume,
  ) {
    this.dirs = new ParsedDirs<IsoNode>(
      (dir, path) => ioGuard(path, () => this.parseDir(dir, path)),
      (dir) => this.key(dir),
      vol.names === 'iso9660',
    );
  }

  key(dir: IsoNode): number {
    return dir.extents[0][0];
  }

  root(): IsoNode {
    const r = this.vol.root;
    return { kind: 'dir', size: r.dataLength, extents: [[r.extent, r.dataLength]] };
  }

  private readCe = (block: number, offset: number, length: number): Uint8Array | null => {
    if (offset >= SECTOR || length > 64 * 1024 || length === 0) return null;
    const pos = block * SECTOR + offset;
    if (pos + length > this.src.size) return null;
    return readExact(this.src, pos, length);
  };

  private dirData(dir: IsoNode, path: string): Uint8Array {
    const [lba, len] = dir.extents[0];
    if (len > MAX_DIR_BYTES) throw new FsError('EFBIG', path, `directory of ${len} bytes`);
    const pos = lba * SECTOR;
    if (pos + len > this.src.size) throw new FsError('EIO', path, `directory extent ${lba}+${len} past the image end`);
    return readExact(this.src, pos, len);
  }

  entries(dir: IsoNode, path: string, limit: number): DirEntry[] {
    return this.dirs.entries(dir, path, limit);
  }

  lookup(dir: IsoNode, name: string, path: string): readonly [string, IsoNode] | null {
    return this.dirs.lookup(dir, name, path);
  }

  private parseDir(dir: IsoNode, path: string): Array<readonly [string, IsoNode]> {
    const records = splitRecords(this.dirData(dir, path), MAX_DIR_RECORDS);
    const out: Array<readonly [string, IsoNode]> = [];
    const seen = new Set<string>();
    for (let i = 0; i < records.length; i++) {
      const first = records[i];
      if (first === undefined || isDotRecord(first)) continue;
      // Multi-extent files: records flagged 0x80 continue in the next record of the same name.
      const parts: [IsoRecord, ...IsoRecord[]] = [first];
      let last = first;
      let next: IsoRecord | undefined;
      while (
        last.flags & FLAG_MULTI_EXTENT &&
        (next = records[i + 1]) !== undefined &&
        parts.length < MAX_EXTENTS_PER_FILE
      ) {
        parts.push(next);
        last = next;
        i++;
      }
      if (first.flags & FLAG_ASSOCIATED) continue;
      const entry = this.entry(parts);
      if (!entry || seen.has(entry[0])) continue;
      seen.add(entry[0]);
      out.push(entry);
    }
    return out;
  }

  private entry(parts: readonly [IsoRecord, ...IsoRecord[]]): readonly [string, IsoNode] | null {
    const [r, ...more] = parts;
    let name = this.isoName(r);
    let kind: FileKind = r.flags & FLAG_DIR ? 'dir' : 'file';
    let symlink: string | undefined;
    let extents: readonly [Extent, ...Extent[]] = [extentOf(r), ...more.map(extentOf)];
    let mtimeMs = r.mtimeMs;
    if (this.vol.names === 'rockridge') {
      const su = r.systemUse.subarray(this.vol.suspSkip);
      const rr = rockRidge(suspEntries(su, this.readCe));
      if (rr.relocated) return null;
      if (rr.name !== undefined) name = rr.name;
      if (rr.mtimeMs !== undefined) mtimeMs = rr.mtimeMs;
      if (rr.mode !== undefined) {
        const t = rr.mode & 0o170000;
        kind = t === 0o040000 ? 'dir' : t === 0o100000 ? 'file' : t === 0o120000 ? 'symlink' : 'other';
      }
      if (rr.childLink !== undefined) {
        const real = this.relocatedDir(rr.childLink);
        if (!real) return null;
        kind = 'dir';
        extents = [real];
      }
      if (kind === 'symlink') {
        if (rr.symlink === undefined) kind = 'other';
        else symlink = rr.symlink;
      }
    }
    if (!validName(name)) return null;
    if (kind === 'dir' && r.flags & FLAG_DIR && extents.length !== 1) return null;
    if (kind === 'file' && parts.some((p) => p.interleaved)) kind = 'other';
    const size = kind === 'symlink' ? (symlink ?? '').length : extents.reduce((a, e) => a + e[1], 0);
    const node: IsoNode = {
      kind,
      size,
      extents,
      ...(symlink !== undefined ? { symlink } : {}),
      ...(mtimeMs !== undefined ? { mtimeMs } : {}),
    };
    return [name, node];
  }

  /** A CL entry points at the relocated directory; its '.' record holds the length. */
  private relocatedDir(lba: number): Extent | null {
    if ((lba + 1) * SECTOR > this.src.size) return null;
    const recs = splitRecords(readExact(this.src, lba * SECTOR, SECTOR), 1);
    const dot = recs[0];
    return dot && isDotRecord(dot) ? [lba, dot.dataLength] : null;
  }

  private isoName(r: IsoRecord): string {
    if (this.vol.names === 'joliet') {
      const even = r.rawName.length & ~1;
      return stripVersion(utf16be.decode(r.rawName.subarray(0, even)));
    }
    return stripVersion(utf8.decode(r.rawName));
  }

  readlink(node: IsoNode, path: string): string {
    if (node.symlink === undefined) throw new FsError('EINVAL', path, 'not a symlink');
    return node.symlink;
  }

  openFile(node: IsoNode, path: string): FileHandle {
    const runs: Run[] = [];
    let off = 0;
    for (const [lba, len] of node.extents) {
      runs.push({ fileOffset: off, diskOffset: lba * SECTOR, length: len });
      off += len;
    }
    return runsHandle(this.src, runs, node.size, path);
  }
}

/** Why a root directory record cannot be read from an image of `size` bytes, or null. */
function extentProblem(r: IsoRecord, size: number): string | null {
  const end = (r.extent + 1) * SECTOR;
  if (r.dataLength === 0) return `gives the root directory 0 bytes (at sector ${r.extent})`;
  if (r.extent * SECTOR + r.dataLength > size || end > size)
    return `points at sector ${r.extent} (${r.dataLength} bytes), past the end of the ${size}-byte image`;
  return null;
}

/** Pick the volume: Rock Ridge on the PVD tree, else a Joliet SVD, else the plain PVD. */
function findVolume(src: ByteSource): Volume {
  let pvd: Uint8Array | null = null;
  let joliet: Uint8Array | null = null;
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    const pos = (16 + i) * SECTOR;
    if (pos + SECTOR > src.size) break;
    const vd = readExact(src, pos, SECTOR);
    if (vd[1] !== 0x43 || vd[2] !== 0x44 || vd[3] !== 0x30 || vd[4] !== 0x30 || vd[5] !== 0x31) break;
    if (vd[0] === 255) break;
    if (vd[0] === 1 && !pvd) pvd = vd;
    if (vd[0] === 2 && !joliet && isJoliet(vd)) joliet = vd;
  }
  if (!pvd) throw new FsError('EINVAL', src.name, 'not an ISO 9660 image: no primary volume descriptor at sector 16');
  const blockSize = u16le(pvd, 128);
  if (blockSize !== SECTOR)
    throw new FsError('EINVAL', src.name, `unsupported ISO 9660 logical block size ${blockSize}`);
  const root = recordRoot(pvd);
  if (!root || !(root.flags & FLAG_DIR))
    throw new FsError('EINVAL', src.name, 'ISO 9660 root directory record is invalid');
  const rootProblem = extentProblem(root, src.size);
  if (rootProblem)
    throw new FsError('EINVAL', src.name, `ISO 9660 root directory record (primary descriptor) ${rootProblem}`);
  // Rock Ridge: the root's '.' record starts with an SUSP 'SP' entry, and its SUSP fields
  // name the extension (ER, or RRIP 1.09's RR) or carry POSIX attributes (PX).
  if ((root.extent + 1) * SECTOR <= src.size) {
    const dot = splitRecords(readExact(src, root.extent * SECTOR, SECTOR), 1)[0];
    const skip = dot && isDotRecord(dot) ? suspSkip(dot) : null;
    if (dot && skip !== null) {
      const readCe = (block: number, offset: number, length: number): Uint8Array | null =>
        offset < SECTOR && length > 0 && length <= 64 * 1024 && block * SECTOR + offset + length <= src.size
          ? readExact(src, block * SECTOR + offset, length)
          : null;
      const sigs = new Set(suspEntries(dot.systemUse, readCe).map((e) => e.sig));
      if (sigs.has('ER') || sigs.has('RR') || sigs.has('PX')) return { root, names: 'rockridge', suspSkip: skip };
    }
  }
  if (joliet) {
    const jroot = recordRoot(joliet);
    const jproblem = jroot && extentProblem(jroot, src.size);
    if (jproblem)
      throw new FsError('EINVAL', src.name, `ISO 9660 root directory record (Joliet descriptor) ${jproblem}`);
    if (jroot && jroot.flags & FLAG_DIR) return { root: jroot, names: 'joliet', suspSkip: 0 };
  }
  return { root, names: 'iso9660', suspSkip: 0 };
}

export interface IsoFileSystem extends FileSystem {
  readonly names: IsoNames;
}

/** Open an ISO 9660 image. Throws FsError EINVAL when there is none. */
export function openIso9660(src: ByteSource): IsoFileSystem {
  const vol = ioGuard(src.name, () => findVolume(src));
  const fsys = new TreeFileSystem('iso9660', vol.names === 'iso9660', new IsoOps(src, vol));
  Object.defineProperty(fsys, 'names', { value: vol.names, enumerable: true });
  return fsys as TreeFileSystem<IsoNode> & { names: IsoNames };
}
