// A TPM 2.0 client for the three commands measured boot needs. Every failure is a TpmError
// naming the device, the command and either the system call with its errno or the TPM's
// response code in words.

import { type HashAlg, algById, algName } from './algs';
import { TpmParseError } from './bytes';
import {
  COMMAND_NAMES,
  type Digest,
  getCapabilityPcrsCommand,
  parsePcrExtendBody,
  parsePcrRead,
  parsePcrsCapability,
  parseResponse,
  pcrExtendCommand,
  pcrReadCommand,
  type Response,
} from './commands';
import { DeviceError, type Transport } from './device';
import { describeRc } from './rc';

export class TpmError extends Error {
  constructor(
    readonly device: string,
    readonly command: string,
    readonly detail: { readonly rc?: number; readonly syscall?: string; readonly errno?: string },
    message: string,
  ) {
    super(`${device}: ${command}: ${message}`);
  }
}

export interface Banks {
  /** Banks with at least one PCR allocated that tendril can hash. */
  readonly active: readonly HashAlg[];
  /** Allocated banks whose algorithm tendril cannot compute (named). */
  readonly unsupported: readonly string[];
}

export class Tpm {
  constructor(readonly transport: Transport) {}

  private call(cmd: Uint8Array, what: string): Response {
    const cc = (cmd[6]! << 24) | (cmd[7]! << 16) | (cmd[8]! << 8) | cmd[9]!;
    const name = `${COMMAND_NAMES[cc >>> 0] ?? `command 0x${cc.toString(16)}`}${what}`;
    let raw: Uint8Array;
    try {
      raw = this.transport.transmit(cmd);
    } catch (e) {
      if (e instanceof DeviceError)
        throw new TpmError(this.transport.name, name, { syscall: e.syscall, errno: e.code }, e.message);
      throw e;
    }
    try {
      const r = parseResponse(raw);
      if (r.rc !== 0) throw new TpmError(this.transport.name, name, { rc: r.rc }, describeRc(r.rc));
      return r;
    } catch (e) {
      if (e instanceof TpmParseError)
        throw new TpmError(this.transport.name, name, {}, `malformed response: ${e.message}`);
      throw e;
    }
  }

  private wrapParse<T>(name: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof TpmParseError)
        throw new TpmError(this.transport.name, name, {}, `malformed response: ${e.message}`);
      throw e;
    }
  }

  banks(): Banks {
    const r = this.call(getCapabilityPcrsCommand(), '(TPM_CAP_PCRS)');
    const sel = this.wrapParse('TPM2_GetCapability(TPM_CAP_PCRS)', () => parsePcrsCapability(r));
    const active: HashAlg[] = [];
    const unsupported: string[] = [];
    for (const s of sel) {
      if (s.pcrs.length === 0) continue;
      const alg = algById(s.algId);
      if (alg) active.push(alg);
      else unsupported.push(algName(s.algId));
    }
    return { active, unsupported };
  }

  extend(pcr: number, digests: readonly Digest[]): void {
    const r = this.call(pcrExtendCommand(pcr, digests), ` (PCR ${pcr})`);
    this.wrapParse(`TPM2_PCR_Extend (PCR ${pcr})`, () => parsePcrExtendBody(r));
  }

  read(pcr: number, alg: HashAlg): Uint8Array | undefined {
    const r = this.call(pcrReadCommand(pcr, alg), ` (PCR ${pcr}, ${alg})`);
    return this.wrapParse(`TPM2_PCR_Read (PCR ${pcr}, ${alg})`, () => parsePcrRead(r, alg));
  }
}
