// The lease stage of network boot: bring every chosen NIC up at once, wait for carrier, get a
// lease per NIC and family (DHCPv4 or a static `ip=` plan; DHCPv6 or SLAAC beside it), configure
// it. Failures are collected per interface and family rather than thrown, so one dead NIC or
// family never hides another's lease. docs/net-dhcp.md §5 and §11.

import { dhcp4Lease } from './dhcp4/client';
import { readSystemUuid } from './dhcp4/identity';
import { proxyBootRequest } from './dhcp4/proxy';
import { applyLease6 } from './dhcp6/apply';
import { dhcp6Lease } from './dhcp6/client';
import { enableIpv6, raRouteSeen } from './dhcp6/ifaddr';
import { applyLease, linkUp, listNics, nicsWithoutNetdev, runIp, waitCarrier, type NicInfo } from './link';
import { staticLease, type IpPlan, type NetPlan } from './manual';
import { NetError, type Identity, type Lease } from './types';

export interface AcquireOptions {
  /** Interfaces to use; empty: every device-backed Ethernet NIC. */
  readonly ifaces?: readonly string[];
  readonly identity?: Identity;
  /** Which address families to configure on an automatic NIC (default both, in parallel). */
  readonly family?: NetFamily;
  /** Per-NIC deadline for carrier and lease together (default 60 s, the PXE schedule). */
  readonly timeoutMs?: number;
  /** Manual configuration (`ip=`/`nameserver=`); without it, DHCPv4 on every NIC. */
  readonly plan?: NetPlan;
  /** Configure the leases on the interfaces (default true). */
  readonly configure?: boolean;
  /** Write DNS servers here (e.g. /etc/resolv.conf), from the first IPv4 lease that has some, else IPv6. */
  readonly resolvConf?: string;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export interface Acquired {
  readonly leases: Lease[];
  /** One per interface and family that got no lease; `subject` names the interface, the reason the family. */
  readonly errors: NetError[];
}

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_CARRIER_WAIT_MS = 10_000;
const NIC_SCAN_MS = 100;
/** Once one family has its lease on a NIC, how much longer the other may take (docs/net-dhcp.md §11). */
export const OTHER_FAMILY_GRACE_MS = 5000;
/**
 * IPv6 that nothing has answered (no RA route, no DHCPv6 message) when the IPv4 lease comes ends
 * this long after the NIC's link-local address is ready (at least SILENT_IPV6_AFTER_LEASE_MS after
 * the lease): the kernel sends its first Router Solicitation then, and a router answers within
 * 3.5 s even when it has just sent an RA (MIN_DELAY_BETWEEN_RAS 3 s plus MAX_RA_DELAY_TIME 0.5 s,
 * RFC 4861 §6.2.6; dnsmasq did delay that long on the test host); our first Solicit leaves within
 * 1 s (RFC 8415 §18.2.1). On an IPv4-only network this ends IPv6 sooner than the whole grace after
 * the lease (docs/net-dhcp.md §11).
 */
export const SILENT_IPV6_AFTER_LINK_LOCAL_MS = 4000;
export const SILENT_IPV6_AFTER_LEASE_MS = 1000;
/** How often the short grace looks for a router's route. */
const HEARD_POLL_MS = 250;

/** `net.family`: both families in parallel, or one alone. */
export type NetFamily = 'both' | '4' | '6';

export async function acquireLeases(o: AcquireOptions = {}): Promise<Acquired> {
  const t0 = Date.now();
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // NICs that appear within the carrier wait (a driver still loading, a cable-side USB NIC) are
  // picked up too: named ones are waited for, and the default set is rescanned while it runs.
  const appearBy = t0 + Math.min(MAX_CARRIER_WAIT_MS, timeoutMs);
  const uuid = readSystemUuid();
  const errors: NetError[] = [];
  const leases: Lease[] = [];
  const started: NicInfo[] = [];
  const running = new Set<Promise<void>>();
  const start = (nic: NicInfo) => {
    started.push(nic);
    const task = leasesOn(nic, planFor(nic, started, o.plan), o, timeoutMs, uuid, {
      lease: (l) => void leases.push(l),
      error: (e) => void errors.push(e),
    }).catch((e: unknown) => void errors.push(asNetError(nic.name, e)));
    running.add(task);
    void task.finally(() => running.delete(task));
  };
  const named = o.ifaces ?? [];
  const waiting = new Set(named);
  const announced = new Set<string>();
  for (;;) {
    if (named.length > 0)
      for (const name of waiting) {
        let nic: NicInfo | undefined;
        try {
          nic = listNics([name])[0];
        } catch (e) {
          // Missing for now: wait for it; anything else (not Ethernet, a bad name) is final.
          if (e instanceof NetError && e.reason === 'no such network interface') {
            if (!announced.has(name)) o.log?.(`${name}: waiting for the interface to appear`);
            announced.add(name);
            continue;
          }
          errors.push(asNetError(name, e));
        }
        waiting.delete(name);
        if (nic) start(nic);
      }
    else for (const nic of listNics()) if (!started.some((n) => n.name === nic.name)) start(nic);
    const done = named.length > 0 ? waiting.size === 0 : started.length > 0 && running.size === 0;
    if (done || Date.now() >= appearBy || o.signal?.aborted) break;
    await new Promise((r) => setTimeout(r, NIC_SCAN_MS));
  }
  const waited = `${Math.round((Date.now() - t0) / 1000)} s`;
  for (const name of waiting) errors.push(new NetError(name, `no such network interface (waited ${waited})`));
  if (named.length === 0 && started.length === 0) {
    const missing = nicsWithoutNetdev();
    errors.push(
      new NetError(
        'network',
        `no Ethernet interface after ${waited}${missing.length ? `: ${missing.join('; ')}` : ''}`,
      ),
    );
  }
  while (running.size > 0) await Promise.all(running);
  if (o.resolvConf !== undefined && o.configure !== false) {
    // An IPv6 lease's DNS servers only when no IPv4 lease brought any.
    const first = leases.find((l) => l.family === 4 && l.dns.length > 0) ?? leases.find((l) => l.dns.length > 0);
    if (first) await applyLease(first, { resolvConf: o.resolvConf, dnsOnly: true });
  }
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  leases.sort((a, b) => byName(a.iface, b.iface) || a.family - b.family);
  errors.sort((a, b) => byName(a.subject, b.subject));
  return { leases, errors };
}

/**
 * The plan for one NIC: the `ip=` naming it; else one naming no interface (a static one only for
 * the first NIC started, `all[0]`); else DHCP.
 */
export function planFor(
  nic: Pick<NicInfo, 'name'>,
  all: readonly Pick<NicInfo, 'name'>[],
  plan: NetPlan | undefined,
): IpPlan {
  const dhcp: IpPlan = { kind: 'auto', method: 'dhcp' };
  if (!plan || plan.ips.length === 0) return dhcp;
  const match = plan.ips.find((p) => p.iface === nic.name);
  if (match) return match;
  const anyStatic = plan.ips.find((p) => p.kind === 'static' && !p.iface);
  if (anyStatic) return nic === all[0] ? anyStatic : { kind: 'auto', method: 'off' };
  const anyAuto = plan.ips.find((p) => p.kind === 'auto' && !p.iface);
  if (anyAuto) return anyAuto;
  // ip= named other interfaces only: leave this one alone.
  return { kind: 'auto', method: 'off' };
}

interface Sink {
  lease(l: Lease): void;
  error(e: NetError): void;
}

/** The families a plan asks for: a static ip= is IPv4; dhcp6/auto6 are IPv6; DHCP follows net.family. */
export function familiesFor(plan: IpPlan, family: NetFamily): { v4: boolean; v6: boolean } {
  if (plan.kind === 'static') return { v4: true, v6: false };
  if (plan.method === 'off' || plan.method === 'none') return { v4: false, v6: false };
  if (plan.method === 'dhcp6' || plan.method === 'auto6') return { v4: false, v6: true };
  return { v4: family !== '6', v6: family !== '4' };
}

/**
 * One NIC: link up, carrier, then each family's lease at the same time. When one family has its
 * lease, the other gets OTHER_FAMILY_GRACE_MS more, so a network without IPv6 (or without
 * DHCPv4) costs seconds, not the whole deadline; IPv6 that nothing has answered by then gets
 * less (SILENT_IPV6_AFTER_LINK_LOCAL_MS). An IPv6 exchange a server has answered keeps
 * its whole deadline (SLAAC may wait for the kernel's second router solicitation, 4 s on).
 */
async function leasesOn(
  nic: NicInfo,
  plan: IpPlan,
  o: AcquireOptions,
  timeoutMs: number,
  uuid: Uint8Array | undefined,
  out: Sink,
): Promise<void> {
  const fams = familiesFor(plan, o.family ?? 'both');
  const v4 = fams.v4;
  let v6 = fams.v6;
  if (!v4 && !v6) return;
  const start = Date.now();
  if (plan.mtu !== undefined) await runIp(nic.name, ['link', 'set', 'dev', nic.name, 'mtu', String(plan.mtu)]);
  // dracut's <macaddr> overrides the NIC's address (most drivers want the link down for it).
  if (plan.mac !== undefined && plan.mac !== nic.mac) {
    await runIp(nic.name, ['link', 'set', 'dev', nic.name, 'down']);
    await runIp(nic.name, ['link', 'set', 'dev', nic.name, 'address', plan.mac]);
    nic = { ...nic, mac: plan.mac };
  }
  if (v6)
    try {
      // Before the link comes up, so the kernel's router solicitation and SLAAC start with it.
      enableIpv6(nic.name);
    } catch (e) {
      out.error(family6Error(nic.name, e));
      v6 = false;
      if (!v4) return;
    }
  await linkUp(nic.name);
  await waitCarrier(nic.name, Math.min(MAX_CARRIER_WAIT_MS, timeoutMs), o.signal);
  const left = () => Math.max(1, timeoutMs - (Date.now() - start));
  const cut = { 4: new AbortController(), 6: new AbortController() };
  const graceTimers: NodeJS.Timeout[] = [];
  let heard6 = false;
  let linkLocalAt: number | undefined;
  /** Set when IPv6 was cut while silent: its error says so. */
  let silent6: string | undefined;
  const won = (family: 4 | 6) => {
    const leasedAt = Date.now();
    if (family === 6) {
      graceTimers.push(setTimeout(() => cut[4].abort(), OTHER_FAMILY_GRACE_MS));
      return;
    }
    // IPv6 after the IPv4 lease: the whole grace once a router or a DHCPv6 server was heard (or
    // while the link-local address is still in DAD), less while nothing answers.
    const check = (): void => {
      const heard = heard6 || raRouteSeen(nic.name);
      const full = leasedAt + OTHER_FAMILY_GRACE_MS;
      const end =
        heard || linkLocalAt === undefined
          ? full
          : Math.min(
              full,
              Math.max(leasedAt + SILENT_IPV6_AFTER_LEASE_MS, linkLocalAt + SILENT_IPV6_AFTER_LINK_LOCAL_MS),
            );
      const now = Date.now();
      if (now < end) {
        graceTimers.push(setTimeout(check, Math.min(end - now, HEARD_POLL_MS)));
        return;
      }
      if (!heard && linkLocalAt !== undefined)
        silent6 = `no Router Advertisement or DHCPv6 reply on ${nic.name} within ${((now - linkLocalAt) / 1000).toFixed(1)} s of its link-local address`;
      cut[6].abort();
    };
    check();
  };
  const signalFor = (family: 4 | 6) =>
    o.signal ? AbortSignal.any([o.signal, cut[family].signal]) : cut[family].signal;
  const tasks: Promise<void>[] = [];
  if (v4)
    tasks.push(
      lease4(nic, plan, o, left, uuid, out, signalFor(4)).then(
        (l) => {
          out.lease(l);
          won(4);
        },
        (e: unknown) => {
          const err = asNetError(nic.name, e);
          // The grace after the IPv6 lease ran out: say so rather than "DHCP cancelled".
          if (cut[4].signal.aborted && !o.signal?.aborted)
            out.error(
              new NetError(
                nic.name,
                `no DHCPv4 lease on ${nic.name} within ${OTHER_FAMILY_GRACE_MS / 1000} s of its IPv6 lease`,
              ),
            );
          else out.error(err);
        },
      ),
    );
  if (v6)
    tasks.push(
      lease6(nic, o, left(), uuid, cut[6].signal, {
        answer: () => (heard6 = true),
        linkLocal: () => (linkLocalAt = Date.now()),
      }).then(
        (l) => {
          out.lease(l);
          won(6);
        },
        (e: unknown) =>
          out.error(
            silent6 !== undefined && !o.signal?.aborted
              ? new NetError(nic.name, `IPv6: ${silent6}`)
              : family6Error(nic.name, e),
          ),
      ),
    );
  await Promise.all(tasks);
  for (const t of graceTimers) clearTimeout(t);
}

/** An IPv6 failure says it is one ("IPv6: …") unless its reason names DHCPv6 already. */
function family6Error(iface: string, e: unknown): NetError {
  const err = asNetError(iface, e);
  return /DHCPv6|IPv6/.test(err.reason) ? err : new NetError(err.subject, `IPv6: ${err.reason}`, err.permanent);
}

/** The IPv4 lease of one NIC: a static plan, or DHCPv4 (with a proxyDHCP's boot file). */
async function lease4(
  nic: NicInfo,
  plan: IpPlan,
  o: AcquireOptions,
  left: () => number,
  uuid: Uint8Array | undefined,
  out: Sink,
  signal: AbortSignal,
): Promise<Lease> {
  let lease: Lease;
  let proxyServer: string | undefined;
  if (plan.kind === 'static') lease = staticLease(plan, nic, o.plan?.nameservers);
  else {
    const r = await dhcp4Lease({
      nic,
      identity: o.identity ?? 'pxe',
      deadlineMs: left(),
      ...(uuid ? { uuid } : {}),
      signal,
      ...(o.log ? { log: o.log } : {}),
    });
    lease = r.lease;
    proxyServer = r.proxyServer;
    if (o.plan && o.plan.nameservers.length > 0)
      lease = { ...lease, dns: [...lease.dns, ...o.plan.nameservers.filter((n) => !lease.dns.includes(n))] };
  }
  if (plan.mtu !== undefined && lease.mtu === undefined) lease = { ...lease, mtu: plan.mtu };
  if (o.configure === false) return lease;
  await applyLease(lease, { onRouteError: (e) => out.error(e) });
  // A proxyDHCP server that named no boot file is asked on port 4011, from the new address.
  // Its failure leaves the lease standing and is reported beside it.
  if (proxyServer !== undefined)
    try {
      lease = await proxyBootRequest({
        lease,
        server: proxyServer,
        identity: o.identity ?? 'pxe',
        deadlineMs: Math.max(1000, left()),
        ...(uuid ? { uuid } : {}),
        ...(o.log ? { log: o.log } : {}),
      });
    } catch (e) {
      out.error(new NetError(nic.name, `proxyDHCP ${proxyServer}: ${e instanceof NetError ? e.reason : String(e)}`));
    }
  return lease;
}

/** The IPv6 lease of one NIC: DHCPv6, or SLAAC with an Information-Request (docs/net-dhcp.md §9, §10). */
async function lease6(
  nic: NicInfo,
  o: AcquireOptions,
  deadlineMs: number,
  uuid: Uint8Array | undefined,
  quiet: AbortSignal,
  on: { answer: () => void; linkLocal: () => void },
): Promise<Lease> {
  const lease = await dhcp6Lease({
    onAnswer: on.answer,
    onLinkLocal: on.linkLocal,
    nic,
    identity: o.identity ?? 'pxe',
    deadlineMs,
    ...(uuid ? { uuid } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    quiet,
    ...(o.log ? { log: o.log } : {}),
  });
  if (o.configure !== false) await applyLease6(lease);
  return lease;
}

function asNetError(iface: string, e: unknown): NetError {
  if (e instanceof NetError) return e;
  return new NetError(iface, e instanceof Error ? e.message : String(e));
}
