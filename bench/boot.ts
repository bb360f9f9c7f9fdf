// bench/boot: power-on → menu. tendril's initramfs against a bare busybox initramfs booted by
// the same kernel in the same run (QEMU TCG, same memory and disk, runs interleaved so load
// on the machine hits all variants alike; medians). Variants:
//  - bare:     busybox alone, /init prints a marker (the floor: firmware + kernel + unpacking);
//  - tendril:  as shipped: zstd, node, libraries, late modules and firmware in a squashfs
//              payload mounted by /init, read on demand;
//  - xz-cpio:  the smallest build (`--compress xz --layout cpio`, the previous default:
//              everything in the xz archives, unpacked by the kernel).
// Power-on is QEMU's start (host clock, to the first byte of the marker line); the stage
// table comes from the guest's /proc/uptime (`tendril.bench`). A separate run per tendril
// variant measures `node -e 0` in place (`tendril.bench=node`). Then the image sizes.
// Usage: node scripts/run-ts.mjs bench/boot.ts [--runs N]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { CpioWriter } from '../initramfs/cpio';
import { hostBusybox, hostKernel } from '../initramfs/host';
import { formatReport, type SizeReport } from '../initramfs/report';
import { blsDisk, blsEntry, LOG_DIR, privateCopy, productInitramfs, runQemu, stageTimes } from '../test/fixtures/boot';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;

interface Sample {
  /** Host seconds from QEMU's start to the marker. */
  readonly wall: number;
  /** Guest stage → /proc/uptime seconds. */
  readonly stages: Record<string, number>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
}

/** The floor: busybox and an /init that prints its uptime and powers off (xz, like ours). */
function bareInitramfs(dir: string): string {
  const w = new CpioWriter();
  for (const d of ['bin', 'proc', 'dev']) w.add({ kind: 'dir', path: d });
  w.add({ kind: 'char', path: 'dev/console', major: 5, minor: 1, mode: 0o600 });
  w.add({ kind: 'file', path: 'bin/busybox', data: fs.readFileSync(hostBusybox()), mode: 0o755 });
  const init = [
    '#!/bin/busybox sh',
    '/bin/busybox mount -t proc proc /proc',
    'read -r up _ </proc/uptime',
    'echo "tendril-stage init $up"',
    'echo "tendril-stage menu $up"',
    '/bin/busybox poweroff -f',
    '',
  ].join('\n');
  w.add({ kind: 'file', path: 'init', data: Buffer.from(init), mode: 0o755 });
  const cpio = path.join(dir, 'bare.cpio');
  fs.writeFileSync(cpio, Buffer.concat(w.finish()));
  execFileSync('xz', ['--check=crc32', '-9', '-f', cpio]);
  return `${cpio}.xz`;
}

async function bootOnce(
  initrd: string,
  disk: string,
  append: string,
  until: RegExp,
  tag: string,
  accel: 'tcg' | 'kvm' = 'tcg',
  timeoutMs = 300_000,
): Promise<Sample> {
  const t0 = process.hrtime.bigint();
  const r = await runQemu({
    kernel: hostKernel().vmlinuz,
    initrd,
    append: `console=ttyS0 quiet ${append}`,
    disks: [disk],
    timeoutMs,
    until,
    accel,
    logFile: path.join(LOG_DIR, `bench-boot-${tag}.log`),
  });
  // runQemu resolves (and stops QEMU) as soon as the marker has arrived (after writing the log).
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const stages: Record<string, number> = {};
  for (const s of stageTimes(r.output)) if (!(s.name in stages)) stages[s.name] = s.t;
  if (!until.test(r.output)) throw new Error(`${tag}: no ${until} (see ${LOG_DIR})`);
  return { wall, stages };
}

