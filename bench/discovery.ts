// bench/discovery: time and peak memory to discover 1, 8 and 32 disks with 10 and 200 BLS
// entries each, with the worker pool (one worker per core) against the single-threaded
// in-process scanner as the baseline, measured in the same run. Each configuration runs in
// a fresh child process so its peak RSS is its own.
//
// Then live discovery (a menu listening to onEntries) over 8 and 32 disks that carry grub
// configs searching each other: the cross-disk sources re-evaluating everything after each
// device (reevaluate: 'all', the old behaviour and the baseline) against re-evaluating only
// what the device can change ('affected'), counting source runs and evaluations.
//
// Then dense grub.cfg files (issue 16, finding 7): 290,000 `menuentry` lines in 4 MiB (over the
// per-file limit now, refused by size), one at the 1 MiB limit, and six of those in six vendor
// directories of one ESP (the per-disk entry budget), each against a 10-entry grub.cfg measured
// in the same run: time and peak RSS of the whole discovery in a fresh process.
//
//   node scripts/run-ts.mjs bench/discovery.ts [--rounds N] [--live] [--dense] [--paths]   (each: that part only)
// --paths (also run at the end of a full run) is bench/fs-paths.ts: an ext4 /boot with 10,000 and
// 40,000 entries (list/probe time and peak RSS) and path resolution in ns per component.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discover } from '../src/discovery/discover';
import { InProcessScanner, WorkerPoolScanner } from '../src/discovery/worker/pool';
import { DEFAULT_LIMITS } from '../src/discovery/sources/grub';
import { denseGrubCfg, denseGrubDisk } from '../test/fixtures/hostile';
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

