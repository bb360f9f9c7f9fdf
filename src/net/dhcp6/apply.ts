// Puts a DHCPv6 address on its interface (a SLAAC one is the kernel's already): `ip -6 addr add
// A/128` (no lifetimes: busybox's ip has none, and a boot loader never renews), then waits for
// duplicate address detection so the first fetch can use it. The on-link prefix and the default route are the RA's (the kernel's).
// docs/net-dhcp.md §9.

import { runIp } from '../link';
import { NetError, type Lease } from '../types';
import { waitDad } from './ifaddr';

/** The longest we wait for DAD (the kernel's default takes about a second). */
const DAD_WAIT_MS = 5000;

export async function applyLease6(l: Lease): Promise<void> {
  if (l.family !== 6) throw new NetError(l.iface, 'applyLease6 needs an IPv6 lease');
  if (l.how === 'slaac') return;
  const dev = l.iface;
  try {
    await runIp(dev, ['-6', 'addr', 'add', `${l.address}/${l.prefixLength}`, 'dev', dev]);
  } catch (e) {
    // Already there (a second run, or the same lease again): that is what we want.
    if (!(e instanceof NetError) || !/File exists|EEXIST|already assigned/i.test(e.reason)) throw e;
  }
  await waitDad(dev, l.address, Date.now() + DAD_WAIT_MS);
}
