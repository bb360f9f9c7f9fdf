// The VM worker thread: owns KVM, the devices, the disks and the flash banks, and runs the
// vCPU; loops over guest resets, keeping the disks' overlays and the variable store (README.md
// "Threads"). Started by command.ts from the bundle itself; src/cli.ts
// calls startVmWorker() when a worker's role says so.
import { parentPort, workerData } from 'node:worker_threads';
import { ConsoleChannel } from './console';
import { Disk } from './disk';
import { Machine, mapFlash, writeStdout, type MachineResult } from './machine';
import type { VmWorkerData, VmWorkerMessage } from './protocol';

function vmWorkerMain(input: VmWorkerData): void {
  const port = parentPort;
  if (!port) throw new Error('the VM worker must run in a worker thread');
  const post = (m: VmWorkerMessage) => port.postMessage(m);
  const channel = new ConsoleChannel(input.channel);
  const disks: Disk[] = [];
  try {
    // One copy of the banks for the whole run: the variable store survives guest resets.
    const flash = mapFlash(input.flash.code, input.flash.vars);
    for (const spec of input.opts.disks) disks.push(Disk.open(spec));
    const platformDisks = disks.map((disk, i) => ({ disk, boot: input.opts.disks[i]!.boot !== false }));
    let resets = 0;
    for (;;) {
      const m = new Machine({
        flash,
        ramBytes: input.opts.ramBytes,
        cpus: input.opts.cpus,
        disks: platformDisks,
        // A generated Boot0000 is the boot order; QemuBootOrderLib would reorder or prune it.
        fwBootOrder: input.opts.loader === undefined,
        serialOut: writeStdout,
        poll: () => ({ stop: channel.stopRequested, input: channel.drain() }),
        onVcpu: (handle) => post({ type: 'vcpu', handle }),
      });
      let result: MachineResult;
      try {
        m.create();
        result = m.runUntilEvent();
      } finally {
        m.flush();
      }
      const stats = m.exitStats();
      m.destroy();
      if (result.kind === 'reset' && !channel.stopRequested) {
        resets++;
        process.stderr.write(`\ntendril vm: guest reset (${result.reason}); restarting\n`);
        continue;
      }
      const vars = flash.vars ? new Uint8Array(flash.vars.slice(0)) : new Uint8Array(0);
      post({ type: 'done', result, stats, resets, vars });
      return;
    }
  } catch (e) {
    post({ type: 'fail', message: e instanceof Error ? e.message : String(e) });
  } finally {
    for (const d of disks) d.close();
  }
}

/** Entry for a worker whose role is VM_WORKER_ROLE. */
export function startVmWorker(): void {
  vmWorkerMain(workerData as VmWorkerData);
}
