// MSI-X on the virtio transport (src/vm/msix.ts, virtio-pci.ts; docs/vmm-platform.md §12.1): the
// capability as the PCI 3.0 spec lays it out, the table's routes, masking and pending bits, the
// queue's vector, and INTx while MSI-X is off. The shared InterruptState is what the I/O thread
// raises interrupts through; here one thread plays both.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeviceManager } from '../../../src/vm/device-manager';
import { Disk } from '../../../src/vm/disk';
import { GuestMemory } from '../../../src/vm/memory';
import { InterruptState, type MsiSink } from '../../../src/vm/msix';
import { LocalBlockBackend, VirtioBlk } from '../../../src/vm/virtio-blk';
import { MSIX_PBA, MSIX_TABLE, VirtioPciTransport } from '../../../src/vm/virtio-pci';

const BAR = 0x8000_0000;
const cfg = (slot: number, reg: number) => (0x8000_0000 | (slot << 11) | reg) >>> 0;

function setup() {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-msix-')), 'd.img');
  fs.writeFileSync(f, Buffer.alloc(1 << 20));
  const fired: number[] = [];
  const routes: Array<[number, number, number, number]> = [];
  const sink: MsiSink = {
    vectors: (n) => ({ fds: Array.from({ length: n }, (_, i) => 100 + i) }),
    route: (v, lo, hi, data) => routes.push([v, lo, hi, data]),
    fire: (v) => fired.push(v),
  };
  const intx: boolean[] = [];
  const dm = new DeviceManager();
  const t = new VirtioPciTransport(
    new VirtioBlk(new LocalBlockBackend(Disk.open({ path: f, mode: 'cow' }))),
    new GuestMemory(new ArrayBuffer(1 << 16), null),
    {
      intx: (l) => intx.push(l),
      msi: sink,
    },
  );
  dm.addPci('blk', 2, 0, t);
  const cw = (reg: number, size: number, v: number) => {
    dm.ports.write(0xcf8, 4, cfg(2, reg & ~3));
    dm.ports.write(0xcfc + (reg & 3), size, v);
  };
  const cr = (reg: number, size: number) => {
    dm.ports.write(0xcf8, 4, cfg(2, reg & ~3));
    return dm.ports.read(0xcfc + (reg & 3), size);
  };
  cw(0x10, 4, BAR);
  cw(0x04, 2, 0x0006);
  const w = (off: number, size: number, v: number) => dm.mmio.write(BAR + off, size, v);
  const r = (off: number, size: number) => dm.mmio.read(BAR + off, size);
  return { t, fired, routes, intx, cw, cr, w, r };
}

describe('MSI-X capability and table', () => {
  it('is in the capability list after the virtio ones: table size 2 (config + 1 queue), table and PBA in BAR 0', () => {
    const { cr } = setup();
    let p = cr(0x34, 1);
    const ids: number[] = [];
    let msix = -1;
    while (p) {
      ids.push(cr(p, 1));
      if (cr(p, 1) === 0x11) msix = p;
      p = cr(p + 1, 1);
    }
    expect(ids).toEqual([9, 9, 9, 9, 9, 0x11]);
    expect(cr(msix + 2, 2) & 0x7ff).toBe(1); // table size − 1
    expect(cr(msix + 4, 4)).toBe(MSIX_TABLE); // offset, BIR 0
    expect(cr(msix + 8, 4)).toBe(MSIX_PBA);
    // Only enable and function mask are writable.
    const cw2 = setup();
    cw2.cw(msix + 2, 2, 0xffff);
    expect(cw2.cr(msix + 2, 2)).toBe(0xc001);
  });

  it('routes unmasked entries, fires the queue vector, keeps masked ones pending until unmasked', () => {
    const { t, fired, routes, w, r, cw } = setup();
    cw(0x98 + 2, 2, 0x8000); // enable
    // Entry 1: address 0xFEE01000, data 0x4031, then unmask.
    w(MSIX_TABLE + 16, 4, 0xfee0_1000);
    w(MSIX_TABLE + 20, 4, 0);
    w(MSIX_TABLE + 24, 4, 0x4031);
    expect(routes).toEqual([]); // still masked
    w(MSIX_TABLE + 28, 4, 0);
    expect(routes).toEqual([[1, 0xfee0_1000, 0, 0x4031]]);
    expect(r(MSIX_TABLE + 24, 4)).toBe(0x4031);
    // The queue uses vector 1: completions fire it.
    w(0x16, 2, 0);
    w(0x1a, 2, 1);
    expect(r(0x1a, 2)).toBe(1);
    w(0x1a, 2, 7); // not in the table
    expect(r(0x1a, 2)).toBe(0xffff);
    w(0x1a, 2, 1);
    const state = new InterruptState(t.irqState.sab); // as the I/O thread sees it
    const ops = { fireVector: (v: number) => fired.push(v), raiseIntx: () => fired.push(-1) };
    state.signal(1, 1, ops);
    expect(fired).toEqual([1]);
    // Masked: pending, shown in the PBA; unmasking delivers it once.
    w(MSIX_TABLE + 28, 4, 1);
    state.signal(1, 1, ops);
    expect(fired).toEqual([1]);
    expect(r(MSIX_PBA, 4)).toBe(0b10);
    w(MSIX_TABLE + 28, 4, 0);
    expect(fired).toEqual([1, 1]);
    expect(r(MSIX_PBA, 4)).toBe(0);
    // Function mask works the same way for every vector.
    cw(0x98 + 2, 2, 0xc000);
    state.signal(1, 1, ops);
    expect(fired).toEqual([1, 1]);
    cw(0x98 + 2, 2, 0x8000);
    expect(fired).toEqual([1, 1, 1]);
    // No vector: no interrupt.
    state.signal(0xffff, 1, ops);
    expect(fired).toEqual([1, 1, 1]);
  });

  it('with MSI-X off, interrupts are INTx with the ISR bit; reading ISR lowers the line', () => {
    const { t, intx, r } = setup();
    const state = new InterruptState(t.irqState.sab);
    state.signal(1, 1, { fireVector: () => {}, raiseIntx: () => intx.push(true) });
    expect(intx).toEqual([true]);
    expect(r(0x1000, 1)).toBe(1);
    expect(intx).toEqual([true, false]);
    expect(r(0x1000, 1)).toBe(0);
  });
});
