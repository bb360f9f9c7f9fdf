// The TCG event log in the crypto-agile format (TCG PC Client Platform Firmware Profile, "Event Logging",
// TCG_PCR_EVENT2; TCG EFI Protocol Specification, the event log): a TCG_PCClientPCREvent header carrying
// TCG_EfiSpecIDEvent ("Spec ID Event03", the digest sizes), then one TCG_PCR_EVENT2 per extend.
// Unlike TPM commands, log integers are little-endian. parseEventLog() reads our own logs back
// (the "once per boot" check, tests); tpm2_eventlog is the independent oracle.

import { ALG_ID, DIGEST_SIZE, type HashAlg, algById } from './algs';

export const EV_NO_ACTION = 0x3;
export const EV_ACTION = 0x5;
export const EV_IPL = 0xd;

export interface LogEvent {
  readonly pcr: number;
  readonly type: number;
  /** One digest per bank in the header, in the header's order. */
  readonly digests: ReadonlyMap<HashAlg, Uint8Array>;
  readonly data: Uint8Array;
}

const le32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const le16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};

/** The first record: an EV_NO_ACTION event in the SHA-1 layout describing the banks logged. */
export function specIdHeader(algs: readonly HashAlg[]): Uint8Array {
  const vendor = Buffer.from('tendril');
  const spec = Buffer.concat([
    Buffer.from('Spec ID Event03\0', 'latin1'),
    le32(0), // platformClass: client
    Buffer.from([0, 2, 0, 2]), // specVersionMinor 0, specVersionMajor 2, specErrata 0, uintnSize 2 (UINT64)
    le32(algs.length),
    ...algs.map((a) => Buffer.concat([le16(ALG_ID[a]), le16(DIGEST_SIZE[a])])),
    Buffer.from([vendor.length]),
    vendor,
  ]);
  return Buffer.concat([le32(0), le32(EV_NO_ACTION), Buffer.alloc(20), le32(spec.length), spec]);
}

/** One TCG_PCR_EVENT2 with the digests in the header's bank order. */
export function eventRecord(algs: readonly HashAlg[], e: LogEvent): Uint8Array {
  const parts: Buffer[] = [le32(e.pcr), le32(e.type), le32(algs.length)];
  for (const a of algs) {
    const d = e.digests.get(a);
    if (!d || d.length !== DIGEST_SIZE[a]) throw new RangeError(`event for PCR ${e.pcr} lacks its ${a} digest`);
    parts.push(le16(ALG_ID[a]), Buffer.from(d));
  }
  parts.push(le32(e.data.length), Buffer.from(e.data));
  return Buffer.concat(parts);
}

export class EventLogError extends Error {}

/** Bounds for parsing (a log of ours has a handful of events with short strings). */
const MAX_EVENT_DATA = 1 << 20;

export interface ParsedLog {
  readonly algs: readonly HashAlg[];
  readonly events: readonly LogEvent[];
}

/** Parse a crypto-agile log that only uses banks tendril knows. */
export function parseEventLog(b: Uint8Array): ParsedLog {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > buf.length)
      throw new EventLogError(`${what}: needs ${n} bytes at offset ${pos}, log has ${buf.length}`);
  };
  const u32 = (what: string): number => {
    need(4, what);
    pos += 4;
    return buf.readUInt32LE(pos - 4);
  };
  const u16 = (what: string): number => {
    need(2, what);
    pos += 2;
    return buf.readUInt16LE(pos - 2);
  };
  const bytes = (n: number, what: string): Uint8Array => {
    need(n, what);
    pos += n;
    return Uint8Array.from(buf.subarray(pos - n, pos));
  };
  if (u32('header pcr') !== 0 || u32('header type') !== EV_NO_ACTION)
    throw new EventLogError('first record is not the EV_NO_ACTION Spec ID event');
  bytes(20, 'header digest');
  const size = u32('header size');
  if (size > 4096) throw new EventLogError(`Spec ID event of ${size} bytes`);
  const spec = Buffer.from(bytes(size, 'Spec ID event'));
  if (spec.subarray(0, 16).toString('latin1') !== 'Spec ID Event03\0')
    throw new EventLogError('not a crypto-agile log');
  if (spec.length < 28) throw new EventLogError('Spec ID event too short');
  const n = spec.readUInt32LE(24);
  if (n < 1 || n > 8 || 28 + 4 * n > spec.length) throw new EventLogError(`Spec ID event lists ${n} algorithms`);
  const algs: HashAlg[] = [];
  for (let i = 0; i < n; i++) {
    const id = spec.readUInt16LE(28 + 4 * i);
    const alg = algById(id);
    if (!alg || spec.readUInt16LE(30 + 4 * i) !== DIGEST_SIZE[alg])
      throw new EventLogError(`unknown algorithm 0x${id.toString(16)} in the Spec ID event`);
    algs.push(alg);
  }
  const events: LogEvent[] = [];
  while (pos < buf.length) {
    const pcr = u32('event pcr');
    const type = u32('event type');
    const count = u32('digest count');
    if (count !== algs.length)
      throw new EventLogError(`event at PCR ${pcr} has ${count} digests, header ${algs.length}`);
    const digests = new Map<HashAlg, Uint8Array>();
    for (let i = 0; i < count; i++) {
      const alg = algById(u16('digest alg'));
      if (!alg || !algs.includes(alg))
        throw new EventLogError(`event at PCR ${pcr}: digest of a bank not in the header`);
      digests.set(alg, bytes(DIGEST_SIZE[alg], `${alg} digest`));
    }
    const len = u32('event size');
    if (len > MAX_EVENT_DATA) throw new EventLogError(`event data of ${len} bytes`);
    events.push({ pcr, type, digests, data: bytes(len, 'event data') });
  }
  return { algs, events };
}
