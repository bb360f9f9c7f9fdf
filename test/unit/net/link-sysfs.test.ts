// The NIC inventory and the missing-driver messages read sysfs; here they read small trees laid
// out the way /sys/class/net and /sys/bus/pci/devices are (files and symlinks in a temp dir).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchNewNics } from '../../../src/net/hotplug';
import { listNics, nicsWithoutNetdev } from '../../../src/net/link';
import { NetError } from '../../../src/net/types';

let root = '';
let net = '';
let pci = '';

function iface(
  name: string,
  o: { type?: number; mac?: string; carrier?: string; device?: string; wireless?: boolean },
) {
  const d = path.join(net, name);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'type'), `${o.type ?? 1}\n`);
  fs.writeFileSync(path.join(d, 'ifindex'), `${fs.readdirSync(net).length + 1}\n`);
  fs.writeFileSync(path.join(d, 'address'), `${o.mac ?? '52:54:00:12:34:56'}\n`);
  fs.writeFileSync(path.join(d, 'operstate'), 'up\n');
  if (o.carrier !== undefined) fs.writeFileSync(path.join(d, 'carrier'), `${o.carrier}\n`);
  if (o.device) fs.symlinkSync(o.device, path.join(d, 'device'));
  if (o.wireless) fs.mkdirSync(path.join(d, 'wireless'));
}

function pciDev(addr: string, o: { cls: string; vendor: string; device: string; driver?: string; net?: boolean }) {
  const d = path.join(pci, addr);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'class'), `${o.cls}\n`);
  fs.writeFileSync(path.join(d, 'vendor'), `${o.vendor}\n`);
  fs.writeFileSync(path.join(d, 'device'), `${o.device}\n`);
  if (o.driver) {
    fs.mkdirSync(path.join(root, 'drivers', o.driver), { recursive: true });
    fs.symlinkSync(path.join(root, 'drivers', o.driver), path.join(d, 'driver'));
  }
  if (o.net) fs.mkdirSync(path.join(d, 'net'));
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-sysfs-'));
  net = path.join(root, 'class-net');
  pci = path.join(root, 'pci');
  fs.mkdirSync(net);
  pciDev('0000:00:03.0', { cls: '0x020000', vendor: '0x1af4', device: '0x1041', driver: 'virtio-pci', net: true });
  pciDev('0000:00:19.0', { cls: '0x020000', vendor: '0x8086', device: '0x15b8' });
  pciDev('0000:00:1f.6', { cls: '0x020000', vendor: '0x8086', device: '0x15bb', driver: 'e1000e' });
  pciDev('0000:00:02.0', { cls: '0x030000', vendor: '0x8086', device: '0x3e92' });
  iface('lo', { type: 772, mac: '00:00:00:00:00:00' });
  iface('enp0s3', { carrier: '1', device: path.join(pci, '0000:00:03.0'), mac: '52:54:00:AA:BB:CC' });
  iface('wlp2s0', { carrier: '0', device: path.join(pci, '0000:00:03.0'), wireless: true });
  iface('veth0', { carrier: '1' });
  iface('br0', {});
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('listNics', () => {
  it('by default, only Ethernet interfaces backed by a device and not Wi-Fi', () => {
    expect(listNics([], net)).toEqual([
      {
        name: 'enp0s3',
        ifindex: expect.any(Number) as number,
        mac: '52:54:00:aa:bb:cc',
        carrier: true,
        operstate: 'up',
        physical: true,
        driver: 'virtio-pci',
      },
    ]);
  });

  it('by name, any Ethernet interface; the carrier of a down link is unknown', () => {
    expect(listNics(['veth0', 'br0'], net).map((n) => [n.name, n.carrier, n.physical])).toEqual([
      ['veth0', true, false],
      ['br0', undefined, false],
    ]);
  });

  it('a missing, non-Ethernet or malformed name is a NetError naming it', () => {
    expect(() => listNics(['eth9'], net)).toThrow(new NetError('eth9', 'no such network interface'));
    expect(() => listNics(['lo'], net)).toThrow(new NetError('lo', 'not an Ethernet interface'));
    expect(() => listNics(['../x'], net)).toThrow(/not an interface name/);
  });
});

describe('nicsWithoutNetdev', () => {
  it('names PCI network controllers without an interface, with or without a driver', () => {
    expect(nicsWithoutNetdev(pci)).toEqual([
      'no driver for 8086:15b8 (0000:00:19.0)',
      'driver e1000e bound to 0000:00:1f.6 but no interface',
    ]);
  });
});

describe('watchNewNics (the menu keeps watching after the lease stage)', () => {
  const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 60));

  it('reports a NIC that appears later, once; ignores known, virtual and Wi-Fi ones', async () => {
    const seen: string[] = [];
    const w = watchNewNics({ known: ['enp0s3'], onNic: (n) => seen.push(n.name), intervalMs: 10, root: net });
    try {
      await tick();
      expect(seen).toEqual([]);
      iface('enx001122334455', { carrier: '0', device: path.join(pci, '0000:00:1f.6') });
      iface('veth9', { carrier: '1' });
      await tick();
      await tick();
      expect(seen).toEqual(['enx001122334455']);
    } finally {
      w.stop();
      fs.rmSync(path.join(net, 'enx001122334455'), { recursive: true });
      fs.rmSync(path.join(net, 'veth9'), { recursive: true });
    }
  });

  it('reports a known NIC that had no carrier once its cable is plugged in', async () => {
    const seen: string[] = [];
    iface('eno1', { carrier: '0', device: path.join(pci, '0000:00:1f.6') });
    const w = watchNewNics({
      known: ['enp0s3', 'eno1'],
      noCarrier: ['eno1'],
      onNic: (n) => seen.push(n.name),
      intervalMs: 10,
      root: net,
    });
    try {
      await tick();
      expect(seen).toEqual([]);
      fs.writeFileSync(path.join(net, 'eno1', 'carrier'), '1\n');
      await tick();
      await tick();
      expect(seen).toEqual(['eno1']);
    } finally {
      w.stop();
      fs.rmSync(path.join(net, 'eno1'), { recursive: true });
    }
  });
});
