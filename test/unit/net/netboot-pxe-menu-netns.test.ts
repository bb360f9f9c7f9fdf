// PXE boot menus from option 43 (docs/net-dhcp.md §14) against the real dnsmasq, in network
// namespaces this test creates and deletes. Proxy mode: a plain DHCP server (D) and a proxyDHCP
// server (P, `--dhcp-range=…,proxy --pxe-service=… --pxe-prompt=…`, TFTP on) behind a bridge in S;
// dnsmasq sends an EFI client its menu only on port 4011, so tendril asks there, then does boot
// server discovery for each item (REQUEST with sub-option 71) and gets each item's file. Plain
// mode: one dnsmasq (E) hands out the address and the menu in its ACK. The client is the real
// CLI in C (`tendril netboot --json`); the dnsmasq logs show the discovery requests it answered.
import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsmasq } from '../../fixtures/dnsmasq';
import { tinyBzImage } from './memfetch';

const ROOT = path.join(__dirname, '..', '..', '..');
const tag = `${process.pid}`;
const S = `tpmS${tag}`;
const C = `tpmC${tag}`;
const D = `tpmD${tag}`;
const P = `tpmP${tag}`;
const E = `tpmE${tag}`;
// Broadcast discovery: a proxy (Q) whose item names no boot server, and a plain server (F) that
// answers the broadcast for that item type.
const F = `tpmF${tag}`;
const Q = `tpmQ${tag}`;
let dir = '';
const IPROUTE2 = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();
const servers: ChildProcess[] = [];

const sh = (...a: string[]): string =>
  execFileSync(a[0]!, a.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function requireNetns(): void {
  if (process.getuid?.() !== 0) throw new Error('netboot-pxe-menu tests need root (they create network namespaces)');
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`netboot-pxe-menu tests need iproute2's 'ip netns': ${r.stderr || r.error}`);
  if (!fs.existsSync('/usr/sbin/dnsmasq')) throw new Error('netboot-pxe-menu tests need /usr/sbin/dnsmasq');
}

const MENU = [
  '--pxe-service=x86-64_EFI,Install Linux,vmlinuz', // dnsmasq names the file vmlinuz.0 (layer 0)
  '--pxe-service=x86-64_EFI,Rescue shell,rescue.ipxe',
  '--pxe-service=x86-64_EFI,Boot from local disk', // type 0: local boot
  '--pxe-prompt=Press F8 for menu.,10',
];

/** The TFTP root of a server at `ip`: a kernel as vmlinuz.0 and an iPXE script booting it with `word`. */
function tftpRoot(name: string, ip: string, word: string): string {
  const root = path.join(dir, name);
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'vmlinuz.0'), tinyBzImage());
  fs.writeFileSync(path.join(root, 'rescue.ipxe'), `#!ipxe\nkernel tftp://${ip}/vmlinuz.0 ${word}\nboot\n`);
  return root;
}

function dnsmasqIn(ns: string, log: string, args: string[]): Promise<ChildProcess> {
  return startDnsmasq(ns, 'eth0', path.join(dir, log), ['--user=root', ...args], /DHCP, (IP range|proxy on subnet)/);
}

