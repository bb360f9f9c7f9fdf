// Detached signatures made by the real tools (`minisign -S`, `ssh-keygen -Y sign -n file`),
// loaded from key directories the way the initramfs holds them (docs/signatures.md §6).

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detachedCheck } from '../../../src/trust/detached';
import type { FileVerdict } from '../../../src/trust/verdict';
import { loadTrustStore, type TrustStore } from '../../../src/trust/keys';
import { MinisignError, parseMinisignKey, parseMinisignSig } from '../../../src/trust/minisign';
import { makeTestPki, minisignKey, minisignSign, sshKey, sshSign } from '../../fixtures/signing';

let dir: string;
let store: TrustStore;
const f = (n: string): string => path.join(dir, n);

function expectBad(v: FileVerdict, re: RegExp): void {
  expect(v.verdict).toBe('bad');
  expect(v.verdict !== 'verified' && v.reason).toMatch(re);
}

/** Feed `data` in uneven chunks, as the copy does. */
function check(file: string, data: Uint8Array, s: TrustStore = store) {
  const c = detachedCheck(file, fs.readFileSync(`${file}.sig`, 'utf8'), s);
  for (let i = 0; i < data.length; i += 7919) c.update(data.subarray(i, i + 7919));
  return c.finish();
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-detached-'));
  const keys = f('keys');
  const db = f('db');
  fs.mkdirSync(keys);
  fs.mkdirSync(db);
  const ms = minisignKey(dir, 'owner');
  minisignKey(dir, 'stranger');
  const ssh = sshKey(dir, 'owner-ssh');
  sshKey(dir, 'stranger-ssh');
  fs.copyFileSync(ms.pub, path.join(keys, 'owner.pub'));
  fs.copyFileSync(ssh.pub, path.join(keys, 'owner-ssh.pub'));
  fs.writeFileSync(path.join(keys, 'broken.pub'), 'not a key\n');
  const pki = makeTestPki(dir);
  fs.copyFileSync(pki.self.cert, path.join(db, 'self.pem'));
  fs.writeFileSync(
    path.join(db, 'bundle.pem'),
    fs.readFileSync(pki.root, 'utf8') + fs.readFileSync(pki.ec.cert, 'utf8'),
  );
  for (const n of ['initrd-ms', 'initrd-legacy', 'initrd-ssh', 'initrd-stranger', 'initrd-stranger-ssh', 'initrd-ns'])
    fs.writeFileSync(f(n), randomBytes(100_000 + n.length));
  minisignSign(f('initrd-ms'), ms.key, 'tendril test initrd');
  minisignSign(f('initrd-legacy'), ms.key, 'legacy', true);
  minisignSign(f('initrd-stranger'), f('stranger.key'), 'stranger');
  sshSign(f('initrd-ssh'), ssh.key);
  sshSign(f('initrd-stranger-ssh'), f('stranger-ssh'));
  sshSign(f('initrd-ns'), ssh.key, 'git');
  store = loadTrustStore(db, keys);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('key directories', () => {
  it('loads PEM bundles, minisign and ssh keys, and names the file it skipped', () => {
    expect(store.db.map((d) => path.basename(d.source))).toEqual(['bundle.pem', 'bundle.pem', 'self.pem']);
    expect(store.minisign).toHaveLength(1);
    expect(store.ssh.map((k) => k.comment)).toEqual(['owner-ssh@test']);
    expect(store.problems).toHaveLength(1);
    expect(store.problems[0]).toMatch(/broken\.pub line 1: not an 'ssh-ed25519/);
  });
  it('a missing directory is no keys, not an error', () => {
    expect(loadTrustStore(f('nope'), f('nope2'))).toEqual({ db: [], minisign: [], ssh: [], problems: [] });
  });
});

describe('minisign', () => {
  it('a prehashed signature by the owner verifies, with the trusted comment', () => {
    const v = check(f('initrd-ms'), fs.readFileSync(f('initrd-ms')));
    expect(v).toMatchObject({ verdict: 'verified', how: 'minisign' });
    expect(v.verdict === 'verified' && v.signer).toMatch(/tendril test initrd$/);
    expect(
      fs
        .readFileSync(`${f('initrd-ms')}.sig`, 'utf8')
        .split('\n')[1]!
        .startsWith('RU'),
    ).toBe(true); // "ED"
  });
  it('a legacy (pure Ed25519) signature verifies too', () => {
    expect(
      fs
        .readFileSync(`${f('initrd-legacy')}.sig`, 'utf8')
        .split('\n')[1]!
        .startsWith('RW'),
    ).toBe(true); // "Ed"
    expect(check(f('initrd-legacy'), fs.readFileSync(f('initrd-legacy')))).toMatchObject({ verdict: 'verified' });
  });
  it('a tampered file is bad, naming the key', () => {
    for (const n of ['initrd-ms', 'initrd-legacy']) {
      const b = new Uint8Array(fs.readFileSync(f(n)));
      b[50_000]! ^= 1;
      expectBad(check(f(n), b), /does not match the file/);
    }
  });
  it('an edited trusted comment is bad (the global signature)', () => {
    const sig = fs.readFileSync(`${f('initrd-ms')}.sig`, 'utf8').replace('tendril test initrd', 'tendril test initrD');
    const c = detachedCheck('x', sig, store);
    c.update(fs.readFileSync(f('initrd-ms')));
    expectBad(c.finish(), /trusted comment/);
  });
  it('a key not in the directory is bad', () => {
    expectBad(check(f('initrd-stranger'), fs.readFileSync(f('initrd-stranger'))), /which is not a trusted key/);
  });
});

describe('SSHSIG', () => {
  it('ssh-keygen -Y sign -n file verifies', () => {
    const v = check(f('initrd-ssh'), fs.readFileSync(f('initrd-ssh')));
    expect(v).toMatchObject({ verdict: 'verified', how: 'sshsig' });
    expect(v.verdict === 'verified' && v.signer).toMatch(/^owner-ssh@test \(SHA256:/);
  });
  it('tampered, wrong key, wrong namespace are bad', () => {
    const b = new Uint8Array(fs.readFileSync(f('initrd-ssh')));
    b[0]! ^= 1;
    expect(check(f('initrd-ssh'), b)).toMatchObject({ verdict: 'bad' });
    expect(check(f('initrd-stranger-ssh'), fs.readFileSync(f('initrd-stranger-ssh')))).toMatchObject({
      verdict: 'bad',
    });
    expectBad(check(f('initrd-ns'), fs.readFileSync(f('initrd-ns'))), /namespace "git"/);
  });
  it('a .sig of neither kind is bad', () => {
    expect(detachedCheck('x', 'hello', store).finish()).toMatchObject({ verdict: 'bad' });
  });
});

describe('hostile input', () => {
  it('random text as a minisign key or signature is a MinisignError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ maxLength: 200 }).map((s) => `untrusted comment: x\n${s}`),
          fc
            .uint8Array({ minLength: 70, maxLength: 80 })
            .map(
              (b) =>
                `untrusted comment: x\n${Buffer.from(b).toString('base64')}\ntrusted comment: y\n${Buffer.from(b.subarray(0, 64)).toString('base64')}\n`,
            ),
        ),
        (s) => {
          for (const p of [() => parseMinisignKey(s, 'k'), () => parseMinisignSig(s)]) {
            try {
              p();
            } catch (e) {
              expect(e).toBeInstanceOf(MinisignError);
            }
          }
          // Whatever the .sig says, the check ends in a verdict, never a throw.
          const c = detachedCheck('x', s, store);
          c.update(new Uint8Array(3));
          expect(['bad', 'unsigned']).toContain(c.finish().verdict);
        },
      ),
      { numRuns: 1500 },
    );
  });
  it('mutations of a real minisign signature never verify the tampered comment or crash', () => {
    const sig = fs.readFileSync(`${f('initrd-ms')}.sig`, 'utf8');
    const data = fs.readFileSync(f('initrd-ms'));
    fc.assert(
      fc.property(fc.nat(sig.length - 1), fc.integer({ min: 32, max: 126 }), (at, ch) => {
        const m = sig.slice(0, at) + String.fromCharCode(ch) + sig.slice(at + 1);
        const c = detachedCheck('x', m, store);
        c.update(data);
        const v = c.finish();
        // Only the untrusted comment line may change and still verify, or base64 that decodes alike.
        if (v.verdict === 'verified' && at > sig.indexOf('\n'))
          expect(parseMinisignSig(m)).toEqual(parseMinisignSig(sig));
      }),
      { numRuns: 400 },
    );
  });
});
