// Signed sums for network entries without a network (docs/net-transfer.md §9): where the sums
// file is, which URL a sums line names, who vouches for a URL, and what loading reports for a
// missing file, a missing signature and a server error. The signatures are made by ssh-keygen.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listedHash, loadSignedSums, type SumsState, sumsUrlFor, verifierOf } from '../../../src/net/entry-sums';
import { parseTrustedKeys, type TrustedKey } from '../../../src/net/sums';
import { NetError } from '../../../src/net/types';
import { memFetch } from './memfetch';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const verified = (url: string, entries: Record<string, string>): SumsState => ({
  kind: 'verified',
  url,
  signer: 'SHA256:x (k)',
  hashes: new Map(Object.entries(entries)),
});

describe('where the sums are and what they name', () => {
  it('net.sums resolves against the boot file directory; "none" turns them off', () => {
    expect(sumsUrlFor('SHA256SUMS', 'http://h/boot/x.ipxe')).toBe('http://h/boot/SHA256SUMS');
    expect(sumsUrlFor('../SUMS', 'tftp://h/a/b/pxelinux.0')).toBe('tftp://h/a/SUMS');
    expect(sumsUrlFor('https://o/r/SUMS', 'http://h/x')).toBe('https://o/r/SUMS');
    expect(sumsUrlFor('none', 'http://h/x')).toBeUndefined();
    expect(() => sumsUrlFor('ftp://h/S', 'http://h/x')).toThrow(NetError);
  });

  it('a listed name is relative to the sums directory: subdirectories, %-escapes; not another host, a query or a parent', () => {
    const s = verified('http://h/r/SHA256SUMS', { vmlinuz: A, 'sub/initrd img': B });
    expect(listedHash(s, 'http://h/r/vmlinuz')).toBe(A);
    expect(listedHash(s, 'http://h/r/sub/initrd%20img')).toBe(B);
    expect(listedHash(s, 'http://other/r/vmlinuz')).toBeUndefined();
    expect(listedHash(s, 'https://h/r/vmlinuz')).toBeUndefined();
    expect(listedHash(s, 'http://h/r/vmlinuz?x=1')).toBeUndefined();
    expect(listedHash(s, 'http://h/vmlinuz')).toBeUndefined();
    expect(listedHash({ kind: 'failed', url: 'http://h/r/SHA256SUMS', reason: 'r' }, 'http://h/r/vmlinuz')).toBe(
      undefined,
    );
  });

  it('any URL text gives a hash or nothing, never an exception', () => {
    const s = verified('http://h/r/SHA256SUMS', { vmlinuz: A });
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (u) => void listedHash(s, u)));
    fc.assert(fc.property(fc.webUrl(), (u) => void listedHash(s, u)));
  });

  it('a pin comes first; a pin and the sums that disagree are refused naming both', () => {
    const s = verified('http://h/r/SHA256SUMS', { vmlinuz: A });
    expect(verifierOf('http://h/r/vmlinuz', {}, s)).toEqual({
      by: 'sums',
      sha256: A,
      sums: 'http://h/r/SHA256SUMS',
      signer: 'SHA256:x (k)',
    });
    expect(verifierOf('http://h/r/vmlinuz', { 'http://h/r/vmlinuz': A }, s)).toEqual({ by: 'pin', sha256: A });
    expect(() => verifierOf('http://h/r/vmlinuz', { 'http://h/r/vmlinuz': B }, s)).toThrow(
      `[net.pins] says sha256 ${B} but http://h/r/SHA256SUMS lists ${A}`,
    );
    expect(verifierOf('http://h/r/initrd', {}, s)).toBeUndefined();
  });
});

describe('loadSignedSums', () => {
  let dir: string;
  let keys: TrustedKey[];
  let sums: Buffer;
  let sig: Buffer;
  const U = 'http://h/r/SHA256SUMS';

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-esums-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'owner', '-f', path.join(dir, 'k')]);
    keys = parseTrustedKeys(fs.readFileSync(path.join(dir, 'k.pub'), 'utf8'), 'k.pub');
    fs.writeFileSync(path.join(dir, 'SHA256SUMS'), `${A}  vmlinuz\n${B} *initrd.img\n`);
    execFileSync('ssh-keygen', ['-Y', 'sign', '-f', path.join(dir, 'k'), '-n', 'file', path.join(dir, 'SHA256SUMS')], {
      stdio: 'pipe',
    });
    sums = fs.readFileSync(path.join(dir, 'SHA256SUMS'));
    sig = fs.readFileSync(path.join(dir, 'SHA256SUMS.sig'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('verifies and lists (the * binary marker read)', async () => {
    const s = await loadSignedSums(memFetch({ [U]: sums, [`${U}.sig`]: sig }).fetch, U, keys);
    expect(s.kind).toBe('verified');
    expect(listedHash(s, 'http://h/r/initrd.img')).toBe(B);
  });

  it('no sums file is none; no signature, a server error, a wrong namespace or no key is failed with the URL', async () => {
    expect(await loadSignedSums(memFetch({}).fetch, U, keys)).toEqual({ kind: 'none', url: U });
    const noSig = await loadSignedSums(memFetch({ [U]: sums }).fetch, U, keys);
    expect(noSig).toMatchObject({ kind: 'failed', reason: `${U}.sig: not found: the sums are not signed` });
    const down = await loadSignedSums(
      memFetch({ [U]: new NetError(U, 'HTTP 500 Internal Server Error') }).fetch,
      U,
      keys,
    );
    expect(down).toMatchObject({ kind: 'failed', reason: `${U}: HTTP 500 Internal Server Error` });
    const none = await loadSignedSums(memFetch({ [U]: sums, [`${U}.sig`]: sig }).fetch, U, []);
    expect(none.kind === 'failed' && none.reason).toContain(`${U}: no OpenSSH Ed25519 key`);
    // ssh-keygen asks before it overwrites a .sig (and exits 0 when told nothing).
    fs.rmSync(path.join(dir, 'SHA256SUMS.sig'));
    execFileSync('ssh-keygen', ['-Y', 'sign', '-f', path.join(dir, 'k'), '-n', 'other', path.join(dir, 'SHA256SUMS')], {
      stdio: 'pipe',
    });
    const ns = fs.readFileSync(path.join(dir, 'SHA256SUMS.sig'));
    const wrong = await loadSignedSums(memFetch({ [U]: sums, [`${U}.sig`]: ns }).fetch, U, keys);
    expect(wrong.kind === 'failed' && wrong.reason).toMatch(/^http:\/\/h\/r\/SHA256SUMS: .*namespace/);
  });
});
