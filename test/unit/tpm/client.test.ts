// The TPM client against a real TPM (swtpm): what PCR_Extend does to a PCR equals the TPM's own
// extend rule computed here, banks come back from GetCapability, errors carry the RC in words.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tpm, TpmError } from '../../../src/tpm/client';
import { deviceTransport } from '../../../src/tpm/device';
import { extendValue, hexOf } from '../../../src/tpm/digest';
import { startSwtpm, type Swtpm } from '../../fixtures/swtpm';

const sha = (alg: string, s: string): Uint8Array => new Uint8Array(createHash(alg).update(s).digest());

let sw: Swtpm;
let tpm: Tpm;
beforeAll(() => {
  sw = startSwtpm('sha1,sha256');
  tpm = new Tpm(sw.transport);
});
afterAll(() => sw.stop());

describe('TPM client on swtpm', () => {
  it('lists the allocated banks', () => {
    expect([...tpm.banks().active].sort()).toEqual(['sha1', 'sha256']);
    expect(tpm.banks().unsupported).toEqual([]);
  });

  it('PCR_Extend changes exactly the bank and PCR asked for, by the extend rule', () => {
    expect(hexOf(tpm.read(9, 'sha256')!)).toBe('00'.repeat(32));
    const d1 = sha('sha256', 'kernel bytes');
    const d2 = sha('sha256', 'initrd bytes');
    tpm.extend(9, [{ alg: 'sha256', digest: d1 }]);
    tpm.extend(9, [{ alg: 'sha256', digest: d2 }]);
    const want = extendValue('sha256', extendValue('sha256', new Uint8Array(32), d1), d2);
    expect(hexOf(tpm.read(9, 'sha256')!)).toBe(hexOf(want));
    // Only the SHA-256 digest was given: the SHA-1 bank and PCR 8 are untouched.
    expect(hexOf(tpm.read(9, 'sha1')!)).toBe('00'.repeat(20));
    expect(hexOf(tpm.read(8, 'sha256')!)).toBe('00'.repeat(32));
  });

  it('extends two banks in one command', () => {
    tpm.extend(8, [
      { alg: 'sha256', digest: sha('sha256', 'x') },
      { alg: 'sha1', digest: sha('sha1', 'x') },
    ]);
    expect(hexOf(tpm.read(8, 'sha1')!)).toBe(hexOf(extendValue('sha1', new Uint8Array(20), sha('sha1', 'x'))));
    expect(hexOf(tpm.read(8, 'sha256')!)).toBe(hexOf(extendValue('sha256', new Uint8Array(32), sha('sha256', 'x'))));
  });

  it('a refused command names the device, the command and the response code in words', () => {
    // The real TPM's answer to a PCR handle it does not have: the builder refuses index 30, so the
    // transport rewrites the handle of an otherwise well-formed PCR_Extend on its way.
    const t = new Tpm({
      name: sw.transport.name,
      transmit: (c) => {
        const b = Buffer.from(c);
        b.writeUInt32BE(30, 10);
        return sw.transport.transmit(b);
      },
    });
    let err: unknown;
    try {
      t.extend(9, [{ alg: 'sha256', digest: sha('sha256', 'x') }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TpmError);
    const e = err as TpmError;
    expect(e.message).toMatch(/^swtpm:\S+: TPM2_PCR_Extend \(PCR 9\): 0x00000184 TPM_RC_VALUE \(handle 1\)$/);
    expect(e.detail.rc).toBe(0x184);
  });

  it('device errors name the device, the command, the system call and errno', () => {
    const missing = new Tpm(deviceTransport('/nonexistent/tpmrm0'));
    expect(() => missing.banks()).toThrow(/^\/nonexistent\/tpmrm0: TPM2_GetCapability\(TPM_CAP_PCRS\): open: ENOENT/);
    // /dev/null takes the command and answers nothing: a malformed (empty) response.
    const mute = new Tpm(deviceTransport('/dev/null'));
    expect(() => mute.extend(9, [{ alg: 'sha256', digest: new Uint8Array(32) }])).toThrow(
      /^\/dev\/null: TPM2_PCR_Extend \(PCR 9\): malformed response: response tag: needs 2 bytes, 0 left$/,
    );
  });
});
