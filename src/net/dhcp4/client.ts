// The DHCPv4 client for one interface: DISCOVER → OFFER(s) → REQUEST → ACK/NAK (RFC 2131 §3.1)
// with the PXE retransmission schedule (4, 8, 16, 32 s) cut short by an overall deadline.
// docs/net-dhcp.md §4 (timing) and §3 (which offer wins).

import { randomInt } from 'node:crypto';
import { NetError, type Identity, type Lease } from '../types';
import { buildUdpIp, parseUdpIp } from './frame';
import { identityOptions } from './identity';
import { bootFileName, bootUrl, leaseFromAck } from './lease';
import { MSG, OPT, optIps, optText, optU8 } from './options';
import { BOOTREPLY, BOOTREQUEST, decodeDhcp4, encodeDhcp4, type Dhcp4Packet } from './packet';
import { pxeMenuOf } from './pxe-menu';
import { openPacketPort, type PacketPort } from './port';

export interface Nic {
  readonly name: string;
  readonly ifindex: number;
  /** Lower-case colon-separated. */
  readonly mac: string;
}

export interface Dhcp4Options {
  readonly nic: Nic;
  readonly identity: Identity;
  /** Give up after this long (default 60 s: the whole PXE schedule). */
  readonly deadlineMs?: number;
  /** DISCOVER retransmission intervals (the last repeats until the deadline); default PXE's 4, 8, 16, 32 s. */
  readonly scheduleMs?: readonly number[];
  /** After the first OFFER, how long to wait for one that names a boot file (default 2 s). */
  readonly offerWindowMs?: number;
  /** Option 97; undefined leaves it out. */
  readonly uuid?: Uint8Array;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export const PXE_SCHEDULE_MS: readonly number[] = [4000, 8000, 16000, 32000];
// Long enough for a second server (a PXE-only one, or one that delays its replies for broken
// firmware) to be heard; only spent when the first offer names no boot file.
const OFFER_WINDOW_MS = 2000;
const REQUEST_TIMEOUT_MS = 4000;
const REQUEST_TRIES = 2;
const MAX_NAKS = 3;
const BROADCAST_MAC = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new NetError(mac, 'not a MAC address');
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export interface Dhcp4Result {
  readonly lease: Lease;
  /**
   * A proxyDHCP server that offered PXE service without naming a boot file, when the lease has
   * none either: ask it on port 4011 once the address is configured (proxy.ts). Also the server
   * whose ACK carried a PXE boot menu (`lease.pxeMenu`, resolved by discovery then).
   */
  readonly proxyServer?: string;
}

/** Runs the exchange on one NIC and resolves to its lease, or rejects with a NetError naming it. */
export async function dhcp4Lease(o: Dhcp4Options): Promise<Dhcp4Result> {
  const port = openPacketPort(o.nic.name, o.nic.ifindex);
  try {
    return await new Exchange(o, port).run();
  } finally {
    await port.close();
  }
}

class Exchange {
  private readonly mac: Uint8Array;
  private xid = randomInt(0, 2 ** 32 - 1);
  private readonly start = Date.now();
  private readonly deadline: number;
  private readonly buf = new Uint8Array(2048);
  private ipId = randomInt(0, 0xffff);

  constructor(
    private readonly o: Dhcp4Options,
    private readonly port: PacketPort,
  ) {
    this.mac = macBytes(o.nic.mac);
    this.deadline = this.start + (o.deadlineMs ?? 60_000);
  }

