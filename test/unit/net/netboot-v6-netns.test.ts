// `tendril netboot`'s IPv6 lease stage against real dnsmasq servers, in network namespaces this
// test creates and deletes (nothing in the root namespace). Each server has its own namespace and
// one veth to the client namespace C, whose ends have no static IPv6 address: what C gets comes
// from DHCPv6 or SLAAC. What it proves:
// - stateful DHCPv6 (Solicit/Advertise/Request/Reply): each identity's vendor class (enterprise
//   343), user class and architecture reach dnsmasq (its tags in the --log-dhcp log) and bring back
//   that identity's boot file URL (option 59) and an address from the range, put on the NIC;
// - stateless (RA without M flag, dnsmasq answers Solicit with NoAddrsAvail): a SLAAC address in
//   the RA's prefix, and DNS and the boot URL from an Information-Request; beside it a DHCPv4
//   lease from the same server, and resolv.conf takes the IPv4 lease's DNS;
// - one family dead: the other's lease stands and the error names the interface and family;
// - an RA without any DHCPv6 server beside DHCPv4: the SLAAC lease stands, with no error;
// - the whole CLI path on IPv6 alone: lease → boot file over http or tftp at [2001:db8::1] → plan;
// - a dual-stack NIC where only the IPv6 lease names a boot file: its entries alone, no noise;
// - the DHCPv6 address put on the NIC by busybox's ip, as in the initramfs.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { nginxArgs, nginxConf } from '../../fixtures/nginx';
import { startDnsmasq, waitFor } from '../../fixtures/dnsmasq';

const ROOT = path.join(__dirname, '..', '..', '..');
const C = `tn6C${process.pid}`;
const S6 = `tn6F${process.pid}`; // stateful DHCPv6 (+ RA), http (nginx) and tftp: link ca
const SL = `tn6L${process.pid}`; // DHCPv4 + stateless DHCPv6 with SLAAC: link cb
const S4 = `tn6V${process.pid}`; // DHCPv4 only: link cd
const SR = `tn6R${process.pid}`; // DHCPv4 + RA only (no DHCPv6 server): link ce
const IPROUTE2 = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();
const children: ChildProcess[] = [];
let dir = '';
let kernel: Buffer;
const initrd = Buffer.from('070701'.padEnd(512, '0'));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const SCRIPT = `#!ipxe
kernel http://[2001:db8::1]/vmlinuz tendril.test=v6-only
initrd http://[2001:db8::1]/initrd.img
boot
`;

function sh(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('netboot-v6-netns tests need root (they create network namespaces)');
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`netboot-v6-netns tests need iproute2's 'ip netns': ${r.stderr || r.error}`);
  for (const bin of ['/usr/sbin/dnsmasq', '/usr/sbin/nginx'])
    if (!fs.existsSync(bin)) throw new Error(`netboot-v6-netns tests need ${bin} (scripts/setup.sh)`);
}

interface Out {
  readonly code: number | null;
  readonly json: {
    leases: Record<string, unknown>[];
    errors: { iface: string; reason: string; message: string }[];
  };
  readonly stdout: string;
  readonly stderr: string;
}

