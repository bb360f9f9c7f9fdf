// The VM worker thread: owns KVM, the devices, the disks and the flash banks, and runs vCPU 0;
// loops over guest resets, keeping the disks' overlays and the variable store (README.md
// "Threads"). Started by command.ts from the bundle itself; the APs' threads are started by the
// machine from the same bundle. src/cli.ts calls startVmWorker() for both roles.
import { parentPort, workerData } from 'node:worker_threads';
import { ConsoleChannel } from './console';
import { Disk } from './disk';
import { Machine, mapFlash, writeStdout, type MachineResult } from './machine';
import { VM_VCPU_ROLE, type VcpuWorkerData, type VmWorkerData, type VmWorkerMessage } from './protocol';
import { runAp } from './vcpu-thread';

async function vmWorkerMain(input: VmWorkerData): Promise<void> {
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
        bundle: input.bundle,
        ...(input.opts.loader ? { bootWatch: 'Boot0000' } : {}),
      });
      let result: MachineResult;
      try {
        m.create();
        await m.startAps();
        result = m.runUntilEvent();
      } finally {
        m.flush();
        await m.stopAps();
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

/** Entry for a worker whose role is VM_WORKER_ROLE or VM_VCPU_ROLE. */
export function startVmWorker(): void {
  const d = workerData as VmWorkerData | VcpuWorkerData;
  if (d.role === VM_VCPU_ROLE) runAp(d);
  else void vmWorkerMain(d);
}
