import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { busFromSysPath, enumerateBlockDevices, naturalCompare } from '../../../src/discovery/devices';

describe('block device enumeration', () => {
  it('finds the same whole disks as lsblk, with the same sizes', () => {
    const lsblk = JSON.parse(execFileSync('lsblk', ['-J', '-b', '-d', '-o', 'NAME,SIZE,RM,RO,TYPE']).toString()) as {
      blockdevices: Array<{ name: string; size: number; rm: boolean; ro: boolean; type: string }>;
    };
    const expected = lsblk.blockdevices
      .filter((d) => d.size > 0 && !/^(ram|zram|fd|nbd|mtdblock)\d/.test(d.name))
      .map((d) => ({ name: d.name, size: Number(d.size), removable: d.rm, readOnly: d.ro }));
    const { devices } = enumerateBlockDevices();
    expect(
      devices
        .map((d) => ({ name: d.name, size: d.size, removable: d.removable, readOnly: d.readOnly }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    ).toEqual(expected.sort((a, b) => a.name.localeCompare(b.name)));
    for (const d of devices) expect(d.path).toBe(`/dev/${d.name}`);
  });

  it('never lists partitions as disks', () => {
    const parts = execFileSync('lsblk', ['-n', '-r', '-o', 'NAME,TYPE'])
      .toString()
      .split('\n')
      .filter((l) => l.endsWith(' part'))
      .map((l) => l.split(' ')[0]);
    const names = enumerateBlockDevices().devices.map((d) => d.name);
    for (const p of parts) expect(names).not.toContain(p);
  });

  it('reports a missing sysfs as a diagnostic, not an exception', () => {
    const r = enumerateBlockDevices('/nonexistent/sys/class/block');
    expect(r.devices).toEqual([]);
    expect(r.diagnostics[0]?.message).toMatch(/cannot list/);
  });

  it('names buses from the sysfs device path', () => {
    expect(busFromSysPath('vda', '/sys/devices/pci0000:00/0000:00:04.0/virtio2/block/vda')).toBe('virtio');
    expect(busFromSysPath('nvme0n1', '/sys/devices/pci0000:00/0000:00:05.0/nvme/nvme0/nvme0n1')).toBe('nvme');
    expect(
      busFromSysPath(
        'sda',
        '/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sda',
      ),
    ).toBe('usb');
    expect(busFromSysPath('sda', '/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda')).toBe(
      'sata',
    );
    expect(busFromSysPath('mmcblk0', '/sys/devices/platform/mmc/mmc0/mmc0:0001/block/mmcblk0')).toBe('mmc');
    expect(busFromSysPath('loop0', '/sys/devices/virtual/block/loop0')).toBe('loop');
  });

  it('sorts device names naturally', () => {
    expect(['sdb', 'nvme0n10', 'sdaa', 'sdz', 'sda', 'nvme0n2'].sort(naturalCompare)).toEqual([
      'nvme0n2',
      'nvme0n10',
      'sda',
      'sdb',
      'sdz',
      'sdaa',
    ]);
  });
});
