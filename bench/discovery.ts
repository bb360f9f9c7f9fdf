// bench/discovery: time and peak memory to discover 1, 8 and 32 disks with 10 and 200 BLS
// entries each, with the worker pool (one worker per core) against the single-threaded
// in-process scanner as the baseline, measured in the same run. Each configuration runs in
// a fresh child process so its peak RSS is its own.
//
//   node scripts/run-ts.mjs bench/discovery.ts [--rounds N]

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discover } from '../src/discovery/discover';
import { InProcessScanner, WorkerPoolScanner } from '../src/discovery/worker/pool';
import { buildGptDisk, type Tree } from '../test/fixtures/images';

const ROOT = path.join(__dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'tendril.js');

function benchDisk(entries: number): string {
  const boot: Record<string, string> = {};
  for (let i = 0; i < entries; i++) {
    const v = `6.${Math.floor(i / 10)}.${i % 10}-${100 + i}.fc39.x86_64`;
    boot[`loader/entries/bench-${v}.conf`] =
      `title Bench Linux\nversion ${v}\nsort-key bench\nmachine-id 0123456789abcdef0123456789abcdef\n` +
      `options root=LABEL=benchroot ro quiet\nlinux /vmlinuz-${v}\ninitrd /initramfs-${v}.img\n`;
    boot[`vmlinuz-${v}`] = `kernel ${v}\n`;
    boot[`initramfs-${v}.img`] = `initramfs ${v}\n`;
  }
  const esp: Tree = { 'loader/loader.conf': 'timeout 5\ndefault bench-*\n' };
  return buildGptDisk([
    { type: 'esp', sizeMiB: 34, fs: { kind: 'vfat', label: 'ESP', files: esp } },
    { type: 'xbootldr', sizeMiB: 24, fs: { kind: 'ext4', label: 'boot', files: boot } },
  ]);
}

async function child(mode: string, disks: string[]): Promise<void> {
  const scanner = mode === 'workers' ? new WorkerPoolScanner(BUNDLE) : new InProcessScanner();
  const t0 = performance.now();
  const s = await discover({ disks, sysBlock: false, scanner });
  const ms = performance.now() - t0;
  const entries = s.result.entries.length;
  await s.close();
  process.stdout.write(JSON.stringify({ ms, entries, maxRssKiB: process.resourceUsage().maxRSS }) + '\n');
}

interface Sample {
  ms: number;
  entries: number;
  maxRssKiB: number;
}

function runChild(mode: string, disks: string[]): Sample {
  const r = spawnSync(process.execPath, [__filename, '--child', mode, ...disks], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Sample;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv[1]!, argv.slice(2));
  const rounds = Number(argv[argv.indexOf('--rounds') + 1] || 3) || 3;
  if (!fs.existsSync(BUNDLE)) throw new Error(`build first: ${BUNDLE} missing`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-bench-'));
  console.log(`bench/discovery: ${os.availableParallelism()} cores, best of ${rounds} rounds per configuration`);
  console.log('entries/disk  disks  mode        total ms   ms/disk  entries  peak RSS MiB  speedup vs in-process');
  for (const perDisk of [10, 200]) {
    const img = benchDisk(perDisk);
    let perDisk1: number | undefined;
    for (const n of [1, 8, 32]) {
      const disks: string[] = [];
      for (let i = 0; i < n; i++) {
        const link = path.join(dir, `e${perDisk}-d${String(i).padStart(2, '0')}.img`);
        if (!fs.existsSync(link)) fs.symlinkSync(img, link);
        disks.push(link);
      }
      const best: Record<string, Sample> = {};
      for (const mode of ['inprocess', 'workers']) {
        for (let r = 0; r < rounds; r++) {
          const s = runChild(mode, disks);
          if (!best[mode] || s.ms < best[mode].ms) best[mode] = s;
        }
      }
      for (const mode of ['inprocess', 'workers']) {
        const s = best[mode]!;
        const speed = mode === 'workers' ? (best.inprocess!.ms / s.ms).toFixed(2) + 'x' : '1.00x (baseline)';
        console.log(
          `${String(perDisk).padStart(12)}  ${String(n).padStart(5)}  ${mode.padEnd(10)}  ${s.ms.toFixed(1).padStart(8)}  ${(s.ms / n).toFixed(1).padStart(8)}  ${String(s.entries).padStart(7)}  ${(s.maxRssKiB / 1024).toFixed(1).padStart(12)}  ${speed}`,
        );
      }
      const w = best.workers!.ms / n;
      if (n === 1) perDisk1 = w;
      else
        console.log(
          `${''.padStart(21)}scaling: ms/disk at ${n} disks = ${(w / perDisk1!).toFixed(2)} x ms/disk at 1 disk (workers)`,
        );
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
