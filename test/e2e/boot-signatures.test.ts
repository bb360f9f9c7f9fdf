// End to end, signatures (issue 14, "Signatures"; docs/signatures.md): QEMU (TCG) boots the product
// initramfs with the owner's keys and `[trust] policy = "require"` added as one more cpio archive
// (so they live in the initramfs, never on the disk). The disk's default is a BLS entry whose
// kernel and initrds carry detached signatures (minisign, ssh-keygen -Y sign) but whose second
// initrd was changed after signing: refused, naming the file. `tendril boot --default` falls back
// in menu order to a UKI signed (sbsign) with another key: refused; then to the UKI signed with the
// owner's key: it boots the marker target.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpioArchive } from '../../initramfs/cpio';
import { hostKernel } from '../../initramfs/host';
import {
  LOG_DIR,
  ROOT,
  type QemuRun,
  blsEntry,
  privateCopy,
  productInitramfs,
  runQemu,
  sha256File,
  targetInitrds,
  targetReport,
} from '../fixtures/boot';
import { buildGptDisk } from '../fixtures/images';
import { makeTestPki, minisignKey, minisignSign, sbsign, sshKey, sshSign } from '../fixtures/signing';
import { buildUki } from '../fixtures/uki';

let work: string;
let run: QemuRun;
let order: string[];
let before: string;
let after: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-e2e-sig-'));
  const w = (n: string): string => path.join(work, n);
  const t = targetInitrds();
  const pki = makeTestPki(work);
  const ms = minisignKey(work, 'owner');
  const ssh = sshKey(work, 'owner-ssh');
  // The BLS entry's files, signed, then the second initrd changed by one byte.
  fs.copyFileSync(hostKernel().vmlinuz, w('vmlinuz'));
  fs.writeFileSync(w('initrd-main.img'), t.main);
  fs.writeFileSync(w('initrd-second.img'), t.second);
  minisignSign(w('vmlinuz'), ms.key, 'e2e kernel');
  sshSign(w('initrd-main.img'), ssh.key);
  sshSign(w('initrd-second.img'), ssh.key);
  const tampered = Buffer.from(t.second);
  tampered[tampered.length - 1]! ^= 1;
  // Two UKIs with the marker target; versions make the other-key one sort first (docs/bls.md §8.2).
  const uki = (v: string, tag: string): string =>
    buildUki({
      osrel: `NAME=Target\nID=target\nVERSION_ID=${v}\nPRETTY_NAME="UKI ${tag}"\n`,
      cmdline: `tendril.test=${tag}`,
      initrd: t.main,
    });
  sbsign(uki('2', 'other-key-uki'), w('other.efi'), pki.other);
  sbsign(uki('1', 'signed-uki'), w('signed.efi'), pki.self);
  const img = buildGptDisk([
    {
      type: 'esp',
      sizeMiB: 48,
      fs: {
        kind: 'vfat',
        label: 'ESP',
        files: {
          'loader/loader.conf': 'timeout 0\ndefault tampered.conf\n',
          'EFI/Linux/other.efi': fs.readFileSync(w('other.efi')),
          'EFI/Linux/signed.efi': fs.readFileSync(w('signed.efi')),
        },
      },
    },
    {
      type: 'xbootldr',
      sizeMiB: 48,
      fs: {
        kind: 'ext4',
        label: 'boot',
        files: {
          vmlinuz: { copyOf: w('vmlinuz') },
          'vmlinuz.sig': fs.readFileSync(w('vmlinuz.sig')),
          'initrd-main.img': t.main,
          'initrd-main.img.sig': fs.readFileSync(w('initrd-main.img.sig')),
          'initrd-second.img': tampered,
          'initrd-second.img.sig': fs.readFileSync(w('initrd-second.img.sig')),
          'loader/entries/tampered.conf': blsEntry({
            title: 'Tampered',
            linux: '/vmlinuz',
            initrds: ['/initrd-main.img', '/initrd-second.img'],
            options: 'tendril.test=tampered',
          }),
        },
      },
    },
  ]);
  const listed = execFileSync(
    process.execPath,
    [path.join(ROOT, 'dist', 'tendril.js'), 'list', '--json', '--disk', img],
    {
      encoding: 'utf8',
    },
  );
  order = (JSON.parse(listed) as { entries: { id: string }[] }).entries.map((e) => e.id);
  // The owner's keys and policy: one more (uncompressed) cpio after the product's archives.
  const extra = cpioArchive([
    { kind: 'dir', path: 'etc' },
    { kind: 'dir', path: 'etc/tendril' },
    { kind: 'dir', path: 'etc/tendril/db' },
    { kind: 'dir', path: 'etc/tendril/keys' },
    { kind: 'file', path: 'etc/tendril/tendril.toml', data: Buffer.from('[trust]\npolicy = "require"\n') },
    { kind: 'file', path: 'etc/tendril/db/owner.pem', data: fs.readFileSync(pki.self.cert) },
    { kind: 'file', path: 'etc/tendril/keys/owner.pub', data: fs.readFileSync(ms.pub) },
    { kind: 'file', path: 'etc/tendril/keys/owner-ssh.pub', data: fs.readFileSync(ssh.pub) },
  ]);
  const base = fs.readFileSync(productInitramfs());
  const pad = Buffer.alloc((4 - (base.length % 4)) % 4);
  fs.writeFileSync(w('initramfs.cpio'), Buffer.concat([base, pad, extra]));
  const disk = privateCopy(img);
  before = sha256File(disk);
  run = await runQemu({
    kernel: hostKernel().vmlinuz,
    initrd: w('initramfs.cpio'),
    append: 'console=ttyS0 quiet tendril.mode=boot',
    disks: [disk],
    timeoutMs: 400_000,
    logFile: path.join(LOG_DIR, 'boot-signatures.log'),
  });
  after = sha256File(disk);
  fs.rmSync(path.dirname(disk), { recursive: true, force: true });
}, 900_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('trust.policy = require under QEMU', () => {
  it('the menu order tries the tampered entry, then the other-key UKI, then the signed one', () => {
    expect(order).toEqual(['other.efi', 'signed.efi', 'tampered.conf']);
  });

  it('the BLS entry with a tampered initrd is refused, naming the file and the reason', () => {
    if (!targetReport(run.output).booted) console.error(run.output.slice(-6000));
    expect(run.output).toMatch(
      /entry 'tampered\.conf': [^\n]*verify[^\n]*EBADMSG[\s\S]{0,400}initrd-second\.img: BAD signature: signature by SHA256:\S+ does not match the file/,
    );
  });

  it('the UKI signed with another key is refused', () => {
    expect(run.output).toMatch(
      /entry 'other\.efi': [^\n]*verify[\s\S]{0,400}other\.efi: BAD signature: [^\n]*signed by other-signer, which no db certificate vouches for/,
    );
  });

  it('the UKI signed with the owner key boots the marker target', () => {
    const r = targetReport(run.output);
    expect(run.timedOut).toBe(false);
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('tendril.test=signed-uki');
    expect(r.cmdline).not.toContain('tendril.test=tampered');
    expect(r.cmdline).not.toContain('tendril.test=other-key-uki');
  });

  it('the disk is unchanged', () => {
    expect(after).toBe(before);
  });
});
