// The VM worker thread: owns KVM, the devices, the disks and the flash banks, and runs vCPU 0;
// loops over guest resets, keeping the disks' overlays and the variable store (README.md
// "Threads"). Started by command.ts from the bundle itself; the APs' threads are started by the
// machine from the same bundle. src/cli.ts calls startVmWorker() for both roles.
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { ConsoleChannel, ConsoleOutput } from './console';
import { HostInputRing } from './host-input-ring';
import { IoThread } from './io-client';
import { Machine, mapFlash, type MachineResult } from './machine';
import { runIoThread } from './io-thread';
import {
  VM_DISPLAY_ROLE,
  VM_IO_ROLE,
  VM_VCPU_ROLE,
  type DisplayWorkerData,
  type IoWorkerData,
  type VcpuWorkerData,
  type VmWorkerData,
  type VmWorkerMessage,
} from './protocol';
import { runAp } from './vcpu-thread';
import { startHostDisplay } from './display/host-start';
import { runDisplayThread } from './display/host-thread';
import type { HostDisplay } from './display/host-link';

async function vmWorkerMain(input: VmWorkerData): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('the VM worker must run in a worker thread');
  const post = (m: VmWorkerMessage) => port.postMessage(m);
  const channel = new ConsoleChannel(input.channel);
  const output = new ConsoleOutput(input.output);
  const serialOut = (b: number) => output.put(b);
  const hostInput = input.hostInput ? new HostInputRing(input.hostInput) : null;
  let io: IoThread | null = null;
  let hostDisplay: HostDisplay | null = null;
  try {
    // One copy of the banks for the whole run: the variable store survives guest resets.
    const flash = mapFlash(input.flash.code, input.flash.vars);
    // The disks live on the I/O thread, which serves their queues (io-thread.ts), for the whole run.
    if (input.opts.disks.length) io = await IoThread.start(input.bundle, input.opts.disks);
    const platformDisks = (io?.backends ?? []).map((backend, i) => ({
      backend,
      boot: input.opts.disks[i]!.boot !== false,
    }));
    // --display-out: the display thread owns the host's screen for the whole run (host-thread.ts).
    hostDisplay = await startHostDisplay(input.bundle, input.opts.displayOut, (line) => post({ type: 'note', line }));
    let shots = 0;
    const shotKey = (m: Machine) => {
      const file = input.opts.screenshot ?? `/tmp/tendril-screen-${++shots}.png`;
      post({ type: 'screenshot', shot: screenshot(m, file)! });
    };
    let resets = 0;
    for (;;) {
      const m: Machine = new Machine({
        flash,
        ramBytes: input.opts.ramBytes,
        cpus: input.opts.cpus,
        disks: platformDisks,
        // A generated Boot0000 is the boot order; QemuBootOrderLib would reorder or prune it.
        fwBootOrder: input.opts.loader === undefined,
        acpiTables: input.host.acpiTables,
        rtcOffsetMs: input.host.rtcOffsetMs,
        smbios: input.host.smbios,
        ...(input.opts.input ? { input: input.opts.input } : {}),
        ...(input.opts.display || input.opts.screenshot !== undefined || hostDisplay ? { display: true } : {}),
        ...(hostDisplay ? { hostDisplay } : {}),
        ...(input.opts.hyperv ? { hyperv: true } : {}),
        serialOut,
        poll: () => {
          if (channel.takeScreenshot()) shotKey(m);
          return {
            stop: channel.stopRequested,
            input: channel.drain(),
            powerButton: channel.takePowerButton(),
            hostInput: hostInput?.drain() ?? null,
          };
        },
        onVcpu: (handle) => post({ type: 'vcpu', handle }),
        bundle: input.bundle,
      });
      let result: MachineResult;
      try {
        m.create();
        await m.startAps();
        result = m.runUntilEvent();
      } finally {
        await m.stopAps();
      }
      const stats = { ...m.exitStats(), ...hostDisplay?.stats() };
      // The screen as the guest left it, before the framebuffer goes with the VM.
      const shot = result.kind === 'reset' && !channel.stopRequested ? undefined : screenshot(m, input.opts.screenshot);
      m.destroy();
      if (result.kind === 'reset' && !channel.stopRequested) {
        resets++;
        process.stderr.write(`\ntendril vm: guest reset (${result.reason}); restarting\n`);
        continue;
      }
      const vars = flash.vars ? new Uint8Array(flash.vars.slice(0)) : new Uint8Array(0);
      // The host's screen is restored (DRM) before the main thread ends this worker.
      await hostDisplay?.stop();
      hostDisplay = null;
      post({ type: 'done', result, stats, resets, vars, ...(shot ? { screenshot: shot } : {}) });
      return;
    }
  } catch (e) {
    post({ type: 'fail', message: e instanceof Error ? e.message : String(e) });
  } finally {
    await hostDisplay?.stop();
    await io?.stop();
  }
}

/** Entry for a worker whose role is VM_WORKER_ROLE or VM_VCPU_ROLE. */
export function startVmWorker(): void {
  const d = workerData as VmWorkerData | VcpuWorkerData | IoWorkerData | DisplayWorkerData;
  if (d.role === VM_VCPU_ROLE) runAp(d);
  else if (d.role === VM_IO_ROLE) runIoThread(d, (r) => parentPort?.postMessage(r));
  else if (d.role === VM_DISPLAY_ROLE) runDisplayThread(d, (r) => parentPort?.postMessage(r));
  else void vmWorkerMain(d);
}

/** Writes the screen to `file` (atomically); undefined when no screenshot was asked for. */
function screenshot(m: Machine, file: string | undefined): Extract<VmWorkerMessage, { type: 'done' }>['screenshot'] {
  if (file === undefined) return undefined;
  const s = m.screenshotPng();
  if (!s) return { file, error: 'the display was off (no mode set)' };
  try {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, s.png);
    fs.renameSync(tmp, file);
    return { file, width: s.width, height: s.height };
  } catch (e) {
    return { file, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
}
