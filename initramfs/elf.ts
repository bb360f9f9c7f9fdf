// The parts of a 64-bit little-endian ELF file the builder reads: the identification, 64-bit
// fields read safely, and the program headers (PT_INTERP for initramfs/libs.ts, PT_LOAD for
// initramfs/icu.ts). Errors start with `what` (a file name, or 'ELF').

export const PT_LOAD = 1;
export const PT_INTERP = 3;

export interface ProgramHeader {
  readonly type: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
}

export interface Elf64 {
  /** A 64-bit field at `o`, as a number; throws past the end or beyond 2^53. */
  readonly u64: (o: number) => number;
  readonly programHeaders: readonly ProgramHeader[];
}

/** Checks the identification and reads the program headers (all of them in range, or throws). */
export function readElf64(b: Buffer, what: string): Elf64 {
  const bad = (m: string): never => {
    throw new Error(`${what}: ${m}`);
  };
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) bad('not an ELF file');
  if (b[4] !== 2 || b[5] !== 1) bad('only 64-bit little-endian ELF is supported');
  const u64 = (o: number): number => {
    if (o + 8 > b.length) bad(`read past the end at ${o}`);
    const v = b.readBigUInt64LE(o);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`value ${v} at ${o} is too large`);
    return Number(v);
  };
  const phoff = u64(0x20);
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  if (phnum > 0 && (phentsize < 56 || phoff + phnum * phentsize > b.length)) bad('program headers out of range');
  const programHeaders: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    programHeaders.push({ type: b.readUInt32LE(o), offset: u64(o + 8), vaddr: u64(o + 16), filesz: u64(o + 32) });
  }
  return { u64, programHeaders };
}
