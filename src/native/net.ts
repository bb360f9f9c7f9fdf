// Typed wrappers over the addon's AF_PACKET calls (native/src/net.c), used by the DHCPv4 client
// (docs/net-dhcp.md §6). Failures throw a SyscallError (code, errno, syscall); a kernel built
// without AF_PACKET gets a message that says so instead of "address family not supported".

import { loadAddon } from './load';
import { isSyscallError } from './sys';

export interface PacketReceived {
  /** Bytes now in the buffer; 0 when the timeout passed first. */
  readonly length: number;
  /**
   * The kernel's TP_STATUS_CSUMNOTREADY: the packet was generated on this host (veth, a local
   * bridge) and checksum offload has not filled in its transport checksum, so it cannot be checked.
   */
  readonly csumNotReady: boolean;
}

interface NetAddon {
  packetOpen(ifindex: number, ethertype: number): number;
  packetSend(fd: number, ifindex: number, dstMac: Uint8Array, bytes: Uint8Array, ethertype: number): number;
  packetRecv(fd: number, buf: Uint8Array, timeoutMs: number): Promise<PacketReceived>;
  packetAttachFilter(fd: number, program: Uint8Array): void;
  packetClose(fd: number): void;
}

function net(): NetAddon {
  return loadAddon() as unknown as NetAddon;
}

export const ETH_P_IP = 0x0800;
/** The addon refuses longer receive timeouts (callers loop in slices anyway). */
export const MAX_RECV_TIMEOUT_MS = 60_000;

/** AF_PACKET/SOCK_DGRAM socket bound to `ifindex` for `ethertype` (the kernel adds the link header). */
export function packetOpen(ifindex: number, ethertype = ETH_P_IP): number {
  try {
    return net().packetOpen(ifindex, ethertype);
  } catch (e) {
    if (isSyscallError(e) && (e.code === 'EAFNOSUPPORT' || e.code === 'EPROTONOSUPPORT'))
      e.message = `no AF_PACKET (kernel lacks CONFIG_PACKET): ${e.message}`;
    throw e;
  }
}

/** Sends one datagram to `dstMac` (6 bytes) on `ifindex`; returns the bytes sent. */
export function packetSend(
  fd: number,
  ifindex: number,
  dstMac: Uint8Array,
  bytes: Uint8Array,
  ethertype = ETH_P_IP,
): number {
  return net().packetSend(fd, ifindex, dstMac, bytes, ethertype);
}

/**
 * Receives one datagram into `buf` on the libuv pool; resolves to its length (0 when `timeoutMs`
 * passed first) and whether its checksum can be verified. A longer datagram is truncated to `buf`.
 */
export function packetRecv(fd: number, buf: Uint8Array, timeoutMs: number): Promise<PacketReceived> {
  return net().packetRecv(fd, buf, timeoutMs);
}

/** Attaches a classic BPF program (raw `struct sock_filter` array, see src/net/dhcp4/filter.ts). */
export function packetAttachFilter(fd: number, program: Uint8Array): void {
  net().packetAttachFilter(fd, program);
}

/** Closes the socket; never while a packetRecv on it is pending. */
export function packetClose(fd: number): void {
  net().packetClose(fd);
}
