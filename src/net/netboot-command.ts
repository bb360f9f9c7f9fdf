// `tendril netboot [--dry-run] [--json] [--leases-only] [--entry ID] ...`: network boot without the
// menu. The lease stage brings the NICs up and gets one lease per NIC (DHCPv4, or manual ip=;
// docs/net-dhcp.md §5); the boot stage turns each lease's boot file into entries (boot.ts,
// docs/net-bootfiles.md) and boots the default one (or --entry) through the same dispatch as a
// disk entry, falling through to the next bootable one; --dry-run prints the plan instead.
// Settings (README "Settings"): net.mode, net.identity, net.timeout, net.ca, net.proxy, net.ntp, net.clock,
// net.vlan and net.bond (VLANs and bonds made before the leases, docs/net-dhcp.md §13).

import { bootEntries, candidates } from '../boot/command';
import { ownConsoles } from '../kexec/cmdline';
import { printable } from '../util/printable';
import { loadSettings } from '../settings/load';
import { runNetwork, type NetMenu } from './boot';
import type { ClockReport } from './clock';
import type { SumsState } from './entry-sums';
import { progressPrinter } from './fetch-command';
import { describeVerification, entryVerification } from './verified';
import { menuOrigin, menuUkiUrlFiles } from './uki-url';
import { IDENTITIES } from './dhcp4/identity';
import { parseIpArg, type IpPlan } from './manual';
import { NetError, type Identity, type Lease, type TransferProgress } from './types';
import { prefetchOption } from './pull-prefetch';
import { ArgError, choice, commandArgs, type CommandSpec, custom, flag, num, text } from '../util/args';

