// IPv4 + UDP framing for DHCP over an AF_PACKET/SOCK_DGRAM socket, where the kernel adds only
// the Ethernet header: header checksum (RFC 791), UDP checksum over the pseudo-header
// (RFC 768). docs/net-dhcp.md §6.

import { parseIpv4 } from './packet';

export interface UdpDatagram {
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

const IP_HEADER = 20;
const UDP_HEADER = 8;
const PROTO_UDP = 17;

function sum16(b: Uint8Array, start: number, end: number, acc = 0): number {
  for (let i = start; i < end; i += 2) acc += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return ~acc & 0xffff;
}

/** One IPv4 packet (DF clear, TTL 64, no options) carrying one UDP datagram. */
export function buildUdpIp(d: UdpDatagram, ipId = 0): Uint8Array {
  const udpLen = UDP_HEADER + d.payload.length;
  const out = new Uint8Array(IP_HEADER + udpLen);
  const dv = new DataView(out.buffer);
  out[0] = 0x45;
  dv.setUint16(2, out.length);
  dv.setUint16(4, ipId & 0xffff);
  out[8] = 64;
  out[9] = PROTO_UDP;
  out.set(parseIpv4(d.src), 12);
  out.set(parseIpv4(d.dst), 16);
  dv.setUint16(10, fold(sum16(out, 0, IP_HEADER)));
  dv.setUint16(20, d.srcPort);
  dv.setUint16(22, d.dstPort);
  dv.setUint16(24, udpLen);
  out.set(d.payload, IP_HEADER + UDP_HEADER);
  const c = fold(sum16(out, IP_HEADER, out.length, pseudo(out, udpLen)));
  dv.setUint16(26, c === 0 ? 0xffff : c);
  return out;
}

function pseudo(ipPacket: Uint8Array, udpLen: number): number {
  return sum16(ipPacket, 12, 20) + PROTO_UDP + udpLen;
}

/**
 * The UDP datagram in an IPv4 packet, or undefined for anything else: not IPv4/UDP, a fragment,
 * inconsistent lengths or a bad checksum (a DHCP client drops those silently, RFC 2131 §4.1).
 * `verifyUdpChecksum` false skips the UDP checksum the kernel says offload has not filled in yet.
 */
export function parseUdpIp(b: Uint8Array, verifyUdpChecksum = true): UdpDatagram | undefined {
  if (b.length < IP_HEADER + UDP_HEADER || b[0]! >> 4 !== 4) return undefined;
  const ihl = (b[0]! & 0x0f) * 4;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const total = dv.getUint16(2);
  if (ihl < IP_HEADER || total < ihl + UDP_HEADER || total > b.length || b[9] !== PROTO_UDP) return undefined;
  if ((dv.getUint16(6) & 0x3fff) !== 0) return undefined; // MF set or an offset: a fragment
  if (fold(sum16(b, 0, ihl)) !== 0) return undefined;
  const udpLen = dv.getUint16(ihl + 4);
  if (udpLen < UDP_HEADER || ihl + udpLen > total) return undefined;
  const sum = dv.getUint16(ihl + 6);
  if (verifyUdpChecksum && sum !== 0 && fold(sum16(b, ihl, ihl + udpLen, sum16(b, 12, 20) + PROTO_UDP + udpLen)) !== 0)
    return undefined;
  const ip = (o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  return {
    src: ip(12),
    dst: ip(16),
    srcPort: dv.getUint16(ihl),
    dstPort: dv.getUint16(ihl + 2),
    payload: b.slice(ihl + UDP_HEADER, ihl + udpLen),
  };
}
