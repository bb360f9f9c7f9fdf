// The assembled board without KVM: unassigned ports/MMIO read all-ones, the reset paths, the
// firmware checks on Debian's OVMF.fd, CPUID fix-ups and `tendril vm` argument parsing.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Platform } from '../../../src/vm/platform';
import { LocalBlockBackend } from '../../../src/vm/virtio-blk';
import { Disk } from '../../../src/vm/disk';
import { GuestMemory, GiB, MiB, defaultRam, hostAvailableMemory, memoryLayout } from '../../../src/vm/memory';
import { VM_COMMAND } from '../../../src/vm/command';
import { parseCommand } from '../../../src/util/args';
import { KVM_PV_FEATURES, vcpuCpuid, decodeCpuid, encodeCpuid } from '../../../src/vm/cpuid';

function board() {
  const layout = memoryLayout(256 * 1024 * 1024);
  const out: number[] = [];
  const p = new Platform({
    layout,
    mem: new GuestMemory(new ArrayBuffer(1 << 20), null),
    cpus: 1,
    disks: [],
    flash: { code: new Uint8Array(0x1e_0000), vars: new Uint8Array(0x2_0000) },
    irqLine: () => {},
    serialOut: (b) => out.push(b),
  });
  return { p, out };
}

describe('board', () => {
  it('has an i8042 at 0x60/0x64 that passes its self-test', () => {
    const { p } = board();
    p.devices.ports.write(0x64, 1, 0xaa);
    expect(p.devices.ports.read(0x64, 1) & 1).toBe(1); // output buffer full
    expect(p.devices.ports.read(0x60, 1)).toBe(0x55);
  });

  it('reads all-ones from unassigned ports and MMIO (CPU hotplug, COM2, HPET)', () => {
    const { p } = board();
    expect(p.devices.ports.read(0xaf00, 4)).toBe(0xffffffff);
    expect(p.devices.ports.read(0x2ff, 1)).toBe(0xff);
    expect(p.devices.ports.read(0x510 + 0x100, 2)).toBe(0xffff);
    expect(p.devices.mmio.read(0xfed0_0000, 4)).toBe(0xffffffff);
  });

  it('maps CODE so that it ends at 4 GiB and the variable store right below, as QEMU maps pflash units 0 and 1', () => {
    const { p } = board();
    expect(p.devices.describe()).toEqual(
      expect.arrayContaining(['mmio 0xffe20000-0xffffffff pflash-code', 'mmio 0xffe00000-0xffe1ffff pflash-vars']),
    );
    expect(p.flash.code.device.readOnly).toBe(true);
    expect(p.flash.vars?.device.readOnly).toBe(false);
    // The CODE bank refuses programming (status: program error) and keeps its bytes.
    p.devices.mmio.write(0xffe2_0000, 1, 0x10);
    p.devices.mmio.write(0xffe2_0000, 1, 0x00);
    expect(p.devices.mmio.read(0xffe2_0000, 1)).toBe(0x90);
  });

  it("port 0x92 reads 0x02 and OVMF's read-modify-write of A20 does not reset", () => {
    const { p } = board();
    expect(p.devices.ports.read(0x92, 1)).toBe(0x02);
    p.devices.ports.write(0x92, 1, p.devices.ports.read(0x92, 1) | 0x02);
    expect(p.events.pending).toBeNull();
    p.devices.ports.write(0x92, 1, 0x03);
    expect(p.events.pending).toBe('reset');
  });

  it('resets on 0xCF9 with RST_CPU (OVMF writes 0x06) and on 0x64 ← 0xFE', () => {
    const a = board().p;
    a.devices.ports.write(0xcf9, 1, 0x02);
    expect(a.events.pending).toBeNull();
    a.devices.ports.write(0xcf9, 1, 0x06);
    expect(a.events.pending).toBe('reset');
    const b = board().p;
    b.devices.ports.write(0x64, 1, 0xfe);
    expect(b.events.pending).toBe('reset');
  });

  it('powering off wins over a reset in the same exit', () => {
    const { p } = board();
    p.devices.ports.write(0xcf9, 1, 0x06);
    p.devices.ports.write(0xb004, 2, 1 << 13);
    expect(p.events.pending).toBe('poweroff');
  });

  it('bridges COM1 output', () => {
    const { p, out } = board();
    p.devices.ports.write(0x3f8, 1, 0x4f);
    expect(out).toEqual([0x4f]);
  });
});

