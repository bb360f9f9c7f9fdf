// What the DHCPv6 client says about itself: its DUID (RFC 6355 DUID-UUID from the SMBIOS UUID,
// else RFC 8415 §11.4 DUID-LL from the MAC), the option request list, and the identity's vendor
// class (16), user class (15), architecture (61, RFC 5970) and network interface id (62).
// The strings and numbers are those of dhcp4/identity.ts. docs/net-dhcp.md §9.

import type { Identity } from '../types';
import { PROFILES } from '../dhcp4/identity';
import { OPT6, u16, u32, type Dhcp6Option } from './message';

/**
 * The enterprise number in option 16. EDK2's PXE and HTTP Boot clients send 343 (Intel) with
 * their `PXEClient:…`/`HTTPClient:…` string, so servers configured for UEFI match ours.
 */
export const VENDOR_ENTERPRISE = 343;

/** Option 6: DNS, domain list, boot file URL and parameters, NTP, SNTP, and SOL_MAX_RT/INF_MAX_RT. */
export function requestedOptions(informationRequest: boolean): number[] {
  return [
    OPT6.DNS_SERVERS,
    OPT6.DOMAIN_LIST,
    OPT6.BOOTFILE_URL,
    OPT6.BOOTFILE_PARAM,
    OPT6.NTP_SERVER,
    OPT6.SNTP_SERVERS,
    // RFC 8415 §21.24/§21.25: a client asks for the one that bounds its own retransmissions.
    informationRequest ? OPT6.INF_MAX_RT : OPT6.SOL_MAX_RT,
  ];
}

/** DUID-UUID (type 4) when the system UUID is known, DUID-LL (type 3, hardware type 1) otherwise. */
export function clientDuid(mac: Uint8Array, uuid: Uint8Array | undefined): Uint8Array {
  if (uuid && uuid.length === 16) return Uint8Array.of(0, 4, ...uuid);
  return Uint8Array.of(0, 3, 0, 1, ...mac);
}

const text = (s: string) => new TextEncoder().encode(s);

/** An RFC 8415 §21.15/§21.16 class item: 2-byte length, then the bytes. */
function classItem(s: string): Uint8Array {
  const b = text(s);
  return Uint8Array.of(...u16(b.length), ...b);
}

/** Options 16, 15 (when the identity has a user class), 61 and 62, in that order. */
export function identityOptions6(identity: Identity): Dhcp6Option[] {
  const p = PROFILES[identity];
  const out: Dhcp6Option[] = [
    { code: OPT6.VENDOR_CLASS, data: Uint8Array.of(...u32(VENDOR_ENTERPRISE), ...classItem(p.vendorClass)) },
  ];
  if (p.userClass) out.push({ code: OPT6.USER_CLASS, data: classItem(p.userClass) });
  out.push({ code: OPT6.CLIENT_ARCH_TYPE, data: u16(p.arch) });
  out.push({ code: OPT6.NII, data: Uint8Array.of(1, p.undi[0], p.undi[1]) });
  return out;
}