  async run(): Promise<Dhcp4Result> {
    const schedule = this.o.scheduleMs ?? PXE_SCHEDULE_MS;
    let tries = 0;
    let naks = 0;
    let offered = 0;
    for (let i = 0; Date.now() < this.deadline; i++) {
      const windowMs = schedule[Math.min(i, schedule.length - 1)]!;
      tries++;
      this.sendMessage(MSG.DISCOVER, []);
      const { offer, proxy } = await this.collectOffers(Math.min(Date.now() + windowMs, this.deadline));
      if (!offer) continue;
      offered++;
      const reply = await this.request(offer);
      if (reply && optU8(reply.options, OPT.MESSAGE_TYPE) === MSG.ACK) {
        this.o.log?.(`${this.o.nic.name}: DHCPACK ${reply.yiaddr} from ${serverOf(reply)}`);
        return withProxyBoot(leaseFromAck(reply, this.o.nic, this.o.identity), reply, proxy, this.o.log);
      }
      if (reply) {
        const why = optText(reply.options, OPT.MESSAGE);
        this.o.log?.(`${this.o.nic.name}: DHCPNAK from ${serverOf(reply)}${why ? `: ${why}` : ''}`);
        // A NAK ends this transaction: the next DISCOVER starts a new one (RFC 2131 §3.1 step 5).
        this.xid = randomInt(0, 2 ** 32 - 1);
        if (++naks >= MAX_NAKS)
          throw new NetError(this.o.nic.name, `DHCP server ${serverOf(reply)} refused (NAK)${why ? `: ${why}` : ''}`);
      }
    }
    const n = `${tries} ${tries === 1 ? 'try' : 'tries'}`;
    if (offered > 0) throw new NetError(this.o.nic.name, `no DHCP ACK on ${this.o.nic.name} after ${n}`);
    throw new NetError(this.o.nic.name, `no DHCP offer on ${this.o.nic.name} after ${n}`);
  }

  /**
   * The OFFERs until `until` (docs/net-dhcp.md §3): an address offer naming a boot file ends the
   * wait at once; otherwise the first address offer wins after a short window, during which a
   * proxyDHCP offer (no address, vendor class PXEClient, a boot file) may supply the boot file.
   */
  private async collectOffers(until: number): Promise<{ offer?: Dhcp4Packet; proxy?: Dhcp4Packet }> {
    let first: Dhcp4Packet | undefined;
    let proxy: Dhcp4Packet | undefined;
    let end = until;
    while (Date.now() < end) {
      const p = await this.receive(end);
      if (!p || optU8(p.options, OPT.MESSAGE_TYPE) !== MSG.OFFER) continue;
      if (optIps(p.options, OPT.SERVER_ID).length === 0) continue; // RFC 2131 §4.3.1: MUST carry 54
      if (p.yiaddr === '0.0.0.0') {
        if (!isProxyOffer(p)) continue;
        this.o.log?.(`${this.o.nic.name}: proxyDHCP offer from ${serverOf(p)}: ${bootUrl(p) ?? 'no boot file'}`);
        // The first proxy offer, unless a later one names a boot file and it does not.
        if (!proxy || (bootUrl(proxy) === undefined && bootUrl(p) !== undefined)) proxy = p;
        if (first && bootUrl(proxy) !== undefined) break;
        continue;
      }
      this.o.log?.(`${this.o.nic.name}: DHCPOFFER ${p.yiaddr} from ${serverOf(p)}`);
      // A boot file, or a PXE boot menu (docs/net-dhcp.md §14): no proxy is needed.
      if (bootFileName(p) !== undefined || pxeMenuOf(p.options, serverOf(p)) !== undefined) return { offer: p };
      if (!first) {
        first = p;
        if (proxy) break;
        end = Math.min(until, Date.now() + (this.o.offerWindowMs ?? OFFER_WINDOW_MS));
      }
    }
    return { ...(first ? { offer: first } : {}), ...(proxy ? { proxy } : {}) };
  }

  /** REQUEST the offer; resolves to the server's ACK or NAK, or undefined after the retries. */
  private async request(offer: Dhcp4Packet): Promise<Dhcp4Packet | undefined> {
    const server = optIps(offer.options, OPT.SERVER_ID)[0]!;
    const extra: [number, Uint8Array][] = [
      [OPT.REQUESTED_IP, ipBytes(offer.yiaddr)],
      [OPT.SERVER_ID, ipBytes(server)],
    ];
    for (let t = 0; t < REQUEST_TRIES && Date.now() < this.deadline; t++) {
      this.sendMessage(MSG.REQUEST, extra);
      const until = Math.min(Date.now() + REQUEST_TIMEOUT_MS, this.deadline);
      while (Date.now() < until) {
        const p = await this.receive(until);
        if (!p || serverOf(p) !== server) continue;
        const type = optU8(p.options, OPT.MESSAGE_TYPE);
        if (type === MSG.NAK || (type === MSG.ACK && p.yiaddr === offer.yiaddr)) return p;
      }
    }
    return undefined;
  }