function cli(
  args: string[],
  pathEnv = process.env.PATH ?? '/usr/bin:/bin',
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    IPROUTE2,
    ['netns', 'exec', C, process.execPath, path.join(ROOT, 'bin', 'tendril.js'), 'netboot', ...args],
    { encoding: 'utf8', timeout: 120_000, env: { PATH: pathEnv } },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function leases(args: string[], pathEnv?: string): Out {
  const r = cli(['--leases-only', '--json', ...args], pathEnv);
  try {
    return { ...r, json: JSON.parse(r.stdout) as Out['json'] };
  } catch {
    throw new Error(`netboot printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

function addrs6(dev: string): string[] {
  const j = JSON.parse(sh(['ip', '-n', C, '-j', '-6', 'addr', 'show', 'dev', dev, 'scope', 'global'])) as {
    addr_info: { local: string; prefixlen: number }[];
  }[];
  return j.flatMap((i) => i.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

/** A server namespace `ns` with veth `srv` whose peer `cli` goes to C. */
function serverNs(ns: string, srv: string, cli: string, addrs: string[]): void {
  sh(['ip', 'netns', 'add', ns]);
  sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  sh(['ip', '-n', ns, 'link', 'add', srv, 'type', 'veth', 'peer', 'name', cli, 'netns', C]);
  for (const a of addrs) sh(['ip', '-n', ns, 'addr', 'add', a, 'dev', srv, ...(a.includes(':') ? ['nodad'] : [])]);
  sh(['ip', '-n', ns, 'link', 'set', srv, 'up']);
}

async function dnsmasq(ns: string, iface: string, log: string, args: string[]): Promise<void> {
  children.push(
    await startDnsmasq(
      ns,
      iface,
      path.join(dir, log),
      args,
      /(DHCPv6, IP range|DHCPv6 stateless on|router advertisement on)/,
    ),
  );
}

const logSize = (name: string) => fs.statSync(path.join(dir, name)).size;
const logSince = (name: string, from: number) => fs.readFileSync(path.join(dir, name), 'utf8').slice(from);
/** Each `tags:` line of a dnsmasq log, its tags sorted. */
const tagSets = (log: string) => [...log.matchAll(/ tags: (.*)$/gm)].map((m) => m[1]!.split(', ').sort());

function inRange6(a: unknown): boolean {
  const m = /^2001:db8::([0-9a-f]{3})$/.exec(String(a));
  return !!m && parseInt(m[1]!, 16) >= 0x100 && parseInt(m[1]!, 16) <= 0x1ff;
}

beforeAll(async () => {
  requireRoot();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-netboot6-'));
  sh(['ip', 'netns', 'add', C]);
  sh(['ip', '-n', C, 'link', 'set', 'lo', 'up']);
  serverNs(S6, 'va', 'ca', ['2001:db8::1/64']);
  serverNs(SL, 'vb', 'cb', ['192.0.2.1/24', '2001:db8:1::1/64']);
  serverNs(S4, 'vd', 'cd', ['198.51.100.1/24']);
  serverNs(SR, 've', 'ce', ['203.0.113.1/24', '2001:db8:2::1/64']);
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  kernel = fs.readFileSync(hostKernel().vmlinuz);
  fs.writeFileSync(path.join(www, 'vmlinuz'), kernel);
  fs.writeFileSync(path.join(www, 'initrd.img'), initrd);
  fs.writeFileSync(path.join(www, 'boot.ipxe'), SCRIPT);
  fs.writeFileSync(path.join(www, 'stateless.ipxe'), SCRIPT.replace(/2001:db8::1/g, '2001:db8:1::1'));
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    nginxConf({ dir, root: www, servers: ['server { listen [2001:db8::1]:80; }'] }),
  );
  const nginx = spawn('ip', ['netns', 'exec', S6, '/usr/sbin/nginx', ...nginxArgs(dir)], { stdio: 'ignore' });
  children.push(nginx);
  // A second nginx, for the stateless link's boot file.
  const slDir = path.join(dir, 'sl');
  fs.mkdirSync(slDir);
  fs.writeFileSync(
    path.join(slDir, 'nginx.conf'),
    nginxConf({ dir: slDir, root: www, servers: ['server { listen [2001:db8:1::1]:80; }'] }),
  );
  children.push(spawn('ip', ['netns', 'exec', SL, '/usr/sbin/nginx', ...nginxArgs(slDir)], { stdio: 'ignore' }));
  await dnsmasq(S6, 'va', 'stateful.log', [
    '--dhcp-range=2001:db8::100,2001:db8::1ff,64,1h',
    '--enable-ra',
    '--dhcp-vendorclass=set:pxe,enterprise:343,PXEClient',
    '--dhcp-vendorclass=set:http,enterprise:343,HTTPClient',
    '--dhcp-userclass=set:ipxe,iPXE',
    '--dhcp-userclass=set:tendril,tendril',
    '--dhcp-match=set:arch7,option6:61,7',
    '--dhcp-match=set:arch16,option6:61,16',
    '--dhcp-option=tag:pxe,tag:!ipxe,tag:!tendril,option6:bootfile-url,tftp://[2001:db8::1]/boot.ipxe',
    '--dhcp-option=tag:http,option6:bootfile-url,http://[2001:db8::1]/boot.ipxe',
    '--dhcp-option=tag:ipxe,option6:bootfile-url,http://[2001:db8::1]/menu.ipxe',
    '--dhcp-option=tag:tendril,option6:bootfile-url,http://[2001:db8::1]/tendril.json',
    '--dhcp-option=option6:dns-server,[2001:db8::53]',
    '--enable-tftp',
    '--user=root',
    `--tftp-root=${www}`,
  ]);
  await dnsmasq(SL, 'vb', 'stateless.log', [
    '--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,1h',
    '--dhcp-option=6,192.0.2.53',
    '--dhcp-range=2001:db8:1::,ra-stateless',
    '--enable-ra',
    '--dhcp-option=option6:dns-server,[2001:db8:1::53]',
    '--dhcp-option=option6:domain-search,v6.test',
    '--dhcp-option=option6:bootfile-url,http://[2001:db8:1::1]/stateless.ipxe',
  ]);
  await dnsmasq(SR, 've', 'ra-only.log', [
    '--dhcp-range=203.0.113.100,203.0.113.150,255.255.255.0,1h',
    '--dhcp-range=2001:db8:2::,ra-only',
    '--enable-ra',
  ]);
  const s4 = spawn(
    'ip',
    [
      'netns',
      'exec',
      S4,
      '/usr/sbin/dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--port=0',
      '--interface=vd',
      '--bind-interfaces',
      '--no-ping',
      `--dhcp-leasefile=${dir}/v4.leases`,
      `--pid-file=${dir}/v4.pid`,
      '--dhcp-range=198.51.100.100,198.51.100.150,255.255.255.0,1h',
    ],
    { stdio: 'ignore' },
  );
  children.push(s4);
  await waitFor('nginx on [2001:db8::1]:80', () =>
    /\[2001:db8::1\]:80\s/.test(sh(['ip', 'netns', 'exec', S6, 'ss', '-ltnH'])),
  );
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  for (const ns of [C, S6, SL, S4, SR]) spawnSync('ip', ['netns', 'del', ns]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('tendril netboot over IPv6 in network namespaces', () => {
  it.each([
    ['pxe', 'tftp://[2001:db8::1]/boot.ipxe', ['arch7', 'dhcpv6', 'pxe', 'va']],
    ['http', 'http://[2001:db8::1]/boot.ipxe', ['arch16', 'dhcpv6', 'http', 'va']],
    ['ipxe', 'http://[2001:db8::1]/menu.ipxe', ['arch7', 'dhcpv6', 'ipxe', 'pxe', 'va']],
    ['tendril', 'http://[2001:db8::1]/tendril.json', ['arch7', 'dhcpv6', 'pxe', 'tendril', 'va']],
  ])(
    'stateful DHCPv6, %s: its tags reach dnsmasq, its boot URL and a range address come back',
    (identity, url, tags) => {
      const from = logSize('stateful.log');
      const r = leases(['--family', '6', '--identity', identity, '--iface', 'ca', '--timeout', '20']);
      expect(r.json.errors).toEqual([]);
      expect(r.code).toBe(0);
      expect(r.json.leases).toHaveLength(1);
      const l = r.json.leases[0]!;
      expect(l).toMatchObject({
        iface: 'ca',
        family: 6,
        how: 'dhcp',
        prefixLength: 128,
        dns: ['2001:db8::53'],
        bootUrl: url,
        identity,
        leaseSeconds: 3600,
      });
      expect(inRange6(l.address)).toBe(true);
      expect(String(l.server)).toMatch(/^fe80::/);
      // The RA's router (dnsmasq --enable-ra), when the kernel lists it: its default route
      // sometimes goes between runs here while the on-link prefix stays (docs/net-dhcp.md §9).
      if (typeof l.router === 'string') expect(l.router).toMatch(/^fe80::/);
      expect(addrs6('ca')).toContain(`${String(l.address)}/128`);
      const log = logSince('stateful.log', from);
      expect(log).toMatch(/DHCPSOLICIT\(va\) 00:0[34]:/);
      expect(log).toMatch(/DHCPREQUEST\(va\)/);
      expect(log).toContain(`DHCPREPLY(va) ${String(l.address)}`);
      expect(log).toContain('vendor class: 343');
      expect(tagSets(log)).toContainEqual(tags);
    },
  );

  it('stateless: a SLAAC address, DNS and boot URL by Information-Request; DHCPv4 beside it; resolv.conf from IPv4', () => {
    const from = logSize('stateless.log');
    const resolv = path.join(dir, 'resolv.conf');
    const r = leases(['--iface', 'cb', '--timeout', '20', '--resolv-conf', resolv]);
    expect(r.json.errors).toEqual([]);
    expect(r.json.leases.map((l) => l.family)).toEqual([4, 6]);
    const v6 = r.json.leases[1]!;
    expect(v6).toMatchObject({
      iface: 'cb',
      family: 6,
      how: 'slaac',
      prefixLength: 64,
      dns: ['2001:db8:1::53'],
      domain: 'v6.test',
      bootUrl: 'http://[2001:db8:1::1]/stateless.ipxe',
    });
    expect(String(v6.address)).toMatch(/^2001:db8:1:[0-9a-f:]+$/);
    expect(addrs6('cb')).toContain(`${String(v6.address)}/64`);
    expect(r.json.leases[0]).toMatchObject({ iface: 'cb', family: 4, dns: ['192.0.2.53'] });
    const log = logSince('stateless.log', from);
    expect(log).toMatch(/DHCPSOLICIT\(vb\)/);
    expect(log).toMatch(/DHCPINFORMATION-REQUEST\(vb\)/);
    expect(log).not.toMatch(/DHCPREPLY\(vb\) 2001/);
    // Only the IPv4 lease's DNS: an IPv6 lease's goes there only when no IPv4 lease has any.
    expect(fs.readFileSync(resolv, 'utf8')).toMatch(/nameserver 192\.0\.2\.53\n$/);
    expect(fs.readFileSync(resolv, 'utf8')).not.toContain('2001:db8');
  });

  it('IPv4 dead, IPv6 alive: the IPv6 lease, and an error naming the interface and DHCPv4', () => {
    const r = leases(['--identity', 'http', '--iface', 'ca', '--timeout', '20']);
    expect(r.code).toBe(0);
    expect(r.json.leases).toHaveLength(1);
    expect(r.json.leases[0]).toMatchObject({ iface: 'ca', family: 6, how: 'dhcp' });
    expect(r.json.errors).toEqual([
      {
        iface: 'ca',
        reason: 'no DHCPv4 lease on ca within 5 s of its IPv6 lease',
        message: 'ca: no DHCPv4 lease on ca within 5 s of its IPv6 lease',
      },
    ]);
  });

  it('IPv6 dead, IPv4 alive: the IPv4 lease, and an error naming the interface and DHCPv6', () => {
    const r = leases(['--iface', 'cd', '--timeout', '20']);
    expect(r.code).toBe(0);
    expect(r.json.leases).toHaveLength(1);
    expect(r.json.leases[0]).toMatchObject({ iface: 'cd', family: 4, how: 'dhcp' });
    expect(r.json.errors).toHaveLength(1);
    expect(r.json.errors[0]!.iface).toBe('cd');
    // Nothing IPv6 ever answered: cut soon after the link-local address, not after the whole grace.
    expect(r.json.errors[0]!.reason).toMatch(
      /^IPv6: no Router Advertisement or DHCPv6 reply on cd within \d+\.\d s of its link-local address$/,
    );
  });

  it('IPv6 alone and nothing answers: exit 1 and the DHCPv6 error', () => {
    const r = leases(['--family', '6', '--iface', 'cd', '--timeout', '4']);
    expect(r.code).toBe(1);
    expect(r.json.leases).toEqual([]);
    expect(r.json.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^cd: no DHCPv6 reply on cd after \d+ tr(y|ies)$/),
    ]);
  });

  it.each([
    ['http', 'http://[2001:db8::1]/boot.ipxe'],
    ['pxe', 'tftp://[2001:db8::1]/boot.ipxe'],
  ])('IPv6 only, %s: lease → boot file at %s → the dry run plans its kernel and initrd', (identity, url) => {
    const r = cli(['--dry-run', '--family', '6', '--identity', identity, '--iface', 'ca', '--timeout', '20']);
    if (r.code !== 0) console.error(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`ca: 2001:db8::[0-9a-f]+/128 .*boot ${url.replace(/[[\].]/g, '\\$&')}`));
    expect(r.stdout).toContain(sha(kernel));
    expect(r.stdout).toContain(sha(initrd));
    expect(r.stdout).toContain('tendril.test=v6-only');
  });

  it('both families on one NIC, only the SLAAC lease names a boot file: its entries, no "names no boot file"', () => {
    const r = cli(['--json', '--iface', 'cb', '--timeout', '20']);
    const j = JSON.parse(r.stdout) as {
      leases: { family: number }[];
      bootFiles: { iface: string; url?: string }[];
      entries: { target?: unknown; reason?: string }[];
      diagnostics: { message: string }[];
    };
    expect(j.leases.map((l) => l.family)).toEqual([4, 6]);
    expect(j.bootFiles).toEqual([
      expect.objectContaining({ iface: 'cb', url: 'http://[2001:db8:1::1]/stateless.ipxe' }),
    ]);
    expect(j.entries).toHaveLength(1);
    expect(j.entries[0]!.reason).toBeUndefined();
    expect(j.diagnostics.map((d) => d.message).join('\n')).not.toContain('names no boot file');
    expect(r.code).toBe(0);
  });

  it('RA without a DHCPv6 server, DHCPv4 beside it: the SLAAC lease stands without extras, no error', () => {
    // The router is heard before tendril starts: under a loaded CI host dnsmasq has answered the
    // first Router Solicitation later than the short wait for a silent network allows (the IPv4-only
    // case above tests that wait). What this case is about is the lease with nothing but an RA.
    sh(['ip', 'netns', 'exec', C, 'sysctl', '-qw', 'net.ipv6.conf.ce.disable_ipv6=0', 'net.ipv6.conf.ce.accept_ra=1']);
    sh(['ip', '-n', C, 'link', 'set', 'ce', 'up']);
    const until = Date.now() + 60_000;
    while (!sh(['ip', '-n', C, '-6', 'route', 'show', 'dev', 'ce', 'proto', 'ra']).trim()) {
      if (Date.now() > until) throw new Error('no Router Advertisement on ce within 60 s (dnsmasq ra-only)');
      spawnSync('sleep', ['0.2']);
    }
    const r = leases(['--iface', 'ce', '--timeout', '30']);
    expect(r.json.errors).toEqual([]);
    expect(r.json.leases.map((l) => [l.family, l.how])).toEqual([
      [4, 'dhcp'],
      [6, 'slaac'],
    ]);
    const v6 = r.json.leases[1]!;
    expect(String(v6.address)).toMatch(/^2001:db8:2:[0-9a-f:]+$/);
    expect(v6.dns).toEqual([]);
    expect(v6.bootUrl).toBeUndefined();
    expect(v6.server).toBeUndefined();
    // Nothing answered DHCPv6: the server logs no DHCPv6 message at all.
    expect(logSince('ra-only.log', 0)).not.toMatch(/DHCP(SOLICIT|INFORMATION-REQUEST)/);
  });

  it("stateful DHCPv6 through busybox's ip, as in the initramfs: the address goes on the NIC", () => {
    const bin = path.join(dir, 'busybox-bin');
    fs.mkdirSync(bin, { recursive: true });
    if (!fs.existsSync(path.join(bin, 'ip')))
      fs.symlinkSync(fs.existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox', path.join(bin, 'ip'));
    // A new address for the NIC: the old one is removed first, so busybox must add it.
    sh(['ip', '-n', C, '-6', 'addr', 'flush', 'dev', 'ca', 'scope', 'global']);
    const r = leases(['--family', '6', '--iface', 'ca', '--timeout', '20'], `${bin}:${process.env.PATH ?? ''}`);
    expect(r.json.errors).toEqual([]);
    const l = r.json.leases[0]!;
    expect(l).toMatchObject({ iface: 'ca', family: 6, how: 'dhcp', prefixLength: 128 });
    expect(addrs6('ca')).toContain(`${String(l.address)}/128`);
  });
});
