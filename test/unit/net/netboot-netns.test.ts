// `tendril netboot`'s lease stage against a real dnsmasq, in two network namespaces this test
// creates and deletes: S (server) holds one end of each veth pair, C (client) the other. The
// client runs as the real CLI inside C. What it proves: the PXE and HTTP identities reach
// dnsmasq (its --log-dhcp log shows the vendor class and the tag) and get their tagged boot
// file, 209/210, router and DNS; a NIC whose peer has no server gets "no DHCP offer" while the
// live one still gets its lease; a manual ip= puts the static address on the interface.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq, waitFor } from '../../fixtures/dnsmasq';

const ROOT = path.join(__dirname, '..', '..', '..');
const S = `tnbS${process.pid}`;
const C = `tnbC${process.pid}`;
// Two more servers behind a bridge in S, for the choice between offers.
const A = `tnbA${process.pid}`;
const B = `tnbB${process.pid}`;
// A plain server and a proxyDHCP server behind a second bridge.
const D = `tnbD${process.pid}`;
const P = `tnbP${process.pid}`;
let dir = '';
const IPROUTE2 = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();
const dnsmasq: ChildProcess[] = [];

function sh(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function requireNetns(): void {
  if (process.getuid?.() !== 0) throw new Error('netboot-netns tests need root (they create network namespaces)');
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`netboot-netns tests need iproute2's 'ip netns': ${r.stderr || r.error}`);
  if (!fs.existsSync('/usr/sbin/dnsmasq'))
    throw new Error('netboot-netns tests need /usr/sbin/dnsmasq (scripts/setup.sh)');
}

interface Out {
  readonly code: number | null;
  readonly json: {
    leases: Record<string, unknown>[];
    errors: { iface: string; reason: string; message: string }[];
  };
  readonly stderr: string;
}

