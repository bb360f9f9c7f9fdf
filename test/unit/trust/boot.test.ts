// Verification wired into loadPlan(): the bytes checked are the bytes copied for kexec; under
// require an unverified entry never reaches kexec_file_load, under warn it loads with a warning.
// The menu's marks and details pane from the same code. Real files: Debian's kernel, cpio initrds, UKIs built from systemd's stub and signed by sbsign,
// detached signatures by minisign and ssh-keygen (docs/signatures.md §6).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import type { MenuEntry } from '../../../src/discovery/model';
import { KexecError } from '../../../src/kexec/errors';
import { type LoadDeps, loadPlan } from '../../../src/kexec/load';
import { type BootPlan, type FsLookup, planBoot } from '../../../src/kexec/plan';
import type { TrustPolicy } from '../../../src/settings/schema';
import { checkEntry } from '../../../src/trust/boot';
import { trustFrom } from '../../../src/trust/setup';
import type { PlanContext } from '../../../src/boot/plan';
import { entryDetails } from '../../../src/menu/details';
import { listText } from '../../../src/menu/plain';
import { MenuState } from '../../../src/menu/state';
import { markUnverified } from '../../../src/menu/trust-marks';
import { type BootTree, linuxEntry, makeBootTree } from '../kexec/helpers';
import { makeTestPki, minisignKey, minisignSign, sbsign, sshKey, sshSign, type TestPki } from '../../fixtures/signing';
import { buildUki, kernelRelease } from '../../fixtures/uki';

let t: BootTree;
let work: string;
let pki: TestPki;
let esp: HostDirFileSystem;
const lookup: FsLookup = (id) => (id === 'img:1' ? t.fs : id === 'esp:1' ? esp : undefined);
const INITRDS = ['/initrd.img', '/second.img'];
const CMDLINE = 'root=/dev/vda2 quiet';

function ukiEntry(file: string): MenuEntry {
  return {
    id: file,
    sourceId: file,
    index: 0,
    default: false,
    title: file,
    displayTitle: file,
    origin: { source: 'uki', fsId: 'esp:1', device: 'esp', partition: 1, file: `/EFI/Linux/${file}` },
    status: {
      ok: true,
      target: { kind: 'uki', image: { fsId: 'esp:1', path: `/EFI/Linux/${file}` }, profile: 0, addons: [] },
    },
    diagnostics: [],
  };
}

const trust = (policy: TrustPolicy) => trustFrom({ policy, db: path.join(work, 'db'), keys: path.join(work, 'keys') });

/** loadPlan with a stand-in kexec_file_load that records the fds' bytes (the memfds). */
async function boot(e: MenuEntry, policy: TrustPolicy, warnings: string[] = []) {
  const plan: BootPlan = await planBoot(e, lookup, { ownConsoles: [] });
  const hook = trust(policy).hookFactory(e, lookup, (s) => warnings.push(s))(plan);
  let kernel: Buffer | undefined;
  const deps: LoadDeps = {
    kexecFileLoad: (k) => {
      kernel = fs.readFileSync(`/proc/self/fd/${k}`);
    },
    readLoaded: () => '1',
    ...(hook ? { verify: hook } : {}),
  };
  const r = await loadPlan(plan, lookup, undefined, deps).catch((x: unknown) => x);
  return { r, kernel, plan };
}

function refusal(r: unknown): { syscall: string; errno: string; hint: string } {
  expect(r).toBeInstanceOf(KexecError);
  return (r as KexecError).failure;
}

