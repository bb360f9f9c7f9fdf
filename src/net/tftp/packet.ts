// TFTP packets (RFC 1350) with options (RFC 2347): encode what the client sends (RRQ, ACK,
// ERROR) and decode what a server sends (DATA, OACK, ERROR). Every length is bounded: a decoded
// packet never holds more than the datagram it came from, and bad input is a TftpDecodeError,
// never a crash. See docs/net-transfer.md §1.

export const OP = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 error codes (8 is RFC 2347's "option negotiation refused"). */
export const ERROR_NAMES: Readonly<Record<number, string>> = {
  0: 'Not defined',
  1: 'File not found',
  2: 'Access violation',
  3: 'Disk full or allocation exceeded',
  4: 'Illegal TFTP operation',
  5: 'Unknown transfer ID',
  6: 'File already exists',
  7: 'No such user',
  8: 'Option negotiation refused',
};

/** The largest datagram we accept: RFC 2348's largest blksize plus the 4-byte DATA header. */
export const MAX_PACKET = 65468;
/** RFC 2348 bounds. */
export const MIN_BLKSIZE = 8;
export const MAX_BLKSIZE = 65464;
/** RFC 7440 bounds. */
export const MAX_WINDOWSIZE = 65535;
/** An RRQ must fit a 512-byte datagram for servers that read it into one (RFC 1350 §5). */
export const MAX_REQUEST = 512;
/** At most this many options in an OACK (we ask for four; a server may add none). */
export const MAX_OPTIONS = 16;
const MAX_TEXT = 255;

export type Options = Readonly<Record<string, string>>;

export type ServerPacket =
  | { readonly op: 'DATA'; readonly block: number; readonly data: Uint8Array }
  | { readonly op: 'OACK'; readonly options: Options }
  | { readonly op: 'ERROR'; readonly code: number; readonly message: string }
  | { readonly op: 'ACK'; readonly block: number }
  | { readonly op: 'RRQ' | 'WRQ'; readonly filename: string; readonly mode: string; readonly options: Options };

export class TftpDecodeError extends Error {
  override readonly name = 'TftpDecodeError';
}

function ascii(s: string, what: string): Buffer {
  // NUL ends a field and a non-ASCII name has no agreed encoding in RFC 1350 (netascii).
  if (!/^[\x01-\x7f]*$/.test(s)) throw new RangeError(`TFTP ${what} must be ASCII without NUL: ${JSON.stringify(s)}`);
  return Buffer.from(s, 'latin1');
}

/** RRQ: filename, mode "octet", then option/value pairs (lower-case names). */
export function encodeRrq(filename: string, options: Options = {}): Buffer {
  if (filename === '') throw new RangeError('TFTP file name is empty');
  const parts: Buffer[] = [Buffer.from([0, OP.RRQ]), ascii(filename, 'file name'), Buffer.from([0])];
  parts.push(Buffer.from('octet\0', 'latin1'));
  for (const [k, v] of Object.entries(options))
    parts.push(ascii(k, 'option'), Buffer.from([0]), ascii(v, 'option value'), Buffer.from([0]));
  const b = Buffer.concat(parts);
  if (b.length > MAX_REQUEST)
    throw new RangeError(`TFTP request for ${JSON.stringify(filename)} is ${b.length} bytes (limit ${MAX_REQUEST})`);
  return b;
}

export function encodeAck(block: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(OP.ACK, 0);
  b.writeUInt16BE(block & 0xffff, 2);
  return b;
}

export function encodeError(code: number, message: string): Buffer {
  const m = ascii(message.slice(0, MAX_TEXT), 'error message');
  const b = Buffer.alloc(5 + m.length);
  b.writeUInt16BE(OP.ERROR, 0);
  b.writeUInt16BE(code & 0xffff, 2);
  m.copy(b, 4);
  return b;
}

/** Encodes DATA and OACK too: the unit tests round-trip what decode() reads. */
export function encodeData(block: number, data: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + data.length);
  b.writeUInt16BE(OP.DATA, 0);
  b.writeUInt16BE(block & 0xffff, 2);
  b.set(data, 4);
  return b;
}