/** A namespace with eth0 (address `addr`) whose peer `port` is in S (on bridge br0 when `bridged`). */
function leg(ns: string, port: string, addr: string): void {
  sh('ip', 'netns', 'add', ns);
  sh('ip', '-n', S, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  sh('ip', '-n', ns, 'addr', 'add', addr, 'dev', 'eth0');
  sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
  sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
}

beforeAll(async () => {
  requireNetns();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-pxe-menu-'));
  sh('ip', 'netns', 'add', S);
  sh('ip', 'netns', 'add', C);
  sh('ip', '-n', S, 'link', 'add', 'br0', 'type', 'bridge');
  // c0: D and P behind br0. c1: E alone, straight through S's bridge br1.
  sh('ip', '-n', S, 'link', 'add', 'b1', 'type', 'bridge');
  sh('ip', '-n', S, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'c0', 'netns', C);
  sh('ip', '-n', S, 'link', 'add', 'v1', 'type', 'veth', 'peer', 'name', 'c1', 'netns', C);
  sh('ip', '-n', S, 'link', 'add', 'b2', 'type', 'bridge');
  sh('ip', '-n', S, 'link', 'add', 'v2', 'type', 'veth', 'peer', 'name', 'c2', 'netns', C);
  leg(D, 'pd', '198.51.100.4/24');
  leg(P, 'pp', '198.51.100.5/24');
  leg(E, 'pe', '203.0.113.1/24');
  leg(F, 'pf', '10.9.0.4/24');
  leg(Q, 'pq', '10.9.0.5/24');
  for (const [port, br] of [
    ['v0', 'br0'],
    ['pd', 'br0'],
    ['pp', 'br0'],
    ['v1', 'b1'],
    ['pe', 'b1'],
    ['v2', 'b2'],
    ['pf', 'b2'],
    ['pq', 'b2'],
  ] as const) {
    sh('ip', '-n', S, 'link', 'set', port, 'master', br);
    sh('ip', '-n', S, 'link', 'set', port, 'up');
  }
  for (const br of ['br0', 'b1', 'b2']) sh('ip', '-n', S, 'link', 'set', br, 'up');
  servers.push(await dnsmasqIn(D, 'd.log', ['--dhcp-range=198.51.100.100,198.51.100.109,255.255.255.0,1h']));
  servers.push(
    await dnsmasqIn(P, 'p.log', [
      '--dhcp-range=198.51.100.0,proxy',
      '--enable-tftp',
      `--tftp-root=${tftpRoot('tftp-p', '198.51.100.5', 'tendril.test=proxy-rescue')}`,
      ...MENU,
    ]),
  );
  servers.push(
    await dnsmasqIn(E, 'e.log', [
      '--dhcp-range=203.0.113.100,203.0.113.109,255.255.255.0,1h',
      '--enable-tftp',
      `--tftp-root=${tftpRoot('tftp-e', '203.0.113.1', 'tendril.test=plain-rescue')}`,
      ...MENU,
    ]),
  );
  // F's service is in no menu (its tag is never set) but dnsmasq answers sub-option 71 by type
  // alone: its first service with a file is type 0x8000.
  const froot = tftpRoot('tftp-f', '10.9.0.4', 'tendril.test=unused');
  fs.copyFileSync(path.join(froot, 'vmlinuz.0'), path.join(froot, 'remote.krn'));
  servers.push(
    await dnsmasqIn(F, 'f.log', [
      '--dhcp-range=10.9.0.100,10.9.0.109,255.255.255.0,1h',
      '--enable-tftp',
      `--tftp-root=${froot}`,
      '--pxe-service=tag:never,x86-64_EFI,Remote install,remote.krn',
    ]),
  );
  // Q's item has a boot service type and no server: dnsmasq lists no boot server for it and
  // clears the "no broadcast" bit (discovery control 2).
  servers.push(
    await dnsmasqIn(Q, 'q.log', ['--dhcp-range=10.9.0.0,proxy', '--pxe-service=x86-64_EFI,Remote install,32768']),
  );
});

afterAll(() => {
  for (const s of servers) s.kill('SIGTERM');
  for (const ns of [C, S, D, P, E, F, Q]) spawnSync('ip', ['netns', 'del', ns]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Out {
  leases: {
    iface: string;
    address: string;
    server: string;
    bootUrl?: string;
    pxeMenu?: {
      server: string;
      discoveryControl: number;
      prompt?: { timeout: number; text: string };
      items: { type: number; description: string; bootUrl?: string; bootServer?: string; error?: string }[];
      chosen?: number;
    };
  }[];
  errors: unknown[];
  entries: { id: string; title: string; default: boolean; target?: { kind: string; cmdline?: string } }[];
  defaultId: string | null;
}

function netboot(iface: string): { code: number | null; json: Out; stderr: string } {
  const r = spawnSync(
    IPROUTE2,
    [
      'netns',
      'exec',
      C,
      process.execPath,
      path.join(ROOT, 'bin', 'tendril.js'),
      'netboot',
      '--json',
      '--verbose',
    ].concat(['--family', '4', '--iface', iface, '--timeout', '20']),
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (process.env.SHOW) console.error(r.stdout, r.stderr);
  try {
    return { code: r.status, json: JSON.parse(r.stdout) as Out, stderr: r.stderr };
  } catch {
    throw new Error(`netboot printed no JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

const log = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

describe('PXE boot menus (option 43) from dnsmasq', () => {
  it('proxyDHCP: the menu asked on port 4011, each item discovered, one entry per item, the first the default', () => {
    const r = netboot('c0');
    expect(r.json.errors).toEqual([]);
    expect(r.code).toBe(0);
    const l = r.json.leases[0]!;
    expect(l).toMatchObject({ iface: 'c0', server: '198.51.100.4', bootUrl: 'tftp://198.51.100.5/vmlinuz.0' });
    expect(l.pxeMenu).toMatchObject({
      server: '198.51.100.5',
      discoveryControl: 3,
      prompt: { timeout: 10, text: 'Press F8 for menu.' },
      chosen: 0,
    });
    expect(l.pxeMenu!.items).toEqual([
      {
        type: 0x8000,
        description: 'Install Linux',
        bootServer: '198.51.100.5',
        bootUrl: 'tftp://198.51.100.5/vmlinuz.0',
      },
      {
        type: 0x8001,
        description: 'Rescue shell',
        bootServer: '198.51.100.5',
        bootUrl: 'tftp://198.51.100.5/rescue.ipxe',
      },
      { type: 0, description: 'Boot from local disk' },
    ]);
    expect(r.json.entries.map((e) => [e.title, e.default])).toEqual([
      ['PXE: Install Linux (from 198.51.100.5)', true],
      ['PXE: Rescue shell (from 198.51.100.5)', false],
    ]);
    expect(r.json.entries[0]!.target).toMatchObject({ kind: 'linux' });
    expect(r.json.entries[1]!.target).toMatchObject({ kind: 'linux', cmdline: 'tendril.test=proxy-rescue' });
    expect(r.json.defaultId).toBe(r.json.entries[0]!.id);
    // The proxy answered both discovery requests (sub-option 71) with the item's file.
    const p = log('p.log');
    expect(p).toMatch(/PXE\(eth0\) 198\.51\.100\.10\d [0-9a-f:]+ vmlinuz\.0/);
    expect(p).toMatch(/PXE\(eth0\) 198\.51\.100\.10\d [0-9a-f:]+ rescue\.ipxe/);
    expect(r.stderr).toContain('without input a PXE client boots "Install Linux" (the first item');
  });

  it('plain DHCP: the menu in the ACK, discovery to the server PXE_BOOT_SERVERS names', () => {
    const r = netboot('c1');
    expect(r.json.errors).toEqual([]);
    const l = r.json.leases[0]!;
    expect(l).toMatchObject({ iface: 'c1', server: '203.0.113.1', bootUrl: 'tftp://203.0.113.1/vmlinuz.0' });
    expect(l.pxeMenu!.items.map((i) => i.bootUrl)).toEqual([
      'tftp://203.0.113.1/vmlinuz.0',
      'tftp://203.0.113.1/rescue.ipxe',
      undefined,
    ]);
    expect(r.json.entries.map((e) => e.title)).toEqual([
      'PXE: Install Linux (from 203.0.113.1)',
      'PXE: Rescue shell (from 203.0.113.1)',
    ]);
    expect(r.json.entries[1]!.target).toMatchObject({ cmdline: 'tendril.test=plain-rescue' });
    const e = log('e.log');
    expect(e).toMatch(/DHCPACK\(eth0\) 203\.0\.113\.10\d/);
    expect(e).toMatch(/PXE\(eth0\) 203\.0\.113\.10\d [0-9a-f:]+ rescue\.ipxe/);
  });

  it('broadcast discovery: an item without a boot server is asked for on the subnet, and another server answers', () => {
    const r = netboot('c2');
    expect(r.json.errors).toEqual([]);
    const l = r.json.leases[0]!;
    expect(l).toMatchObject({ iface: 'c2', server: '10.9.0.4', bootUrl: 'tftp://10.9.0.4/remote.krn' });
    expect(l.pxeMenu).toMatchObject({ server: '10.9.0.5', discoveryControl: 2, bootServers: [] });
    expect(l.pxeMenu!.items).toEqual([
      { type: 0x8000, description: 'Remote install', bootServer: '10.9.0.4', bootUrl: 'tftp://10.9.0.4/remote.krn' },
    ]);
    expect(r.json.entries.map((e) => [e.title, e.default, e.target?.kind])).toEqual([
      ['PXE: Remote install (from 10.9.0.4)', true, 'linux'],
    ]);
    expect(log('f.log')).toMatch(/PXE\(eth0\) 10\.9\.0\.10\d [0-9a-f:]+ remote\.krn/);
  });
});
