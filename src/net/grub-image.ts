// What a GRUB core image carries for network boot (docs/net-bootfiles.md §6.1): the prefix and
// whether a config is embedded. grub-mkimage appends a `mods` PE section: a module-info header
// ('mimg', offset, size) and then modules, each a {type, size} header and its bytes. Type 3 is
// the prefix (`-p`, a NUL-terminated string), type 2 the embedded config (`-c`). The section is
// served by whoever runs the DHCP server: every offset and size is checked, the walk is bounded.

import { type PeImage, findSection } from '../discovery/uki/pe';

export interface GrubImageFacts {
  /** `-p` as grub-mkimage stored it ('' when it was empty); absent: the image has none. */
  readonly prefix?: string;
  readonly embeddedConfig: boolean;
}

const MAGIC = 0x676d696d; // 'mimg' little-endian
const OBJ_TYPE_CONFIG = 2;
const OBJ_TYPE_PREFIX = 3;
const MAX_MODULES = 4096;
const MAX_PREFIX = 1024;

/** The module-info header: 64-bit targets {magic, pad, u64 offset, u64 size}, 32-bit {magic, offset, size}. */
function moduleArea(b: Buffer): { start: number; end: number } | undefined {
  if (b.length < 12 || b.readUInt32LE(0) !== MAGIC) return undefined;
  if (b.length >= 24 && b.readUInt32LE(4) === 0) {
    const off = Number(b.readBigUInt64LE(8));
    const size = Number(b.readBigUInt64LE(16));
    if (off >= 24 && off <= size && size <= b.length) return { start: off, end: size };
  }
  const off = b.readUInt32LE(4);
  const size = b.readUInt32LE(8);
  if (off >= 12 && off <= size && size <= b.length) return { start: off, end: size };
  return undefined;
}

/** The prefix and embedded-config facts of a GRUB image, or undefined when it has no readable `mods` section. */
export function grubImageFacts(pe: PeImage, bytes: Uint8Array): GrubImageFacts | undefined {
  const s = findSection(pe, 'mods');
  if (!s) return undefined;
  const from = s.pointerToRawData;
  const len = Math.min(s.sizeOfRawData, s.virtualSize || s.sizeOfRawData);
  if (from >= bytes.length || len < 12) return undefined;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset + from, Math.min(len, bytes.length - from));
  const area = moduleArea(b);
  if (!area) return undefined;
  let prefix: string | undefined;
  let embeddedConfig = false;
  let pos = area.start;
  for (let n = 0; n < MAX_MODULES && pos + 8 <= area.end; n++) {
    const type = b.readUInt32LE(pos);
    const size = b.readUInt32LE(pos + 4);
    if (size < 8 || pos + size > area.end) break;
    if (type === OBJ_TYPE_CONFIG) embeddedConfig = true;
    if (type === OBJ_TYPE_PREFIX && prefix === undefined) {
      const body = b.subarray(pos + 8, pos + size);
      const nul = body.indexOf(0);
      const text = body.subarray(0, Math.min(nul < 0 ? body.length : nul, MAX_PREFIX)).toString('latin1');
      // Control characters would make no device or path grub could use.
      if (!/[\0-\x1f\x7f]/.test(text)) prefix = text;
    }
    pos += size;
  }
  return { ...(prefix !== undefined ? { prefix } : {}), embeddedConfig };
}

export const GRUB_MODULE_TYPES = { config: OBJ_TYPE_CONFIG, prefix: OBJ_TYPE_PREFIX } as const;