const benchUuid = (i: number): string => `b0000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/**
 * Disk `i` as grub-mkconfig leaves it: an ESP stub that finds the /boot partition by UUID
 * and `configfile`s its grub.cfg, whose 8 entries `search` their own partition and whose
 * last entry boots a kernel of disk i+1, found by `search --fs-uuid`.
 */
function grubDisk(i: number): string {
  const own = benchUuid(i);
  const boot: Record<string, string> = {};
  const cfg = ['set timeout=5', 'set default=0'];
  for (let k = 0; k < 8; k++) {
    const v = `6.${i}.${k}-bench`;
    boot[`vmlinuz-${v}`] = `kernel ${v}\n`;
    boot[`initramfs-${v}.img`] = `initramfs ${v}\n`;
    cfg.push(
      `menuentry 'Bench ${i} Linux ${v}' --class gnu-linux {`,
      '  insmod ext2',
      `  search --no-floppy --fs-uuid --set=root ${own}`,
      `  linux /vmlinuz-${v} root=UUID=${own} ro quiet`,
      `  initrd /initramfs-${v}.img`,
      '}',
    );
  }
  cfg.push(
    `menuentry 'Bench ${i}: kernel of disk ${i + 1}' {`,
    `  search --no-floppy --fs-uuid --set=root ${benchUuid(i + 1)}`,
    `  linux /vmlinuz-6.${i + 1}.0-bench ro`,
    '}',
    '',
  );
  boot['grub/grub.cfg'] = cfg.join('\n');
  const stub = `search.fs_uuid ${own} root\nset prefix=($root)/grub\nconfigfile $prefix/grub.cfg\n`;
  return buildGptDisk([
    { type: 'esp', sizeMiB: 8, fs: { kind: 'vfat', label: 'ESP', files: { 'EFI/bench/grub.cfg': stub } } },
    { type: 'linux', sizeMiB: 8, fs: { kind: 'ext4', label: `boot${i}`, uuid: own, files: boot } },
  ]);
}

async function child(mode: string, disks: string[]): Promise<void> {
  const live = mode === 'live-all' || mode === 'live-affected';
  const scanner = mode === 'workers' ? new WorkerPoolScanner(BUNDLE) : new InProcessScanner();
  let updates = 0;
  const t0 = performance.now();
  const s = await discover({
    disks,
    sysBlock: false,
    scanner,
    ...(live ? { reevaluate: mode === 'live-all' ? 'all' : 'affected', onEntries: () => void updates++ } : {}),
  });
  const ms = performance.now() - t0;
  const entries = s.result.entries.length;
  const digest = createHash('sha256').update(JSON.stringify(s.result.entries)).digest('hex').slice(0, 12);
  await s.close();
  const sample: Sample = { ms, entries, maxRssKiB: process.resourceUsage().maxRSS, ...s.stats, updates, digest };
  process.stdout.write(JSON.stringify(sample) + '\n');
}

interface Sample {
  ms: number;
  entries: number;
  maxRssKiB: number;
  sourceRuns: number;
  evaluations: number;
  updates: number;
  digest: string;
}

function runChild(mode: string, disks: string[]): Sample {
  const r = spawnSync(process.execPath, [__filename, '--child', mode, ...disks], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Sample;
}

/** Live discovery with grub configs: full re-evaluation after each device vs. only the affected. */
function liveSection(dir: string, rounds: number): void {
  console.log('');
  console.log('live discovery (onEntries after each device), grub configs searching each other, in-process scanner');
  console.log(
    'disks  reevaluate  updates  source runs  evaluations  total ms  entries  same entries  evaluations/disk  speedup vs all',
  );
  for (const n of [8, 32]) {
    const disks: string[] = [];
    for (let i = 0; i < n; i++) {
      const link = path.join(dir, `g-d${String(i).padStart(2, '0')}.img`);
      if (!fs.existsSync(link)) fs.symlinkSync(grubDisk(i), link);
      disks.push(link);
    }
    const best: Record<string, Sample> = {};
    for (let r = 0; r < rounds; r++) {
      for (const mode of ['live-all', 'live-affected']) {
        const s = runChild(mode, disks);
        if (!best[mode] || s.ms < best[mode].ms) best[mode] = s;
      }
    }
    const all = best['live-all']!;
    for (const mode of ['live-all', 'live-affected']) {
      const s = best[mode]!;
      const speed = mode === 'live-all' ? '1.00x (baseline)' : `${(all.ms / s.ms).toFixed(2)}x`;
      console.log(
        `${String(n).padStart(5)}  ${mode.slice(5).padEnd(10)}  ${String(s.updates).padStart(7)}  ${String(s.sourceRuns).padStart(11)}  ${String(s.evaluations).padStart(11)}  ${s.ms.toFixed(1).padStart(8)}  ${String(s.entries).padStart(7)}  ${(s.digest === all.digest ? 'yes' : 'NO').padStart(12)}  ${(s.evaluations / n).toFixed(2).padStart(16)}  ${speed}`,
      );
    }
    const a = best['live-affected']!;
    console.log(
      `${''.padStart(7)}evaluations: ${all.evaluations} -> ${a.evaluations} (${(all.evaluations / a.evaluations).toFixed(1)}x fewer), wall time ${(all.ms / a.ms).toFixed(2)}x faster`,
    );
  }
}

/** Dense grub.cfg files against a small one, in fresh processes (worker pool, as `tendril list`). */
function denseSection(rounds: number): void {
  const limit = DEFAULT_LIMITS.maxFileBytes;
  const four = 4 * 1024 * 1024 - 64;
  const cases: { name: string; lines: number; disk: string }[] = [
    { name: 'baseline: 10 entries', lines: 10, disk: denseGrubDisk(1, denseGrubCfg(240).text.length + 1) },
    { name: '290,000 lines, 4 MiB', lines: denseGrubCfg(four, '').entries, disk: denseGrubDisk(1, four, '') },
    { name: 'dense 1 MiB (at the limit)', lines: denseGrubCfg(limit - 64).entries, disk: denseGrubDisk(1, limit - 64) },
    { name: '6 vendor dirs x 1 MiB', lines: 6 * denseGrubCfg(limit - 64).entries, disk: denseGrubDisk(6, limit - 64) },
  ];
  console.log('');
  console.log('dense grub.cfg (menuentry lines), worker pool, best of rounds; ratios against the 10-entry baseline');
  console.log('case                          lines   entries  total ms  peak RSS MiB  time ratio  RSS ratio');
  let base: Sample | undefined;
  for (const c of cases) {
    let best: Sample | undefined;
    for (let r = 0; r < rounds; r++) {
      const s = runChild('workers', [c.disk]);
      if (!best || s.ms < best.ms) best = s;
    }
    base ??= best!;
    const s = best!;
    console.log(
      `${c.name.padEnd(26)}  ${String(c.lines).padStart(8)}  ${String(s.entries).padStart(8)}  ${s.ms.toFixed(1).padStart(8)}  ${(s.maxRssKiB / 1024).toFixed(1).padStart(12)}  ${(s.ms / base.ms).toFixed(2).padStart(9)}x  ${(s.maxRssKiB / base.maxRssKiB).toFixed(2).padStart(8)}x`,
    );
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv[1]!, argv.slice(2));
  const rounds = Number(argv[argv.indexOf('--rounds') + 1] || 3) || 3;
  const liveOnly = argv.includes('--live');
  const denseOnly = argv.includes('--dense');
  if (argv.includes('--paths')) return pathsSection(rounds);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-bench-'));
  console.log(`bench/discovery: ${os.availableParallelism()} cores, best of ${rounds} rounds per configuration`);
  if (liveOnly) {
    liveSection(dir, rounds);
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
  if (!fs.existsSync(BUNDLE)) throw new Error(`build first: ${BUNDLE} missing`);
  if (denseOnly) {
    denseSection(rounds);
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  }
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
  liveSection(dir, rounds);
  denseSection(rounds);
  fs.rmSync(dir, { recursive: true, force: true });
  pathsSection(rounds);
}

/** bench/fs-paths.ts in its own process (it measures whole `tendril` runs and its own heap). */
function pathsSection(rounds: number): void {
  const runTs = path.join(ROOT, 'scripts', 'run-ts.mjs');
  const r = spawnSync(process.execPath, [runTs, 'bench/fs-paths.ts', '--rounds', String(rounds)], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`bench/fs-paths exited with ${r.status ?? r.signal}`);
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
