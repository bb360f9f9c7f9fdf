// bench/vm: tendril's VMM against QEMU as the L1 VMM, in the same nested run (QEMU/TCG with
// -cpu max and the patched kvm-amd, see docs/testing.md §3), same OVMF.fd, same FAT disk whose
// startup.nsh echoes a marker, runs `map` and `reset -s`.
// Prints, for each VMM, ms from its start to the first UEFI shell prompt, to the marker and to
// exit, the ratios tendril/QEMU (lower is better for tendril), and tendril's VM exits by kind.
// Usage: node scripts/run-ts.mjs bench/vm.ts
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CACHE,
  OVMF,
  binaryWithLibs,
  buildInitramfs,
  dirFiles,
  fatDisk,
  patchedKvmAmd,
  runNested,
  tendrilFiles,
} from '../test/fixtures/vm';

const MARKER = 'TENDRIL-BENCH-MARKER-0c1d';

// Runs inside the outer guest: spawns a VMM, timestamps its console output.
const TIMER_JS = `
const { spawn } = require('child_process');
const [label, ...cmd] = process.argv.slice(2);
const marker = ${JSON.stringify(MARKER)};
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
  if (r.markerMs === null && new RegExp('[\\\\r\\\\n]' + marker + '[\\\\r\\\\n]').test(out)) r.markerMs = ms();
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

async function main(): Promise<void> {
  const disk = fatDisk('vm-bench', [{ path: 'startup.nsh', data: `echo ${MARKER}\r\nmap\r\nreset -s\r\n` }]);
  const timer = path.join(CACHE, 'vm-bench-timer.js');
  fs.writeFileSync(timer, TIMER_JS);
  const qemu = '/usr/bin/qemu-system-x86_64';
  const cpio = buildInitramfs({
    name: 'vm-bench',
    files: {
      ...tendrilFiles(),
      '/vm/OVMF.fd': OVMF,
      '/vm/disk.img': disk,
      '/vm/timer.js': timer,
      ...binaryWithLibs(qemu),
      ...dirFiles('/usr/share/qemu'),
      ...dirFiles('/usr/share/seabios'),
    },
    modules: ['kvm', 'ccp'],
    extraKo: [patchedKvmAmd()],
    script: [
      'cd /vm',
      'mkdir -p /var/tmp && export TMPDIR=/tmp', // QEMU's snapshot=on keeps its overlay there
      'mount -t debugfs debugfs /sys/kernel/debug',
      `node /vm/timer.js tendril node /tendril.js vm --firmware /vm/OVMF.fd --disk /vm/disk.img --stats`,
      `node /vm/timer.js qemu ${qemu} -enable-kvm -machine pc -m 1G -nographic -nodefaults -serial stdio -bios /vm/OVMF.fd ` +
        `-drive if=none,id=d,file=/vm/disk.img,format=raw,snapshot=on -device virtio-blk-pci,drive=d,disable-legacy=on`,
      'rc=0',
    ].join('\n'),
  });
  const t0 = Date.now();
  const run = await runNested(cpio, ['BENCH-RESULT']);
  const results = [...run.log.matchAll(/BENCH-RESULT (\{.*\})/g)].map(
    (m) =>
      JSON.parse(m[1]!) as {
        label: string;
        shellMs: number | null;
        markerMs: number | null;
        exitMs: number | null;
        status: number | null;
        stats: Record<string, number> | null;
        kvm: Record<string, number> | null;
      },
  );
  const t = results.find((r) => r.label === 'tendril');
  const q = results.find((r) => r.label === 'qemu');
  if (!t || !q) {
    process.stdout.write(run.log.slice(-4000) + '\nbench/vm: a VMM did not report (see the log above)\n');
    process.exitCode = 1;
    return;
  }
  const f = (v: number | null) => (v === null ? '   n/a' : (v / 1000).toFixed(2).padStart(6) + ' s');
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null ? (a / b).toFixed(2) : 'n/a');
  process.stdout.write(
    [
      `bench/vm (nested: QEMU/TCG -cpu max → L1 KVM, patched kvm-amd; outer run ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      `                      shell prompt   marker     exit   status`,
      `tendril vm           ${f(t.shellMs)}   ${f(t.markerMs)}  ${f(t.exitMs)}   ${t.status}`,
      `qemu -enable-kvm     ${f(q.shellMs)}   ${f(q.markerMs)}  ${f(q.exitMs)}   ${q.status}`,
      `ratio tendril/qemu   ${ratio(t.shellMs, q.shellMs).padStart(8)}   ${ratio(t.markerMs, q.markerMs).padStart(8)}  ${ratio(t.exitMs, q.exitMs).padStart(8)}`,
      `KVM exit counters (debugfs, sampled every 250 ms until the VM ended):`,
      ...Object.keys({ ...t.kvm, ...q.kvm }).map(
        (k) =>
          `  ${k.padEnd(18)} tendril ${String(t.kvm?.[k] ?? 'n/a').padStart(10)}   qemu ${String(q.kvm?.[k] ?? 'n/a').padStart(10)}`,
      ),
      `tendril exits by kind (userspace, from the addon's counters): ${JSON.stringify(t.stats)}`,
      '',
    ].join('\n'),
  );
  if (t.status !== 0 || q.status !== 0 || t.markerMs === null || q.markerMs === null) process.exitCode = 1;
}

void main();
