// Smoke test of the KVM bindings on this machine's own /dev/kvm with a few bytes of
// integer-only real-mode code (no firmware: an emulating /dev/kvm cannot run it).
// Covers: read-only slot holding the reset vector, port output/input exits, string I/O
// (rep outsb → io.count), the C PM-timer fast path, HLT (no irqchip, so it exits), register
// get/set, and kvmKick() stopping a vCPU that spins in a worker thread.
import { describe, expect, it, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import {
  ExitReason,
  PortMode,
  decodeRegs,
  encodeRegs,
  readSegment,
  writeSegment,
  COUNT_FAST_PMTIMER,
} from '../../../src/native/kvm';
import { realModeVm } from '../../fixtures/real-mode-vm';

const root = path.join(__dirname, '..', '..', '..');
const addonPath = path.join(root, 'native', 'build', 'Release', 'tendril.node');
const haveKvm = fs.existsSync('/dev/kvm');

beforeAll(() => {
  if (!fs.existsSync(addonPath))
    execFileSync('sh', [path.join(root, 'scripts', 'build-native.sh')], { stdio: 'inherit' });
});

const makeVm = (withIrqchip: boolean) => realModeVm({ irqchip: withIrqchip });

function bytes(hex: string): number[] {
  return hex
    .trim()
    .split(/\s+/)
    .map((h) => parseInt(h, 16));
}

describe.skipIf(!haveKvm)('KVM bindings on /dev/kvm', () => {
  it('runs real-mode code from a read-only reset vector: port I/O, string I/O, PM timer, hlt', () => {
    // The reset vector (0xFFFFFFF0, in the read-only slot) jumps to 0000:7C00 (real-mode-vm.ts).
    const { k, sys, vm, vcpu, run, ram, c } = makeVm(false);
    const code = bytes(`B0 41  BA F8 03  EE  BA F9 03  EC  BA FA 03  EE
             BA 08 B0  66 ED  66 89 C3  66 ED  BA FB 03  66 EF  66 89 D8  66 EF
             B9 03 00  BE 00 06  BA FC 03  F3 6E  F4`);
    ram.set(code, 0x7c00);
    ram.set([0x61, 0x62, 0x63], 0x600);
    k.kvmSetPortMode(vcpu, 0xb008, PortMode.PmTimer);
    k.kvmSetPmTimerStart(vcpu, process.hrtime.bigint());

    const outs: Array<{ port: number; size: number; values: number[] }> = [];
    let hlt = false;
    for (let i = 0; i < 50 && !hlt; i++) {
      const reason = k.kvmRun(vcpu);
      expect(run.getUint32(c.runExitReason, true)).toBe(reason);
      if (reason === ExitReason.HLT) {
        hlt = true;
        break;
      }
      expect(reason).toBe(ExitReason.IO);
      const dir = run.getUint8(c.runIoDirection);
      const size = run.getUint8(c.runIoSize);
      const port = run.getUint16(c.runIoPort, true);
      const count = run.getUint32(c.runIoCount, true);
      const off = Number(run.getBigUint64(c.runIoDataOffset, true));
      if (dir === 0) {
        expect(port).toBe(0x3f9);
        run.setUint8(off, 0x5a); // answer the `in al,dx`
      } else {
        const values: number[] = [];
        for (let j = 0; j < count; j++)
          values.push(size === 4 ? run.getUint32(off + j * 4, true) : run.getUint8(off + j));
        outs.push({ port, size, values });
      }
    }
    expect(hlt).toBe(true);
    expect(outs[0]).toEqual({ port: 0x3f8, size: 1, values: [0x41] });
    expect(outs[1]).toEqual({ port: 0x3fa, size: 1, values: [0x5a] });
    // Two PM timer reads, 24-bit, monotonic (second ≥ first, no wrap in microseconds).
    const [second, first] = [outs[2]!.values[0]!, outs[3]!.values[0]!];
    expect(outs[2]!.port).toBe(0x3fb);
    expect(first).toBeLessThan(1 << 24);
    expect(second).toBeGreaterThanOrEqual(first);
    // rep outsb: possibly split by KVM, but the bytes arrive in order.
    const str = outs.slice(4).flatMap((o) => (o.port === 0x3fc ? o.values : []));
    expect(str).toEqual([0x61, 0x62, 0x63]);
    expect(k.kvmExitCounts(vcpu)[COUNT_FAST_PMTIMER]).toBe(2);
    const regs = decodeRegs(k.kvmGetRegs(vcpu));
    expect(regs.rip).toBe(0x7c00n + BigInt(code.length)); // just after hlt
    k.kvmDestroyVcpu(vcpu);
    k.kvmClose(vm);
    k.kvmClose(sys);
  });

  it('stops a spinning vCPU in a worker with kvmKick (immediate_exit + RT signal)', async () => {
    const { k, sys, vm, vcpu, ram } = makeVm(true);
    ram.set([0xeb, 0xfe], 0x7c00); // jmp $
    const sregs = k.kvmGetSregs(vcpu);
    const cs = readSegment(sregs, 0);
    writeSegment(sregs, 0, { ...cs, base: 0n, selector: 0 });
    k.kvmSetSregs(vcpu, sregs);
    const regs = decodeRegs(k.kvmGetRegs(vcpu));
    k.kvmSetRegs(vcpu, encodeRegs({ ...regs, rip: 0x7c00n }));
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = { exports: {} };
      process.dlopen(m, workerData.addon);
      parentPort.postMessage('running');
      const r = m.exports.kvmRun(workerData.vcpu);
      parentPort.postMessage(r);`;
    const w = new Worker(code, { eval: true, workerData: { addon: addonPath, vcpu } });
    const reason = await new Promise<number>((resolve, reject) => {
      w.on('message', (m) => {
        if (m === 'running') setTimeout(() => k.kvmKick(vcpu), 200);
        else resolve(m as number);
      });
      w.on('error', reject);
    });
    await w.terminate();
    expect(reason).toBe(ExitReason.INTR);
    const rip = decodeRegs(k.kvmGetRegs(vcpu)).rip;
    expect(rip).toBe(0x7c00n);
    k.kvmDestroyVcpu(vcpu);
    k.kvmClose(vm);
    k.kvmClose(sys);
  });
});
