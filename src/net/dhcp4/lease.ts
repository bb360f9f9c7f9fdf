// From an ACK to a Lease: the boot URL precedence (option 67 / `file`, then option 66 / `sname` /
// `siaddr` / server id, honouring overload), netmask → prefix, routes, DNS. docs/net-dhcp.md §3.

import { NetError, type Identity, type Lease } from '../types';
import { OPT, cString, optClasslessRoutes, optIps, optText, optU16, optU32, type Options } from './options';
import type { Dhcp4Packet } from './packet';
import { optional } from '../../util/optional';

/** The parts of a reply the boot URL depends on (a packet, or a hand-built one in tests). */
export type BootSource = Pick<Dhcp4Packet, 'file' | 'sname' | 'siaddr' | 'overload' | 'options'>;

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
// A host name or IPv4 literal (RFC 1123 labels); anything else in 66/sname is not a host.
const HOST =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The boot file name as the server gave it: option 67, else the `file` field unless overloaded. */
export function bootFileName(p: BootSource): string | undefined {
  const opt = optText(p.options, OPT.BOOTFILE);
  if (opt !== undefined) return opt;
  if (p.overload & 1) return undefined;
  const f = cString(p.file);
  return f === '' ? undefined : f;
}

/** The TFTP server for a relative boot file: 66, `sname` (not overloaded), `siaddr`, server id. */
export function bootServer(p: BootSource): string | undefined {
  const candidates = [
    optText(p.options, OPT.TFTP_SERVER),
    p.overload & 2 ? undefined : cString(p.sname),
    p.siaddr !== '0.0.0.0' ? p.siaddr : undefined,
    optIps(p.options, OPT.SERVER_ID)[0],
  ];
  return candidates.find((h): h is string => h !== undefined && HOST.test(h));
}

/**
 * The absolute boot URL, or undefined when the server named no file. A name with a scheme is
 * kept as is; otherwise `tftp://<server>/<name>` with the name percent-encoded byte for byte, so
 * the TFTP file name is exactly the URL path minus its first `/` (a leading `/` in the name
 * survives as `//`).
 */
export function bootUrl(p: BootSource): string | undefined {
  const name = bootFileName(p);
  if (name === undefined) return undefined;
  if (SCHEME.test(name)) return name;
  const host = bootServer(p);
  if (host === undefined) return undefined;
  return `tftp://${host}/${encodePath(name)}`;
}

function encodePath(name: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~/!$&'()*+,;=:@]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Netmask to prefix length; a non-contiguous mask is refused. */
export function maskToPrefix(mask: string): number | undefined {
  const n = mask.split('.').reduce((a, x) => a * 256 + Number(x), 0);
  const inv = (~n >>> 0) + 1; // a contiguous mask leaves a power of two here
  if (inv !== 2 ** 32 && (inv & (inv - 1)) !== 0) return undefined;
  return 32 - Math.log2(inv);
}

function classfulPrefix(addr: string): number {
  const first = Number(addr.split('.')[0]);
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}

export function leaseFromAck(
  ack: Dhcp4Packet,
  nic: { readonly name: string; readonly mac: string },
  identity: Identity,
): Lease {
  const o: Options = ack.options;
  const mask = optIps(o, OPT.SUBNET_MASK)[0];
  let prefixLength = classfulPrefix(ack.yiaddr);
  if (mask !== undefined) {
    const p = maskToPrefix(mask);
    if (p === undefined) throw new NetError(nic.name, `DHCP server sent a non-contiguous netmask ${mask}`);
    prefixLength = p;
  }
  // RFC 3442 §1: with classless routes present the client ignores the router option.
  const routes = optClasslessRoutes(o);
  const router = routes.length > 0 ? routes.find((r) => r.prefix === 0)?.gateway : optIps(o, OPT.ROUTER)[0];
  const nonDefault = routes.filter((r) => r.prefix !== 0);
  const mtu = optU16(o, OPT.MTU);
  const lease: Lease = {
    iface: nic.name,
    mac: nic.mac,
    family: 4,
    how: 'dhcp',
    address: ack.yiaddr,
    prefixLength,
    dns: optIps(o, OPT.DNS),
    ntp: optIps(o, OPT.NTP),
    identity,
    ...optional('router', router),
    ...optional('routes', nonDefault.length > 0 ? nonDefault : undefined),
    ...optional('domain', optText(o, OPT.DOMAIN)),
    ...optional('hostname', optText(o, OPT.HOSTNAME)),
    ...optional('mtu', mtu !== undefined && mtu >= 68 ? mtu : undefined),
    ...optional('server', optIps(o, OPT.SERVER_ID)[0]),
    ...optional('leaseSeconds', optU32(o, OPT.LEASE_TIME)),
    ...optional('bootUrl', bootUrl(ack)),
    ...optional('pxeConfigFile', optText(o, OPT.PXELINUX_CONFIGFILE)),
    ...optional('pxePathPrefix', optText(o, OPT.PXELINUX_PATHPREFIX)),
  };
  return lease;
}
