// The few TPM 2.0 commands tendril sends (TPM 2.0 Library Part 3): PCR_Extend with a password
// session, GetCapability(TPM_CAP_PCRS) for the active banks, PCR_Read. Builders produce the
// exact command bytes; parsers take one whole response and check every size in it.

import { ALG_ID, DIGEST_SIZE, type HashAlg, MAX_DIGEST } from './algs';
import { Reader, TpmParseError, Writer } from './bytes';

export const TPM_ST_NO_SESSIONS = 0x8001;
export const TPM_ST_SESSIONS = 0x8002;
export const TPM_CC_PCR_EXTEND = 0x0000_0182;
export const TPM_CC_GET_CAPABILITY = 0x0000_017a;
export const TPM_CC_PCR_READ = 0x0000_017e;
/** The password authorization pseudo-session (TPM 2.0 Library Part 1, "Password Authorizations"). */
export const TPM_RS_PW = 0x4000_0009;
export const TPM_CAP_PCRS = 0x0000_0005;

/** Responses larger than this are refused (TPM2 implementations cap buffers at 4 KiB). */
export const MAX_RESPONSE = 4096;
const HEADER = 10;
/** PCR indices a PC Client TPM has (PC Client Platform TPM Profile): 0..23. */
export const PCR_COUNT = 24;
/** Banks a TPM may report; more would be a malformed answer. */
const MAX_BANKS = 16;
/** pcrSelect bytes per bank (PCR_SELECT_MAX is 3 on PC Client TPMs; allow room). */
const MAX_SELECT = 8;

export const COMMAND_NAMES: Readonly<Record<number, string>> = {
  [TPM_CC_PCR_EXTEND]: 'TPM2_PCR_Extend',
  [TPM_CC_GET_CAPABILITY]: 'TPM2_GetCapability',
  [TPM_CC_PCR_READ]: 'TPM2_PCR_Read',
};

function frame(tag: number, cc: number, body: Uint8Array): Uint8Array {
  return new Writer()
    .u16(tag)
    .u32(HEADER + body.length)
    .u32(cc)
    .bytes(body)
    .done();
}

export interface Digest {
  readonly alg: HashAlg;
  readonly digest: Uint8Array;
}

function checkPcr(pcr: number): void {
  if (!Number.isInteger(pcr) || pcr < 0 || pcr >= PCR_COUNT) throw new RangeError(`PCR ${pcr} is not 0..23`);
}

/** TPM2_PCR_Extend(pcrHandle = PCR index, TPML_DIGEST_VALUES) with an empty password (PCR auth). */
export function pcrExtendCommand(pcr: number, digests: readonly Digest[]): Uint8Array {
  checkPcr(pcr);
  if (digests.length === 0) throw new RangeError('PCR_Extend needs at least one digest');
  const w = new Writer().u32(pcr);
  // Authorization area: its size, then TPMS_AUTH_COMMAND {handle, nonce(0), attributes, hmac(0)}.
  w.u32(9).u32(TPM_RS_PW).u16(0).u8(0).u16(0);
  w.u32(digests.length);
  for (const d of digests) {
    if (d.digest.length !== DIGEST_SIZE[d.alg]) throw new RangeError(`${d.alg} digest is ${d.digest.length} bytes`);
    w.u16(ALG_ID[d.alg]).bytes(d.digest);
  }
  return frame(TPM_ST_SESSIONS, TPM_CC_PCR_EXTEND, w.done());
}

export function getCapabilityPcrsCommand(): Uint8Array {
  return frame(TPM_ST_NO_SESSIONS, TPM_CC_GET_CAPABILITY, new Writer().u32(TPM_CAP_PCRS).u32(0).u32(1).done());
}

/** PCR_Read of one PCR in one bank. */
export function pcrReadCommand(pcr: number, alg: HashAlg): Uint8Array {
  checkPcr(pcr);
  const select = new Uint8Array(3);
  select[pcr >> 3] = 1 << (pcr & 7);
  const body = new Writer().u32(1).u16(ALG_ID[alg]).u8(3).bytes(select).done();
  return frame(TPM_ST_NO_SESSIONS, TPM_CC_PCR_READ, body);
}