export function encodeOack(options: Options): Buffer {
  const parts: Buffer[] = [Buffer.from([0, OP.OACK])];
  for (const [k, v] of Object.entries(options))
    parts.push(ascii(k, 'option'), Buffer.from([0]), ascii(v, 'option value'), Buffer.from([0]));
  return Buffer.concat(parts);
}

/** NUL-terminated strings from `off` to the end; each must be ASCII and short. */
function strings(b: Uint8Array, off: number, what: string): string[] {
  const out: string[] = [];
  let i = off;
  while (i < b.length) {
    const end = b.indexOf(0, i);
    if (end < 0) throw new TftpDecodeError(`${what}: unterminated string at offset ${i}`);
    if (end - i > MAX_TEXT) throw new TftpDecodeError(`${what}: string at offset ${i} longer than ${MAX_TEXT} bytes`);
    const s = Buffer.from(b.subarray(i, end)).toString('latin1');
    if (!/^[\x01-\x7f]*$/.test(s)) throw new TftpDecodeError(`${what}: non-ASCII string at offset ${i}`);
    out.push(s);
    i = end + 1;
    if (out.length > 2 * MAX_OPTIONS + 2) throw new TftpDecodeError(`${what}: more than ${MAX_OPTIONS} options`);
  }
  return out;
}

function optionPairs(list: readonly string[], what: string): Options {
  if (list.length % 2 !== 0)
    throw new TftpDecodeError(`${what}: option ${JSON.stringify(list[list.length - 1])} has no value`);
  const o: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < list.length; i += 2) {
    const k = list[i]!.toLowerCase();
    if (k === '') throw new TftpDecodeError(`${what}: empty option name`);
    if (k in o) throw new TftpDecodeError(`${what}: option ${k} given twice`);
    o[k] = list[i + 1]!;
  }
  return o;
}

export function decode(b: Uint8Array): ServerPacket {
  if (b.length < 2) throw new TftpDecodeError(`packet of ${b.length} bytes is shorter than an opcode`);
  if (b.length > MAX_PACKET) throw new TftpDecodeError(`packet of ${b.length} bytes is longer than ${MAX_PACKET}`);
  const op = (b[0]! << 8) | b[1]!;
  switch (op) {
    case OP.DATA:
    case OP.ACK: {
      if (b.length < 4)
        throw new TftpDecodeError(`${op === OP.DATA ? 'DATA' : 'ACK'} of ${b.length} bytes has no block number`);
      const block = (b[2]! << 8) | b[3]!;
      if (op === OP.ACK) {
        if (b.length !== 4) throw new TftpDecodeError(`ACK of ${b.length} bytes (expected 4)`);
        return { op: 'ACK', block };
      }
      return { op: 'DATA', block, data: b.subarray(4) };
    }
    case OP.ERROR: {
      if (b.length < 4) throw new TftpDecodeError(`ERROR of ${b.length} bytes has no code`);
      const code = (b[2]! << 8) | b[3]!;
      // Servers differ on the trailing NUL and on message bytes: keep the printable part, bounded.
      let end = b.indexOf(0, 4);
      if (end < 0) end = b.length;
      const raw = Buffer.from(b.subarray(4, Math.min(end, 4 + MAX_TEXT))).toString('latin1');
      return { op: 'ERROR', code, message: raw.replace(/[^\x20-\x7e]/g, '?') };
    }
    case OP.OACK:
      return { op: 'OACK', options: optionPairs(strings(b, 2, 'OACK'), 'OACK') };
    case OP.RRQ:
    case OP.WRQ: {
      const name = op === OP.RRQ ? 'RRQ' : 'WRQ';
      const list = strings(b, 2, name);
      if (list.length < 2) throw new TftpDecodeError(`${name}: no file name and mode`);
      return { op: name, filename: list[0]!, mode: list[1]!.toLowerCase(), options: optionPairs(list.slice(2), name) };
    }
    default:
      throw new TftpDecodeError(`unknown opcode ${op}`);
  }
}

/** `TFTP error 1 (File not found) from 192.0.2.1`, plus the server's own text when it says more. */
export function describeError(code: number, message: string, from: string): string {
  const name = ERROR_NAMES[code] ?? 'unknown code';
  const extra =
    message && message.toLowerCase() !== name.toLowerCase() ? ` (server says ${JSON.stringify(message)})` : '';
  return `TFTP error ${code} (${name}) from ${from}${extra}`;
}
