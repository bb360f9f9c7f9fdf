// The lease stage of network boot: bring every chosen NIC up at once, wait for carrier, get one
// lease per NIC (DHCPv4, or a static `ip=` plan), configure it. Failures are collected per
// interface rather than thrown, so one dead NIC never hides another's lease. docs/net-dhcp.md §5.

import { dhcp4Lease } from './dhcp4/client';
import { readSystemUuid } from './dhcp4/identity';
import { proxyBootRequest } from './dhcp4/proxy';
import { applyLease, linkUp, listNics, nicsWithoutNetdev, runIp, waitCarrier, type NicInfo } from './link';
import { staticLease, type IpPlan, type NetPlan } from './manual';
import { NetError, type Identity, type Lease } from './types';

export interface AcquireOptions {
  /** Interfaces to use; empty: every device-backed Ethernet NIC. */
  readonly ifaces?: readonly string[];
  readonly identity?: Identity;
  /** Per-NIC deadline for carrier and lease together (default 60 s, the PXE schedule). */
  readonly timeoutMs?: number;
  /** Manual configuration (`ip=`/`nameserver=`); without it, DHCPv4 on every NIC. */
  readonly plan?: NetPlan;
  /** Configure the leases on the interfaces (default true). */
  readonly configure?: boolean;
  /** Write DNS servers here (e.g. /etc/resolv.conf), from the first lease that has some. */
  readonly resolvConf?: string;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export interface Acquired {
  readonly leases: Lease[];
  /** One per interface that got no lease; `subject` names the interface. */
  readonly errors: NetError[];
}

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_CARRIER_WAIT_MS = 10_000;
const NIC_SCAN_MS = 100;

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
    const task = leaseOn(nic, planFor(nic, started, o.plan), o, timeoutMs, uuid, (e) => errors.push(e)).then(
      (l) => void (l && leases.push(l)),
      (e: unknown) => void errors.push(asNetError(nic.name, e)),
    );
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
    const first = leases.find((l) => l.dns.length > 0);
    if (first) await applyLease(first, { resolvConf: o.resolvConf, dnsOnly: true });
  }
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  leases.sort((a, b) => byName(a.iface, b.iface));
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

async function leaseOn(
  nic: NicInfo,
  plan: IpPlan,
  o: AcquireOptions,
  timeoutMs: number,
  uuid: Uint8Array | undefined,
  warn: (e: NetError) => void,
): Promise<Lease | undefined> {
  if (plan.kind === 'auto' && (plan.method === 'off' || plan.method === 'none')) return undefined;
  if (plan.kind === 'auto' && (plan.method === 'dhcp6' || plan.method === 'auto6'))
    throw new NetError(
      nic.name,
      `ip=…:${plan.method} asks for IPv6 autoconfiguration, which this client does not do yet`,
    );
  const start = Date.now();
  if (plan.mtu !== undefined) await runIp(nic.name, ['link', 'set', 'dev', nic.name, 'mtu', String(plan.mtu)]);
  // dracut's <macaddr> overrides the NIC's address (most drivers want the link down for it).
  if (plan.mac !== undefined && plan.mac !== nic.mac) {
    await runIp(nic.name, ['link', 'set', 'dev', nic.name, 'down']);
    await runIp(nic.name, ['link', 'set', 'dev', nic.name, 'address', plan.mac]);
    nic = { ...nic, mac: plan.mac };
  }
  await linkUp(nic.name);
  await waitCarrier(nic.name, Math.min(MAX_CARRIER_WAIT_MS, timeoutMs), o.signal);
  let lease: Lease;
  let proxyServer: string | undefined;
  if (plan.kind === 'static') lease = staticLease(plan, nic, o.plan?.nameservers);
  else {
    const r = await dhcp4Lease({
      nic,
      identity: o.identity ?? 'pxe',
      deadlineMs: Math.max(1, timeoutMs - (Date.now() - start)),
      ...(uuid ? { uuid } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    lease = r.lease;
    proxyServer = r.proxyServer;
    if (o.plan && o.plan.nameservers.length > 0)
      lease = { ...lease, dns: [...lease.dns, ...o.plan.nameservers.filter((n) => !lease.dns.includes(n))] };
  }
  if (plan.mtu !== undefined && lease.mtu === undefined) lease = { ...lease, mtu: plan.mtu };
  if (o.configure === false) return lease;
  await applyLease(lease, { onRouteError: warn });
  // A proxyDHCP server that named no boot file is asked on port 4011, from the new address.
  // Its failure leaves the lease standing and is reported beside it.
  if (proxyServer !== undefined)
    try {
      lease = await proxyBootRequest({
        lease,
        server: proxyServer,
        identity: o.identity ?? 'pxe',
        deadlineMs: Math.max(1000, timeoutMs - (Date.now() - start)),
        ...(uuid ? { uuid } : {}),
        ...(o.log ? { log: o.log } : {}),
      });
    } catch (e) {
      warn(new NetError(nic.name, `proxyDHCP ${proxyServer}: ${e instanceof NetError ? e.reason : String(e)}`));
    }
  return lease;
}

function asNetError(iface: string, e: unknown): NetError {
  if (e instanceof NetError) return e;
  return new NetError(iface, e instanceof Error ? e.message : String(e));
}