export interface Response {
  readonly tag: number;
  readonly rc: number;
  /** The bytes after the 10-byte header. */
  readonly body: Uint8Array;
}

/** The header of one whole response: tag, size (must equal what was read), response code. */
export function parseResponse(b: Uint8Array): Response {
  if (b.length > MAX_RESPONSE) throw new TpmParseError(`response of ${b.length} bytes exceeds ${MAX_RESPONSE}`);
  const r = new Reader(b);
  const tag = r.u16('response tag');
  const size = r.u32('response size');
  const rc = r.u32('response code');
  if (tag !== TPM_ST_NO_SESSIONS && tag !== TPM_ST_SESSIONS)
    throw new TpmParseError(`response tag 0x${tag.toString(16)} is neither TPM_ST_NO_SESSIONS nor TPM_ST_SESSIONS`);
  if (size !== b.length) throw new TpmParseError(`response size field says ${size}, ${b.length} bytes arrived`);
  const body = r.bytes(r.left, 'response body');
  if (rc !== 0 && body.length !== 0)
    throw new TpmParseError(`error response (rc ${rc}) with a ${body.length}-byte body`);
  return { tag, rc, body };
}

/** PCR_Extend's successful body: parameterSize (0), then one password session's response. */
export function parsePcrExtendBody(resp: Response): void {
  if (resp.tag !== TPM_ST_SESSIONS) throw new TpmParseError('PCR_Extend response without sessions');
  const r = new Reader(resp.body);
  const params = r.u32('parameterSize');
  if (params !== 0) throw new TpmParseError(`PCR_Extend returned ${params} parameter bytes, expected 0`);
  r.sized(MAX_DIGEST, 'session nonce');
  r.u8('session attributes');
  r.sized(MAX_DIGEST, 'session hmac');
  r.end('PCR_Extend response');
}

export interface PcrSelection {
  readonly algId: number;
  /** PCR indices selected (allocated) in this bank. */
  readonly pcrs: readonly number[];
}

function readSelection(r: Reader, what: string): PcrSelection[] {
  const count = r.u32(`${what} count`);
  if (count > MAX_BANKS) throw new TpmParseError(`${what}: ${count} banks exceeds ${MAX_BANKS}`);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const algId = r.u16(`${what}[${i}] hash`);
    const n = r.u8(`${what}[${i}] sizeofSelect`);
    if (n > MAX_SELECT) throw new TpmParseError(`${what}[${i}]: sizeofSelect ${n} exceeds ${MAX_SELECT}`);
    const bits = r.bytes(n, `${what}[${i}] pcrSelect`);
    const pcrs: number[] = [];
    bits.forEach((byte, j) => {
      for (let k = 0; k < 8; k++) if (byte & (1 << k)) pcrs.push(j * 8 + k);
    });
    out.push({ algId, pcrs });
  }
  return out;
}

/** GetCapability(TPM_CAP_PCRS): the PCR allocation per bank. */
export function parsePcrsCapability(resp: Response): PcrSelection[] {
  const r = new Reader(resp.body);
  r.u8('moreData');
  const cap = r.u32('capability');
  if (cap !== TPM_CAP_PCRS) throw new TpmParseError(`capability ${cap} returned, asked for TPM_CAP_PCRS`);
  const sel = readSelection(r, 'TPML_PCR_SELECTION');
  r.end('GetCapability response');
  return sel;
}

/** PCR_Read: the one digest asked for (an unallocated bank gives none: undefined). */
export function parsePcrRead(resp: Response, alg: HashAlg): Uint8Array | undefined {
  const r = new Reader(resp.body);
  r.u32('pcrUpdateCounter');
  readSelection(r, 'pcrSelectionOut');
  const n = r.u32('TPML_DIGEST count');
  if (n > 8) throw new TpmParseError(`PCR_Read returned ${n} digests`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.sized(MAX_DIGEST, `digest[${i}]`));
  r.end('PCR_Read response');
  if (n === 0) return undefined;
  if (n !== 1 || out[0]!.length !== DIGEST_SIZE[alg])
    throw new TpmParseError(`PCR_Read returned ${n} digest(s) of ${out[0]!.length} bytes for ${alg}`);
  return out[0];
}