describe('disks and bootorder', () => {
  function fwFile(p: Platform, name: string): string | null {
    const rd = (key: number, n: number) => {
      p.devices.ports.write(0x510, 2, key);
      return Buffer.from(Array.from({ length: n }, () => p.devices.ports.read(0x511, 1)));
    };
    const count = rd(0x19, 4).readUInt32BE(0);
    const dir = rd(0x19, 4 + 64 * count);
    for (let i = 0; i < count; i++) {
      const o = 4 + 64 * i;
      if (dir.toString('ascii', o + 8, o + 64).replace(/\0.*$/s, '') === name)
        return rd(dir.readUInt16BE(o + 4), dir.readUInt32BE(o)).toString('latin1');
    }
    return null;
  }

  it('puts disk i at 00:(2+i).0 and lists only bootable disks in the NUL-terminated bootorder', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-board-'));
    const imgs = ['a', 'b', 'c'].map((n) => {
      const f = path.join(dir, `${n}.img`);
      fs.writeFileSync(f, Buffer.alloc(1 << 20));
      return Disk.open({ path: f, mode: 'cow' });
    });
    const p = new Platform({
      layout: memoryLayout(256 * 1024 * 1024),
      mem: new GuestMemory(new ArrayBuffer(1 << 20), null),
      cpus: 1,
      disks: [
        { backend: new LocalBlockBackend(imgs[0]!), boot: false },
        { backend: new LocalBlockBackend(imgs[1]!), boot: true },
        { backend: new LocalBlockBackend(imgs[2]!), boot: true },
      ],
      flash: { code: new Uint8Array(0x1_0000), vars: null },
      irqLine: () => {},
      serialOut: () => {},
    });
    for (const slot of [2, 3, 4]) {
      p.devices.ports.write(0xcf8, 4, (0x8000_0000 | (slot << 11)) >>> 0);
      expect(p.devices.ports.read(0xcfc, 4)).toBe(0x1042_1af4);
    }
    expect(fwFile(p, 'bootorder')).toBe('/pci@i0cf8/scsi@3/disk@0,0\n/pci@i0cf8/scsi@4/disk@0,0\n\0');
    expect(fwFile(board().p, 'bootorder')).toBeNull();
    imgs.forEach((d) => d.close());
  });
});

describe('CPUID fix-ups', () => {
  it('sets the APIC ID and logical count in leaf 1, x2APIC ID in leaf 0xB, zeroes the PMU leaf', () => {
    const base = decodeCpuid(
      encodeCpuid([
        { fn: 1, index: 0, flags: 0, eax: 0x806f8, ebx: 0xffff0800, ecx: 1, edx: 2 },
        { fn: 0xb, index: 0, flags: 1, eax: 1, ebx: 2, ecx: 0x100, edx: 7 },
        { fn: 0xa, index: 0, flags: 0, eax: 0x7300403, ebx: 0, ecx: 0, edx: 0x603 },
      ]),
    );
    const [l1, lb, la] = vcpuCpuid(base, 3, 4);
    expect(l1!.ebx >>> 24).toBe(3);
    expect((l1!.ebx >>> 16) & 0xff).toBe(4);
    expect(l1!.ebx & 0xffff).toBe(0x0800);
    expect(lb!.edx).toBe(3);
    expect([la!.eax, la!.edx]).toEqual([0, 0]);
  });

  it("says a hypervisor is present and offers QEMU's default paravirtual features of those KVM supports", () => {
    const base = [
      { fn: 1, index: 0, flags: 0, eax: 0x806f8, ebx: 0, ecx: 0x7ed8320b, edx: 0x178bfbff },
      { fn: 0x40000000, index: 0, flags: 0, eax: 0x40000001, ebx: 0x4b4d564b, ecx: 0x564b4d56, edx: 0x4d },
      // What this host's KVM supports: everything up to bit 17, and the stable bit.
      { fn: 0x40000001, index: 0, flags: 0, eax: 0x0103ffff, ebx: 0, ecx: 0, edx: 0 },
    ];
    const [l1, sig, pv] = decodeCpuid(encodeCpuid(vcpuCpuid(base, 0, 2)));
    expect(l1!.ecx >>> 31).toBe(1);
    expect(l1!.ecx & 0x7fffffff).toBe(0x7ed8320b);
    expect(sig).toEqual(base[1]);
    // kvmclock (0, 3), no I/O delay (1), async PF (4), steal time (5), PV EOI (6), stable bit (24).
    expect(pv!.eax).toBe(0x0100007b);
    expect(pv!.eax).toBe(KVM_PV_FEATURES);
    // Never more than KVM offers.
    const [, , none] = vcpuCpuid([base[0]!, base[1]!, { ...base[2]!, eax: 0x1 }], 0, 1);
    expect(none!.eax).toBe(0x1);
  });
});

