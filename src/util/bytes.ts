// Fixed-width integer reads for the on-disk parsers (partition tables, FAT, ext, ISO 9660,
// PE, bzImage). One copy instead of one per parser. A read past the end throws RangeError:
// parsers check lengths first, and a missed check must become an error, never NaN or 0.

function outOfRange(b: Uint8Array, o: number, width: number): RangeError {
  return new RangeError(`read of ${width} byte(s) at offset ${o} past the end of a ${b.length}-byte buffer`);
}

export function u8(b: Uint8Array, o: number): number {
  const v = b[o];
  if (v === undefined) throw outOfRange(b, o, 1);
  return v;
}

export function u16le(b: Uint8Array, o: number): number {
  if (o < 0 || o + 2 > b.length) throw outOfRange(b, o, 2);
  return b[o]! | (b[o + 1]! << 8);
}

export function u32le(b: Uint8Array, o: number): number {
  if (o < 0 || o + 4 > b.length) throw outOfRange(b, o, 4);
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

export function u16be(b: Uint8Array, o: number): number {
  if (o < 0 || o + 2 > b.length) throw outOfRange(b, o, 2);
  return (b[o]! << 8) | b[o + 1]!;
}

export function u32be(b: Uint8Array, o: number): number {
  if (o < 0 || o + 4 > b.length) throw outOfRange(b, o, 4);
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}
