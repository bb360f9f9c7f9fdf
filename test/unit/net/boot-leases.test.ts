// Which leases of a dual-stack NIC become network entries (src/net/boot.ts bootLeases,
// docs/net-dhcp.md §11): each lease that names a boot file, once per distinct boot file, IPv4
// first; a NIC whose leases name none keeps one lease, for the "names no boot file" diagnostic.
import { describe, expect, it } from 'vitest';
import { bootLeases } from '../../../src/net/boot';
import type { Lease } from '../../../src/net/types';

const base = { mac: '02:00:00:00:00:01', dns: [], ntp: [], prefixLength: 24, how: 'dhcp' } as const;
const v4 = (iface: string, bootUrl?: string): Lease => ({
  ...base,
  iface,
  family: 4,
  address: '192.0.2.100',
  ...(bootUrl ? { bootUrl } : {}),
});
const v6 = (iface: string, bootUrl?: string): Lease => ({
  ...base,
  iface,
  family: 6,
  address: '2001:db8::100',
  prefixLength: 128,
  ...(bootUrl ? { bootUrl } : {}),
});

describe('bootLeases', () => {
  it('keeps both families when they name different boot files, IPv4 first', () => {
    const a = v6('c0', 'http://[2001:db8::1]/boot.ipxe');
    const b = v4('c0', 'http://192.0.2.1/boot.ipxe');
    expect(bootLeases([a, b])).toEqual([b, a]);
  });

  it('keeps one lease for one boot file named by both', () => {
    const a = v4('c0', 'http://boot.test/x');
    expect(bootLeases([a, v6('c0', 'http://boot.test/x')])).toEqual([a]);
  });

  it('drops the lease without a boot file beside one with', () => {
    const a = v6('c0', 'tftp://[2001:db8::1]/boot.ipxe');
    expect(bootLeases([v4('c0'), a])).toEqual([a]);
    const b = v4('c1', 'tftp://192.0.2.1/pxelinux.0');
    expect(bootLeases([b, v6('c1')])).toEqual([b]);
  });

  it('keeps the first lease of a NIC whose leases name no boot file, and NICs apart', () => {
    const a = v4('c0');
    const c = v6('c1', 'http://[2001:db8::1]/x');
    expect(bootLeases([v6('c0'), a, c])).toEqual([a, c]);
    expect(bootLeases([])).toEqual([]);
  });
});