  /** The next reply for us (our xid and MAC, BOOTREPLY to port 68) before `until`. */
  private async receive(until: number): Promise<Dhcp4Packet | undefined> {
    if (this.o.signal?.aborted) throw new NetError(this.o.nic.name, 'DHCP cancelled');
    const r = await this.port.recv(this.buf, Math.max(0, until - Date.now()));
    if (r.length === 0) return undefined;
    const d = parseUdpIp(this.buf.subarray(0, r.length), !r.csumNotReady);
    if (!d || d.dstPort !== 68 || d.srcPort !== 67) return undefined;
    let p: Dhcp4Packet;
    try {
      p = decodeDhcp4(d.payload);
    } catch (e) {
      this.o.log?.(`${this.o.nic.name}: ignored a malformed reply from ${d.src}: ${(e as Error).message}`);
      return undefined;
    }
    if (p.op !== BOOTREPLY || p.xid !== this.xid || p.htype !== 1 || p.hlen !== 6) return undefined;
    if (!this.mac.every((b, i) => p.chaddr[i] === b)) return undefined;
    return p;
  }

  private sendMessage(type: number, extra: [number, Uint8Array][]): void {
    const options = new Map<number, Uint8Array>([[OPT.MESSAGE_TYPE, Uint8Array.of(type)], ...extra]);
    for (const [k, v] of identityOptions(this.o.identity, this.mac, this.o.uuid)) options.set(k, v);
    const chaddr = new Uint8Array(16);
    chaddr.set(this.mac);
    const secs = Math.min(0xffff, Math.floor((Date.now() - this.start) / 1000));
    const payload = encodeDhcp4({ op: BOOTREQUEST, xid: this.xid, secs, chaddr, options });
    const ip = buildUdpIp({ src: '0.0.0.0', dst: '255.255.255.255', srcPort: 68, dstPort: 67, payload }, this.ipId++);
    this.port.send(ip, BROADCAST_MAC);
  }
}

/** A proxyDHCP offer: no address, PXEClient in option 60, as the PXE specification defines it. */
function isProxyOffer(p: Dhcp4Packet): boolean {
  return optText(p.options, OPT.VENDOR_CLASS)?.startsWith('PXEClient') === true;
}

/**
 * The boot file of a proxyDHCP offer, for a lease whose own server named none. A PXE boot menu
 * (option 43) in the ACK, else in the proxy's offer, goes on the lease for boot server discovery
 * once the address is configured (pxe-discovery.ts, docs/net-dhcp.md §14).
 */
function withProxyBoot(
  lease: Lease,
  ack: Dhcp4Packet,
  proxy: Dhcp4Packet | undefined,
  log?: (line: string) => void,
): Dhcp4Result {
  if (lease.bootUrl !== undefined) return { lease };
  const own = pxeMenuOf(ack.options, serverOf(ack), log);
  if (own) return { lease: { ...lease, pxeMenu: own.menu }, proxyServer: serverOf(ack) };
  if (!proxy) return { lease };
  const url = bootUrl(proxy);
  if (url !== undefined) return { lease: mergeProxyBoot(lease, proxy) };
  const menu = pxeMenuOf(proxy.options, serverOf(proxy), log);
  return { lease: menu ? { ...lease, pxeMenu: menu.menu } : lease, proxyServer: serverOf(proxy) };
}

/** The lease with the boot URL and 209/210 of a proxy's reply (offer or port-4011 ACK). */
export function mergeProxyBoot(lease: Lease, proxy: Dhcp4Packet): Lease {
  const url = bootUrl(proxy);
  const cfg = optText(proxy.options, OPT.PXELINUX_CONFIGFILE);
  const prefix = optText(proxy.options, OPT.PXELINUX_PATHPREFIX);
  return {
    ...lease,
    ...(url !== undefined ? { bootUrl: url } : {}),
    ...(lease.pxeConfigFile === undefined && cfg !== undefined ? { pxeConfigFile: cfg } : {}),
    ...(lease.pxePathPrefix === undefined && prefix !== undefined ? { pxePathPrefix: prefix } : {}),
  };
}

function serverOf(p: Dhcp4Packet): string {
  return optIps(p.options, OPT.SERVER_ID)[0] ?? p.siaddr;
}

function ipBytes(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map(Number));
}
