// What the client says about itself in DISCOVER and REQUEST: the identity profiles (option 60
// vendor class, 77 user class, 93 architecture, 94 network interface id), 61 client id, 97 UUID,
// 57 maximum size and the 55 parameter request list. docs/net-dhcp.md §1.

import * as fs from 'node:fs';
import type { Identity } from '../types';
import { OPT } from './options';

export const IDENTITIES: readonly Identity[] = ['pxe', 'http', 'ipxe', 'tendril'];

interface Profile {
  readonly vendorClass: string;
  /** RFC 4578 §2.1 client system architecture: 7 = EFI x86-64 (PXE), 16 = EFI x86-64 HTTP. */
  readonly arch: number;
  /** RFC 4578 §2.2 UNDI: type 1, major, minor. */
  readonly undi: readonly [number, number];
  /** Option 77 as iPXE sends it (the bare string, which ISC dhcpd and dnsmasq configs match). */
  readonly userClass?: string;
}

const PXE: Profile = { vendorClass: 'PXEClient:Arch:00007:UNDI:003016', arch: 0x0007, undi: [3, 16] };

export const PROFILES: Readonly<Record<Identity, Profile>> = {
  pxe: PXE,
  http: { vendorClass: 'HTTPClient:Arch:00016:UNDI:003001', arch: 0x0010, undi: [3, 1] },
  ipxe: { ...PXE, userClass: 'iPXE' },
  tendril: { ...PXE, userClass: 'tendril' },
};

/** Option 55: what we ask every server for. */
export const PARAMETER_REQUEST_LIST = [
  OPT.SUBNET_MASK,
  OPT.ROUTER,
  OPT.DNS,
  OPT.HOSTNAME,
  OPT.DOMAIN,
  OPT.MTU,
  OPT.BROADCAST,
  OPT.NTP,
  OPT.VENDOR_SPECIFIC,
  OPT.LEASE_TIME,
  OPT.SERVER_ID,
  OPT.VENDOR_CLASS,
  OPT.TFTP_SERVER,
  OPT.BOOTFILE,
  OPT.DOMAIN_SEARCH,
  OPT.CLASSLESS_ROUTES,
  OPT.PXELINUX_CONFIGFILE,
  OPT.PXELINUX_PATHPREFIX,
] as const;

/** Option 57: the largest message we accept, 1500-byte MTU minus IPv4 and UDP headers. */
export const MAX_MESSAGE_SIZE = 1472;

const text = (s: string) => new TextEncoder().encode(s);

/** The options both DISCOVER and REQUEST carry, after 53 (and 50/54 for REQUEST). */
export function identityOptions(
  identity: Identity,
  mac: Uint8Array,
  uuid: Uint8Array | undefined,
): [number, Uint8Array][] {
  const p = PROFILES[identity];
  const out: [number, Uint8Array][] = [
    [OPT.PARAM_REQUEST, Uint8Array.from(PARAMETER_REQUEST_LIST)],
    [OPT.MAX_SIZE, Uint8Array.of(MAX_MESSAGE_SIZE >> 8, MAX_MESSAGE_SIZE & 0xff)],
    [OPT.VENDOR_CLASS, text(p.vendorClass)],
    [OPT.CLIENT_ID, Uint8Array.of(1, ...mac)],
  ];
  if (p.userClass) out.push([OPT.USER_CLASS, text(p.userClass)]);
  out.push([OPT.CLIENT_ARCH, Uint8Array.of(p.arch >> 8, p.arch & 0xff)]);
  out.push([OPT.CLIENT_NDI, Uint8Array.of(1, p.undi[0], p.undi[1])]);
  if (uuid) out.push([OPT.CLIENT_UUID, Uint8Array.of(0, ...uuid)]);
  return out;
}

/** The SMBIOS system UUID (RFC 4578 §2.3), in the byte order Linux prints it; undefined if unreadable. */
export function readSystemUuid(file = '/sys/class/dmi/id/product_uuid'): Uint8Array | undefined {
  let s: string;
  try {
    s = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  return parseUuid(s);
}

export function parseUuid(s: string): Uint8Array | undefined {
  const hex = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex) || s.length !== 36) return undefined;
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}
