// The results and options of the in-place writers (docs/writes.md §1): the only writes tendril
// makes to a disk. A refusal is a value, never an exception, so a caller can report the reason
// or, when the filesystem is mounted, do the same change through the kernel mount.

/** Where a filesystem lies: `size` bytes at byte `offset` of `device` (a disk, a partition or an image file). */
export interface FsLocation {
  readonly device: string;
  readonly offset: number;
  readonly size: number;
  readonly fsType: 'vfat' | 'ext2' | 'ext3' | 'ext4';
}

/** Bytes written to the device, as device byte offsets. */
export interface WriteRange {
  readonly offset: number;
  readonly length: number;
}

export type WriteResult =
  | { readonly ok: true; readonly writes: WriteRange[] }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly mounted?: string; /* mount dir when the device is mounted */
    };

/** Called before each write with its device offset and bytes (tests replay prefixes of them: power cuts). */
export type WriteRecorder = (offset: number, data: Uint8Array) => void;

export interface WriteOptions {
  readonly recorder?: WriteRecorder;
}

/** A reason to refuse, thrown inside the writers and turned into `{ ok: false }` at the API. */
export class Refusal extends Error {
  constructor(
    readonly reason: string,
    readonly mounted?: string,
  ) {
    super(reason);
    this.name = 'Refusal';
  }
}
