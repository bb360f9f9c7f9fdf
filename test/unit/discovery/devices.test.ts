import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  busFromSysPath,
  devicesSettled,
  enumerateBlockDevices,
  naturalCompare,
  SETTLED_ENV,
} from '../../../src/discovery/devices';

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

  it("skips the loop device over the initramfs's own payload image, not other loops", () => {
    const sys = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-sys-'));
    try {
      const dev = (name: string, backing?: string): void => {
        fs.mkdirSync(path.join(sys, name, 'loop'), { recursive: true });
        fs.writeFileSync(path.join(sys, name, 'size'), '2048\n');
        if (backing !== undefined) fs.writeFileSync(path.join(sys, name, 'loop', 'backing_file'), `${backing}\n`);
      };
      dev('loop0', '/tendril.sqfs');
      dev('loop1', '/tmp/disk.img');
      dev('vda');
      expect(enumerateBlockDevices(sys, '/dev').devices.map((d) => d.name)).toEqual(['loop1', 'vda']);
    } finally {
      fs.rmSync(sys, { recursive: true, force: true });
    }
  });

  it("waits for /init's devices-settled file before listing, and says so when it never comes", async () => {
    expect(await devicesSettled({})).toBeUndefined();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-settle-'));
    try {
      const file = path.join(dir, 'settled');
      const t0 = Date.now();
      setTimeout(() => fs.writeFileSync(file, ''), 150);
      expect(await devicesSettled({ [SETTLED_ENV]: file }, 5000)).toBeUndefined();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      expect(fs.existsSync(file)).toBe(true);
      const never = path.join(dir, 'never');
      const d = await devicesSettled({ [SETTLED_ENV]: never }, 100);
      expect(d?.severity).toBe('warning');
      expect(d?.message).toBe(`${never} did not appear within 0.1 s: listing the devices there are`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
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