function netboot(args: string[], env: NodeJS.ProcessEnv = process.env): Out {
  // The namespace is entered with iproute2's ip whatever PATH the client gets.
  const r = spawnSync(
    IPROUTE2,
    // The lease stage is what these tests are about (netboot-https.test.ts has the boot stage),
    // for DHCPv4 (netboot-v6-netns.test.ts has IPv6 and both families together).
    [
      'netns',
      'exec',
      C,
      process.execPath,
      path.join(ROOT, 'bin', 'tendril.js'),
      'netboot',
      '--leases-only',
      '--family',
      '4',
      ...args,
    ],
    { encoding: 'utf8', timeout: 120_000, env },
  );
  let json: Out['json'];
  try {
    json = JSON.parse(r.stdout) as Out['json'];
  } catch {
    throw new Error(`netboot printed no JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.status, json, stderr: r.stderr };
}

function addrs(dev: string): string[] {
  const j = JSON.parse(sh(['ip', '-n', C, '-j', '-4', 'addr', 'show', 'dev', dev])) as {
    addr_info: { local: string; prefixlen: number }[];
  }[];
  return j.flatMap((i) => i.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

function macOf(dev: string): string {
  const j = JSON.parse(sh(['ip', '-n', C, '-j', 'link', 'show', 'dev', dev])) as { address: string }[];
  return j[0]!.address;
}

beforeAll(async () => {
  requireNetns();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-netboot-'));
  sh(['ip', 'netns', 'add', S]);
  sh(['ip', 'netns', 'add', C]);
  // Every device is created inside S (its peer moved straight into C): nothing in the root namespace.
  for (const [srv, cli] of [
    ['v0', 'c0'], // dnsmasq
    ['v1', 'c1'], // no server
    ['v2', 'c2'], // manual ip=
    ['v4', 'c4'], // peer left down: no carrier
  ] as const) {
    sh(['ip', '-n', S, 'link', 'add', srv, 'type', 'veth', 'peer', 'name', cli, 'netns', C]);
    if (srv !== 'v4') sh(['ip', '-n', S, 'link', 'set', srv, 'up']);
  }
  sh(['ip', '-n', S, 'addr', 'add', '192.0.2.1/24', 'dev', 'v0']);
  sh(['ip', '-n', S, 'link', 'set', 'lo', 'up']);
  dnsmasq.push(
    await dnsmasqIn(S, 'v0', 'dnsmasq.log', [
      '--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,1h',
      '--dhcp-option=3,192.0.2.1',
      '--dhcp-option=6,192.0.2.53',
      '--dhcp-vendorclass=set:pxe,PXEClient:Arch:00007',
      '--dhcp-vendorclass=set:http,HTTPClient:Arch:00016',
      // ipxe and tendril also send the PXE vendor class; their user class picks their own file.
      '--dhcp-userclass=set:ipxe,iPXE',
      '--dhcp-userclass=set:tendril,tendril',
      '--dhcp-boot=tag:pxe,tag:!ipxe,tag:!tendril,pxelinux.0,,192.0.2.1',
      '--dhcp-boot=tag:ipxe,http://192.0.2.1/menu.ipxe',
      '--dhcp-boot=tag:tendril,https://192.0.2.1/tendril/boot.json',
      '--dhcp-boot=tag:http,http://192.0.2.1/boot/uki.efi',
      '--dhcp-option-force=tag:http,60,HTTPClient',
      // Classless routes for the http identity: one via a gateway, one on the link, one whose
      // gateway no route reaches (the kernel refuses it), and the default.
      '--dhcp-option=tag:http,121,198.51.100.0/24,192.0.2.7,203.0.113.0/25,0.0.0.0,10.9.0.0/16,198.18.5.5,0.0.0.0/0,192.0.2.254',
      '--dhcp-option-force=tag:pxe,209,pxelinux.cfg/custom',
      '--dhcp-option-force=tag:pxe,210,http://192.0.2.1/',
      // Options 93 and 94 as the server sees them come back as the domain name.
      '--dhcp-match=set:arch7,option:client-arch,7',
      '--dhcp-match=set:undi316,94,01:03:10',
      '--dhcp-option-force=tag:arch7,tag:undi316,15,arch7.undi316.test',
    ]),
  );
});

/** dnsmasq in `ns` on `iface`, logging to `logName` in the temp dir. */
function dnsmasqIn(ns: string, iface: string, logName: string, args: string[]): Promise<ChildProcess> {
  return startDnsmasq(ns, iface, path.join(dir, logName), args, /DHCP, (IP range|proxy on subnet)/);
}

afterAll(() => {
  for (const d of dnsmasq) d.kill('SIGTERM');
  for (const ns of [C, S, A, B, D, P]) spawnSync('ip', ['netns', 'del', ns]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function logSince(offset: number, name = 'dnsmasq.log'): string {
  return fs.readFileSync(path.join(dir, name), 'utf8').slice(offset);
}

function logSize(name = 'dnsmasq.log'): number {
  return fs.statSync(path.join(dir, name)).size;
}

/** Each `tags:` line of a dnsmasq log, its tags sorted (dnsmasq's order varies). */
function tagSets(log: string): string[][] {
  return [...log.matchAll(/ tags: (.*)$/gm)].map((m) => m[1]!.split(', ').sort());
}

function inRange(a: unknown): boolean {
  const m = /^192\.0\.2\.(\d+)$/.exec(String(a));
  return !!m && Number(m[1]) >= 100 && Number(m[1]) <= 150;
}

describe('tendril netboot in network namespaces', () => {
  it('pxe: the tagged boot file, 209/210, router and DNS on the live NIC; "no DHCP offer" on the dead one', () => {
    const from = logSize();
    const r = netboot(['--json', '--identity', 'pxe', '--iface', 'c0', '--iface', 'c1', '--timeout', '5']);
    expect(r.code).toBe(0);
    expect(r.json.leases).toHaveLength(1);
    const l = r.json.leases[0]!;
    expect(l).toMatchObject({
      iface: 'c0',
      family: 4,
      how: 'dhcp',
      prefixLength: 24,
      router: '192.0.2.1',
      dns: ['192.0.2.53'],
      server: '192.0.2.1',
      bootUrl: 'tftp://192.0.2.1/pxelinux.0',
      pxeConfigFile: 'pxelinux.cfg/custom',
      pxePathPrefix: 'http://192.0.2.1/',
      identity: 'pxe',
      domain: 'arch7.undi316.test',
    });
    expect(inRange(l.address)).toBe(true);
    expect(addrs('c0')).toEqual([`${String(l.address)}/24`]);
    expect(r.json.errors).toHaveLength(1);
    expect(r.json.errors[0]).toMatchObject({ iface: 'c1' });
    expect(r.json.errors[0]!.reason).toMatch(/^no DHCP offer on c1 after \d+ tr(y|ies)$/);
    const log = logSince(from);
    expect(log).toContain('vendor class: PXEClient:Arch:00007:UNDI:003016');
    expect(tagSets(log)).toContainEqual(['arch7', 'pxe', 'undi316', 'v0']);
    expect(log).toMatch(/DHCPACK\(v0\) 192\.0\.2\.\d+/);
  });

  it('http: the HTTPClient-tagged boot file wins and no PXE options come back', () => {
    const from = logSize();
    const r = netboot(['--json', '--identity', 'http', '--iface', 'c0', '--timeout', '10']);
    expect(r.code).toBe(0);
    const l = r.json.leases[0]!;
    expect(l).toMatchObject({ iface: 'c0', bootUrl: 'http://192.0.2.1/boot/uki.efi', identity: 'http' });
    expect(l.pxeConfigFile).toBeUndefined();
    expect(l.domain).toBeUndefined(); // arch 0x10, not 7
    // Option 121: its default route wins over option 3; the others are on the interface, and the
    // unreachable one is a warning naming it while the lease stands.
    expect(l.router).toBe('192.0.2.254');
    expect(l.routes).toEqual([
      { dest: '198.51.100.0', prefix: 24, gateway: '192.0.2.7' },
      { dest: '203.0.113.0', prefix: 25, gateway: '0.0.0.0' },
      { dest: '10.9.0.0', prefix: 16, gateway: '198.18.5.5' },
    ]);
    const routes = sh(['ip', '-n', C, '-4', 'route', 'show', 'dev', 'c0']);
    expect(routes).toMatch(/^default via 192\.0\.2\.254 /m);
    expect(routes).toMatch(/^198\.51\.100\.0\/24 via 192\.0\.2\.7 /m);
    expect(routes).toMatch(/^203\.0\.113\.0\/25 scope link/m);
    expect(routes).not.toMatch(/10\.9\.0\.0/);
    expect(r.json.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^c0: static route 10\.9\.0\.0\/16 via 198\.18\.5\.5 \(option 121\) not added: /),
    ]);
    const log = logSince(from);
    expect(log).toContain('vendor class: HTTPClient:Arch:00016:UNDI:003001');
    expect(tagSets(log)).toContainEqual(['http', 'v0']);
  });

  it('a NIC with no server alone: exit 1 and the error names it', () => {
    const r = netboot(['--json', '--iface', 'c1', '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.json.leases).toEqual([]);
    expect(r.json.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^c1: no DHCP offer on c1 after 1 try$/),
    ]);
  });

  it('manual ip=: the static address, route and DNS on the interface, no DHCP', () => {
    const from = logSize();
    const r = netboot([
      '--json',
      '--iface',
      'c2',
      '--ip',
      '192.0.2.77::192.0.2.1:255.255.255.0:box:c2:none',
      '--nameserver',
      '192.0.2.53',
    ]);
    expect(r.code).toBe(0);
    expect(r.json.leases).toEqual([
      {
        iface: 'c2',
        mac: macOf('c2'),
        family: 4,
        how: 'manual',
        address: '192.0.2.77',
        prefixLength: 24,
        router: '192.0.2.1',
        hostname: 'box',
        dns: ['192.0.2.53'],
        ntp: [],
      },
    ]);
    expect(addrs('c2')).toEqual(['192.0.2.77/24']);
    expect(sh(['ip', '-n', C, 'route', 'show', 'default'])).toContain('via 192.0.2.1 dev c2');
    expect(logSince(from)).not.toContain('DHCPDISCOVER');
  });

  it("manual ip= through busybox's ip, as in the initramfs: MAC, address, MTU and route", () => {
    const bin = path.join(dir, 'busybox-bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(fs.existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox', path.join(bin, 'ip'));
    const r = netboot(['--json', '--iface', 'c2', '--ip', '192.0.2.78::192.0.2.1:24::c2:none:1300:02:00:00:00:00:78'], {
      ...process.env,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
    });
    expect(r.json.errors).toEqual([]);
    expect(r.json.leases[0]).toMatchObject({ address: '192.0.2.78', mtu: 1300, mac: '02:00:00:00:00:78' });
    expect(macOf('c2')).toBe('02:00:00:00:00:78');
    expect(addrs('c2')).toEqual(['192.0.2.78/24']);
    const link = JSON.parse(sh(['ip', '-n', C, '-j', 'link', 'show', 'dev', 'c2'])) as { mtu: number }[];
    expect(link[0]!.mtu).toBe(1300);
    expect(sh(['ip', '-n', C, 'route', 'show', 'default'])).toContain('via 192.0.2.1 dev c2');
  });

  it("busybox's ip: addresses left on the NIC (a primary and its secondary) are replaced", () => {
    const bin = path.join(dir, 'busybox-bin2');
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(fs.existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox', path.join(bin, 'ip'));
    // busybox's flush deletes the primary (the kernel drops the secondary with it) and then
    // fails on the secondary: the lease must still go on.
    sh(['ip', '-n', C, 'addr', 'add', '192.0.2.60/24', 'dev', 'c2']);
    sh(['ip', '-n', C, 'addr', 'add', '192.0.2.61/24', 'dev', 'c2']);
    const r = netboot(['--json', '--iface', 'c2', '--ip', '192.0.2.79::192.0.2.1:24::c2:none'], {
      ...process.env,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
    });
    expect(r.json.errors).toEqual([]);
    expect(addrs('c2')).toEqual(['192.0.2.79/24']);
  });

  it('of two offers, the one naming a boot file wins even when it comes second', async () => {
    // S gets a bridge with c3's peer and one port to each of A and B. A answers at once without a
    // boot file; B answers a second later (dnsmasq --dhcp-reply-delay) with one.
    for (const ns of [A, B]) sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', S, 'link', 'add', 'br0', 'type', 'bridge']);
    sh(['ip', '-n', S, 'link', 'add', 'v3', 'type', 'veth', 'peer', 'name', 'c3', 'netns', C]);
    sh(['ip', '-n', S, 'link', 'add', 'pa', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', A]);
    sh(['ip', '-n', S, 'link', 'add', 'pb', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', B]);
    for (const port of ['v3', 'pa', 'pb']) {
      sh(['ip', '-n', S, 'link', 'set', port, 'master', 'br0']);
      sh(['ip', '-n', S, 'link', 'set', port, 'up']);
    }
    sh(['ip', '-n', S, 'link', 'set', 'br0', 'up']);
    for (const [ns, addr] of [
      [A, '192.0.2.2/24'],
      [B, '192.0.2.3/24'],
    ] as const) {
      sh(['ip', '-n', ns, 'addr', 'add', addr, 'dev', 'eth0']);
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    }
    dnsmasq.push(await dnsmasqIn(A, 'eth0', 'a.log', ['--dhcp-range=192.0.2.160,192.0.2.169,255.255.255.0,1h']));
    dnsmasq.push(
      await dnsmasqIn(B, 'eth0', 'b.log', [
        '--dhcp-range=192.0.2.170,192.0.2.179,255.255.255.0,1h',
        '--dhcp-reply-delay=1',
        '--dhcp-boot=pxelinux.0,,192.0.2.3',
      ]),
    );
    const r = netboot(['--json', '--iface', 'c3', '--timeout', '10']);
    expect(r.code).toBe(0);
    expect(r.json.leases[0]).toMatchObject({
      iface: 'c3',
      server: '192.0.2.3',
      bootUrl: 'tftp://192.0.2.3/pxelinux.0',
    });
    // Both servers offered: the choice was real.
    expect(logSince(0, 'a.log')).toMatch(/DHCPOFFER\(eth0\) 192\.0\.2\.16\d/);
    expect(logSince(0, 'b.log')).toMatch(/DHCPACK\(eth0\) 192\.0\.2\.17\d/);
  });

  it.each([
    ['ipxe', 'iPXE', 'http://192.0.2.1/menu.ipxe'],
    ['tendril', 'tendril', 'https://192.0.2.1/tendril/boot.json'],
  ])('%s: the user class reaches dnsmasq and its tagged boot file comes back', (identity, userClass, url) => {
    const from = logSize();
    const r = netboot(['--json', '--identity', identity, '--iface', 'c0', '--timeout', '10']);
    expect(r.code).toBe(0);
    expect(r.json.leases[0]).toMatchObject({ iface: 'c0', bootUrl: url, identity });
    const log = logSince(from);
    expect(log).toContain(`user class: ${userClass}`);
    expect(log).toContain('vendor class: PXEClient:Arch:00007:UNDI:003016');
    expect(tagSets(log)).toContainEqual(['arch7', identity, 'pxe', 'undi316', 'v0'].sort());
  });

  it('a NIC whose link partner is down: "no carrier"', () => {
    const r = netboot(['--json', '--iface', 'c4', '--timeout', '1']);
    expect(r.code).toBe(1);
    expect(r.json.errors).toEqual([
      { iface: 'c4', reason: 'no carrier on c4 after 1 s', message: 'c4: no carrier on c4 after 1 s' },
    ]);
  });

  it('proxyDHCP: the address from one server, the boot file from a proxy asked on port 4011', async () => {
    for (const ns of [D, P]) sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', S, 'link', 'add', 'br1', 'type', 'bridge']);
    sh(['ip', '-n', S, 'link', 'add', 'v5', 'type', 'veth', 'peer', 'name', 'c5', 'netns', C]);
    sh(['ip', '-n', S, 'link', 'add', 'pd', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', D]);
    sh(['ip', '-n', S, 'link', 'add', 'pp', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', P]);
    for (const port of ['v5', 'pd', 'pp']) {
      sh(['ip', '-n', S, 'link', 'set', port, 'master', 'br1']);
      sh(['ip', '-n', S, 'link', 'set', port, 'up']);
    }
    sh(['ip', '-n', S, 'link', 'set', 'br1', 'up']);
    for (const [ns, addr] of [
      [D, '198.51.100.4/24'],
      [P, '198.51.100.5/24'],
    ] as const) {
      sh(['ip', '-n', ns, 'addr', 'add', addr, 'dev', 'eth0']);
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    }
    dnsmasq.push(await dnsmasqIn(D, 'eth0', 'd.log', ['--dhcp-range=198.51.100.100,198.51.100.109,255.255.255.0,1h']));
    dnsmasq.push(
      await dnsmasqIn(P, 'eth0', 'p.log', [
        '--dhcp-range=198.51.100.0,proxy',
        '--pxe-service=x86-64_EFI,tendril,bootx64.efi',
      ]),
    );
    const r = netboot(['--json', '--iface', 'c5', '--timeout', '15']);
    expect(r.json.errors).toEqual([]);
    const l = r.json.leases[0]!;
    expect(l).toMatchObject({ iface: 'c5', server: '198.51.100.4', bootUrl: 'tftp://198.51.100.5/bootx64.efi' });
    expect(String(l.address)).toMatch(/^198\.51\.100\.10\d$/);
    // The proxy's offer named no file; only its answer on port 4011 does (dnsmasq logs it).
    const plog = logSince(0, 'p.log');
    expect(plog).toMatch(/PXE\(eth0\) [0-9a-f:]+ proxy/);
    expect(plog).toContain('bootfile name: bootx64.efi');
  });

  it('a named NIC that appears after the start is waited for and gets its lease', async () => {
    // c6 is created once netboot says it is waiting; its peer joins the bridge of A and B.
    const child = spawn(
      IPROUTE2,
      [
        'netns',
        'exec',
        C,
        process.execPath,
        path.join(ROOT, 'bin', 'tendril.js'),
        'netboot',
        '--leases-only',
        '--json',
        '--verbose',
      ].concat(['--family', '4', '--iface', 'c6', '--timeout', '15']),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    await waitFor('netboot to wait for c6', () => err.includes('c6: waiting for the interface to appear'));
    sh(['ip', '-n', S, 'link', 'add', 'v6', 'type', 'veth', 'peer', 'name', 'c6', 'netns', C]);
    sh(['ip', '-n', S, 'link', 'set', 'v6', 'master', 'br0']);
    sh(['ip', '-n', S, 'link', 'set', 'v6', 'up']);
    expect(await exited).toBe(0);
    const json = JSON.parse(out) as Out['json'];
    expect(json.errors).toEqual([]);
    expect(json.leases[0]).toMatchObject({ iface: 'c6', server: '192.0.2.3', bootUrl: 'tftp://192.0.2.3/pxelinux.0' });
  });

  it('an unknown interface is an error naming it', () => {
    const r = netboot(['--json', '--iface', 'nosuch0', '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.json.errors).toEqual([
      {
        iface: 'nosuch0',
        reason: 'no such network interface (waited 2 s)',
        message: 'nosuch0: no such network interface (waited 2 s)',
      },
    ]);
  });
});
