// The DHCPv6 client for one interface (RFC 8415 §18): Solicit → Advertise (highest preference
// wins, 255 at once) → Request → Reply for an address (IA_NA); when no server offers one
// (NoAddrsAvail, or silence while the kernel has a SLAAC address), a stateless
// Information-Request for DNS, NTP and the boot file URL beside the SLAAC address (RFC 4862).
// Rapid Commit is not asked for. docs/net-dhcp.md §9 (messages, timing) and §10 (SLAAC).

import { randomInt } from 'node:crypto';
import * as dgram from 'node:dgram';
import { NetError, type Identity, type Lease } from '../types';
import { sleep } from '../sleep';
import { ip6DefaultRouter, raRouteSeen, slaacAddress, waitLinkLocal, type Ip6Address } from './ifaddr';
import { clientDuid, identityOptions6, requestedOptions } from './identity';
import {
  decodeDhcp6,
  encodeDhcp6,
  encodeOptions,
  findOption,
  MSG6,
  OPT6,
  STATUS6,
  u16,
  u32,
  type Dhcp6Message,
  type Dhcp6Option,
} from './message';
import { INFORMATION_REQUEST, MAX_FIRST_DELAY_MS, nextRt, REQUEST, SOLICIT } from './timing';
import {
  addressList,
  bootFileUrl,
  domainList,
  duidHex,
  iaNas,
  maxRtOf,
  ntpServers,
  preferenceOf,
  statusOf,
  type IaAddress,
} from './views';

export interface Nic6 {
  readonly name: string;
  /** Lower-case colon-separated. */
  readonly mac: string;
}

export interface Dhcp6Options {
  readonly nic: Nic6;
  readonly identity: Identity;
  /** Give up after this long. */
  readonly deadlineMs: number;
  /** For DUID-UUID (RFC 6355); undefined: DUID-LL from the MAC. */
  readonly uuid?: Uint8Array;
  /** Ends the exchange early: it then fails as if the deadline had passed. */
  readonly signal?: AbortSignal;
  /**
   * Ends the exchange early only while no server has answered: one that has (a NoAddrsAvail
   * Advertise, an Information-Request Reply) gets the whole deadline, for the SLAAC address too.
   */
  readonly quiet?: AbortSignal;
  /** Called at the first message from a server for this exchange (the lease stage's grace). */
  readonly onAnswer?: () => void;
  /** Called when the NIC's link-local address has passed DAD (the kernel's first RS goes then). */
  readonly onLinkLocal?: () => void;
  readonly log?: (line: string) => void;
}

/** With a SLAAC address in hand, how long Solicit and then Information-Request may still take. */
const STATEFUL_WITH_SLAAC_MS = 4000;
const INFO_WITH_SLAAC_MS = 4000;
/** How long a DHCPv6 lease waits for the Router Advertisement's routes. */
const ROUTER_WAIT_MS = 5000;
const SERVER_PORT = 547;
const CLIENT_PORT = 546;
const ALL_SERVERS = 'ff02::1:2';
/** Replies queued before the client reads them; more are dropped (a flood costs nothing). */
const MAX_QUEUED = 64;

interface Received {
  readonly msg: Dhcp6Message;
  /** The server's address, without scope. */
  readonly from: string;
}

/** Runs DHCPv6 (and waits for SLAAC) on one NIC; resolves to its family-6 lease or rejects naming it. */
export async function dhcp6Lease(o: Dhcp6Options): Promise<Lease> {
  const until = Date.now() + o.deadlineMs;
  const stop = [o.signal, o.quiet].filter((x): x is AbortSignal => x !== undefined);
  const ll = await waitLinkLocal(o.nic.name, until, stop.length > 1 ? AbortSignal.any(stop) : stop[0]);
  o.onLinkLocal?.();
  const sock = await openSocket(o.nic.name, ll, o.log);
  try {
    return await new Exchange6(o, sock, until).run();
  } finally {
    sock.close();
  }
}

class Socket6 {
  private readonly queue: Received[] = [];
  private wake: (() => void) | undefined;

