// Block devices from /sys/class/block (whole disks only: partitions are read through their
// disk, at their offset, so one open fd serves a disk) and image files given with --disk.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DeviceBus, DeviceInfo } from './model';
import { diag, type Diagnostic } from './diagnostics';

/** Names never worth scanning: RAM disks, compressed swap, empty loops, floppies. */
const SKIP = /^(ram|zram|fd|nbd|mtdblock)\d+/;

/** The initramfs's own payload image (initramfs/build.ts): a loop device over it is tendril's
 *  node and modules, not a disk of the machine's. */
export const PAYLOAD_BACKING_FILE = '/tendril.sqfs';

/** The file /init creates once the disk drivers are loaded and /sys/class/block has stopped
 *  changing; it works on that in the background while node starts (initramfs/init.sh). */
export const SETTLED_ENV = 'TENDRIL_DEVICES_SETTLED';

/**
 * Waits until the file named by TENDRIL_DEVICES_SETTLED exists (no variable: at once). Listing
 * block devices before would miss disks whose drivers are still loading. /init gives up on
 * settling after 10 s and creates the file anyway; past `limitMs` this lists what is there,
 * with a warning.
 */
export async function devicesSettled(
  env: NodeJS.ProcessEnv = process.env,
  limitMs = 15_000,
  pollMs = 20,
): Promise<Diagnostic | undefined> {
  const file = env[SETTLED_ENV];
  if (!file) return undefined;
  // Monotonic: network boot may step the wall clock by years meanwhile (src/net/clock.ts).
  const until = performance.now() + limitMs;
  while (!fs.existsSync(file)) {
    if (performance.now() >= until)
      return diag(
        'warning',
        'devices',
        `${file} did not appear within ${limitMs / 1000} s: listing the devices there are`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return undefined;
}

function readSys(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Decide the bus from the device's sysfs path: /sys/devices/.../virtio3/block/vda etc. */
export function busFromSysPath(name: string, devPath: string): DeviceBus {
  if (name.startsWith('loop')) return 'loop';
  if (name.startsWith('nvme')) return 'nvme';
  if (name.startsWith('mmcblk')) return 'mmc';
  if (/\/usb\d*\//.test(devPath)) return 'usb';
  if (/\/virtio\d+\//.test(devPath) && name.startsWith('vd')) return 'virtio';
  if (/\/ata\d+\//.test(devPath)) return 'sata';
  if (name.startsWith('sd') || name.startsWith('sr')) return 'scsi';
  return 'other';
}

export interface Enumerated {
  readonly devices: DeviceInfo[];
  readonly diagnostics: Diagnostic[];
}

export function enumerateBlockDevices(sysRoot = '/sys/class/block', devRoot = '/dev'): Enumerated {
  const devices: DeviceInfo[] = [];
  const diagnostics: Diagnostic[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(sysRoot).sort(naturalCompare);
  } catch (e) {
    diagnostics.push(diag('warning', 'devices', `cannot list ${sysRoot}: ${(e as Error).message}`));
    return { devices, diagnostics };
  }
  for (const name of names) {
    if (SKIP.test(name)) continue;
    const sys = path.join(sysRoot, name);
    if (fs.existsSync(path.join(sys, 'partition'))) continue;
    if (name.startsWith('loop') && readSys(path.join(sys, 'loop', 'backing_file')) === PAYLOAD_BACKING_FILE) continue;
    const sectors = Number(readSys(path.join(sys, 'size')) ?? '0');
    if (!Number.isSafeInteger(sectors) || sectors <= 0) continue;
    let devPath = '';
    try {
      devPath = fs.realpathSync(sys);
    } catch {
      /* keep '' */
    }
    const model = readSys(path.join(sys, 'device', 'model')) ?? readSys(path.join(sys, 'device', 'name'));
    devices.push({
      path: path.join(devRoot, name),
      name,
      bus: busFromSysPath(name, devPath),
      size: sectors * 512,
      removable: readSys(path.join(sys, 'removable')) === '1',
      readOnly: readSys(path.join(sys, 'ro')) === '1',
      ...(model ? { model } : {}),
    });
  }
  return { devices, diagnostics };
}

/** An image file given on the command line, treated as a disk. */
export function imageDevice(file: string, taken: Set<string>): DeviceInfo {
  const st = fs.statSync(file);
  let name = path.basename(file);
  for (let i = 2; taken.has(name); i++) name = `${path.basename(file)}#${i}`;
  taken.add(name);
  const isBlock = st.isBlockDevice();
  return {
    path: file,
    name,
    bus: isBlock ? 'other' : 'image',
    size: st.size,
    removable: false,
    readOnly: true,
  };
}

/** 'sda' < 'sdb' < 'sdaa'; 'nvme0n1' < 'nvme0n10'. */
export function naturalCompare(a: string, b: string): number {
  const ax = a.match(/(\d+|\D+)/g) ?? [];
  const bx = b.match(/(\d+|\D+)/g) ?? [];
  for (let i = 0; i < Math.min(ax.length, bx.length); i++) {
    const x = ax[i]!;
    const y = bx[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    // Kernel letter suffixes: sdz < sdaa (same family prefix, shorter first).
    if (!nx && !ny && x.length !== y.length) {
      const fam = Math.min(x.length, y.length) - 1;
      if (fam > 0 && x.slice(0, fam) === y.slice(0, fam)) return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ax.length - bx.length;
}
