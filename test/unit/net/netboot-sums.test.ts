// `tendril netboot` with signed SHA256SUMS next to the boot file (docs/net-transfer.md §9), against
// real servers in a private namespace pair: dnsmasq's lease names https://192.0.2.1/boot.ipxe on
// nginx; the script names a kernel and an initrd in the same directory, which also holds
// SHA256SUMS (sha256sum's output) and SHA256SUMS.sig made by `ssh-keygen -Y sign -n file` with the
// owner's key (its .pub in the trust.keys directory). Each test serves what it needs and puts the
// served directory back.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { serveHttpsNetboot } from '../../fixtures/https-netboot';
import { type Pki } from '../../fixtures/pki';
import { NetnsPair, SERVER_IP } from '../../fixtures/netns-pair';

let pair: NetnsPair;
let pki: Pki;
let www: string;
let keys: string;
let kernel: Buffer;
let fingerprint: string;
const initrd = Buffer.from('070701'.padEnd(4096, '0'));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const SCRIPT = `#!ipxe
kernel https://${SERVER_IP}/vmlinuz tendril.test=sums
initrd initrd.img
boot
`;
const KERNEL_URL = `https://${SERVER_IP}/vmlinuz`;
const INITRD_URL = `https://${SERVER_IP}/initrd.img`;
const SUMS_URL = `https://${SERVER_IP}/SHA256SUMS`;

let settingsFiles = 0;
function settings(extra: string, policy = 'warn'): string {
  const f = path.join(pair.dir, `settings-${settingsFiles++}.toml`);
  fs.writeFileSync(
    f,
    `[net]\nca = "${pki.caPem}"\ntimeout = 30\n${extra}\n[trust]\npolicy = "${policy}"\nkeys = "${keys}"\n`,
  );
  return f;
}

/** SHA256SUMS as sha256sum writes it (binary mode marker for the initrd), signed with `key`. */
function publishSums(key: string, files = { vmlinuz: kernel, 'initrd.img': initrd }): void {
  const text = Object.entries(files)
    .map(([n, b], i) => `${sha(b)} ${i % 2 ? '*' : ' '}${n}\n`)
    .join('');
  fs.writeFileSync(path.join(www, 'SHA256SUMS'), text);
  fs.rmSync(path.join(www, 'SHA256SUMS.sig'), { force: true });
  execFileSync('ssh-keygen', ['-Y', 'sign', '-f', key, '-n', 'file', path.join(www, 'SHA256SUMS')], { stdio: 'pipe' });
}

function unpublishSums(): void {
  for (const f of ['SHA256SUMS', 'SHA256SUMS.sig']) fs.rmSync(path.join(www, f), { force: true });
}

const dryRun = async (f: string) => {
  const r = await pair.cli(['netboot', '--iface', 'vc', '--dry-run'], { TENDRIL_SETTINGS: f });
  if (process.env.SHOW) console.error(r.stdout, r.stderr);
  return r;
};

