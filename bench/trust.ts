// bench/trust: what signature verification adds to loading a boot (issue 14 "Numbers": a 60 MiB
// kernel + initrd, target ≤ 1.1× the same load without it; docs/signatures.md §4). materialize()
// copies Debian's kernel and a 52 MiB initrd into memfds, with no hook and with the verify hook
// under require: detached signatures (minisign prehashed on the kernel, ssh-keygen on the initrd),
// and a UKI of the same size signed by sbsign (Authenticode: the image is read once, hashed, and
// its sections copied from memory). Runs interleaved, medians. Files are in the page cache, so this
// is the CPU cost; a slow disk makes the ratio smaller.
// Usage: node scripts/run-ts.mjs bench/trust.ts [--runs N]

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostKernel } from '../initramfs/host';
import { HostDirFileSystem } from '../src/discovery/fs/hostdir';
import type { MenuEntry } from '../src/discovery/model';
import { type VerifyHook, materialize } from '../src/kexec/load';
import { type FsLookup, planBoot } from '../src/kexec/plan';
import { trustFrom } from '../src/trust/setup';
import { makeTestPki, minisignKey, minisignSign, sbsign, sshKey, sshSign } from '../test/fixtures/signing';
import { buildUki } from '../test/fixtures/uki';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-bench-trust-'));
const d = (...p: string[]): string => path.join(dir, ...p);

function entry(kind: 'linux' | 'uki'): MenuEntry {
  const ref = (p: string) => ({ fsId: 'b:1', path: p });
  return {
    id: kind,
    sourceId: kind,
    index: 0,
    default: false,
    title: kind,
    displayTitle: kind,
    origin: { source: kind === 'uki' ? 'uki' : 'bls', fsId: 'b:1', device: 'b', partition: 1, file: '/x' },
    status: {
      ok: true,
      target:
        kind === 'linux'
          ? { kind: 'linux', kernel: ref('/vmlinuz'), initrds: [ref('/initrd.img')], cmdline: 'quiet' }
          : { kind: 'uki', image: ref('/signed.efi'), profile: 0, addons: [] },
    },
    diagnostics: [],
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  for (const s of ['root', 'db', 'keys']) fs.mkdirSync(d(s));
  const kernel = hostKernel().vmlinuz;
  const initrdSize = 60 * 1024 * 1024 - fs.statSync(kernel).size;
  fs.copyFileSync(kernel, d('root', 'vmlinuz'));
  fs.writeFileSync(d('root', 'initrd.img'), randomBytes(initrdSize));
  const pki = makeTestPki(dir);
  fs.copyFileSync(pki.self.cert, d('db', 'owner.pem'));
  const ms = minisignKey(dir, 'owner');
  const ssh = sshKey(dir, 'owner-ssh');
  fs.copyFileSync(ms.pub, d('keys', 'owner.pub'));
  fs.copyFileSync(ssh.pub, d('keys', 'owner-ssh.pub'));
  minisignSign(d('root', 'vmlinuz'), ms.key, 'bench');
  sshSign(d('root', 'initrd.img'), ssh.key);
  sbsign(
    buildUki({ cmdline: 'quiet', initrd: fs.readFileSync(d('root', 'initrd.img')) }),
    d('root', 'signed.efi'),
    pki.self,
  );
  const root = new HostDirFileSystem(d('root'));
  const lookup: FsLookup = () => root;
  const trust = trustFrom({ policy: 'require', db: d('db'), keys: d('keys') });
  const cases: { name: string; kind: 'linux' | 'uki' }[] = [
    { name: 'BLS, detached signatures', kind: 'linux' },
    { name: 'UKI, Authenticode', kind: 'uki' },
  ];
  const out = process.stdout;
  out.write(`bench/trust: materialize() of ${(60).toFixed(0)} MiB, ${runs} interleaved runs, medians\n\n`);
  out.write('| case | without | with verification | ratio |\n|---|---|---|---|\n');
  for (const c of cases) {
    const e = entry(c.kind);
    const plan = await planBoot(e, lookup, { ownConsoles: [] });
    const one = async (hook?: VerifyHook): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const m = await materialize(plan, lookup, undefined, undefined, hook);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      m.close();
      return ms;
    };
    await one();
    const plain: number[] = [];
    const verified: number[] = [];
    for (let i = 0; i < runs; i++) {
      plain.push(await one());
      verified.push(await one(trust.hookFactory(e, lookup, () => {})(plan)));
    }
    const [a, b] = [median(plain), median(verified)];
    out.write(`| ${c.name} | ${a.toFixed(0)} ms | ${b.toFixed(0)} ms | ${(b / a).toFixed(2)}× |\n`);
  }
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(dir, { recursive: true, force: true }));