  constructor(
    private readonly sock: dgram.Socket,
    private readonly iface: string,
    private readonly log?: (line: string) => void,
  ) {
    // Any source port: what binds a reply to us is the transaction id and our client id, and
    // libslirp (QEMU's user networking) answers from port 547 in the wrong byte order (8963).
    sock.on('message', (bytes, rinfo) => {
      if (this.queue.length >= MAX_QUEUED) return;
      const from = rinfo.address.replace(/%.*$/, '');
      try {
        this.queue.push({ msg: decodeDhcp6(bytes), from });
      } catch (e) {
        this.log?.(`${iface}: ignored a malformed DHCPv6 message from ${from}: ${(e as Error).message}`);
        return;
      }
      this.wake?.();
    });
  }

  send(bytes: Uint8Array): void {
    this.sock.send(bytes, SERVER_PORT, `${ALL_SERVERS}%${this.iface}`);
  }

  /** The next message before `until`, or undefined. */
  async next(until: number, signal?: AbortSignal): Promise<Received | undefined> {
    for (;;) {
      const m = this.queue.shift();
      if (m) return m;
      const left = until - Date.now();
      if (left <= 0 || signal?.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        signal?.addEventListener('abort', done, { once: true });
        this.wake = done;
        function done() {
          clearTimeout(t);
          signal?.removeEventListener('abort', done);
          resolve();
        }
      });
      this.wake = undefined;
    }
  }

  close(): void {
    this.sock.close();
  }
}

/** A UDP socket on [link-local%iface]:546, so replies to this NIC reach this exchange alone. */
function openSocket(iface: string, ll: string, log?: (line: string) => void): Promise<Socket6> {
  const sock = dgram.createSocket({ type: 'udp6' });
  const where = `udp [${ll}%${iface}]:${CLIENT_PORT}`;
  return new Promise((resolve, reject) => {
    sock.once('error', (e: NodeJS.ErrnoException) => {
      sock.close();
      reject(new NetError(iface, `bind(${where}): ${e.code ?? e.message}`));
    });
    sock.bind({ address: `${ll}%${iface}`, port: CLIENT_PORT, exclusive: true }, () => {
      sock.removeAllListeners('error');
      sock.on('error', (e: NodeJS.ErrnoException) => log?.(`${iface}: DHCPv6 socket: ${e.code ?? e.message}`));
      try {
        sock.setMulticastInterface(`::%${iface}`);
      } catch (e) {
        sock.close();
        reject(new NetError(iface, `setsockopt(IPV6_MULTICAST_IF, ${iface}): ${(e as Error).message}`));
        return;
      }
      resolve(new Socket6(sock, iface, log));
    });
  });
}

interface Offer {
  readonly server: string;
  readonly serverId: Uint8Array;
  readonly address: IaAddress;
  readonly iaid: number;
  readonly preference: number;
}

class Exchange6 {
  private readonly duid: Uint8Array;
  private readonly iaid: number;
  private readonly name: string;
  private solMaxRt = SOLICIT.mrt;
  private infMaxRt = INFORMATION_REQUEST.mrt;
  /** Transmissions so far, for the error message. */
  private tries = 0;
  private noAddrsFrom: string | undefined;
  private answered = false;
  private readonly anySignal: AbortSignal | undefined;