beforeAll(async () => {
  pair = new NetnsPair('nbsums');
  const d = pair.dir;
  keys = path.join(d, 'keys');
  fs.mkdirSync(keys);
  for (const k of ['owner', 'stranger'])
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${k}@test`, '-f', path.join(d, k)]);
  // Only the owner's key is in the initramfs's trust.keys.
  fs.copyFileSync(path.join(d, 'owner.pub'), path.join(keys, 'owner.pub'));
  fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(d, 'owner.pub')], {
    encoding: 'utf8',
  }).split(' ')[1]!;
  kernel = fs.readFileSync(hostKernel().vmlinuz);
  ({ pki, www } = await serveHttpsNetboot(pair, { vmlinuz: kernel, 'initrd.img': initrd, 'boot.ipxe': SCRIPT }));
});

afterAll(() => pair?.close());

describe('tendril netboot: signed SHA256SUMS beside the boot file', () => {
  it("sums signed by the owner's key: the plan's kernel and initrd are verified by them (dry run and --json)", async () => {
    publishSums(path.join(pair.dir, 'owner'));
    try {
      const f = settings('');
      const r = await dryRun(f);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(sha(kernel));
      expect(r.stdout).toContain(`network file ${KERNEL_URL}: verified by ${SUMS_URL} signed by ${fingerprint}`);
      expect(r.stdout).toContain(`network file ${INITRD_URL}: verified by ${SUMS_URL} signed by ${fingerprint}`);
      const j = await pair.cli(['netboot', '--iface', 'vc', '--json'], { TENDRIL_SETTINGS: f });
      expect(j.code).toBe(0);
      const out = JSON.parse(j.stdout) as {
        bootFiles: { sums?: { state: string; signer?: string } }[];
        entries: { files: { url: string; verified: string | null; sha256?: string }[] }[];
      };
      expect(out.bootFiles[0]!.sums).toMatchObject({ state: 'verified', signer: `${fingerprint} (owner@test)` });
      expect(out.entries[0]!.files).toEqual([
        expect.objectContaining({ url: KERNEL_URL, verified: 'sums', sha256: sha(kernel) }),
        expect.objectContaining({ url: INITRD_URL, verified: 'sums', sha256: sha(initrd) }),
      ]);
    } finally {
      unpublishSums();
    }
  });

  it('an initrd one byte off what the signed sums list is refused, naming the URL, the listed and the served sha256', async () => {
    publishSums(path.join(pair.dir, 'owner'));
    const flipped = Buffer.from(initrd);
    flipped[100]! ^= 0x01;
    fs.writeFileSync(path.join(www, 'initrd.img'), flipped);
    try {
      const r = await dryRun(settings(''));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(INITRD_URL);
      expect(r.stderr).toContain(`sha256 mismatch: expected ${sha(initrd)}, got ${sha(flipped)}`);
      expect(r.stderr).toContain('no entry could be booted');
    } finally {
      fs.writeFileSync(path.join(www, 'initrd.img'), initrd);
      unpublishSums();
    }
  });

  it("sums signed by a key not in trust.keys disable the boot file's entries, with the reason", async () => {
    publishSums(path.join(pair.dir, 'stranger'));
    try {
      const r = await dryRun(settings(''));
      expect(r.code).toBe(1);
      expect(r.stdout).not.toContain(sha(kernel));
      expect(r.stdout).toMatch(
        /\[cannot boot: signed sums refused: .*SHA256SUMS: signed by SHA256:\S+ .*not a trusted key/,
      );
      expect(r.stderr).toContain(`signed sums refused: ${SUMS_URL}`);
      // trust.policy = off: a warning, and the entry plans unverified.
      const off = await dryRun(settings('', 'off'));
      expect(off.code).toBe(0);
      expect(off.stderr).toContain(`signed sums not used: ${SUMS_URL}`);
      expect(off.stdout).toContain(`network file ${KERNEL_URL}: not verified`);
    } finally {
      unpublishSums();
    }
  });

  it('sums changed after signing disable the entries: the signature does not match', async () => {
    publishSums(path.join(pair.dir, 'owner'));
    fs.appendFileSync(path.join(www, 'SHA256SUMS'), `${'0'.repeat(64)}  extra\n`);
    try {
      const r = await dryRun(settings(''));
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/\[cannot boot: signed sums refused: .*does not match/);
    } finally {
      unpublishSums();
    }
  });

  it('no SHA256SUMS (404) and net.require-verified: refused, naming the file nothing vouches for', async () => {
    unpublishSums();
    const r = await dryRun(settings('require-verified = true'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${KERNEL_URL}: not verified: no sha256 pin vouches for it and no signed SHA256SUMS`);
    // Without require-verified the same server plans, unverified.
    const loose = await dryRun(settings(''));
    expect(loose.code).toBe(0);
    expect(loose.stdout).toContain(`network file ${INITRD_URL}: not verified`);
  });

  it('signed sums and net.require-verified: accepted; a pin and the sums both apply to a pinned file', async () => {
    publishSums(path.join(pair.dir, 'owner'));
    try {
      const r = await dryRun(settings(`require-verified = true\n[net.pins]\n"${KERNEL_URL}" = "${sha(kernel)}"\n`));
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`network file ${KERNEL_URL}: verified by [net.pins]`);
      expect(r.stdout).toContain(`network file ${INITRD_URL}: verified by ${SUMS_URL} signed by ${fingerprint}`);
      expect(r.stdout).toContain(sha(initrd));
    } finally {
      unpublishSums();
    }
  });

  it('net.sums names another file; a pin that disagrees with the sums is refused naming both', async () => {
    publishSums(path.join(pair.dir, 'owner'));
    fs.renameSync(path.join(www, 'SHA256SUMS'), path.join(www, 'release.sums'));
    fs.renameSync(path.join(www, 'SHA256SUMS.sig'), path.join(www, 'release.sums.sig'));
    try {
      const other = `https://${SERVER_IP}/release.sums`;
      const r = await dryRun(settings('sums = "release.sums"'));
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`network file ${KERNEL_URL}: verified by ${other} signed by`);
      const bad = 'b'.repeat(64);
      const r2 = await dryRun(settings(`sums = "release.sums"\n[net.pins]\n"${INITRD_URL}" = "${bad}"\n`));
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain(`${INITRD_URL}: [net.pins] says sha256 ${bad} but ${other} lists ${sha(initrd)}`);
    } finally {
      for (const f of ['release.sums', 'release.sums.sig']) fs.rmSync(path.join(www, f), { force: true });
    }
  });
});
