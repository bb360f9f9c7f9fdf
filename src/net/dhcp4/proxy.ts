// The PXE boot server request to a proxyDHCP server on port 4011 (the PXE specification's boot
// server discovery): when a proxy offered PXE service without naming a boot file, the client asks
// it again, unicast from its new address, and the ACK names the file. Plain `dgram`: the address
// is configured by now, so routing (also to a proxy behind a router) is the kernel's.
// docs/net-dhcp.md §3.

import { randomInt } from 'node:crypto';
import * as dgram from 'node:dgram';
import { NetError, type Identity, type Lease } from '../types';
import { macBytes, mergeProxyBoot } from './client';
import { identityOptions } from './identity';
import { bootUrl } from './lease';
import { MSG, OPT, optU8 } from './options';
import { BOOTREPLY, BOOTREQUEST, decodeDhcp4, encodeDhcp4, type Dhcp4Packet } from './packet';

export const PXE_BOOT_SERVER_PORT = 4011;
/** Retransmission intervals for the request (the PXE spec's boot server discovery uses 1–4 s). */
const TRIES_MS = [1000, 2000, 4000] as const;

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
  const mac = macBytes(r.lease.mac);
  const chaddr = new Uint8Array(16);
  chaddr.set(mac);
  const xid = randomInt(0, 2 ** 32 - 1);
  const options = new Map<number, Uint8Array>([
    [OPT.MESSAGE_TYPE, Uint8Array.of(MSG.REQUEST)],
    ...identityOptions(r.identity, mac, r.uuid),
  ]);
  const packet = encodeDhcp4({ op: BOOTREQUEST, xid, chaddr, ciaddr: r.lease.address, options });
  const sock = await bindClient(r.lease.address);
  const end = Date.now() + r.deadlineMs;
  try {
    const ack = await new Promise<Dhcp4Packet | undefined>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let tries = 0;
      const send = () => {
        if (tries >= TRIES_MS.length || Date.now() >= end) return resolve(undefined);
        sock.send(packet, PXE_BOOT_SERVER_PORT, r.server, (err) => {
          if (err) reject(new NetError(r.server, `PXE boot server request: ${err.message}`));
        });
        timer = setTimeout(send, Math.min(TRIES_MS[tries++]!, Math.max(1, end - Date.now())));
      };
      sock.on('message', (b, from) => {
        if (from.address !== r.server) return;
        let p: Dhcp4Packet;
        try {
          p = decodeDhcp4(b);
        } catch (e) {
          r.log?.(`${r.lease.iface}: ignored a malformed reply from ${from.address}: ${(e as Error).message}`);
          return;
        }
        if (p.op !== BOOTREPLY || p.xid !== xid || optU8(p.options, OPT.MESSAGE_TYPE) !== MSG.ACK) return;
        clearTimeout(timer);
        resolve(p);
      });
      send();
    });
    if (!ack) throw new NetError(r.server, `no answer from the proxyDHCP server on port ${PXE_BOOT_SERVER_PORT}`);
    if (bootUrl(ack) === undefined) throw new NetError(r.server, 'the proxyDHCP server named no boot file');
    r.log?.(`${r.lease.iface}: proxyDHCP ACK from ${r.server}: ${bootUrl(ack)}`);
    return mergeProxyBoot(r.lease, ack);
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
  throw new NetError(address, 'cannot bind a UDP socket for the proxyDHCP request');
}