async function main(): Promise<void> {
  const images = {
    tendril: productInitramfs('zstd', 'squashfs'),
    'xz-cpio': productInitramfs('xz', 'cpio'),
  };
  const img = blsDisk('timeout 30\ndefault t.conf\n', {
    't.conf': blsEntry({ title: 'T', linux: '/vmlinuz', initrds: ['/initrd-main.img'], options: 'tendril.test=bench' }),
  });
  const disk = privateCopy(img);
  const tmp = path.dirname(disk);
  const bare = bareInitramfs(tmp);
  const menu = /tendril-stage menu [\d.]+\s/;
  const variants = [
    { name: 'bare', initrd: bare, append: '' },
    { name: 'tendril', initrd: images.tendril, append: 'tendril.mode=menu tendril.timeout=60 tendril.bench' },
    { name: 'xz-cpio', initrd: images['xz-cpio'], append: 'tendril.mode=menu tendril.timeout=60 tendril.bench' },
  ] as const;
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      const s = await bootOnce(v.initrd, disk, v.append, menu, `${v.name}-${i}`);
      samples.get(v.name)!.push(s);
      process.stderr.write(`run ${i + 1}/${runs} ${v.name}: ${s.wall.toFixed(2)} s ${JSON.stringify(s.stages)}\n`);
    }
  }
  const nodeEmpty = new Map<string, Sample>();
  for (const v of variants.slice(1)) {
    const append = v.append.replace('tendril.bench', 'tendril.bench=node');
    nodeEmpty.set(v.name, await bootOnce(v.initrd, disk, append, menu, `${v.name}-node`));
  }
  // The same under KVM where this machine can run the kernel: a probe boot of the bare image
  // decides (a KVM that cannot run a normal guest, such as kvm_pvm, hangs in the kernel's setup).
  const kvm = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  let kvmNote = '';
  if (!fs.existsSync('/dev/kvm')) kvmNote = 'no /dev/kvm';
  else {
    try {
      await bootOnce(bare, disk, '', menu, 'kvm-probe', 'kvm', 60_000);
      for (let i = 0; i < runs; i++)
        for (const v of variants)
          kvm.get(v.name)!.push(await bootOnce(v.initrd, disk, v.append, menu, `kvm-${v.name}-${i}`, 'kvm'));
    } catch (e) {
      kvmNote = `QEMU -accel kvm did not boot the bare initramfs to its marker within 60 s: ${(e as Error).message}`;
    }
  }
  const bareBytes = fs.statSync(bare).size;
  fs.rmSync(tmp, { recursive: true, force: true });

  const wall = (n: string): number => median(samples.get(n)!.map((s) => s.wall));
  const st = (n: string, k: string): number =>
    median(
      samples
        .get(n)!
        .map((s) => s.stages[k])
        .filter((x): x is number => x !== undefined),
    );
  const out = process.stdout;
  out.write(`\npower-on → menu, median of ${runs} runs (QEMU TCG, ${hostKernel().version}, 1 vCPU)\n`);
  out.write(`  ${'variant'.padEnd(10)} ${'host s'.padStart(8)} ${'guest s'.padStart(8)} ${'/ bare'.padStart(8)}\n`);
  for (const v of variants)
    out.write(
      `  ${v.name.padEnd(10)} ${wall(v.name).toFixed(2).padStart(8)} ${st(v.name, 'menu').toFixed(2).padStart(8)} ${(wall(v.name) / wall('bare')).toFixed(2).padStart(7)}x\n`,
    );
  out.write('  (host: QEMU start → marker; guest: kernel start → marker, /proc/uptime)\n');
  if (kvmNote) out.write(`\nunder KVM: not measured here (${kvmNote})\n`);
  else {
    const kw = (n: string): number => median(kvm.get(n)!.map((x) => x.wall));
    out.write(`\npower-on → menu under KVM, median of ${runs} runs\n`);
    for (const v of variants)
      out.write(
        `  ${v.name.padEnd(10)} ${kw(v.name).toFixed(2).padStart(8)} s ${(kw(v.name) / kw('bare')).toFixed(2).padStart(7)}x\n`,
      );
  }

  // A timeline, not a sum: the drivers load and the devices settle while node starts.
  const labels: Record<string, string> = {
    init: '/init runs (the kernel has unpacked the archives)',
    payload: 'payload mounted',
    modules: 'disk and input drivers loaded (background)',
    devices: 'block devices settled (background)',
    tendril: 'tendril running (node + bundle loaded)',
    menu: 'menu drawn with the entries',
  };
  for (const v of variants.slice(1)) {
    out.write(`\ntimeline, ${v.name} (guest seconds since kernel start, medians)\n`);
    const at = Object.keys(labels)
      .map((k) => [k, st(v.name, k)] as const)
      .filter(([, t]) => !Number.isNaN(t))
      .sort((x, y) => x[1] - y[1]);
    for (const [k, t] of at) out.write(`  ${t.toFixed(2).padStart(6)} s  ${labels[k]}\n`);
    const n = nodeEmpty.get(v.name)!.stages;
    const from = n.payload ?? n.init;
    if (n['node-empty'] !== undefined && from !== undefined)
      out.write(`  node -e 0 in place (separate run): ${(n['node-empty'] - from).toFixed(2)} s\n`);
  }

  out.write('\nimages\n');
  out.write(`  ${'bare'.padEnd(10)} ${(bareBytes / 2 ** 20).toFixed(2).padStart(7)} MiB (busybox, xz)\n`);
  for (const [name, f] of Object.entries(images))
    out.write(`  ${name.padEnd(10)} ${(fs.statSync(f).size / 2 ** 20).toFixed(2).padStart(7)} MiB\n`);
  for (const [name, f] of Object.entries(images)) {
    const report = JSON.parse(fs.readFileSync(`${f}.report.json`, 'utf8')) as SizeReport;
    out.write(`\nsize breakdown, ${name}\n${formatReport(report)}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/boot: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
