// bench/trust-boot: the cost of verification and measurement on a whole boot (issue 14 "Numbers":
// a 60 MiB kernel + initrd, target ≤ 1.1× the same boot without them; docs/signatures.md §4).
// QEMU (TCG, 1 vCPU, swtpm attached to every run) boots the product initramfs with the owner's
// key baked in; tendril boots a BLS entry: Debian's kernel, the marker target's initrd and a
// 52 MiB initrd piece of random bytes, each with an `ssh-keygen -Y sign` signature. Two variants,
// interleaved, medians:
//  - plain:    tendril.tpm.measure=off (trust.policy is off in the baked settings);
//  - verified: tendril.tpm.measure=require tendril.trust.policy=require (sha256 bank).
// Two spans: the load (guest clock: tendril's `entries` stage → `kexec`, the files copied,
// hashed, verified, measured and kexec_file_load'ed), and the boot as the user waits for it
// (host clock: the `entries` line → the target kernel's first line, TARGET-BOOTED).
// Usage: node scripts/run-ts.mjs bench/trust-boot.ts [--runs N]

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpioArchive } from '../initramfs/cpio';
import { hostKernel } from '../initramfs/host';
import { LOG_DIR, blsEntry, productInitramfs, runQemu, stageTimes, targetInitrds } from '../test/fixtures/boot';
import { buildGptDisk } from '../test/fixtures/images';
import { sshKey, sshSign } from '../test/fixtures/signing';
import { swtpmForQemu } from '../test/fixtures/swtpm';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const MiB = 1024 * 1024;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

interface Sample {
  /** Guest seconds from `entries` to `kexec`. */
  readonly load: number;
  /** Host seconds from the `entries` line to TARGET-BOOTED. */
  readonly boot: number;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-bench-trust-boot-'));
  const w = (n: string): string => path.join(work, n);
  const t = targetInitrds();
  fs.copyFileSync(hostKernel().vmlinuz, w('vmlinuz'));
  fs.writeFileSync(w('initrd-main.img'), t.main);
  const bigSize = 60 * MiB - fs.statSync(w('vmlinuz')).size - t.main.length;
  // A cpio piece the target kernel unpacks like any other: one file of random (incompressible) bytes.
  fs.writeFileSync(w('big.img'), cpioArchive([{ kind: 'file', path: 'big.bin', data: randomBytes(bigSize - 512) }]));
  const ssh = sshKey(work, 'owner-ssh');
  for (const f of ['vmlinuz', 'initrd-main.img', 'big.img']) sshSign(w(f), ssh.key);
  const total = ['vmlinuz', 'initrd-main.img', 'big.img'].reduce((n, f) => n + fs.statSync(w(f)).size, 0);
  const files: Record<string, Uint8Array> = {};
  for (const f of ['vmlinuz', 'initrd-main.img', 'big.img']) {
    files[f] = fs.readFileSync(w(f));
    files[`${f}.sig`] = fs.readFileSync(w(`${f}.sig`));
  }
  files['loader/entries/bench.conf'] = Buffer.from(
    blsEntry({ title: 'Bench', linux: '/vmlinuz', initrds: ['/initrd-main.img', '/big.img'], options: 'quiet' }),
  );
  const disk = buildGptDisk([
    { type: 'esp', sizeMiB: 8, fs: { kind: 'vfat', label: 'ESP', files: { 'loader/loader.conf': 'timeout 0\n' } } },
    { type: 'xbootldr', sizeMiB: 80, fs: { kind: 'ext4', label: 'boot', files } },
  ]);
  // The owner's key and settings as one more archive after the product initramfs (in flash, not on the disk).
  const extra = cpioArchive([
    { kind: 'dir', path: 'etc' },
    { kind: 'dir', path: 'etc/tendril' },
    { kind: 'dir', path: 'etc/tendril/keys' },
    { kind: 'file', path: 'etc/tendril/keys/owner.pub', data: fs.readFileSync(ssh.pub) },
    { kind: 'file', path: 'etc/tendril/tendril.toml', data: Buffer.from('[trust]\npolicy = "off"\n') },
  ]);
  const initrd = w('initramfs.img');
  fs.writeFileSync(initrd, Buffer.concat([fs.readFileSync(productInitramfs()), extra]));

  const variants = [
    { name: 'plain', append: 'tendril.tpm.measure=off' },
    { name: 'verified', append: 'tendril.tpm.measure=require tendril.trust.policy=require' },
  ] as const;
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      const tpm = await swtpmForQemu('sha256');
      let tEntries: bigint | undefined;
      let tTarget: bigint | undefined;
      let seen = '';
      try {
        const r = await runQemu({
          kernel: hostKernel().vmlinuz,
          initrd,
          append: `console=ttyS0 quiet tendril.mode=boot tendril.bench ${v.append}`,
          disks: [disk],
          timeoutMs: 600_000,
          until: /TARGET-BOOTED/,
          extra: tpm.extra,
          logFile: path.join(LOG_DIR, `bench-trust-boot-${v.name}-${i}.log`),
          onOutput: (c) => {
            seen += c;
            const now = process.hrtime.bigint();
            if (tEntries === undefined && /tendril-stage entries /.test(seen)) tEntries = now;
            if (tTarget === undefined && /TARGET-BOOTED/.test(seen)) tTarget = now;
          },
        });
        const st = Object.fromEntries(stageTimes(r.output).map((s) => [s.name, s.t]));
        if (tEntries === undefined || tTarget === undefined || st.entries === undefined || st.kexec === undefined)
          throw new Error(`${v.name} run ${i}: no entries/kexec stage or no TARGET-BOOTED (see ${LOG_DIR})`);
        if (v.name === 'verified' && !/\(measured\)/.test(r.output))
          throw new Error('the verified run was not measured');
        const s = { load: st.kexec - st.entries, boot: Number(tTarget - tEntries) / 1e9 };
        samples.get(v.name)!.push(s);
        process.stderr.write(
          `run ${i + 1}/${runs} ${v.name}: load ${s.load.toFixed(2)} s, boot ${s.boot.toFixed(2)} s\n`,
        );
      } finally {
        tpm.stop();
      }
    }
  }
  fs.rmSync(work, { recursive: true, force: true });

  const m = (n: string, k: keyof Sample): number => median(samples.get(n)!.map((s) => s[k]));
  const out = process.stdout;
  out.write(
    `\nverification + measurement on a whole boot: ${(total / MiB).toFixed(1)} MiB (kernel + 2 initrds, ssh signatures, sha256 bank), median of ${runs} (QEMU TCG, 1 vCPU)\n`,
  );
  out.write(`  ${'span'.padEnd(44)} ${'plain'.padStart(8)} ${'verified'.padStart(9)} ${'ratio'.padStart(7)}\n`);
  for (const [k, label] of [
    ['load', 'load: entries → kexec (guest s)'],
    ['boot', 'boot: entries → target kernel up (host s)'],
  ] as const)
    out.write(
      `  ${label.padEnd(44)} ${m('plain', k).toFixed(2).padStart(8)} ${m('verified', k).toFixed(2).padStart(9)} ${(m('verified', k) / m('plain', k)).toFixed(2).padStart(6)}x\n`,
    );
  out.write('  target: ≤ 1.10x (issue 14)\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/trust-boot: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
