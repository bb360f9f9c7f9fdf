// The PXE boot server request to a proxyDHCP server on port 4011 (the PXE specification's boot
// server discovery): when a proxy offered PXE service without naming a boot file, the client asks
// it again, unicast from its new address, and the ACK names the file. Plain `dgram`: the address
// is configured by now, so routing (also to a proxy behind a router) is the kernel's. A boot menu
// (option 43) in the offer, the ACK or the proxy's answer is resolved item by item
// (pxe-discovery.ts). docs/net-dhcp.md §3, §14.

import { NetError, type Identity, type Lease } from '../types';
import { mergeProxyBoot } from './client';
import { bootUrl } from './lease';
import { askBootServer, discoverMenu, PXE_BOOT_SERVER_PORT } from './pxe-discovery';
import { pxeMenuOf } from './pxe-menu';

export { PXE_BOOT_SERVER_PORT };

export interface ProxyRequest {
  readonly lease: Lease;
  readonly server: string;
  readonly identity: Identity;
  readonly uuid?: Uint8Array;
  readonly deadlineMs: number;
  readonly log?: (line: string) => void;
}

/** The lease with the boot file the proxy names on port 4011; rejects with a NetError naming the server. */
export async function proxyBootRequest(r: ProxyRequest): Promise<Lease> {
  const deadline = Date.now() + r.deadlineMs;
  const discovery = {
    identity: r.identity,
    ...(r.uuid ? { uuid: r.uuid } : {}),
    deadline,
    ...(r.log ? { log: r.log } : {}),
  };
  // The offer (or the ACK) carried the menu: straight to discovery.
  if (r.lease.pxeMenu && !r.lease.pxeMenu.items.some((i) => i.bootUrl !== undefined || i.error !== undefined))
    return discoverMenu({ ...discovery, lease: r.lease, menu: r.lease.pxeMenu });
  const got = await askBootServer({
    ...discovery,
    lease: r.lease,
    to: [{ address: r.server }],
    accept: (from) => from === r.server,
  });
  if (!got) throw new NetError(r.server, `no answer from the proxyDHCP server on port ${PXE_BOOT_SERVER_PORT}`);
  const { ack } = got;
  if (bootUrl(ack) === undefined) {
    // dnsmasq answers an EFI client's first request on 4011 with its menu when it has several items.
    const m = pxeMenuOf(ack.options, r.server, r.log);
    if (m) return discoverMenu({ ...discovery, lease: r.lease, menu: m.menu });
    throw new NetError(r.server, 'the proxyDHCP server named no boot file');
  }
  r.log?.(`${r.lease.iface}: proxyDHCP ACK from ${r.server}: ${bootUrl(ack)}`);
  return mergeProxyBoot(r.lease, ack);
}
