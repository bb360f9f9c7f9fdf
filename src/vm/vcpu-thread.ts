// An AP's thread (vCPU 1..N−1): runs KVM_RUN on its vCPU and hands every exit that reaches
// JavaScript to vCPU 0's thread through the mailbox (ap-mailbox.ts), where the devices live.
// INIT and SIPI are KVM's in-kernel LAPIC's business: until OVMF wakes the AP, KVM_RUN just
// sleeps. The PM timer and sink ports are answered in C on this thread too.
import { parentPort } from 'node:worker_threads';
import { ExitReason, kvm, kvmConstants } from '../native/kvm';
import { ApMailbox } from './ap-mailbox';
import type { VcpuWorkerData } from './protocol';

export function runAp(d: VcpuWorkerData): void {
  const k = kvm();
  const c = kvmConstants();
  const mb = new ApMailbox(d.mailbox);
  const run = new DataView(k.kvmVcpuRunBuffer(d.handle));
  const kick = () => {
    k.kvmKick(d.bspHandle);
  };
  // vCPU 0's thread waits for this before it runs: until then its event loop is free, which a
  // starting worker needs from its parent.
  parentPort?.postMessage('running');
  while (!mb.stopping) {
    const reason = k.kvmRun(d.handle);
    if (reason === ExitReason.INTR) {
      run.setUint8(c.runImmediateExit, 0);
      continue;
    }
    if (!mb.forward(d.index, kick)) break;
  }
}
