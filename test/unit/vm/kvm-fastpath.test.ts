// The addon's thin wrappers for the fast paths (native/src/kvm.c), on this host's /dev/kvm with a
// few bytes of real-mode code: a guest write that KVM_IOEVENTFD turns into an eventfd signal
// without an exit; eventfds across threads (eventfdWait in a worker); the same guest RAM seen from
// another thread through kvmMemId/kvmMemView; and the routing table KVM_SET_GSI_ROUTING takes.
import { describe, expect, it, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { ExitReason, kvm, kvmConstants } from '../../../src/native/kvm';
import { realModeVm } from '../../fixtures/real-mode-vm';
import { FIRST_MSI_GSI, MsiRoutes, routingEntries } from '../../../src/vm/irq-routing';

const root = path.join(__dirname, '..', '..', '..');
const addonPath = path.join(root, 'native', 'build', 'Release', 'tendril.node');
const haveKvm = fs.existsSync('/dev/kvm');

beforeAll(() => {
  if (!fs.existsSync(addonPath))
    execFileSync('sh', [path.join(root, 'scripts', 'build-native.sh')], { stdio: 'inherit' });
});

describe('eventfds and shared guest memory', () => {
  it('a worker blocked in eventfdWait wakes on eventfdWrite and reports which fd fired', async () => {
    const k = kvm();
    const a = k.eventfdCreate();
    const b = k.eventfdCreate();
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = { exports: {} };
      process.dlopen(m, workerData.addon);
      parentPort.postMessage('waiting');
      parentPort.postMessage(m.exports.eventfdWait([workerData.a, workerData.b], 10000));`;
    const w = new Worker(code, { eval: true, workerData: { addon: addonPath, a, b } });
    const ready = await new Promise<number[]>((resolve, reject) => {
      w.on('message', (m: string | number[]) => {
        if (m === 'waiting') setTimeout(() => k.eventfdWrite(b, 3), 100);
        else resolve(m as number[]);
      });
      w.on('error', reject);
    });
    await w.terminate();
    expect(ready).toEqual([1]);
    expect(k.eventfdWait([a, b], 0)).toEqual([]); // read, so reset
    k.eventfdWrite(a);
    expect(k.eventfdWait([a, b], 0)).toEqual([0]);
    k.kvmClose(a);
    k.kvmClose(b);
  });

  it('kvmMemView gives another thread the same memory; it outlives the first buffer', async () => {
    const k = kvm();
    const mem = k.kvmMapAnon(0x4000);
    const id = k.kvmMemId(mem);
    new Uint8Array(mem)[0x1234] = 0x5a;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = { exports: {} };
      process.dlopen(m, workerData.addon);
      const v = new Uint8Array(m.exports.kvmMemView(workerData.id));
      v[0x10] = v[0x1234] + 1;
      parentPort.postMessage(v.length);`;
    const w = new Worker(code, { eval: true, workerData: { addon: addonPath, id } });
    const len = await new Promise<number>((resolve, reject) => {
      w.on('message', (n: number) => resolve(n));
      w.on('error', reject);
    });
    await w.terminate();
    expect(len).toBe(0x4000);
    expect(new Uint8Array(mem)[0x10]).toBe(0x5b);
    // Released at once: the buffer is detached; a view taken from the same mapping keeps it mapped
    // until that view is released too.
    const view = k.kvmMemView(id);
    k.kvmMemRelease(mem);
    expect(mem.byteLength).toBe(0);
    expect(new Uint8Array(view)[0x10]).toBe(0x5b); // still mapped: the view holds it
    k.kvmMemRelease(view);
    k.kvmMemRelease(view); // twice is harmless
    expect(view.byteLength).toBe(0);
    expect(() => k.kvmMemId(new ArrayBuffer(4096))).toThrow(/not a buffer from kvmMapAnon/);
    expect(() => k.kvmMemView(id + 1)).toThrow(/no such mapping/);
    expect(() => k.kvmMemRelease(new ArrayBuffer(8))).toThrow(/not a buffer from kvmMapAnon/);
  });
});

describe('GSI routing', () => {
  it("carries the PC's irqchip routes (the PIT's GSI 0 on IOAPIC pin 2, as the MADT says) and one MSI route per vector", () => {
    const c = kvmConstants();
    const b = routingEntries(c, [{ gsi: 24, addressLo: 0xfee0_0000, addressHi: 0, data: 0x4041 }]);
    const n = b.length / c.routingEntrySize;
    // IOAPIC: 23 routes (GSI 2 has none); PIC: 15 (pin 2 of the master is the cascade); 1 MSI.
    expect(n).toBe(23 + 15 + 1);
    const entries = Array.from({ length: n }, (_, i) => {
      const o = i * c.routingEntrySize;
      return {
        gsi: b.readUInt32LE(o),
        type: b.readUInt32LE(o + 4),
        u0: b.readUInt32LE(o + 16),
        u1: b.readUInt32LE(o + 20),
        u2: b.readUInt32LE(o + 24),
      };
    });
    expect(entries.filter((e) => e.gsi === 0)).toEqual([
      { gsi: 0, type: c.routingIrqchip, u0: c.irqchipIoapic, u1: 2, u2: 0 },
      { gsi: 0, type: c.routingIrqchip, u0: c.irqchipPicMaster, u1: 0, u2: 0 },
    ]);
    expect(entries.filter((e) => e.gsi === 2)).toEqual([]);
    expect(entries.filter((e) => e.u0 === c.irqchipIoapic && e.u1 === 2 && e.type === c.routingIrqchip)).toHaveLength(
      1,
    );
    for (let gsi = 1; gsi < 24; gsi++) {
      if (gsi === 2) continue;
      const mine = entries.filter((e) => e.gsi === gsi);
      expect(mine).toContainEqual({ gsi, type: c.routingIrqchip, u0: c.irqchipIoapic, u1: gsi, u2: 0 });
      if (gsi < 16) {
        const pic = gsi < 8 ? c.irqchipPicMaster : c.irqchipPicSlave;
        expect(mine).toContainEqual({ gsi, type: c.routingIrqchip, u0: pic, u1: gsi % 8, u2: 0 });
      } else expect(mine.length).toBe(1);
    }
    expect(entries.at(-1)).toEqual({ gsi: 24, type: c.routingMsi, u0: 0xfee0_0000, u1: 0, u2: 0x4041 });
    expect(() => routingEntries(c, [{ gsi: 5, addressLo: 0, addressHi: 0, data: 0 }])).toThrow(/irqchip owns/);
    const applied: Buffer[] = [];
    const r = new MsiRoutes(c, (e) => applied.push(e));
    expect([r.allocate(), r.allocate()]).toEqual([FIRST_MSI_GSI, FIRST_MSI_GSI + 1]);
    r.set(25, 0xfee0_1000, 0, 0x31);
    r.set(25, 0xfee0_1000, 0, 0x31); // unchanged: not applied again
    expect(applied.length).toBe(1);
    expect(applied[0]!.length / c.routingEntrySize).toBe(23 + 15 + 2);
  });
});

describe.skipIf(!haveKvm)('KVM_IOEVENTFD on /dev/kvm', () => {
  it('a guest write to a registered MMIO address signals the eventfd instead of exiting', () => {
    const { k, c, sys, vm, vcpu, run, ram } = realModeVm();
    // mov ax,0x2000; mov ds,ax; mov word [0],0x0001 (MMIO 0x20000, no slot); mov word [4],2; hlt
    ram.set(
      [0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xc7, 0x06, 0x00, 0x00, 0x01, 0x00, 0xc7, 0x06, 0x04, 0x00, 0x02, 0x00, 0xf4],
      0x7c00,
    );
    const fd = k.eventfdCreate();
    k.kvmIoeventfd(vm, 0x20000, 2, fd, 0);
    // The first exit is the unregistered write at 0x20004: the registered one never left the kernel.
    expect(k.kvmRun(vcpu)).toBe(ExitReason.MMIO);
    expect(Number(run.getBigUint64(c.runMmioPhysAddr, true))).toBe(0x20004);
    expect(k.eventfdWait([fd], 0)).toEqual([0]);
    k.kvmIoeventfd(vm, 0x20000, 2, fd, c.ioeventfdFlagDeassign);
    expect(() => k.kvmIoeventfd(vm, 0x20000, 2, fd, c.ioeventfdFlagDeassign)).toThrow(/KVM_IOEVENTFD/);
    k.kvmDestroyVcpu(vcpu);
    k.kvmClose(fd);
    k.kvmClose(vm);
    k.kvmClose(sys);
  });
});
