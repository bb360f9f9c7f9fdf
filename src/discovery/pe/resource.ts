// The PE resource tree (data directory 2, usually the .rsrc section), read just far enough to
// find one resource: type → name → language, three fixed levels (Microsoft's PE format page,
// "The .rsrc Section"). Directory offsets are relative to the tree's start and must stay inside
// it; the leaf's data is an RVA mapped through the section table. Only the directories on the
// path and the resource itself are read, each read bounded; a malformed tree is a reason.

import { u16le, u32le } from '../../util/bytes';
import { errorMessage } from '../diagnostics';
import type { FileHandle } from '../fs/types';
import { readHandleExact, type PeImage } from '../uki/pe';
import { parseVersionInfo, type VersionInfo } from './version';

export const RT_VERSION = 16;
/** Entries of one resource directory looked at (a real type directory has a dozen). */
export const MAX_RESOURCE_ENTRIES = 512;
/** The largest RT_VERSION resource read (VS_VERSIONINFO's wLength is 16 bits). */
export const MAX_VERSION_RESOURCE = 0xffff;

const SUBDIR = 0x80000000;

export type VersionLookup =
  | { readonly kind: 'found'; readonly info: VersionInfo }
  /** The file has no version resource (most EFI programs): not a problem. */
  | { readonly kind: 'absent'; readonly reason: string }
  /** It has one, and it is malformed, or it could not be read. */
  | { readonly kind: 'invalid'; readonly reason: string };

class Bad extends Error {}

/** The file range of `len` bytes at `rva`, inside one section's content. */
function fileRange(pe: PeImage, rva: number, len: number): number {
  for (const s of pe.sections) {
    if (s.length === 0 || rva < s.virtualAddress) continue;
    const rel = rva - s.virtualAddress;
    if (rel + len <= s.length) return s.offset + rel;
  }
  throw new Bad(`RVA 0x${rva.toString(16)}+${len} is not inside any section's data`);
}

interface Entry {
  readonly id: number | undefined;
  readonly target: number;
}

/** Read the version resource of a parsed PE. Never throws. */
export async function readVersionResource(h: FileHandle, pe: PeImage): Promise<VersionLookup> {
  const dir = pe.resourceDirectory;
  if (!dir) return { kind: 'absent', reason: 'no resource directory' };
  try {
    // The tree: directories at offsets [0, size) from its start.
    const treeSize = dir.size;
    const read = async (off: number, len: number, what: string): Promise<Uint8Array> => {
      if (off + len > treeSize)
        throw new Bad(`${what} at +${off} (${len} bytes) runs past the resource directory (${treeSize} bytes)`);
      return readHandleExact(h, fileRange(pe, dir.rva + off, len), len, pe.file);
    };
    const entries = async (off: number, level: string): Promise<Entry[]> => {
      const head = await read(off, 16, `${level} directory`);
      const n = u16le(head, 12) + u16le(head, 14);
      const count = Math.min(n, MAX_RESOURCE_ENTRIES);
      if (count === 0) return [];
      const raw = await read(off + 16, count * 8, `${level} directory entries`);
      const out: Entry[] = [];
      for (let i = 0; i < count; i++) {
        const name = u32le(raw, i * 8);
        out.push({ id: name & SUBDIR ? undefined : name, target: u32le(raw, i * 8 + 4) });
      }
      return out;
    };
    const subdir = (e: Entry, level: string): number => {
      if (!(e.target & SUBDIR)) throw new Bad(`${level} entry points at data, not a directory`);
      // Three fixed levels are walked, so offsets pointing back cannot loop.
      return e.target - SUBDIR;
    };

    const types = await entries(0, 'type');
    const version = types.find((e) => e.id === RT_VERSION);
    if (!version) return { kind: 'absent', reason: 'no RT_VERSION resource' };
    const namesAt = subdir(version, 'RT_VERSION');
    const names = await entries(namesAt, 'RT_VERSION name');
    const name = names[0];
    if (!name) return { kind: 'invalid', reason: 'RT_VERSION directory is empty' };
    const langs = await entries(subdir(name, 'RT_VERSION name'), 'RT_VERSION language');
    // en-US (0x409) if there is one, else the first language.
    const leaf = langs.find((e) => e.id === 0x409) ?? langs[0];
    if (!leaf) return { kind: 'invalid', reason: 'RT_VERSION language directory is empty' };
    if (leaf.target & SUBDIR) throw new Bad('RT_VERSION language entry is a directory, not data');
    const data = await read(leaf.target, 16, 'RT_VERSION data entry');
    const rva = u32le(data, 0);
    const size = u32le(data, 4);
    if (size === 0) return { kind: 'invalid', reason: 'RT_VERSION resource is empty' };
    if (size > MAX_VERSION_RESOURCE) {
      return {
        kind: 'invalid',
        reason: `RT_VERSION resource of ${size} bytes exceeds the limit of ${MAX_VERSION_RESOURCE}`,
      };
    }
    const bytes = await readHandleExact(h, fileRange(pe, rva, size), size, pe.file);
    const parsed = parseVersionInfo(bytes);
    return parsed.ok
      ? { kind: 'found', info: parsed.info }
      : { kind: 'invalid', reason: `VS_VERSIONINFO: ${parsed.reason}` };
  } catch (e) {
    return { kind: 'invalid', reason: e instanceof Bad ? e.message : errorMessage(e) };
  }
}
