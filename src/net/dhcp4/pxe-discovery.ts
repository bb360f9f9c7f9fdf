// Boot server discovery (PXE specification 2.1, "Boot Server Discovery"): once the address is configured, the client
// asks a boot server on port 4011 for the boot file of one menu item with a DHCPREQUEST carrying
// option 43 sub-option 71 = {item type, layer 0}; the ACK names the file. Where it asks follows
// PXE_DISCOVERY_CONTROL: the servers PXE_BOOT_SERVERS lists for the type (unicast), else a
// broadcast on the lease's subnet unless bit 0 forbids it, else the server that sent the menu.
// Multicast discovery (sub-option 7) is not done. docs/net-dhcp.md §14.

import { randomInt } from 'node:crypto';
import * as dgram from 'node:dgram';
import { NetError, type Identity, type Lease, type PxeMenu, type PxeMenuItem } from '../types';
import { macBytes } from './client';
import { identityOptions } from './identity';
import { bootUrl } from './lease';
import { MSG, OPT, optIps, optText, optU8 } from './options';
import { BOOTREPLY, BOOTREQUEST, decodeDhcp4, encodeDhcp4, parseIpv4, type Dhcp4Packet } from './packet';
import { DISCOVERY, encodePxeOptions, parsePxeOptions } from './pxe-menu';

export const PXE_BOOT_SERVER_PORT = 4011;
/** Retransmission intervals (the PXE spec's discovery waits 1, 2, 4 s before giving up). */
const TRIES_MS = [1000, 2000, 4000] as const;

export interface BootServerAsk {
  readonly lease: Lease;
  readonly identity: Identity;
  readonly uuid?: Uint8Array;
  /** Where the request goes; `broadcast` sets SO_BROADCAST. */
  readonly to: readonly { readonly address: string; readonly broadcast?: boolean }[];
  /** Which sources' replies count (default: any of `to` that is not a broadcast). */
  readonly accept: (from: string) => boolean;
  /** Option 43 of the request (sub-option 71 for an item; absent for the plain proxy request). */
  readonly vendor?: Uint8Array;
  /** A reply that fails this is not ours (e.g. an ACK for another item). */
  readonly match?: (p: Dhcp4Packet) => boolean;
  readonly deadline: number;
  readonly log?: (line: string) => void;
}

/** One REQUEST to port 4011 with retries: the first matching ACK and its source, or undefined. */
export async function askBootServer(a: BootServerAsk): Promise<{ ack: Dhcp4Packet; from: string } | undefined> {
  const mac = macBytes(a.lease.mac);
  const chaddr = new Uint8Array(16);
  chaddr.set(mac);
  const xid = randomInt(0, 2 ** 32 - 1);
  const options = new Map<number, Uint8Array>([
    [OPT.MESSAGE_TYPE, Uint8Array.of(MSG.REQUEST)],
    ...identityOptions(a.identity, mac, a.uuid),
  ]);
  if (a.vendor) options.set(OPT.VENDOR_SPECIFIC, a.vendor);
  const packet = encodeDhcp4({ op: BOOTREQUEST, xid, chaddr, ciaddr: a.lease.address, options });
  const sock = await bindClient(a.lease.address);
  if (a.to.some((t) => t.broadcast)) sock.setBroadcast(true);
  try {
    return await new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let tries = 0;
      const send = () => {
        if (tries >= TRIES_MS.length || Date.now() >= a.deadline) return resolve(undefined);
        for (const t of a.to)
          sock.send(packet, PXE_BOOT_SERVER_PORT, t.address, (err) => {
            if (err) reject(new NetError(t.address, `PXE boot server request: ${err.message}`));
          });
        timer = setTimeout(send, Math.min(TRIES_MS[tries++]!, Math.max(1, a.deadline - Date.now())));
      };
      sock.on('message', (b, from) => {
        if (!a.accept(from.address)) return;
        let p: Dhcp4Packet;
        try {
          p = decodeDhcp4(b);
        } catch (e) {
          a.log?.(`${a.lease.iface}: ignored a malformed reply from ${from.address}: ${(e as Error).message}`);
          return;
        }
        if (p.op !== BOOTREPLY || p.xid !== xid || optU8(p.options, OPT.MESSAGE_TYPE) !== MSG.ACK) return;
        if (a.match && !a.match(p)) return;
        clearTimeout(timer);
        resolve({ ack: p, from: from.address });
      });
      send();
    });
  } finally {
    sock.close();
  }
}

/** A UDP socket on the lease's address, port 68 where free (the PXE spec's client port), else any. */
async function bindClient(address: string): Promise<dgram.Socket> {
  for (const port of [68, 0]) {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const ok = await new Promise<boolean>((resolve) => {
      sock.once('error', () => resolve(false));
      sock.bind(port, address, () => resolve(true));
    });
    if (ok) return sock;
    sock.close();
  }
  throw new NetError(address, 'cannot bind a UDP socket for the PXE boot server request');
}

export interface MenuDiscovery {
  readonly lease: Lease;
  readonly menu: PxeMenu;
  readonly identity: Identity;
  readonly uuid?: Uint8Array;
  readonly deadline: number;
  readonly log?: (line: string) => void;
}

