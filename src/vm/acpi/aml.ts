// A small AML encoder (ACPI 6.x §20): just what the DSDT needs. Every function returns bytes.

export type Bytes = number[];

export function pkgLength(contentLen: number): Bytes {
  // PkgLength counts itself.
  if (contentLen + 1 <= 0x3f) return [contentLen + 1];
  for (let n = 1; n <= 3; n++) {
    const total = contentLen + 1 + n;
    if (total < 1 << (4 + 8 * n)) {
      const out = [(n << 6) | (total & 0x0f)];
      for (let i = 0; i < n; i++) out.push((total >> (4 + 8 * i)) & 0xff);
      return out;
    }
  }
  throw new Error('AML package too long');
}

const SEG = /^[A-Z_][A-Z0-9_]{0,3}$/;
function nameSeg(s: string): Bytes {
  if (!SEG.test(s)) throw new Error(`bad AML NameSeg: ${s}`);
  return [...s.padEnd(4, '_')].map((c) => c.charCodeAt(0));
}

/** NameString: optional '\' or '^' prefixes, then dot-separated segments. */
export function nameString(path: string): Bytes {
  const out: Bytes = [];
  let rest = path;
  if (rest.startsWith('\\')) {
    out.push(0x5c);
    rest = rest.slice(1);
  }
  while (rest.startsWith('^')) {
    out.push(0x5e);
    rest = rest.slice(1);
  }
  const segs = rest ? rest.split('.') : [];
  if (segs.length === 0) out.push(0x00);
  else if (segs.length === 1) out.push(...nameSeg(segs[0]!));
  else if (segs.length === 2) out.push(0x2e, ...nameSeg(segs[0]!), ...nameSeg(segs[1]!));
  else out.push(0x2f, segs.length, ...segs.flatMap(nameSeg));
  return out;
}

export function integer(v: number | bigint): Bytes {
  const n = BigInt(v);
  if (n === 0n) return [0x00];
  if (n === 1n) return [0x01];
  if (n <= 0xffn) return [0x0a, Number(n)];
  if (n <= 0xffffn) return [0x0b, ...le(n, 2)];
  if (n <= 0xffffffffn) return [0x0c, ...le(n, 4)];
  return [0x0e, ...le(n, 8)];
}

export function le(v: number | bigint, bytes: number): Bytes {
  let n = BigInt(v);
  const out: Bytes = [];
  for (let i = 0; i < bytes; i++) {
    out.push(Number(n & 0xffn));
    n >>= 8n;
  }
  return out;
}

export function string(s: string): Bytes {
  return [0x0d, ...Buffer.from(s, 'ascii'), 0x00];
}

export function name(n: string, value: Bytes): Bytes {
  return [0x08, ...nameString(n), ...value];
}

export function scope(n: string, body: Bytes): Bytes {
  const inner = [...nameString(n), ...body];
  return [0x10, ...pkgLength(inner.length), ...inner];
}

export function device(n: string, body: Bytes): Bytes {
  const inner = [...nameString(n), ...body];
  return [0x5b, 0x82, ...pkgLength(inner.length), ...inner];
}

export function method(n: string, args: number, serialized: boolean, body: Bytes): Bytes {
  const inner = [...nameString(n), (args & 7) | (serialized ? 8 : 0), ...body];
  return [0x14, ...pkgLength(inner.length), ...inner];
}

export function returnOp(value: Bytes): Bytes {
  return [0xa4, ...value];
}

export function pkg(elements: Bytes[]): Bytes {
  const inner = [elements.length, ...elements.flat()];
  return [0x12, ...pkgLength(inner.length), ...inner];
}

export function buffer(data: Bytes): Bytes {
  const inner = [...integer(data.length), ...data];
  return [0x11, ...pkgLength(inner.length), ...inner];
}

/** EISAID("PNP0A03") → 0x030AD041 as a DWordConst. */
export function eisaId(id: string): Bytes {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new Error(`bad EISA id ${id}`);
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const hi = (c(0) << 10) | (c(1) << 5) | c(2);
  const prod = parseInt(id.slice(3), 16);
  const v = ((hi >> 8) & 0xff) | ((hi & 0xff) << 8) | (((prod >> 8) & 0xff) << 16) | ((prod & 0xff) << 24);
  return [0x0c, ...le(v >>> 0, 4)];
}

// ---- resource template descriptors ----
export function ioPort(min: number, max: number, align: number, len: number): Bytes {
  return [0x47, 0x01, ...le(min, 2), ...le(max, 2), align, len];
}
export function irqNoFlags(irqs: number[]): Bytes {
  const mask = irqs.reduce((m, i) => m | (1 << i), 0);
  return [0x22, ...le(mask, 2)];
}
/** WORD address space: type 0 memory, 1 I/O, 2 bus number. */
export function wordSpace(type: number, gflags: number, tflags: number, min: number, max: number): Bytes {
  return [
    0x88,
    ...le(0x0d, 2),
    type,
    gflags,
    tflags,
    ...le(0, 2),
    ...le(min, 2),
    ...le(max, 2),
    ...le(0, 2),
    ...le(max - min + 1, 2),
  ];
}
export function dwordSpace(type: number, gflags: number, tflags: number, min: number, max: number): Bytes {
  return [
    0x87,
    ...le(0x17, 2),
    type,
    gflags,
    tflags,
    ...le(0, 4),
    ...le(min, 4),
    ...le(max, 4),
    ...le(0, 4),
    ...le(max - min + 1, 4),
  ];
}
export function resourceTemplate(descs: Bytes[]): Bytes {
  return buffer([...descs.flat(), 0x79, 0x00]);
}