  constructor(
    private readonly o: Dhcp6Options,
    private readonly sock: Socket6,
    private readonly until: number,
  ) {
    const mac = Uint8Array.from(o.nic.mac.split(':').map((h) => parseInt(h, 16)));
    this.duid = clientDuid(mac, o.uuid);
    // The IAID only has to be stable for this interface: the MAC's last four bytes.
    this.iaid = ((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0;
    this.name = o.nic.name;
    const signals = [o.signal, o.quiet].filter((x): x is AbortSignal => x !== undefined);
    this.anySignal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  }

  async run(): Promise<Lease> {
    const solicitStart = Date.now();
    await this.sleep(randomInt(0, MAX_FIRST_DELAY_MS));
    while (!this.expired()) {
      // With a SLAAC address, a stateful server gets a few seconds, then the stateless path.
      const slaacCut = () =>
        slaacAddress(this.name) !== undefined && Date.now() - solicitStart >= STATEFUL_WITH_SLAAC_MS;
      const offer = await this.solicit(slaacCut);
      if (!offer) break;
      const lease = await this.request(offer);
      if (lease) return lease;
      if (this.noAddrsFrom !== undefined) break;
    }
    return this.stateless();
  }

  /** Solicit until an offer is chosen; undefined when none is coming (stateless path next). */
  private async solicit(cut: () => boolean): Promise<Offer | undefined> {
    const xid = randomInt(0, 0xffffff);
    const start = Date.now();
    let best: Offer | undefined;
    let rt: number | undefined;
    let first = true;
    while (!this.expired()) {
      if (cut()) return best;
      rt = nextRt({ ...SOLICIT, mrt: this.solMaxRt }, rt, Math.random(), true);
      this.send(MSG6.SOLICIT, xid, start, [this.iaNa()]);
      const end = Math.min(Date.now() + rt, this.until);
      while (Date.now() < end) {
        const r = await this.receive(xid, MSG6.ADVERTISE, Math.min(end, Date.now() + 250));
        if (!r) {
          // Cut (the grace ended) or out of time: receive returns at once from now on.
          if (cut() || this.expired()) return best;
          continue;
        }
        const sol = maxRtOf(r.msg.options, OPT6.SOL_MAX_RT);
        if (sol !== undefined) this.solMaxRt = sol * 1000;
        const offer = this.offerOf(r);
        if (!offer) continue;
        this.o.log?.(
          `${this.name}: DHCPv6 Advertise ${offer.address.address} from ${r.from} (preference ${offer.preference})`,
        );
        if (offer.preference === 255 || !first) return offer;
        if (!best || offer.preference > best.preference) best = offer;
      }
      // The first RT collects Advertises; after it, the best one (or the next to come) is taken.
      if (best) return best;
      if (this.noAddrsFrom !== undefined) return undefined;
      first = false;
    }
    return best;
  }

  /** The usable address of an Advertise, or undefined (NoAddrsAvail is remembered). */
  private offerOf(r: Received): Offer | undefined {
    const serverId = findOption(r.msg.options, OPT6.SERVERID);
    if (!serverId) return undefined;
    const top = statusOf(r.msg.options);
    const ia = iaNas(r.msg.options).find((x) => x.iaid === this.iaid);
    const address = ia?.addresses.find((a) => a.valid > 0 && (a.status?.code ?? 0) === STATUS6.SUCCESS);
    if (!ia || !address || (ia.status?.code ?? 0) !== STATUS6.SUCCESS || (top?.code ?? 0) !== STATUS6.SUCCESS) {
      const why = ia?.status ?? top;
      this.o.log?.(
        `${this.name}: DHCPv6 Advertise from ${r.from} offers no address${why ? ` (status ${why.code}${why.message ? `: ${why.message}` : ''})` : ''}`,
      );
      this.noAddrsFrom = r.from;
      return undefined;
    }
    return { server: r.from, serverId, address, iaid: ia.iaid, preference: preferenceOf(r.msg.options) };
  }

  /** Request the offered address; the lease, or undefined to solicit again (or go stateless). */
  private async request(offer: Offer): Promise<Lease | undefined> {
    const xid = randomInt(0, 0xffffff);
    const start = Date.now();
    const ia = this.iaNa(offer.address.bytes);
    let rt: number | undefined;
    for (let n = 0; n < REQUEST.mrc && !this.expired(); n++) {
      rt = nextRt(REQUEST, rt, Math.random());
      this.send(MSG6.REQUEST, xid, start, [{ code: OPT6.SERVERID, data: offer.serverId }, ia]);
      const end = Math.min(Date.now() + rt, this.until);
      for (;;) {
        const r = await this.receive(xid, MSG6.REPLY, end);
        if (!r) break;
        const sid = findOption(r.msg.options, OPT6.SERVERID);
        if (!sid || Buffer.compare(sid, offer.serverId) !== 0) continue;
        const got = iaNas(r.msg.options).find((x) => x.iaid === offer.iaid);
        const a = got?.addresses.find((x) => x.valid > 0 && (x.status?.code ?? 0) === STATUS6.SUCCESS);
        const why = got?.status ?? statusOf(r.msg.options);
        if (!a || (why?.code ?? 0) !== STATUS6.SUCCESS) {
          this.o.log?.(
            `${this.name}: DHCPv6 Reply from ${r.from} refuses ${offer.address.address}${why ? ` (status ${why.code}${why.message ? `: ${why.message}` : ''})` : ''}`,
          );
          if (why?.code === STATUS6.NO_ADDRS_AVAIL) this.noAddrsFrom = r.from;
          return undefined;
        }
        this.o.log?.(`${this.name}: DHCPv6 Reply ${a.address} from ${r.from}`);
        // DHCPv6 gives no prefix and no router: the on-link prefix and the default route are the
        // RA's (RFC 8415 §21.6), so the first fetch waits for it a little.
        await this.waitRouter();
        return this.lease('dhcp', a.address, 128, r.msg.options, { server: r.from, leaseSeconds: a.valid });
      }
    }
    return undefined;
  }

  /**
   * No address from a server: a SLAAC address, with what an Information-Request brings (DNS,
   * NTP, boot file URL). The Information-Request waits the whole deadline without a SLAAC
   * address, and a few seconds with one.
   */
  private async stateless(): Promise<Lease> {
    const xid = randomInt(0, 0xffffff);
    const start = Date.now();
    let rt: number | undefined;
    let reply: Received | undefined;
    let slaacAt: number | undefined;
    // Out of time already (the deadline, or the grace after the IPv4 lease): a SLAAC address
    // still makes a lease, without the extras.
    if (!this.expired()) await this.sleep(randomInt(0, MAX_FIRST_DELAY_MS));
    while (!reply && !this.expired()) {
      if (slaacAddress(this.name)) slaacAt ??= Date.now();
      if (slaacAt !== undefined && Date.now() - slaacAt >= INFO_WITH_SLAAC_MS) break;
      rt = nextRt({ ...INFORMATION_REQUEST, mrt: this.infMaxRt }, rt, Math.random());
      this.send(MSG6.INFORMATION_REQUEST, xid, start, []);
      const end = Math.min(
        Date.now() + rt,
        this.until,
        slaacAt !== undefined ? slaacAt + INFO_WITH_SLAAC_MS : Infinity,
      );
      while (!reply && Date.now() < end && !this.expired()) {
        reply = await this.receive(xid, MSG6.REPLY, Math.min(end, Date.now() + 250), true);
        if (!reply && slaacAt === undefined && slaacAddress(this.name)) slaacAt = Date.now();
      }
    }
    if (reply) {
      const inf = maxRtOf(reply.msg.options, OPT6.INF_MAX_RT);
      if (inf !== undefined) this.infMaxRt = inf * 1000;
      this.o.log?.(`${this.name}: DHCPv6 Information-Request answered by ${reply.from}`);
    } else this.o.log?.(`${this.name}: no DHCPv6 Information-Request reply`);
    // The kernel's address from the RA; wait for it (under the deadline) when it is not there yet.
    let a: Ip6Address | undefined;
    while (!(a = slaacAddress(this.name)) && !this.expired()) await this.sleep(100);
    if (!a) return this.fail();
    this.o.log?.(`${this.name}: SLAAC address ${a.address}/${a.prefixLength}`);
    return this.lease(
      'slaac',
      a.address,
      a.prefixLength,
      reply?.msg.options ?? [],
      reply ? { server: reply.from } : {},
    );
  }

  private fail(): never {
    const n = `${this.tries} ${this.tries === 1 ? 'try' : 'tries'}`;
    if (this.noAddrsFrom !== undefined)
      throw new NetError(
        this.name,
        `DHCPv6 server ${this.noAddrsFrom} has no address for ${this.name} (NoAddrsAvail) and no SLAAC address appeared`,
      );
    if (this.answered)
      throw new NetError(
        this.name,
        `no DHCPv6 address on ${this.name} after ${n}: servers answered but none leased one, and no SLAAC address appeared`,
      );
    throw new NetError(this.name, `no DHCPv6 reply on ${this.name} after ${n}`);
  }

  /** Up to ROUTER_WAIT_MS (within the deadline) for a route from the RA (on-link prefix or default). */
  private async waitRouter(): Promise<void> {
    const end = Math.min(this.until, Date.now() + ROUTER_WAIT_MS);
    while (!raRouteSeen(this.name) && Date.now() < end) await this.sleep(100);
    if (!raRouteSeen(this.name)) this.o.log?.(`${this.name}: no route from a Router Advertisement yet`);
  }

  private lease(
    how: 'dhcp' | 'slaac',
    address: string,
    prefixLength: number,
    opts: readonly Dhcp6Option[],
    extra: { server?: string; leaseSeconds?: number },
  ): Lease {
    const router = ip6DefaultRouter(this.name);
    const url = bootFileUrl(opts);
    const domain = domainList(findOption(opts, OPT6.DOMAIN_LIST))[0];
    return {
      iface: this.name,
      mac: this.o.nic.mac,
      family: 6,
      how,
      address,
      prefixLength,
      ...(router ? { router } : {}),
      dns: addressList(findOption(opts, OPT6.DNS_SERVERS)),
      ...(domain ? { domain } : {}),
      ntp: [...ntpServers(findOption(opts, OPT6.NTP_SERVER)), ...addressList(findOption(opts, OPT6.SNTP_SERVERS))],
      ...(extra.server !== undefined ? { server: extra.server } : {}),
      ...(extra.leaseSeconds !== undefined ? { leaseSeconds: extra.leaseSeconds } : {}),
      ...(url ? { bootUrl: url } : {}),
      identity: this.o.identity,
    };
  }

  /** IA_NA with our IAID, T1/T2 0 (the server decides), and the address we ask for. */
  private iaNa(address?: Uint8Array): Dhcp6Option {
    const inner = address
      ? encodeOptions([{ code: OPT6.IAADDR, data: Uint8Array.of(...address, ...u32(0), ...u32(0)) }])
      : new Uint8Array(0);
    return { code: OPT6.IA_NA, data: Uint8Array.of(...u32(this.iaid), ...u32(0), ...u32(0), ...inner) };
  }

  private send(type: number, xid: number, start: number, extra: Dhcp6Option[]): void {
    const elapsed = Math.min(0xffff, Math.floor((Date.now() - start) / 10));
    const options: Dhcp6Option[] = [
      { code: OPT6.CLIENTID, data: this.duid },
      ...extra,
      { code: OPT6.ELAPSED_TIME, data: u16(Math.max(0, elapsed)) },
      {
        code: OPT6.ORO,
        data: Uint8Array.from(requestedOptions(type === MSG6.INFORMATION_REQUEST).flatMap((c) => [...u16(c)])),
      },
      ...identityOptions6(this.o.identity),
    ];
    this.tries++;
    this.sock.send(encodeDhcp6({ type, xid, options }));
  }

  /**
   * The next message of `type` for this exchange (our xid and client id, a server id) before
   * `until`. An Information-Request's Reply may lack the server id: it binds no state, and
   * QEMU's user networking (libslirp's stateless server) sends none (docs/net-dhcp.md §10).
   */
  private async receive(
    xid: number,
    type: number,
    until: number,
    serverIdOptional = false,
  ): Promise<Received | undefined> {
    for (;;) {
      const r = await this.sock.next(until, this.answered ? this.o.signal : this.anySignal);
      if (!r) return undefined;
      if (r.msg.type !== type || r.msg.xid !== xid) continue;
      const cid = findOption(r.msg.options, OPT6.CLIENTID);
      if (!cid || Buffer.compare(cid, this.duid) !== 0) continue;
      if (!serverIdOptional && !findOption(r.msg.options, OPT6.SERVERID)) continue;
      if (!this.answered) this.o.onAnswer?.();
      this.answered = true;
      this.o.log?.(
        `${this.name}: DHCPv6 ${type === MSG6.ADVERTISE ? 'Advertise' : 'Reply'} from ${r.from} (server ${duidHex(r.msg.options, OPT6.SERVERID) ?? 'id absent'})`,
      );
      return r;
    }
  }

  private expired(): boolean {
    if (this.o.quiet?.aborted && !this.answered) return true;
    return Date.now() >= this.until || this.o.signal?.aborted === true;
  }

  /** Ends early when the exchange is cut (the signal, or the quiet one while nobody answered). */
  private sleep(ms: number): Promise<void> {
    return sleep(Math.min(ms, this.until - Date.now()), this.answered ? this.o.signal : this.anySignal);
  }
}
