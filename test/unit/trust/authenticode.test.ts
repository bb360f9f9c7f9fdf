// Authenticode against real sbsign signatures, cross-checked with sbverify (docs/signatures.md §6).

import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticodeError,
  type DbCert,
  authenticodeLayout,
  verifyAuthenticode,
} from '../../../src/trust/authenticode';
import { DerError } from '../../../src/trust/der';
import { PeError } from '../../../src/discovery/uki/pe';
import { parseSignedData } from '../../../src/trust/pkcs7';
import { makeTestPki, run, sbsign, sbverifyOk, type TestPki } from '../../fixtures/signing';
import { STUB } from '../../fixtures/uki';

let dir: string;
let pki: TestPki;
const db = (...pems: string[]): DbCert[] =>
  pems.map((p) => ({ source: path.basename(p), cert: new X509Certificate(fs.readFileSync(p)) }));
const read = (f: string): Uint8Array => new Uint8Array(fs.readFileSync(f));
const out = (n: string): string => path.join(dir, n);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-authenticode-'));
  pki = makeTestPki(dir);
  sbsign(STUB, out('self.efi'), pki.self);
  sbsign(STUB, out('other.efi'), pki.other);
  sbsign(STUB, out('ec.efi'), pki.ec);
  sbsign(STUB, out('chain.efi'), pki.leaf, pki.intermediate);
  sbsign(STUB, out('leaf-only.efi'), pki.leaf);
  sbsign(out('other.efi'), out('both.efi'), pki.self);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('Authenticode (sbsign, sbverify)', () => {
  it('a stub signed with the db key verifies, as sbverify says', () => {
    const r = verifyAuthenticode(read(out('self.efi')), db(pki.self.cert), 'self.efi');
    expect(r).toMatchObject({ signer: 'tendril-test-signer', alg: 'sha256' });
    expect(r.anchor).toContain('tendril-test-signer.pem');
    expect(sbverifyOk(out('self.efi'), pki.self.cert)).toBe(true);
  });

  it('one signed with another key is refused, as sbverify refuses it', () => {
    expect(() => verifyAuthenticode(read(out('other.efi')), db(pki.self.cert), 'other.efi')).toThrow(
      /signed by other-signer, which no db certificate vouches for/,
    );
    expect(sbverifyOk(out('other.efi'), pki.self.cert)).toBe(false);
  });

  it('the unsigned stub has no signature', () => {
    expect(() => verifyAuthenticode(read(STUB), db(pki.self.cert), 'stub')).toThrow(/no Authenticode signature/);
  });

  it('a one-byte flip anywhere hashed is refused (and sbverify agrees)', () => {
    const img = read(out('self.efi'));
    const { ranges } = authenticodeLayout(img, 'x');
    // One flip in the headers, one in the first section, one in the last hashed range.
    const spots = [0x80, ranges[3]![0] + 17, ranges[ranges.length - 1]![1] - 1];
    for (const at of spots) {
      const t = new Uint8Array(img);
      t[at]! ^= 1;
      fs.writeFileSync(out('flip.efi'), t);
      expect(() => verifyAuthenticode(t, db(pki.self.cert), `flip@${at}`), `flip at ${at}`).toThrow();
      expect(sbverifyOk(out('flip.efi'), pki.self.cert)).toBe(false);
    }
  });

  it('the CheckSum field is outside the hash (as the spec says)', () => {
    const img = new Uint8Array(read(out('self.efi')));
    const opt = Buffer.from(img).readUInt32LE(0x3c) + 24;
    img[opt + 64]! ^= 0xff;
    expect(verifyAuthenticode(img, db(pki.self.cert), 'x').signer).toBe('tendril-test-signer');
  });

  it('ECDSA signatures verify', () => {
    expect(verifyAuthenticode(read(out('ec.efi')), db(pki.ec.cert), 'ec.efi').signer).toBe('ec-signer');
    expect(sbverifyOk(out('ec.efi'), pki.ec.cert)).toBe(true);
  });

  it('a leaf chains through the embedded intermediate to the root in the db', () => {
    const r = verifyAuthenticode(read(out('chain.efi')), db(pki.root), 'chain.efi');
    expect(r.signer).toBe('test-leaf-signer');
    expect(r.anchor).toContain('test-root-ca');
    expect(sbverifyOk(out('chain.efi'), pki.root)).toBe(true);
    // The intermediate itself in the db is enough too.
    expect(verifyAuthenticode(read(out('leaf-only.efi')), db(pki.intermediate), 'l').signer).toBe('test-leaf-signer');
  });

  it('without the intermediate embedded, the root alone does not vouch for the leaf', () => {
    expect(() => verifyAuthenticode(read(out('leaf-only.efi')), db(pki.root), 'leaf-only.efi')).toThrow(
      /which no db certificate vouches for/,
    );
    expect(sbverifyOk(out('leaf-only.efi'), pki.root)).toBe(false);
  });

  it('two signatures: either db certificate suffices, neither refuses with both reasons', () => {
    const img = read(out('both.efi'));
    expect(run('sbverify', ['--list', out('both.efi')])).toMatch(/signature 2/);
    expect(verifyAuthenticode(img, db(pki.self.cert), 'both').signer).toBe('tendril-test-signer');
    expect(verifyAuthenticode(img, db(pki.other.cert), 'both').signer).toBe('other-signer');
    const e = (() => {
      try {
        verifyAuthenticode(img, db(pki.ec.cert), 'both');
      } catch (x) {
        return x as Error;
      }
      throw new Error('verified');
    })();
    expect(e).toBeInstanceOf(AuthenticodeError);
    expect(e.message).toMatch(/other-signer.*;.*tendril-test-signer/);
  });

  it('an empty db trusts nothing', () => {
    expect(() => verifyAuthenticode(read(out('self.efi')), [], 'self.efi')).toThrow(/no db certificate/);
  });

  it('a truncated certificate table is an error naming it', () => {
    const img = read(out('self.efi'));
    expect(() => verifyAuthenticode(img.subarray(0, img.length - 100), db(pki.self.cert), 'cut')).toThrow(
      /certificate table/,
    );
  });
});

describe('hostile input', () => {
  const expected = (e: unknown): boolean =>
    e instanceof AuthenticodeError || e instanceof DerError || e instanceof PeError;

  it('random bytes in the PKCS#7 parser give a DerError or a result', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        try {
          parseSignedData(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DerError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('mutations of a real signature never crash the parser or verify', () => {
    const img = read(out('self.efi'));
    const { certTable } = authenticodeLayout(img, 'x');
    const blob = img.subarray(certTable[0] + 8, certTable[0] + certTable[1]);
    const d = db(pki.self.cert);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(blob.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        (flips) => {
          const b = new Uint8Array(blob);
          for (const [at, x] of flips) b[at]! ^= x;
          try {
            parseSignedData(b);
          } catch (e) {
            expect(e).toBeInstanceOf(DerError);
          }
          const t = new Uint8Array(img);
          t.set(b, certTable[0] + 8);
          try {
            verifyAuthenticode(t, d, 'm');
            // Only bytes outside what the signature covers (e.g. unsigned attributes) may change.
          } catch (e) {
            expect(expected(e), String(e)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('mutations of the PE headers give a PE/Authenticode error, never a crash', () => {
    const img = read(out('self.efi'));
    const d = db(pki.self.cert);
    fc.assert(
      fc.property(fc.nat(1023), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const t = new Uint8Array(img);
        t[at]! ^= x;
        try {
          verifyAuthenticode(t, d, 'h');
        } catch (e) {
          expect(expected(e), String(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
