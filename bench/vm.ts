// bench/vm: tendril's VMM against QEMU as the L1 VMM, in the same nested run (QEMU/TCG with
// -cpu max and the patched kvm-amd, see docs/testing.md §3), with the same firmware, variable
// store, disk, vCPU count and RAM for both:
//  - shell: Debian's OVMF_CODE_4M.fd + OVMF_VARS_4M.fd to the UEFI shell, whose startup.nsh on a
//    FAT disk echoes a marker, runs `map` and `reset -s`;
//  - linux: the same firmware with a variable store whose Boot0000 (written by tendril's
//    boot-entry.ts on the host, so both VMMs get identical bytes) starts Debian's kernel from a GPT
//    ESP with its initrd; the initrd prints a marker and powers off. Power-on to that marker is the
//    number issue 10 targets (tendril ≤ 1.0× QEMU);
//  - debian: a real Debian 12 disk (test/fixtures/debian-disk.ts) through shim → GRUB → Debian's
//    kernel → systemd to its marker unit, Boot0000 naming \EFI\debian\shimx64.efi (tendril's
//    --loader; QEMU gets a store with the same Boot0000 written on the host). The disk is the
//    outer guest's /dev/vda (snapshot=on), given to both VMMs as that block device;
//  - debian-nvme: the same disk on each VMM's NVMe controller (tendril's `,if=nvme`, QEMU's
//    `-device nvme`); the summary also sets tendril on NVMe against tendril on virtio-blk.
// Prints, per scenario and VMM, ms from start to the shell prompt (shell), the marker and exit,
// the ratios tendril/QEMU (lower is better for tendril), KVM's own exit counters and tendril's
// exits by kind. `--runs N` repeats the whole nested run N times (default 1); `--scenarios
// debian,linux` runs only those (default: all three).
// Usage: node scripts/run-ts.mjs bench/vm.ts [--runs N] [--scenarios shell,linux,debian,debian-nvme]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ovmfSplit } from '../initramfs/host';
import { bootVarStore, diskPartition } from '../src/vm/boot-entry';
import { DEBIAN_MARKER, SHIM_LOADER, debianDisk } from '../test/fixtures/debian-disk';
import {
  CACHE,
  buildInitramfs,
  fatDisk,
  LINUX_EFI,
  LINUX_EFI_ARGS,
  LINUX_EFI_LOADER,
  linuxEfiDisk,
  markerInitrd,
  patchedKvmAmd,
  runNested,
  tendrilFiles,
} from '../test/fixtures/vm';
import { GUEST_QEMU, GUEST_QEMU_ENV, guestQemuFiles } from '../test/fixtures/guest-qemu';

const SHELL_MARKER = 'TENDRIL-BENCH-SHELL-0c1d';
const LINUX_MARKER = 'TENDRIL-BENCH-LINUX-0c1d';
const CPUS = 2;
const MEMORY = '2G';
const OUTER_CPUS = 1;

// Runs inside the outer guest: spawns a VMM, timestamps its console output.
const TIMER_JS = `
const { spawn } = require('child_process');
const [label, marker, ...cmd] = process.argv.slice(2);
const t0 = process.hrtime.bigint();
const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
const p = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '', err = '';
const r = { label, shellMs: null, markerMs: null, exitMs: null, status: null, stats: null, kvm: null };
// KVM's own per-VM exit counters (debugfs; vCPU stats summed per VM). The directory vanishes
// with the VM, so sample it and keep the last reading. It is named <tid>-<fd> after the thread
// that created the VM (tendril creates it in a worker thread), so take any VM directory: the
// VMMs run one after the other.
const fs = require('fs');
const KVM_STATS = ['exits', 'io_exits', 'mmio_exits', 'irq_exits', 'halt_exits', 'signal_exits', 'irq_window_exits', 'request_irq_exits', 'insn_emulation', 'host_state_reload'];
const sample = () => {
  try {
    for (const d of fs.readdirSync('/sys/kernel/debug/kvm')) {
      if (!/^\\d+-\\d+$/.test(d)) continue;
      const o = {};
      for (const k of KVM_STATS) { try { o[k] = Number(fs.readFileSync('/sys/kernel/debug/kvm/' + d + '/' + k, 'utf8')); } catch {} }
      r.kvm = o;
    }
  } catch {}
};
const sampler = setInterval(sample, 250);
p.stdout.on('data', (d) => {
  out += d.toString('latin1');
  if (r.shellMs === null && out.includes('Shell> ')) r.shellMs = ms();
  // Anywhere in the output: systemd's status lines can share the marker's line on the console.
  if (r.markerMs === null && out.includes(marker)) r.markerMs = ms();
});
p.stderr.on('data', (d) => { err += d.toString('latin1'); });
p.on('close', (code) => {
  clearInterval(sampler);
  r.exitMs = ms();
  r.status = code;
  const m = /tendril-vm-stats (\\{.*\\})/.exec(err);
  if (m) r.stats = JSON.parse(m[1]).exits;
  if (r.markerMs === null) process.stdout.write(out.slice(-2000) + '\\n' + err.slice(-2000) + '\\n');
  process.stdout.write('BENCH-RESULT ' + JSON.stringify(r) + '\\n');
});
`;

