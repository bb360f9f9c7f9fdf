// SHA256SUMS parsing and SSHSIG verification, with signatures made by OpenSSH's own
// `ssh-keygen -Y sign` (an independent implementation of the format).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSha256Sums, parseTrustedKeys, SumsError, type TrustedKey, verifySshsig } from '../../../src/net/sums';

const H = 'a'.repeat(64);

describe('SHA256SUMS', () => {
  it('reads sha256sum output, text and binary mode, skipping blanks and comments', () => {
    const m = parseSha256Sums(`${H}  vmlinuz\n# c\n\n${'B'.repeat(64)} *./initrd.img\r\n`);
    expect([...m]).toEqual([
      ['vmlinuz', H],
      ['initrd.img', 'b'.repeat(64)],
    ]);
  });
  it('names the bad line', () => {
    expect(() => parseSha256Sums(`${H}  a\nxyz  b\n`)).toThrow('SHA256SUMS line 2: not');
    expect(() => parseSha256Sums(`${H}  a\n${H}  a\n`)).toThrow('line 2: "a" listed twice');
    expect(() => parseSha256Sums('\n'.repeat(20_000))).toThrow(/more than 10000 lines/);
  });
  it('any text gives a map or a SumsError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        try {
          for (const [, v] of parseSha256Sums(s)) expect(v).toMatch(/^[0-9a-f]{64}$/);
        } catch (e) {
          expect(e).toBeInstanceOf(SumsError);
        }
      }),
    );
  });
});

describe('SSHSIG (ssh-keygen -Y sign)', () => {
  let dir: string;
  let trusted: TrustedKey[];
  let other: TrustedKey[];
  const message = Buffer.from(`${H}  vmlinuz\n`);
  const sign = (key: string, ns: string): string => {
    const f = path.join(dir, `msg-${ns}-${path.basename(key)}`);
    fs.writeFileSync(f, message);
    execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-f', key, '-n', ns, f], { stdio: 'pipe' });
    return fs.readFileSync(`${f}.sig`, 'utf8');
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-sshsig-'));
    for (const k of ['signer', 'other'])
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${k}@test`, '-f', path.join(dir, k)]);
    trusted = parseTrustedKeys(fs.readFileSync(path.join(dir, 'signer.pub'), 'utf8'), 'signer.pub');
    other = parseTrustedKeys(fs.readFileSync(path.join(dir, 'other.pub'), 'utf8'), 'other.pub');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('verifies a good signature and names the key', () => {
    const fp = execFileSync('ssh-keygen', ['-l', '-f', path.join(dir, 'signer.pub')], { encoding: 'utf8' }).split(
      ' ',
    )[1];
    expect(verifySshsig(message, sign(path.join(dir, 'signer'), 'file'), trusted)).toEqual({
      comment: 'signer@test',
      fingerprint: fp,
    });
  });
  it('refuses a changed file, an untrusted key and another namespace', () => {
    const sig = sign(path.join(dir, 'signer'), 'file');
    const changed = Buffer.from(message);
    changed[0] = 0x62;
    expect(() => verifySshsig(changed, sig, trusted)).toThrow(/^signature by SHA256:\S+ does not match the file$/);
    expect(() => verifySshsig(message, sig, other)).toThrow(/^signed by SHA256:\S+, which is not a trusted key$/);
    expect(() => verifySshsig(message, sign(path.join(dir, 'signer'), 'git'), trusted)).toThrow(
      'SSH signature namespace "git", expected "file"',
    );
  });
  it('a damaged signature is a SumsError, never a crash or a pass', () => {
    const sig = sign(path.join(dir, 'signer'), 'file');
    const body = /-----BEGIN SSH SIGNATURE-----\n([\s\S]*)\n-----END/.exec(sig)![1]!.replace(/\n/g, '');
    const raw = Buffer.from(body, 'base64');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: raw.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const b = Buffer.from(raw);
        b[i]! ^= x;
        const armored = `-----BEGIN SSH SIGNATURE-----\n${b.toString('base64')}\n-----END SSH SIGNATURE-----\n`;
        expect(() => verifySshsig(message, armored, trusted)).toThrow(SumsError);
      }),
      { numRuns: 300 },
    );
    expect(() => verifySshsig(message, 'nothing', trusted)).toThrow('not an armored SSH SIGNATURE');
  });
  it('trusted keys: only ssh-ed25519 lines', () => {
    expect(() => parseTrustedKeys('ssh-rsa AAAAB3Nza x\n', 'keys')).toThrow("keys line 1: not an 'ssh-ed25519");
    expect(() => parseTrustedKeys('# none\n', 'keys')).toThrow('keys: no ssh-ed25519 key');
  });
});