const parseVmArgs = (argv: string[]) => {
  const r = parseCommand(VM_COMMAND, argv);
  if (r.kind !== 'args') throw new Error('help asked for');
  return r.args;
};

describe('tendril vm arguments', () => {
  it('parses sizes and defaults', () => {
    const ram = (m: string) => parseVmArgs(['--firmware', 'f', '--memory', m]).ramBytes;
    expect(ram('1G')).toBe(GiB);
    expect(ram('512M')).toBe(512 * 1024 * 1024);
    expect(ram('256')).toBe(256 * 1024 * 1024);
    expect(ram('2GiB')).toBe(2 * GiB);
    const o = parseVmArgs(['--firmware', 'OVMF.fd', '--disk', '/dev/sdb,rw']);
    expect(o).toMatchObject({ firmware: 'OVMF.fd', disks: [{ path: '/dev/sdb', mode: 'rw' }], cpus: 2 });
    expect(o.ramBytes).toBe(defaultRam(hostAvailableMemory() ?? 0));
    expect(parseVmArgs(['--cpus', '8']).cpus).toBe(8);
    const two = parseVmArgs(['--firmware', 'f', '--disk', 'a.img,noboot', '--disk', 'b.img']);
    expect(two.disks).toEqual([
      { path: 'a.img', mode: 'cow', boot: false },
      { path: 'b.img', mode: 'cow' },
    ]);
  });
  it('rejects bad input with a message', () => {
    expect(parseVmArgs([]).firmware).toBeUndefined(); // Debian's OVMF, found at run time (firmware.ts)
    expect(() => parseVmArgs(['--firmware', 'x', '--memory', '64M'])).toThrow(/^--memory needs a size in 128M..64G/);
    expect(() => parseVmArgs(['--firmware', 'x', '--memory', '1T'])).toThrow(/^--memory needs a size/);
    expect(() => parseVmArgs(['--firmware', 'x', '--cpus', '9'])).toThrow(/^--cpus needs a whole number in 1..8/);
    expect(() => parseVmArgs(['--disk', 'a', '--loader', '1:1:x.efi'])).toThrow(/names disk 1, but only 1 --disk/);
    expect(() => parseVmArgs(['--disk', 'a', '--loader-args', 'x'])).toThrow(/--loader-args needs --loader/);
    expect(() => parseVmArgs(['--firmware', 'x', '--cpus', '1.5'])).toThrow(/^--cpus needs a whole number/);
    expect(() => parseVmArgs(['--firmware', 'x', '--disk', 'a,wat'])).toThrow(/^--disk a,wat: unknown option 'wat'/);
    expect(() => parseVmArgs(['--firmware', 'x', ...Array<string>(5).fill('--disk=a')])).toThrow(/at most 4/);
    expect(() => parseVmArgs(['--firmware', 'x', '--bogus'])).toThrow(/^unknown option --bogus$/);
  });
});

describe('default guest RAM', () => {
  it('takes half of what the host has available, at least 2G when it can spare that, at most 8G', () => {
    expect(defaultRam(32 * GiB)).toBe(8 * GiB);
    expect(defaultRam(10 * GiB)).toBe(5 * GiB);
    expect(defaultRam(3 * GiB)).toBe(2 * GiB); // half would be 1.5G; 2G leaves the 512M reserve
    expect(defaultRam(2 * GiB)).toBe(1536 * MiB); // cannot spare 2G: all but the reserve
    expect(defaultRam(100 * MiB)).toBe(128 * MiB); // the floor
    expect(defaultRam(3 * GiB + 12345) % (2 * MiB)).toBe(0);
  });
  it('reads MemAvailable from /proc/meminfo', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-mem-')), 'meminfo');
    fs.writeFileSync(f, 'MemTotal:       24000000 kB\nMemFree:  1 kB\nMemAvailable:    2097152 kB\n');
    expect(hostAvailableMemory(f)).toBe(2 * GiB);
    expect(hostAvailableMemory(path.join(path.dirname(f), 'none'))).toBeNull();
  });
});
