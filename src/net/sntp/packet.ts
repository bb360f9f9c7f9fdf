// The NTP packet an SNTP client sends and reads (RFC 5905 §7.3, RFC 4330 §4), its timestamps,
// and the offset/delay arithmetic (RFC 4330 §5). docs/net-dhcp.md §12.

/** RFC 5905 §7.3: the fixed header; extension fields and a MAC may follow and are ignored. */
export const NTP_HEADER = 48;
/** A reply longer than this is not an NTP packet we can use (extension fields are small). */
export const NTP_MAX_PACKET = 1024;
/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
const NTP_UNIX_DELTA = 2_208_988_800;
const TWO32 = 2 ** 32;

export const MODE = { CLIENT: 3, SERVER: 4, BROADCAST: 5 } as const;

/** A 64-bit NTP timestamp as sent: seconds since the era start and a 2^-32 s fraction. */
export interface NtpTime {
  readonly sec: number;
  readonly frac: number;
}

export interface NtpPacket {
  /** Leap indicator: 3 = the server's clock is not synchronised. */
  readonly leap: number;
  readonly version: number;
  readonly mode: number;
  /** 0 = kiss-o'-death, 1 = primary, 2..15 = secondary, 16 = unsynchronised. */
  readonly stratum: number;
  readonly poll: number;
  readonly precision: number;
  /** Seconds (16.16 fixed point as sent, here as a number). */
  readonly rootDelay: number;
  readonly rootDispersion: number;
  /** The reference id's four bytes (a kiss code in ASCII when stratum is 0). */
  readonly refId: Uint8Array;
  readonly reference: NtpTime;
  readonly originate: NtpTime;
  readonly receive: NtpTime;
  readonly transmit: NtpTime;
}

export class NtpParseError extends Error {
  constructor(readonly reason: string) {
    super(`NTP packet: ${reason}`);
    this.name = 'NtpParseError';
  }
}

/** Reads an NTP header. Refuses short and oversized packets; field meaning is validated by the client. */
export function decodeNtp(b: Uint8Array): NtpPacket {
  if (b.length < NTP_HEADER) throw new NtpParseError(`${b.length} bytes, shorter than the ${NTP_HEADER}-byte header`);
  if (b.length > NTP_MAX_PACKET) throw new NtpParseError(`${b.length} bytes, longer than ${NTP_MAX_PACKET}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ts = (o: number): NtpTime => ({ sec: v.getUint32(o), frac: v.getUint32(o + 4) });
  return {
    leap: b[0]! >> 6,
    version: (b[0]! >> 3) & 7,
    mode: b[0]! & 7,
    stratum: b[1]!,
    poll: v.getInt8(2),
    precision: v.getInt8(3),
    rootDelay: v.getInt32(4) / 65536,
    rootDispersion: v.getUint32(8) / 65536,
    refId: b.slice(12, 16),
    reference: ts(16),
    originate: ts(24),
    receive: ts(32),
    transmit: ts(40),
  };
}

const ZERO: NtpTime = { sec: 0, frac: 0 };

/** A 48-byte packet; fields a client leaves zero may be omitted. */
export function encodeNtp(p: Partial<NtpPacket> & Pick<NtpPacket, 'mode'>): Uint8Array {
  const b = new Uint8Array(NTP_HEADER);
  const v = new DataView(b.buffer);
  b[0] = (((p.leap ?? 0) & 3) << 6) | (((p.version ?? 4) & 7) << 3) | (p.mode & 7);
  b[1] = (p.stratum ?? 0) & 0xff;
  v.setInt8(2, p.poll ?? 0);
  v.setInt8(3, p.precision ?? 0);
  v.setInt32(4, Math.round((p.rootDelay ?? 0) * 65536));
  v.setUint32(8, Math.round((p.rootDispersion ?? 0) * 65536));
  if (p.refId) b.set(p.refId.subarray(0, 4), 12);
  const put = (o: number, t: NtpTime = ZERO): void => {
    v.setUint32(o, t.sec);
    v.setUint32(o + 4, t.frac);
  };
  put(16, p.reference);
  put(24, p.originate);
  put(32, p.receive);
  put(40, p.transmit);
  return b;
}

/** Unix milliseconds to an NTP timestamp (era 0 until 2036, then era 1: RFC 4330 §3). */
export function ntpFromMs(ms: number): NtpTime {
  const s = Math.floor(ms / 1000);
  const frac = Math.min(TWO32 - 1, Math.floor(((ms - s * 1000) / 1000) * TWO32));
  return { sec: (((s + NTP_UNIX_DELTA) % TWO32) + TWO32) % TWO32, frac };
}

/**
 * An NTP timestamp to Unix milliseconds. RFC 4330 §3: a set top bit means era 0 (1968–2036),
 * a clear one era 1 (2036–2104), so one 32-bit field covers both sides of the 2036 wrap.
 */
export function msFromNtp(t: NtpTime): number {
  const sec = t.sec >= 0x8000_0000 ? t.sec - NTP_UNIX_DELTA : t.sec + TWO32 - NTP_UNIX_DELTA;
  return sec * 1000 + (t.frac / TWO32) * 1000;
}

export const isZeroTime = (t: NtpTime): boolean => t.sec === 0 && t.frac === 0;
export const sameTime = (a: NtpTime, b: NtpTime): boolean => a.sec === b.sec && a.frac === b.frac;

/**
 * RFC 4330 §5 (RFC 5905 §8): t1 = request sent (local clock), t2 = request received and
 * t3 = reply sent (server clock), t4 = reply received (local). Offset is what to add to the
 * local clock; delay is the round trip minus the server's own time.
 */
export function offsetAndDelay(t1: number, t2: number, t3: number, t4: number): { offsetMs: number; delayMs: number } {
  return { offsetMs: (t2 - t1 + (t3 - t4)) / 2, delayMs: t4 - t1 - (t3 - t2) };
}

/** The reference id of a kiss-o'-death packet as its ASCII code ("RATE", "DENY"), or its hex. */
export function kissCode(refId: Uint8Array): string {
  const s = String.fromCharCode(...refId);
  return /^[A-Z]{1,4}\0*$/.test(s) ? s.replace(/\0+$/, '') : Buffer.from(refId).toString('hex');
}