/**
 * Every item of the menu but local boot (type 0), resolved by discovery one after the other (each
 * has its own xid; a server that does not answer costs at most 7 s of the deadline). The lease
 * takes the chosen item's boot file. Rejects only when no item resolved, naming each failure.
 */
export async function discoverMenu(d: MenuDiscovery): Promise<Lease> {
  const { menu, lease } = d;
  const items: PxeMenuItem[] = [];
  for (const item of menu.items) {
    if (item.type === 0) {
      items.push(item);
      continue;
    }
    items.push(await discoverItem(d, item));
  }
  const resolved: PxeMenu = { ...menu, items };
  const chosen = menu.chosen !== undefined ? items[menu.chosen] : undefined;
  const list = items.map((i) => `${i.description || '(no description)'} [type ${i.type}]`).join(', ');
  d.log?.(`${lease.iface}: PXE menu from ${menu.server}: ${list}`);
  d.log?.(
    `${lease.iface}: without input a PXE client boots ${
      chosen ? `"${chosen.description}" (the first item` : 'from local disk (the first item is local boot'
    }${menu.prompt ? `; the prompt "${menu.prompt.text}" ${promptWait(menu.prompt.timeout)}` : ''})`,
  );
  if (!items.some((i) => i.bootUrl !== undefined) && items.some((i) => i.type !== 0))
    throw new NetError(
      menu.server,
      `PXE boot server discovery found no boot file: ${items
        .filter((i) => i.error)
        .map((i) => `"${i.description}": ${i.error}`)
        .join('; ')}`,
    );
  return {
    ...lease,
    pxeMenu: resolved,
    ...(chosen?.bootUrl !== undefined ? { bootUrl: chosen.bootUrl } : {}),
    ...(lease.pxeConfigFile === undefined && chosen?.pxeConfigFile !== undefined
      ? { pxeConfigFile: chosen.pxeConfigFile }
      : {}),
    ...(lease.pxePathPrefix === undefined && chosen?.pxePathPrefix !== undefined
      ? { pxePathPrefix: chosen.pxePathPrefix }
      : {}),
  };
}

function promptWait(t: number): string {
  return t === 0 ? 'selects it at once' : t === 255 ? 'waits for a key' : `selects it after ${t} s`;
}

async function discoverItem(d: MenuDiscovery, item: PxeMenuItem): Promise<PxeMenuItem> {
  const { menu, lease } = d;
  const dc = menu.discoveryControl;
  const listed = menu.bootServers.find((s) => s.type === item.type)?.addresses ?? [];
  let to: { address: string; broadcast?: boolean }[];
  if (listed.length > 0) to = listed.map((address) => ({ address }));
  else if (!(dc & DISCOVERY.NO_BROADCAST)) to = [{ address: subnetBroadcast(lease), broadcast: true }];
  else to = [{ address: menu.server }];
  const accept = (from: string): boolean =>
    dc & DISCOVERY.ONLY_LISTED_SERVERS ? listed.includes(from) : to.some((t) => t.broadcast || t.address === from);
  const r = await askBootServer({
    lease,
    identity: d.identity,
    ...(d.uuid ? { uuid: d.uuid } : {}),
    to,
    accept,
    vendor: encodePxeOptions({ bootItem: { type: item.type, layer: 0 } }),
    // The server echoes 71 (docs/net-dhcp.md §14); an ACK for another type is not this item's.
    match: (p) => {
      const v = p.options.get(OPT.VENDOR_SPECIFIC);
      const echoed = v ? parsePxeOptions(v, '').options.bootItem : undefined;
      return echoed === undefined || echoed.type === item.type;
    },
    deadline: d.deadline,
    ...(d.log ? { log: d.log } : {}),
  });
  const where = to.map((t) => t.address).join(', ');
  if (!r) return { ...item, error: `no answer on port ${PXE_BOOT_SERVER_PORT} from ${where}` };
  const url = bootUrl(r.ack);
  const server = optIps(r.ack.options, OPT.SERVER_ID)[0] ?? r.from;
  if (url === undefined) return { ...item, bootServer: server, error: `boot server ${server} named no boot file` };
  d.log?.(`${lease.iface}: PXE boot server ${server}: "${item.description}" [type ${item.type}] → ${url}`);
  const cfg = optText(r.ack.options, OPT.PXELINUX_CONFIGFILE);
  const prefix = optText(r.ack.options, OPT.PXELINUX_PATHPREFIX);
  return {
    ...item,
    bootServer: server,
    bootUrl: url,
    ...(cfg !== undefined ? { pxeConfigFile: cfg } : {}),
    ...(prefix !== undefined ? { pxePathPrefix: prefix } : {}),
  };
}

/** The directed broadcast of the lease's subnet (routed out of its interface); a /31 or /32 uses 255.255.255.255. */
export function subnetBroadcast(lease: Lease): string {
  if (lease.prefixLength >= 31) return '255.255.255.255';
  const a = parseIpv4(lease.address);
  const n = ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
  const b = (n | (0xffffffff >>> lease.prefixLength)) >>> 0;
  return [b >>> 24, (b >>> 16) & 0xff, (b >>> 8) & 0xff, b & 0xff].join('.');
}
