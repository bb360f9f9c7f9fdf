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

export async function acquireLeases(o: AcquireOptions = {}): Promise<Acquired> {
  const errors: NetError[] = [];
  const nics: NicInfo[] = [];
  if (o.ifaces && o.ifaces.length > 0)
    for (const name of o.ifaces) {
      try {
        nics.push(...listNics([name]));
      } catch (e) {
        errors.push(asNetError(name, e));
      }
    }
  else nics.push(...listNics());
  if (nics.length === 0 && errors.length === 0) {
    const missing = nicsWithoutNetdev();
    errors.push(new NetError('network', `no Ethernet interface${missing.length ? `: ${missing.join('; ')}` : ''}`));
  }
  const uuid = readSystemUuid();
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const results = await Promise.allSettled(
    nics.map((nic) => leaseOn(nic, planFor(nic, nics, o.plan), o, timeoutMs, uuid, (e) => errors.push(e))),
  );
  const leases: Lease[] = [];
  results.forEach((r, i) => {
    if (r.status === 'rejected') errors.push(asNetError(nics[i]!.name, r.reason));
    else if (r.value) leases.push(r.value);
  });
  if (o.resolvConf !== undefined && o.configure !== false) {
    const first = leases.find((l) => l.dns.length > 0);
    if (first) await applyLease(first, { resolvConf: o.resolvConf, dnsOnly: true });
  }
  return { leases, errors };
}

/** The plan for one NIC: the `ip=` naming it; one naming no interface (a static one: the first NIC only); else DHCP. */
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
  await applyLease(lease);
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
