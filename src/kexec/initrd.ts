// One initrd for kexec_file_load (docs/bls.md §7.2, docs/kexec.md §2): pieces concatenated in
// order, zero-length pieces skipped, each non-final piece NUL-padded to 4 bytes. Microcode must
// be an uncompressed cpio at the very front for the kernel's early loader (lib/earlycpio.c).

export const INITRD_ALIGN = 4;

export interface InitrdPieceInfo {
  /** 'vda:1:/initrd.img' or 'vda:1:/x.efi#.initrd' */
  readonly label: string;
  readonly size: number;
  /** First bytes of the piece (≥ 110 + name length for cpio detection), when known. */
  readonly head?: Uint8Array;
  /** The piece's path, for name-based microcode detection. */
  readonly path?: string;
  /** Known microcode (UKI .ucode sections). */
  readonly microcode?: boolean;
}

export interface LaidOutPiece {
  readonly index: number;
  readonly label: string;
  readonly offset: number;
  readonly size: number;
  /** NUL bytes written after this piece. */
  readonly pad: number;
}

export interface InitrdLayout {
  readonly pieces: LaidOutPiece[];
  readonly total: number;
  readonly skipped: string[];
  /** Problems that do not stop the boot (e.g. microcode that the early loader cannot see). */
  readonly warnings: string[];
}

/** `intel-ucode.img`, `amd-ucode.img`, `/boot/ucode.img`, `early_ucode.cpio`... */
export function isMicrocodeName(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  return /ucode/.test(base) && /\.(img|cpio)$/.test(base);
}

/** An uncompressed newc cpio whose first member is under kernel/x86/microcode (or a parent). */
export function isEarlyMicrocodeCpio(head: Uint8Array): boolean {
  if (head.length < 110) return false;
  const magic = String.fromCharCode(...head.subarray(0, 6));
  if (magic !== '070701' && magic !== '070702') return false;
  const namesize = parseInt(String.fromCharCode(...head.subarray(94, 102)), 16);
  if (!Number.isFinite(namesize) || namesize < 2 || 110 + namesize > head.length) return false;
  const name = String.fromCharCode(...head.subarray(110, 110 + namesize - 1)).replace(/^\.?\//, '');
  const want = 'kernel/x86/microcode';
  return name === want || want.startsWith(name + '/') || name.startsWith(want + '/') || name === 'kernel';
}

export function isMicrocode(p: InitrdPieceInfo): boolean {
  return (
    p.microcode === true ||
    (p.path !== undefined && isMicrocodeName(p.path)) ||
    (p.head !== undefined && isEarlyMicrocodeCpio(p.head))
  );
}

/** Compressed data stops the early microcode scan (gzip, zstd, xz, lz4, bzip2, lzma). */
export function isCompressedHead(head: Uint8Array): boolean {
  const b = head;
  if (b.length < 4) return false;
  return (
    (b[0] === 0x1f && (b[1] === 0x8b || b[1] === 0x9e)) ||
    (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) ||
    (b[0] === 0xfd && b[1] === 0x37 && b[2] === 0x7a && b[3] === 0x58) ||
    (b[0] === 0x02 && b[1] === 0x21 && b[2] === 0x4c && b[3] === 0x18) ||
    (b[0] === 0x42 && b[1] === 0x5a && b[2] === 0x68) ||
    (b[0] === 0x5d && b[1] === 0x00 && b[2] === 0x00)
  );
}

/**
 * Lay the pieces out in the given order (the config's order: microcode first when the config
 * listed it first). Microcode listed after a compressed piece is kept in place, with a warning,
 * because the early loader will not see it.
 */
export function layoutInitrd(pieces: readonly InitrdPieceInfo[]): InitrdLayout {
  const kept = pieces.map((p, index) => ({ p, index })).filter(({ p }) => p.size > 0);
  const skipped = pieces.filter((p) => p.size <= 0).map((p) => p.label);
  const warnings: string[] = [];
  let sawCompressed = false;
  for (const { p } of kept) {
    if (isMicrocode(p) && sawCompressed) {
      warnings.push(
        `${p.label}: microcode after a compressed initrd is invisible to the early microcode loader; list it first`,
      );
    }
    if (p.head && isCompressedHead(p.head)) sawCompressed = true;
  }
  const out: LaidOutPiece[] = [];
  let offset = 0;
  kept.forEach(({ p, index }, i) => {
    const last = i === kept.length - 1;
    const pad = last ? 0 : (INITRD_ALIGN - (p.size % INITRD_ALIGN)) % INITRD_ALIGN;
    out.push({ index, label: p.label, offset, size: p.size, pad });
    offset += p.size + pad;
  });
  return { pieces: out, total: offset, skipped, warnings };
}
