// Big-endian readers and writers for TPM commands (TPM 2.0 Library Part 1, "Command and Response Structures": every integer on
// the wire is big-endian). The reader checks every length against what is left, so a short or
// lying response is a TpmParseError, never an out-of-range read.

export class TpmParseError extends Error {}

export class Reader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}

  get left(): number {
    return this.b.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.left) throw new TpmParseError(`${what}: needs ${n} bytes, ${this.left} left`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.b[this.pos++]!;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v =
      ((this.b[this.pos]! << 24) |
        (this.b[this.pos + 1]! << 16) |
        (this.b[this.pos + 2]! << 8) |
        this.b[this.pos + 3]!) >>>
      0;
    this.pos += 4;
    return v;
  }

  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A TPM2B: u16 size, then that many bytes (at most `max`). */
  sized(max: number, what: string): Uint8Array {
    const n = this.u16(`${what} size`);
    if (n > max) throw new TpmParseError(`${what}: size ${n} exceeds ${max}`);
    return this.bytes(n, what);
  }

  /** Refuse trailing bytes: a response longer than its structures is malformed. */
  end(what: string): void {
    if (this.left !== 0) throw new TpmParseError(`${what}: ${this.left} unexpected trailing bytes`);
  }
}

export class Writer {
  private readonly parts: number[] = [];

  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    this.parts.push((v >>> 8) & 0xff, v & 0xff);
    return this;
  }

  u32(v: number): this {
    this.parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    return this;
  }

  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }

  get length(): number {
    return this.parts.length;
  }

  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}
