// bench/boot: where the time goes from power-on to kexec, measured inside the guest
// (QEMU TCG, /proc/uptime printed by /init and tendril at each stage), over several runs,
// plus the initramfs size breakdown. Baselines measured in the same run:
//  - `node -e 0` inside the same guest (node's own start-up, same binary and libraries);
//  - kernel start → /init with the same archive compressed by zstd instead of xz.
// Usage: node scripts/run-ts.mjs bench/boot.ts [--runs N]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostKernel } from '../initramfs/host';
import { formatReport, type SizeReport } from '../initramfs/report';
import { blsDisk, blsEntry, LOG_DIR, privateCopy, productInitramfs, runQemu, stageTimes } from '../test/fixtures/boot';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;

interface Sample {
  readonly stages: Record<string, number>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
}

async function bootOnce(initrd: string, disk: string, untilKexec: boolean, i: number, tag: string): Promise<Sample> {
  const r = await runQemu({
    kernel: hostKernel().vmlinuz,
    initrd,
    append: 'console=ttyS0 quiet tendril.mode=boot tendril.bench',
    disks: [disk],
    timeoutMs: 300_000,
    until: untilKexec ? /TARGET-DONE/ : /tendril-stage node-empty [\d.]+\s/,
    logFile: path.join(LOG_DIR, `bench-boot-${tag}-${i}.log`),
  });
  const stages: Record<string, number> = {};
  for (const s of stageTimes(r.output)) if (!(s.name in stages)) stages[s.name] = s.t;
  if (untilKexec && !('kexec' in stages)) throw new Error(`run ${i}: no kexec stage (see ${LOG_DIR})`);
  return { stages };
}

async function main(): Promise<void> {
  const xz = productInitramfs('xz');
  const zst = productInitramfs('zstd');
  const img = blsDisk('timeout 0\ndefault t.conf\n', {
    't.conf': blsEntry({
      title: 'T',
      linux: '/vmlinuz',
      initrds: ['/initrd-main.img', '/initrd-second.img'],
      options: 'tendril.test=bench',
    }),
  });
  const disk = privateCopy(img);
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(await bootOnce(xz, disk, true, i, 'xz'));
    process.stderr.write(`run ${i + 1}/${runs} (xz, full): ${JSON.stringify(samples.at(-1)!.stages)}\n`);
  }
  const zsamples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    zsamples.push(await bootOnce(zst, disk, false, i, 'zstd'));
    process.stderr.write(`run ${i + 1}/${runs} (zstd, to node-empty): ${JSON.stringify(zsamples.at(-1)!.stages)}\n`);
  }
  fs.rmSync(path.dirname(disk), { recursive: true, force: true });

  const med = (ss: Sample[], k: string): number =>
    median(ss.map((s) => s.stages[k]).filter((v): v is number => v !== undefined));
  const firstDevice = (s: Sample): number | undefined =>
    Object.entries(s.stages).find(([k]) => k.startsWith('device:'))?.[1];
  const order: [string, string, number][] = [
    ['kernel start → /init (xz unpack)', 'init', med(samples, 'init')],
    ['/init → modules loaded', 'modules', med(samples, 'modules') - med(samples, 'init')],
    ['modules → block devices settled', 'devices', med(samples, 'devices') - med(samples, 'modules')],
    ['node -e 0 (baseline)', 'node-empty', med(samples, 'node-empty') - med(samples, 'devices')],
    ['node + bundle → tendril running', 'tendril', med(samples, 'tendril') - med(samples, 'node-empty')],
    [
      'tendril → first device scanned',
      'device',
      median(samples.map(firstDevice).filter((v): v is number => v !== undefined)) - med(samples, 'tendril'),
    ],
    ['tendril → entries listed', 'entries', med(samples, 'entries') - med(samples, 'tendril')],
    ['entries → kexec issued (load)', 'kexec', med(samples, 'kexec') - med(samples, 'entries')],
  ];
  const total = med(samples, 'kexec');
  process.stdout.write(`\nboot stages, guest seconds (median of ${runs} runs, QEMU TCG, ${hostKernel().version})\n`);
  for (const [label, , v] of order) process.stdout.write(`  ${label.padEnd(36)} ${v.toFixed(2).padStart(7)} s\n`);
  process.stdout.write(`  ${'total: kernel start → kexec'.padEnd(36)} ${total.toFixed(2).padStart(7)} s\n`);
  const nodeEmpty = order[3]![2];
  const tendrilStart = order[4]![2];
  process.stdout.write(
    `\nnode's own start-up (node -e 0): ${nodeEmpty.toFixed(2)} s = ${((nodeEmpty / total) * 100).toFixed(1)} % of kernel→kexec;` +
      ` tendril start (node + bundle) / node -e 0 = ${((nodeEmpty + tendrilStart) / nodeEmpty).toFixed(2)}x\n`,
  );
  const zInit = med(zsamples, 'init');
  process.stdout.write(
    `unpack: kernel start → /init  xz ${med(samples, 'init').toFixed(2)} s, zstd ${zInit.toFixed(2)} s (xz/zstd = ${(med(samples, 'init') / zInit).toFixed(2)}x)\n`,
  );
  for (const [name, f] of [
    ['xz', xz],
    ['zstd', zst],
  ] as const) {
    process.stdout.write(
      `${name} image: ${fs.statSync(f).size} bytes (${(fs.statSync(f).size / 2 ** 20).toFixed(2)} MiB)\n`,
    );
  }
  const report = JSON.parse(fs.readFileSync(`${xz}.report.json`, 'utf8')) as SizeReport;
  process.stdout.write(`\ninitramfs size breakdown (xz image)\n${formatReport(report)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/boot: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
