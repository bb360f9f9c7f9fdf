// One interface's AF_PACKET socket as the DHCP client uses it: send an IPv4 packet to a MAC,
// receive one with a timeout. Receives run in short slices so an abort or a closing client is
// never stuck behind a long blocking read on the libuv pool. docs/net-dhcp.md §6.

import {
  ETH_P_IP,
  packetAttachFilter,
  packetClose,
  packetOpen,
  packetRecv,
  packetSend,
  type PacketReceived,
} from '../../native/net';
import { isSyscallError } from '../../native/sys';
import { NetError } from '../types';
import { encodeBpf, udpPortFilter } from './filter';

export interface PacketPort {
  send(ipPacket: Uint8Array, dstMac: Uint8Array): void;
  /** The packet now in `buf` (length 0 when `timeoutMs` passed). */
  recv(buf: Uint8Array, timeoutMs: number): Promise<PacketReceived>;
  close(): Promise<void>;
}

const SLICE_MS = 250;

export function openPacketPort(iface: string, ifindex: number): PacketPort {
  let fd: number;
  try {
    fd = packetOpen(ifindex, ETH_P_IP);
  } catch (e) {
    throw netError(iface, e);
  }
  try {
    // Packets that queued between socket() and now are not filtered; parseUdpIp drops them.
    packetAttachFilter(fd, encodeBpf(udpPortFilter(68)));
  } catch (e) {
    packetClose(fd);
    throw netError(iface, e);
  }
  let pending: Promise<PacketReceived> | undefined;
  let closed = false;
  return {
    send(ipPacket, dstMac) {
      try {
        packetSend(fd, ifindex, dstMac, ipPacket, ETH_P_IP);
      } catch (e) {
        throw netError(iface, e);
      }
    },
    async recv(buf, timeoutMs) {
      const end = Date.now() + timeoutMs;
      const none = { length: 0, csumNotReady: false };
      for (;;) {
        if (closed) return none;
        const left = end - Date.now();
        if (left <= 0) return none;
        pending = packetRecv(fd, buf, Math.min(left, SLICE_MS));
        let r: PacketReceived;
        try {
          r = await pending;
        } catch (e) {
          throw netError(iface, e);
        } finally {
          pending = undefined;
        }
        if (r.length > 0) return r;
      }
    },
    async close() {
      closed = true;
      // The fd must outlive a receive still blocked on the pool (at most one slice).
      await pending?.catch(() => undefined);
      packetClose(fd);
    },
  };
}

function netError(iface: string, e: unknown): NetError {
  if (e instanceof NetError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new NetError(
    iface,
    isSyscallError(e) ? msg : `AF_PACKET: ${msg}`,
    isSyscallError(e) && e.code === 'EAFNOSUPPORT',
  );
}
