// `tendril netboot [--dry-run] [--json] [--verbose] [--iface IF]... [--identity ID] [--timeout S] [--ip IP]
// [--nameserver ADDR]... [--resolv-conf FILE]`: the lease stage of network boot. Brings the NICs
// up, gets and configures one lease per NIC, prints them (with --json an object with `leases` and
// `errors`, each error naming its interface). Exit 0 with at least one lease, 1 otherwise, 2 on
// bad usage. The boot-file stage comes later; --dry-run will then stop before kexec.
// docs/net-dhcp.md §5.

import { acquireLeases } from './acquire';
import { IDENTITIES } from './dhcp4/identity';
import { parseIpArg, type IpPlan } from './manual';
import { NetError, type Identity, type Lease } from './types';
import { ArgError, choice, commandArgs, type CommandSpec, custom, flag, num, text } from '../util/args';

export const NETBOOT_OPTIONS = {
  dryRun: flag({ help: 'get and configure leases, but boot nothing' }),
  json: flag({ help: 'print {"leases": [...], "errors": [...]} as JSON' }),
  verbose: flag({ help: 'log each DHCP message received on stderr' }),
  iface: text({ metavar: 'IF', repeat: true, help: 'use this interface (default: every Ethernet NIC with a device)' }),
  identity: choice({ values: IDENTITIES, help: 'the DHCP client identity (option 60/77/93), default pxe' }),
  timeout: num({
    metavar: 'S',
    min: 1,
    max: 600,
    unit: 'seconds',
    help: 'per-NIC deadline for carrier and lease, default 60',
  }),
  ip: custom({
    metavar: 'IP',
    help: "manual configuration in dracut's ip= syntax, e.g. 192.0.2.10::192.0.2.1:24::eth0:none",
    parse: (raw): IpPlan => {
      try {
        return parseIpArg(raw);
      } catch (e) {
        throw new ArgError(e instanceof NetError ? e.message : String(e));
      }
    },
  }),
  nameserver: custom({
    metavar: 'ADDR',
    repeat: true,
    help: "a DNS server, as dracut's nameserver=",
    parse: (raw) => {
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(raw) || raw.split('.').some((x) => Number(x) > 255))
        throw new ArgError(`needs an IPv4 address, got '${raw}'`);
      return raw;
    },
  }),
  resolvConf: text({ metavar: 'FILE', help: 'write the first lease with DNS servers to FILE (e.g. /etc/resolv.conf)' }),
};

export interface NetbootArgs {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly ifaces: readonly string[];
  readonly identity: Identity;
  readonly timeoutMs: number;
  readonly ips: readonly IpPlan[];
  readonly nameservers: readonly string[];
  readonly resolvConf?: string;
}

export const NETBOOT_COMMAND: CommandSpec<typeof NETBOOT_OPTIONS, NetbootArgs> = {
  name: 'netboot',
  synopsis:
    '[--dry-run] [--json] [--verbose] [--iface IF]... [--identity pxe|http|ipxe|tendril] [--timeout S] [--ip IP] [--nameserver ADDR]... [--resolv-conf FILE]',
  summary: 'Bring up the network and get a lease on every NIC (DHCPv4 or manual ip=); print the leases.',
  options: NETBOOT_OPTIONS,
  notes: ['Exit status: 0 with at least one lease, 1 with none, 2 on bad usage.'],
  build: (p) => ({
    json: p.opts.json,
    verbose: p.opts.verbose,
    ifaces: p.opts.iface,
    identity: p.opts.identity ?? 'pxe',
    timeoutMs: (p.opts.timeout ?? 60) * 1000,
    ips: p.opts.ip ? [p.opts.ip] : [],
    nameservers: p.opts.nameserver,
    ...(p.opts.resolvConf !== undefined ? { resolvConf: p.opts.resolvConf } : {}),
  }),
};

export async function runNetbootCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs(NETBOOT_COMMAND, argv);
  if ('exit' in parsed) return parsed.exit;
  return runParsed(parsed.args);
}

async function runParsed(a: NetbootArgs): Promise<number> {
  const { leases, errors } = await acquireLeases({
    ifaces: a.ifaces,
    identity: a.identity,
    timeoutMs: a.timeoutMs,
    plan: { ips: a.ips, nameservers: a.nameservers },
    ...(a.resolvConf !== undefined ? { resolvConf: a.resolvConf } : {}),
    ...(a.verbose ? { log: (line: string) => process.stderr.write(`tendril netboot: ${line}\n`) } : {}),
  });
  if (a.json) {
    const out = {
      leases,
      errors: errors.map((e) => ({ iface: e.subject, reason: e.reason, message: e.message })),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    for (const l of leases) process.stdout.write(describeLease(l) + '\n');
    for (const e of errors) process.stderr.write(`tendril netboot: ${e.message}\n`);
  }
  return leases.length > 0 ? 0 : 1;
}

export function describeLease(l: Lease): string {
  const parts = [`${l.iface}: ${l.address}/${l.prefixLength}`];
  if (l.router) parts.push(`via ${l.router}`);
  if (l.dns.length) parts.push(`dns ${l.dns.join(',')}`);
  if (l.bootUrl) parts.push(`boot ${l.bootUrl}`);
  const how = [l.how, l.identity, l.server ? `server ${l.server}` : undefined].filter(Boolean).join(', ');
  return `${parts.join(' ')} (${how})`;
}