export const NETBOOT_OPTIONS = {
  dryRun: flag({ help: 'print the boot plan (files, sizes, sha256, command line) instead of booting' }),
  json: flag({ help: 'print {"leases", "errors", "entries", "defaultId", "diagnostics"} as JSON (boots nothing)' }),
  leasesOnly: flag({ help: 'stop after the lease stage' }),
  entry: text({ metavar: 'ID', help: 'boot this network entry instead of the default' }),
  verbose: flag({ help: 'log each DHCP message received on stderr' }),
  iface: text({ metavar: 'IF', repeat: true, help: 'use this interface (default: every Ethernet NIC with a device)' }),
  identity: choice({
    values: IDENTITIES,
    help: 'the DHCP client identity (option 60/77/93), default net.identity (pxe)',
  }),
  family: choice({
    values: ['both', '4', '6'] as const,
    help: 'the address families to configure: both (DHCPv4 and DHCPv6/SLAAC in parallel), 4 or 6; default net.family (both)',
  }),
  timeout: num({
    metavar: 'S',
    min: 1,
    max: 600,
    unit: 'seconds',
    help: 'per-NIC deadline for carrier and lease, default net.timeout (60)',
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
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly leasesOnly: boolean;
  readonly entry?: string;
  readonly verbose: boolean;
  readonly ifaces: readonly string[];
  /** Absent: the settings' net.identity. */
  readonly identity?: Identity;
  /** Absent: the settings' net.family. */
  readonly family?: 'both' | '4' | '6';
  /** Absent: the settings' net.timeout. */
  readonly timeoutMs?: number;
  readonly ips: readonly IpPlan[];
  readonly nameservers: readonly string[];
  readonly resolvConf?: string;
}

export const NETBOOT_COMMAND: CommandSpec<typeof NETBOOT_OPTIONS, NetbootArgs> = {
  name: 'netboot',
  synopsis:
    '[--dry-run] [--json] [--leases-only] [--entry ID] [--verbose] [--iface IF]... [--identity pxe|http|ipxe|tendril] [--family both|4|6] [--timeout S] [--ip IP] [--nameserver ADDR]... [--resolv-conf FILE]',
  summary:
    "Boot from the network: leases on every NIC (DHCPv4 and DHCPv6/SLAAC, or manual ip=), the boot file's entries, kexec.",
  options: NETBOOT_OPTIONS,
  notes: [
    'Exit status: 0 with at least one lease (--leases-only, --json) or a plan (--dry-run); 1 otherwise; 2 on bad usage.',
  ],
  build: (p) => ({
    dryRun: p.opts.dryRun,
    json: p.opts.json,
    leasesOnly: p.opts.leasesOnly,
    ...(p.opts.entry !== undefined ? { entry: p.opts.entry } : {}),
    verbose: p.opts.verbose,
    ifaces: p.opts.iface,
    ...(p.opts.identity !== undefined ? { identity: p.opts.identity } : {}),
    ...(p.opts.family !== undefined ? { family: p.opts.family } : {}),
    ...(p.opts.timeout !== undefined ? { timeoutMs: p.opts.timeout * 1000 } : {}),
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
  const say = (line: string): void => void process.stderr.write(`tendril netboot: ${printable(line)}\n`);
  const { settings, problems } = loadSettings();
  for (const p of problems) say(`settings: ${p}`);
  const run = await runNetwork(settings.net, {
    trust: settings.trust,
    ifaces: a.ifaces,
    ...(a.identity !== undefined ? { identity: a.identity } : {}),
    ...(a.family !== undefined ? { family: a.family } : {}),
    ...(a.timeoutMs !== undefined ? { timeoutMs: a.timeoutMs } : {}),
    ips: a.ips,
    nameservers: a.nameservers,
    ...(a.resolvConf !== undefined ? { resolvConf: a.resolvConf } : {}),
    leasesOnly: a.leasesOnly,
    ...(a.verbose ? { verbose: say } : {}),
    onProgress: bigFilesOnly(progressPrinter(process.stderr)),
    onClock: (r) => say(r.line),
  });
  const { leases, errors, menu, clock } = run;
  const errorsJson = errors.map((e) => ({ iface: e.subject, reason: e.reason, message: e.message }));
  if (a.json && !menu)
    process.stdout.write(JSON.stringify({ leases, errors: errorsJson, ...(clock ? { clock } : {}) }, null, 2) + '\n');
  if (a.json && menu) process.stdout.write(JSON.stringify(menuJson(leases, errorsJson, menu, clock), null, 2) + '\n');
  if (!a.json) {
    for (const l of leases) process.stdout.write(describeLease(l) + '\n');
    for (const e of errors) say(e.message);
  }
  if (!menu) return leases.length > 0 && a.leasesOnly ? 0 : 1;
  if (a.json) return menu.entries.length > 0 ? 0 : 1;
  for (const d of menu.diagnostics) if (d.severity !== 'info') say(d.message);
  for (const e of menu.entries)
    process.stdout.write(
      `  ${printable(e.id)}  ${printable(e.displayTitle)}${e.default ? '  (default)' : ''}${e.status.ok ? '' : `  [cannot boot: ${printable(e.status.reason)}]`}\n`,
    );
  const first = a.entry ?? menu.settings.defaultId;
  if (!first) {
    say(`nothing to boot: ${menu.entries.length} network entries (${menu.settings.defaultReason})`);
    return 1;
  }
  const list = candidates(menu.entries, first, a.entry === undefined);
  if (typeof list === 'string') {
    say(list);
    return 1;
  }
  return bootEntries(
    list,
    {
      lookup: (id) => menu.fs(id),
      devices: menu.devices ?? [],
      kexec: {
        ownConsoles: ownConsoles(),
        // uki-url entries (a network ESP's) and bootorigin pulls (docs/net-bootfiles.md §8).
        ukiUrl: menuUkiUrlFiles(() => menu).resolve,
        ...originOf(settings.net.origin ?? menuOrigin(menu)),
        ...prefetchOption(settings.net),
      },
    },
    a.dryRun,
    undefined,
    undefined,
    undefined,
    { describeEntry: (e) => describeVerification(entryVerification(e, (id) => menu.fs(id))) },
  );
}

const originOf = (origin: string | undefined): { origin?: string } => (origin !== undefined ? { origin } : {});

/** Configs and scripts arrive in a blink: only files of 1 MiB or more get a progress line, and
 *  each its last line once (a transfer may report its end more than once). */
function bigFilesOnly(print: (p: TransferProgress) => void): (p: TransferProgress) => void {
  const done = new Set<string>();
  return (p) => {
    if ((p.total ?? p.done) < 1 << 20 || done.has(p.url)) return;
    if (p.total !== undefined && p.done >= p.total) done.add(p.url);
    print(p);
  };
}

function menuJson(leases: readonly Lease[], errors: readonly unknown[], m: NetMenu, clock?: ClockReport) {
  return {
    leases,
    errors,
    ...(clock ? { clock } : {}),
    bootFiles: m.sources.map((s) => ({ iface: s.lease.iface, ...(s.bootFile ?? {}), ...sumsJson(s.sums) })),
    entries: m.entries.map((e) => ({
      id: e.id,
      title: e.displayTitle,
      source: e.origin.source,
      file: e.origin.file,
      default: e.default,
      ...(e.status.ok ? { target: e.status.target } : { reason: e.status.reason }),
      files: entryVerification(e, (id) => m.fs(id)),
    })),
    defaultId: m.settings.defaultId ?? null,
    diagnostics: m.diagnostics.map((d) => ({
      severity: d.severity,
      message: d.message,
      ...(d.file !== undefined ? { file: d.file } : {}),
      ...(d.line !== undefined ? { line: d.line } : {}),
    })),
  };
}

/** What the signed SHA256SUMS next to a boot file said (docs/net-transfer.md §9). */
function sumsJson(s: SumsState | undefined): { sums?: Record<string, unknown> } {
  if (!s) return {};
  if (s.kind === 'verified') return { sums: { url: s.url, state: 'verified', signer: s.signer, files: s.hashes.size } };
  if (s.kind === 'failed') return { sums: { url: s.url, state: 'failed', reason: s.reason } };
  return { sums: { ...(s.url ? { url: s.url } : {}), state: 'none' } };
}

export function describeLease(l: Lease): string {
  const parts = [`${l.iface}: ${l.address}/${l.prefixLength}`];
  if (l.router) parts.push(`via ${l.router}`);
  for (const r of l.routes ?? []) parts.push(`route ${r.dest}/${r.prefix} via ${r.gateway}`);
  if (l.dns.length) parts.push(`dns ${l.dns.join(',')}`);
  if (l.bootUrl) parts.push(`boot ${l.bootUrl}`);
  const how = [l.how, l.identity, l.server ? `server ${l.server}` : undefined].filter(Boolean).join(', ');
  return `${parts.join(' ')} (${how})`;
}