beforeAll(() => {
  t = makeBootTree();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-trust-boot-'));
  for (const d of ['db', 'keys', 'esp/EFI/Linux']) fs.mkdirSync(path.join(work, d), { recursive: true });
  pki = makeTestPki(work);
  fs.copyFileSync(pki.self.cert, path.join(work, 'db/owner.pem'));
  const ms = minisignKey(work, 'owner');
  const ssh = sshKey(work, 'owner-ssh');
  fs.copyFileSync(ms.pub, path.join(work, 'keys/owner.pub'));
  fs.copyFileSync(ssh.pub, path.join(work, 'keys/owner-ssh.pub'));
  // The kernel by minisign, the initrds by ssh-keygen; 'tampered.img' is signed, then changed.
  minisignSign(path.join(t.dir, 'vmlinuz'), ms.key, 'kernel 1');
  for (const f of INITRDS) sshSign(path.join(t.dir, f), ssh.key);
  fs.copyFileSync(path.join(t.dir, 'initrd.img'), path.join(t.dir, 'tampered.img'));
  sshSign(path.join(t.dir, 'tampered.img'), ssh.key);
  fs.appendFileSync(path.join(t.dir, 'tampered.img'), 'x');
  const uki = buildUki({ cmdline: 'root=/dev/x ro', uname: kernelRelease(), initrd: Buffer.from('uki-initrd') });
  sbsign(uki, path.join(work, 'esp/EFI/Linux/signed.efi'), pki.self);
  sbsign(uki, path.join(work, 'esp/EFI/Linux/other.efi'), pki.other);
  fs.copyFileSync(uki, path.join(work, 'esp/EFI/Linux/unsigned.efi'));
  fs.copyFileSync(
    buildUki({ cmdline: 'root=/dev/y ro', uname: kernelRelease(), initrd: Buffer.from('uki-initrd') }),
    path.join(work, 'esp/EFI/Linux/evil.efi'),
  );
  esp = new HostDirFileSystem(path.join(work, 'esp'), true);
});
afterAll(() => {
  t.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('require', () => {
  it('a BLS entry whose kernel and initrds carry good detached signatures loads', async () => {
    const { r, kernel } = await boot(linuxEntry('a', '/vmlinuz', INITRDS, CMDLINE), 'require');
    expect(r).not.toBeInstanceOf(Error);
    expect(kernel!.equals(fs.readFileSync(path.join(t.dir, 'vmlinuz')))).toBe(true);
  });

  it('an initrd listed twice is checked once and loads', async () => {
    const { r } = await boot(
      linuxEntry('a', '/vmlinuz', ['/initrd.img', '/second.img', '/initrd.img'], CMDLINE),
      'require',
    );
    expect(r).not.toBeInstanceOf(Error);
  });

  it('a tampered initrd is refused before kexec_file_load, naming the file and the reason', async () => {
    const { r, kernel } = await boot(linuxEntry('a', '/vmlinuz', ['/initrd.img', '/tampered.img'], CMDLINE), 'require');
    expect(kernel).toBeUndefined();
    const f = refusal(r);
    expect(f.syscall).toBe('verify');
    expect(f.errno).toBe('EBADMSG');
    expect(f.hint).toMatch(/img:1:\/tampered\.img: BAD signature: signature by SHA256:\S+ does not match the file/);
  });

  it('an initrd without .sig is refused as unsigned', async () => {
    const { r } = await boot(linuxEntry('a', '/vmlinuz', ['/odd.img'], CMDLINE), 'require');
    expect(refusal(r)).toMatchObject({ syscall: 'verify', errno: 'EPERM' });
    expect(refusal(r).hint).toMatch(/img:1:\/odd\.img: unsigned: no \/odd\.img\.sig/);
  });

  it("a kernel without .sig falls back to its Authenticode signature (Debian's, not in this db)", async () => {
    fs.copyFileSync(path.join(t.dir, 'vmlinuz'), path.join(t.dir, 'debian-vmlinuz'));
    const { r } = await boot(linuxEntry('a', '/debian-vmlinuz', [], CMDLINE), 'require');
    expect(refusal(r).hint).toMatch(/signed by Debian Secure Boot Signer .*which no db certificate vouches for/);
  });

  it('a UKI signed with the db key boots: the kernel is its .linux, from the verified bytes', async () => {
    const { r, kernel, plan } = await boot(ukiEntry('signed.efi'), 'require');
    expect(r).not.toBeInstanceOf(Error);
    const img = fs.readFileSync(path.join(work, 'esp/EFI/Linux/signed.efi'));
    expect(kernel!.equals(img.subarray(plan.kernel.offset, plan.kernel.offset + plan.kernel.size))).toBe(true);
  });

  it('a UKI signed with another key, or unsigned, does not', async () => {
    const other = refusal((await boot(ukiEntry('other.efi'), 'require')).r);
    expect(other).toMatchObject({ syscall: 'verify', errno: 'EBADMSG' });
    expect(other.hint).toMatch(
      /other\.efi: BAD signature: .*signed by other-signer, which no db certificate vouches for/,
    );
    expect(refusal((await boot(ukiEntry('unsigned.efi'), 'require')).r).hint).toMatch(
      /unsigned\.efi: unsigned: no Authenticode signature/,
    );
  });

  it('a signed UKI swapped in after an unsigned one of the same layout was planned is refused (command line)', async () => {
    // Same sizes, different command line: the planned (attacker's) one must not go with the signed bytes.
    const f = path.join(work, 'esp/EFI/Linux/race.efi');
    fs.copyFileSync(path.join(work, 'esp/EFI/Linux/evil.efi'), f);
    const e = ukiEntry('race.efi');
    const plan = await planBoot(e, lookup, { ownConsoles: [] });
    expect(plan.cmdline).toContain('root=/dev/y');
    fs.copyFileSync(path.join(work, 'esp/EFI/Linux/signed.efi'), f);
    const r = await loadPlan(plan, lookup, undefined, {
      kexecFileLoad: () => {
        throw new Error('loaded');
      },
      readLoaded: () => '1',
      verify: trust('require').hookFactory(e, lookup, () => {})(plan)!,
    }).catch((x: unknown) => x);
    expect(refusal(r).hint).toMatch(
      /race\.efi: BAD signature: changed since the boot was planned: its command line differs/,
    );
  });

  it('a UKI swapped for another-key one after planning is refused: the bytes loaded are the bytes verified', async () => {
    const f = path.join(work, 'esp/EFI/Linux/swap.efi');
    fs.copyFileSync(path.join(work, 'esp/EFI/Linux/signed.efi'), f);
    const e = ukiEntry('swap.efi');
    const plan = await planBoot(e, lookup, { ownConsoles: [] });
    fs.copyFileSync(path.join(work, 'esp/EFI/Linux/other.efi'), f);
    let called = false;
    const r = await loadPlan(plan, lookup, undefined, {
      kexecFileLoad: () => {
        called = true;
      },
      readLoaded: () => '1',
      verify: trust('require').hookFactory(e, lookup, () => {})(plan)!,
    }).catch((x: unknown) => x);
    expect(called).toBe(false);
    expect(refusal(r).hint).toMatch(/other-signer/);
  });
});

describe('warn and off', () => {
  it('warn loads the tampered entry and says why', async () => {
    const warnings: string[] = [];
    const { r, kernel } = await boot(linuxEntry('a', '/vmlinuz', ['/tampered.img'], CMDLINE), 'warn', warnings);
    expect(r).not.toBeInstanceOf(Error);
    expect(kernel).toBeDefined();
    expect(warnings).toEqual([expect.stringMatching(/tampered\.img: BAD signature: .*\(trust\.policy = warn\)$/)]);
  });
  it('off has no hook', () => {
    expect(trust('off').hookFactory(ukiEntry('other.efi'), lookup, () => {})({} as BootPlan)).toBeUndefined();
  });
});

describe('verdicts without booting (dry run, details)', () => {
  it('names who signed what', async () => {
    const e = linuxEntry('a', '/vmlinuz', INITRDS, CMDLINE);
    const v = await checkEntry(trust('warn').store(), e, await planBoot(e, lookup, { ownConsoles: [] }), lookup);
    expect(v.state).toBe('verified');
    expect(v.files.map((f) => (f.verdict === 'verified' ? `${f.file} ${f.how}` : f.verdict))).toEqual([
      'img:1:/vmlinuz minisign',
      'img:1:/initrd.img sshsig',
      'img:1:/second.img sshsig',
    ]);
    const u = ukiEntry('signed.efi');
    const lines = await trust('require').describe(u, await planBoot(u, lookup, { ownConsoles: [] }), lookup);
    expect(lines[0]).toBe('signatures (trust.policy = require): verified');
    expect(lines[1]).toMatch(/^ {2}esp:1:\/EFI\/Linux\/signed\.efi: verified \(authenticode\) by tendril-test-signer/);
    const o = ukiEntry('other.efi');
    const bad = await trust('require').describe(o, await planBoot(o, lookup, { ownConsoles: [] }), lookup);
    expect(bad[0]).toBe('signatures (trust.policy = require): bad: would be REFUSED');
  });
});

describe('the menu', () => {
  const ctx = (): PlanContext => ({ lookup, devices: [], kexec: { ownConsoles: [] } });
  const entries = (): MenuEntry[] => [
    linuxEntry('tampered', '/vmlinuz', ['/tampered.img'], CMDLINE),
    linuxEntry('good', '/vmlinuz', INITRDS, CMDLINE),
    ukiEntry('signed.efi'),
    ukiEntry('unsigned.efi'),
  ];

  it('marks unverified entries in the list (background pass), none when off', async () => {
    const st = new MenuState();
    st.setEntries(entries());
    let redraws = 0;
    await markUnverified(
      entries(),
      trust('warn'),
      ctx(),
      st.trustMarks,
      () => true,
      () => redraws++,
    );
    expect([...st.trustMarks]).toEqual([
      ['tampered', '[bad sig]'],
      ['unsigned.efi', '[unsigned]'],
    ]);
    expect(redraws).toBe(4);
    const text = listText(st);
    expect(text).toMatch(/ tampered \[bad sig\]\n/);
    expect(text).toMatch(/ good\n/);
    expect(text).toMatch(/ unsigned\.efi \[unsigned\]\n/);
    const off = new Map<string, string>();
    await markUnverified(
      entries(),
      trust('off'),
      ctx(),
      off,
      () => true,
      () => {},
    );
    expect(off.size).toBe(0);
  });

  it('the details pane shows who signed what', async () => {
    const lines = await entryDetails(entries()[1]!, ctx(), trust('require'));
    const at = lines.findIndex((l) => l.startsWith('signed '));
    expect(lines[at]).toBe('signed    verified (trust.policy = require)');
    expect(lines[at + 1]).toMatch(/^ {2}img:1:\/vmlinuz: verified \(minisign\) by minisign .*: kernel 1$/);
    expect(lines[at + 2]).toMatch(/^ {2}img:1:\/initrd\.img: verified \(sshsig\) by owner-ssh@test \(SHA256:/);
    const bad = await entryDetails(entries()[0]!, ctx(), trust('warn'));
    expect(bad.join('\n')).toMatch(
      /signed {4}bad \(trust\.policy = warn\)\n {2}img:1:\/vmlinuz: verified[^\n]*\n {2}img:1:\/tampered\.img: BAD signature/,
    );
  });
});
