// bench/fs-paths: the costs issue 16 found in the ext reader, measured with a baseline in the
// same run (numbers only; no test asserts a time).
//
// 1. `tendril list` and `tendril probe` (the bundle, worker threads, as shipped) over a
//    whole-disk ext4 root whose /loader/entries holds 10,000 and 40,000 entries: wall time
//    and peak RSS (GNU time), the healthy entry checked in the output.
// 2. Listing that directory, in process: our reader with the BLS source's limit (4,096
//    names), our reader in full, and the baseline: the libext2fs reference reader, which
//    stats every name through libext2fs as tendril's reader used to.
// 3. Path resolution: ns per component to stat a kernel 1,500 directories deep, cold (a
//    fresh reader: every component a directory lookup) and warm (the lookup cache), and
//    against the libext2fs reference reader, whose lookups walk from the root (at depth 300:
//    at 1,500 one stat takes most of a minute).
//
//   node scripts/build.mjs && node scripts/run-ts.mjs bench/fs-paths.ts [--rounds N] [--no-baseline]

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openExtNative } from '../src/discovery/fs/ext';
import { openExtLib } from '../src/discovery/fs/ext-lib';
import type { FileSystem } from '../src/discovery/fs/types';
import { FileSource } from '../src/discovery/io/source';
import { DEEP, bootEntriesImage, deepDir, deepPathsImage } from '../test/fixtures/hostile-ext';

const ROOT = path.join(__dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'tendril.js');
const GNU_TIME = '/usr/bin/time';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 0) || 5;
const baseline = !args.includes('--no-baseline');

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

interface Run {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly out: string;
}

/** One CLI run under GNU time: wall seconds and peak RSS of the whole process (workers included). */
function cli(cmd: 'list' | 'probe', image: string): Run {
  const r = spawnSync(
    GNU_TIME,
    ['-f', '%e %M', process.execPath, BUNDLE, cmd, '--disk', image, '--deadline', '600000'],
    {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  if (r.status !== 0) throw new Error(`${cmd} ${image}: exit ${r.status}: ${r.stderr}`);
  const [seconds, kib] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds: seconds!, rssMiB: kib! / 1024, out: r.stdout };
}

async function timeListing(fsys: FileSystem, dir: string, limit?: number): Promise<[number, number]> {
  const t0 = process.hrtime.bigint();
  const n = (await fsys.readdir(dir, limit === undefined ? undefined : { limit })).length;
  return [ms(t0), n];
}

async function section1and2(): Promise<void> {
  if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: run node scripts/build.mjs first`);
  if (!fs.existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} (GNU time) is needed for peak RSS`);
  console.log('1. tendril list / probe --disk <whole-disk ext4 root>, bundle with workers, median of', rounds);
  console.log('   entries  command   wall s   peak RSS MiB   entries listed');
  for (const n of [10_000, 40_000]) {
    const image = bootEntriesImage(n);
    for (const cmd of ['list', 'probe'] as const) {
      const runs = Array.from({ length: rounds }, () => cli(cmd, image));
      const listed = runs[0]!.out.split('\n').filter((l) => /^ +id /.test(l)).length;
      if (cmd === 'list' && !runs[0]!.out.includes('Healthy')) throw new Error('the healthy entry is missing');
      console.log(
        `   ${String(n).padStart(7)}  ${cmd.padEnd(7)} ${median(runs.map((r) => r.seconds))
          .toFixed(2)
          .padStart(7)}` +
          `   ${median(runs.map((r) => r.rssMiB))
            .toFixed(0)
            .padStart(12)}   ${String(listed).padStart(14)}`,
      );
    }
  }

  console.log('');
  console.log('2. readdir /loader/entries in process (page cache warm), median ms; ratio = baseline / ours');
  console.log('   entries  ours, limit 4096   ours, all   libext2fs reference (all)   ratio (all)');
  for (const n of [10_000, 40_000]) {
    const image = bootEntriesImage(n);
    const src = FileSource.open(image);
    const limited: number[] = [];
    const all: number[] = [];
    for (let r = 0; r < rounds; r++) {
      limited.push((await timeListing(openExtNative(src, 'ext4').fsys, '/loader/entries', 4096))[0]);
      all.push((await timeListing(openExtNative(src, 'ext4').fsys, '/loader/entries'))[0]);
    }
    let ref = NaN;
    if (baseline) {
      const lib = await openExtLib(src, 'ext4');
      const [t, count] = await timeListing(lib, '/loader/entries');
      if (count !== n) throw new Error(`libext2fs listed ${count} of ${n}`);
      ref = t;
      await lib.close();
    }
    src.close();
    console.log(
      `   ${String(n).padStart(7)}  ${median(limited).toFixed(1).padStart(16)}   ${median(all).toFixed(1).padStart(9)}` +
        `   ${(baseline ? ref.toFixed(0) : 'skipped').padStart(25)}   ${(baseline ? (ref / median(all)).toFixed(0) + 'x' : '-').padStart(11)}`,
    );
  }
}

/** ns per component of stat(path): `fresh` opens a new reader for each round (cold). */
async function perComponent(
  open: () => Promise<FileSystem>,
  p: string,
  components: number,
  warm: boolean,
): Promise<number> {
  const samples: number[] = [];
  let fsys = await open();
  if (warm) await fsys.stat(p);
  for (let r = 0; r < rounds; r++) {
    if (!warm && r > 0) {
      await fsys.close();
      fsys = await open();
    }
    const t0 = process.hrtime.bigint();
    await fsys.stat(p);
    samples.push((ms(t0) * 1e6) / components);
  }
  await fsys.close();
  return median(samples);
}

async function section3(): Promise<void> {
  const image = deepPathsImage();
  const src = FileSource.open(image);
  const native = async (): Promise<FileSystem> => openExtNative(src, 'ext4').fsys;
  const lib = (): Promise<FileSystem> => openExtLib(src, 'ext4');
  console.log('');
  console.log('3. stat of a path n directories deep, ns per component (median); cold = new reader each time');
  console.log('   depth  reader                      cold ns/comp   warm ns/comp   cold/warm');
  const deep = `${deepDir(DEEP)}/vmlinuz`;
  const rows: Array<[number, string, () => Promise<FileSystem>]> = [
    [DEEP, 'ours', native],
    [300, 'ours', native],
  ];
  if (baseline) rows.push([300, 'libext2fs reference', lib]);
  const cold300: Record<string, number> = {};
  for (const [depth, name, open] of rows) {
    const p = depth === DEEP ? deep : deepDir(depth);
    const comps = depth + 1 + (depth === DEEP ? 1 : 0);
    const cold = await perComponent(open, p, comps, false);
    const warm = await perComponent(open, p, comps, true);
    if (depth === 300) cold300[name] = cold;
    console.log(
      `   ${String(depth).padStart(5)}  ${name.padEnd(26)} ${cold.toFixed(0).padStart(13)}   ${warm.toFixed(0).padStart(12)}   ${(cold / warm).toFixed(0).padStart(8)}x`,
    );
  }
  if (baseline) {
    const ratio = (cold300['libext2fs reference'] ?? NaN) / (cold300.ours ?? NaN);
    console.log(`   cold, depth 300: libext2fs reference / ours = ${ratio.toFixed(0)}x`);
  }
  src.close();
}

async function main(): Promise<void> {
  console.log(`bench/fs-paths: ${rounds} rounds${baseline ? '' : ', no libext2fs baseline'}`);
  await section1and2();
  await section3();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