interface Result {
  label: string;
  shellMs: number | null;
  markerMs: number | null;
  exitMs: number | null;
  status: number | null;
  stats: Record<string, number> | null;
  kvm: Record<string, number> | null;
}

function qemuCommand(qemu: string, vars: string, disk: string, nvme: boolean): string {
  const device = nvme ? 'nvme,drive=d,serial=tendril-bench' : 'virtio-blk-pci,drive=d,disable-legacy=on';
  return (
    `${qemu} -enable-kvm -machine pc -smp ${CPUS} -m ${MEMORY} -nographic -nodefaults -serial stdio ` +
    `-drive if=pflash,format=raw,readonly=on,file=/vm/OVMF_CODE_4M.fd -drive if=pflash,format=raw,file=${vars} ` +
    `-drive if=none,id=d,file=${disk},format=raw,snapshot=on -device ${device}`
  );
}

type Scenario = 'shell' | 'linux' | 'debian' | 'debian-nvme';
const SCENARIOS: readonly Scenario[] = ['shell', 'linux', 'debian', 'debian-nvme'];

function scenariosArg(): Scenario[] {
  const i = process.argv.indexOf('--scenarios');
  if (i < 0) return [...SCENARIOS];
  const names = (process.argv[i + 1] ?? '').split(',');
  const bad = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
  if (bad.length) throw new Error(`bench/vm: --scenarios: unknown ${bad.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  return names as Scenario[];
}

/** A store from OVMF's template with Boot0000 + BootOrder for `loader` on `disk`'s partition 1. */
function bootVarsFile(name: string, disk: string, loader: string, args?: string): string {
  const file = path.join(CACHE, `vm-bench-${name}.vars`);
  const entry = { partition: diskPartition(disk, 1), loader, ...(args !== undefined ? { args } : {}) };
  fs.writeFileSync(file, bootVarStore(fs.readFileSync(ovmfSplit().vars), entry));
  return file;
}

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf('--runs');
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 1;
  const scenarios = scenariosArg();
  const ovmf = ovmfSplit();
  const shellDisk = fatDisk('vm-bench', [{ path: 'startup.nsh', data: `echo ${SHELL_MARKER}\r\nmap\r\nreset -s\r\n` }]);
  const linuxDisk = linuxEfiDisk(markerInitrd(LINUX_MARKER));
  const debian = scenarios.some((sc) => sc.startsWith('debian')) ? debianDisk() : null;
  const timer = path.join(CACHE, 'vm-bench-timer.js');
  fs.writeFileSync(timer, TIMER_JS);
  const qemu = GUEST_QEMU;
  const tendril = `node /tendril.js vm --firmware /vm/OVMF_CODE_4M.fd --cpus ${CPUS} --memory ${MEMORY} --stats --vars-template /vm/OVMF_VARS_4M.fd`;
  // Per scenario: the marker, tendril's arguments after `tendril`, QEMU's store and disk.
  const plan: Record<Scenario, { marker: string; tendrilArgs: string; vars: string; disk: string }> = {
    shell: {
      marker: SHELL_MARKER,
      tendrilArgs: '--disk /vm/shell.img',
      vars: '/vm/OVMF_VARS_4M.fd',
      disk: '/vm/shell.img',
    },
    linux: {
      marker: LINUX_MARKER,
      tendrilArgs: `--disk /vm/linux.img ${LINUX_EFI_LOADER}`,
      vars: '/vm/linux.vars',
      disk: '/vm/linux.img',
    },
    debian: {
      marker: DEBIAN_MARKER,
      tendrilArgs: `--disk /dev/vda --loader '0:1:${SHIM_LOADER}'`,
      vars: '/vm/debian.vars',
      disk: '/dev/vda',
    },
    'debian-nvme': {
      marker: DEBIAN_MARKER,
      tendrilArgs: `--disk /dev/vda,if=nvme --loader '0:1:${SHIM_LOADER}'`,
      vars: '/vm/debian.vars',
      disk: '/dev/vda',
    },
  };
  const files: Record<string, string> = {
    ...tendrilFiles(),
    '/vm/OVMF_CODE_4M.fd': ovmf.code,
    '/vm/OVMF_VARS_4M.fd': ovmf.vars,
    '/vm/timer.js': timer,
    ...guestQemuFiles(),
  };
  if (scenarios.includes('shell')) files['/vm/shell.img'] = shellDisk;
  if (scenarios.includes('linux')) {
    files['/vm/linux.img'] = linuxDisk;
    files['/vm/linux.vars'] = bootVarsFile('linux', linuxDisk, LINUX_EFI, LINUX_EFI_ARGS);
  }
  if (debian) files['/vm/debian.vars'] = bootVarsFile('debian', debian.image, SHIM_LOADER);
  const cpio = buildInitramfs({
    name: 'vm-bench',
    files,
    modules: ['kvm', 'ccp', ...(debian ? ['virtio_pci', 'virtio_blk'] : [])],
    extraKo: [patchedKvmAmd()],
    script: [
      'cd /vm',
      GUEST_QEMU_ENV,
      'mount -t debugfs debugfs /sys/kernel/debug',
      ...scenarios.flatMap((sc, i) => [
        `node /vm/timer.js ${sc}/tendril ${plan[sc].marker} ${tendril} ${plan[sc].tendrilArgs}`,
        `cp ${plan[sc].vars} /tmp/q${i}.vars`,
        `node /vm/timer.js ${sc}/qemu ${plan[sc].marker} ${qemuCommand(qemu, `/tmp/q${i}.vars`, plan[sc].disk, sc === 'debian-nvme')}`,
      ]),
      'rc=0',
    ].join('\n'),
  });
  const expected = scenarios.length * 2;
  const timeoutMs = debian ? 3_600_000 : 1_200_000;
  // The timer prints nothing until a VMM ends, so COM1's silence means nothing here: no stall check.
  // Two vCPUs boot on this test host only in a one-CPU outer guest (docs/testing.md §3).
  const nested = () =>
    runNested(cpio, ['TENDRIL-EXIT-CODE='], timeoutMs, {
      stallS: 0,
      outerCpus: OUTER_CPUS,
      ...(debian ? { drives: [debian.image] } : {}),
    });
  const f = (v: number | null) => (v === null ? '   n/a' : (v / 1000).toFixed(2).padStart(6) + ' s');
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null ? (a / b).toFixed(2) : 'n/a');
  let failed = false;
  // Per scenario, each run's tendril/QEMU ratios (marker, exit), for the medians at the end.
  const ratios = new Map<Scenario, { marker: number[]; exit: number[] }>(
    scenarios.map((sc) => [sc, { marker: [], exit: [] }]),
  );
  // tendril on NVMe against tendril on virtio-blk, when both Debian scenarios ran.
  const nvmeOverVirtio: number[] = [];
  for (let n = 1; n <= runs; n++) {
    const t0 = Date.now();
    // The outer QEMU/TCG sometimes dies or hangs under nested SVM (src/vm/README.md); a run in
    // which a VMM did not report is repeated, up to three times, and the failure shown.
    let run = await nested();
    let results = [...run.log.matchAll(/BENCH-RESULT (\{.*\})/g)].map((m) => JSON.parse(m[1]!) as Result);
    for (let attempt = 2; results.length < expected && attempt <= 3; attempt++) {
      process.stderr.write(
        `bench/vm: run ${n}: ${results.length} of ${expected} VMMs reported (${run.hostFault ?? 'outer run ended after ' + (run.wallMs / 1000).toFixed(1) + ' s'}); attempt ${attempt}\n${run.log.slice(-1500)}\n`,
      );
      run = await nested();
      results = [...run.log.matchAll(/BENCH-RESULT (\{.*\})/g)].map((m) => JSON.parse(m[1]!) as Result);
    }
    const lines = [
      `bench/vm run ${n}/${runs} (nested: QEMU/TCG -cpu max, ${run.outerCpus} outer CPU(s) → L1 KVM, patched kvm-amd; ${CPUS} vCPUs, ${MEMORY}; outer run ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    ];
    for (const scenario of scenarios) {
      const t = results.find((r) => r.label === `${scenario}/tendril`);
      const q = results.find((r) => r.label === `${scenario}/qemu`);
      if (!t || !q) {
        lines.push(`${scenario}: a VMM did not report`, run.log.slice(-4000));
        failed = true;
        continue;
      }
      lines.push(
        `${scenario}:                shell prompt   marker     exit   status`,
        `  tendril vm           ${f(t.shellMs)}   ${f(t.markerMs)}  ${f(t.exitMs)}   ${t.status}`,
        `  qemu -enable-kvm     ${f(q.shellMs)}   ${f(q.markerMs)}  ${f(q.exitMs)}   ${q.status}`,
        `  ratio tendril/qemu   ${ratio(t.shellMs, q.shellMs).padStart(8)}   ${ratio(t.markerMs, q.markerMs).padStart(8)}  ${ratio(t.exitMs, q.exitMs).padStart(8)}`,
        `  KVM exit counters (debugfs, sampled every 250 ms until the VM ended):`,
        ...Object.keys({ ...t.kvm, ...q.kvm }).map(
          (k) =>
            `    ${k.padEnd(18)} tendril ${String(t.kvm?.[k] ?? 'n/a').padStart(10)}   qemu ${String(q.kvm?.[k] ?? 'n/a').padStart(10)}`,
        ),
        `  tendril exits by kind (userspace, from the addon's counters): ${JSON.stringify(t.stats)}`,
      );
      if (t.status !== 0 || q.status !== 0 || t.markerMs === null || q.markerMs === null) failed = true;
      const r = ratios.get(scenario)!;
      if (t.markerMs !== null && q.markerMs !== null) r.marker.push(t.markerMs / q.markerMs);
      if (t.exitMs !== null && q.exitMs !== null) r.exit.push(t.exitMs / q.exitMs);
    }
    const tv = results.find((r) => r.label === 'debian/tendril')?.markerMs ?? null;
    const tn = results.find((r) => r.label === 'debian-nvme/tendril')?.markerMs ?? null;
    if (tv !== null && tn !== null) {
      nvmeOverVirtio.push(tn / tv);
      lines.push(`tendril NVMe / tendril virtio-blk to the Debian marker: ${(tn / tv).toFixed(2)}`);
    }
    process.stdout.write(lines.join('\n') + '\n\n');
  }
  const median = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    return s.length === 0 ? 'n/a' : ((s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2).toFixed(2);
  };
  for (const [scenario, r] of ratios) {
    process.stdout.write(
      `bench/vm ${scenario}: median ratio tendril/qemu over ${r.marker.length} run(s): marker ${median(r.marker)} [${r.marker.map((x) => x.toFixed(2)).join(' ')}], exit ${median(r.exit)} [${r.exit.map((x) => x.toFixed(2)).join(' ')}]\n`,
    );
  }
  if (nvmeOverVirtio.length)
    process.stdout.write(
      `bench/vm: median tendril NVMe / tendril virtio-blk over ${nvmeOverVirtio.length} run(s): ${median(nvmeOverVirtio)} [${nvmeOverVirtio.map((x) => x.toFixed(2)).join(' ')}]\n`,
    );
  if (failed) process.exitCode = 1;
}

void main();
