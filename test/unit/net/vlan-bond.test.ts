// dracut's vlan= / bond= syntax (docs/net-dhcp.md §13): each form parses to the plan it means,
// random text only ever yields a NetError naming the word, generated plans survive being written
// out and read back, and the links are made in the order the kernel needs (bond options before
// slaves, mode first; a VLAN's lower link up) on a sysfs tree laid out like /sys/class/net.
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MenuEntry } from '../../../src/discovery/model';
import { withLinkWords, type NetMenu } from '../../../src/net/boot';
import { NetError } from '../../../src/net/types';
import { makeLinks } from '../../../src/net/virtual-links';
import {
  bondWord,
  linkPlan,
  linkWords,
  parseBondArg,
  parseVlanArg,
  topInterfaces,
  vlanIdOf,
  vlanWord,
} from '../../../src/net/vlan-bond';
import { loadSettings } from '../../../src/settings/load';

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NetError);
    return (e as NetError).message;
  }
  throw new Error('no error');
}

describe('vlan=', () => {
  it("dracut's four naming styles give the VLAN id", () => {
    expect(parseVlanArg('vlan=eth0.10:eth0')).toEqual({ name: 'eth0.10', phys: 'eth0', id: 10 });
    expect(parseVlanArg('eth0.0010:eth0')).toEqual({ name: 'eth0.0010', phys: 'eth0', id: 10 });
    expect(parseVlanArg('vlan=vlan0005:ens3')).toEqual({ name: 'vlan0005', phys: 'ens3', id: 5 });
    expect(parseVlanArg('vlan=vlan5:bond0')).toEqual({ name: 'vlan5', phys: 'bond0', id: 5 });
    expect(vlanIdOf('bond0.4094')).toBe(4094);
    expect(vlanIdOf('eth0.4095')).toBeUndefined();
    expect(vlanIdOf('eth0.0')).toBeUndefined();
    expect(vlanIdOf('eth0')).toBeUndefined();
  });

  it('errors name the word and the field', () => {
    expect(reason(() => parseVlanArg('vlan=eth0.10'))).toBe('vlan=eth0.10: needs <vlanname>:<phys>, got 1 field(s)');
    expect(reason(() => parseVlanArg('vlan=mgmt:eth0'))).toMatch(/^vlan=mgmt:eth0: <vlanname> 'mgmt' names no VLAN id/);
    expect(reason(() => parseVlanArg('vlan=eth0.10:a/b'))).toMatch(/<phys> 'a\/b' is not an interface name/);
    expect(reason(() => parseVlanArg('vlan=eth0.10:' + 'x'.repeat(600)))).toMatch(/longer than 512 characters/);
  });
});

describe('bond=', () => {
  it('the full form, with mode first whatever the order given', () => {
    expect(parseBondArg('bond=bond0:eth0,eth1:miimon=100,mode=active-backup:9000')).toEqual({
      name: 'bond0',
      slaves: ['eth0', 'eth1'],
      options: [
        ['mode', 'active-backup'],
        ['miimon', '100'],
      ],
      mtu: 9000,
    });
  });

  it("dracut's defaults: slaves eth0,eth1 and mode balance-rr", () => {
    const rr = { name: 'bond0', slaves: ['eth0', 'eth1'], options: [['mode', 'balance-rr']] };
    expect(parseBondArg('bond')).toEqual(rr);
    expect(parseBondArg('bond=bond0')).toEqual(rr);
    expect(parseBondArg('bond=bond1:ens3,ens4')).toEqual({ ...rr, name: 'bond1', slaves: ['ens3', 'ens4'] });
    expect(parseBondArg('bond=bond1:ens3:')).toEqual({ name: 'bond1', slaves: ['ens3'], options: [] });
  });

  it('errors name the word and the field', () => {
    expect(reason(() => parseBondArg('bond=bond0:eth0:mode=1,foo=2'))).toBe(
      "bond=bond0:eth0:mode=1,foo=2: <options>: 'foo' is not a bonding option",
    );
    expect(reason(() => parseBondArg('bond=bond0:eth0:miimon'))).toMatch(/<options>: miimon has no value/);
    expect(reason(() => parseBondArg('bond=bond0:eth0:mode=a/b'))).toMatch(/mode value 'a\/b'/);
    expect(reason(() => parseBondArg('bond=bond0:eth0,eth0'))).toMatch(/names an interface twice/);
    expect(reason(() => parseBondArg('bond=bond0:eth0::40'))).toMatch(/<mtu> '40' is not a number in 68..65535/);
    expect(reason(() => parseBondArg('bond=b:e:m=1:9000:x'))).toMatch(/at most 4 fields/);
    expect(reason(() => parseBondArg('bond=bond0:bond0'))).toMatch(/names the bond bond0 itself/);
  });
});

describe('the plan of all words', () => {
  it('a VLAN on a bond: the bond is made first, DHCP runs on the VLAN only', () => {
    const p = linkPlan(['bond0.7:bond0'], ['bond0:eth0,eth1:mode=active-backup,miimon=100']);
    expect(topInterfaces(p)).toEqual(['bond0.7']);
    expect(linkWords(p)).toEqual(['bond=bond0:eth0,eth1:mode=active-backup,miimon=100', 'vlan=bond0.7:bond0']);
    expect(topInterfaces(linkPlan(['eth2.10:eth2'], ['bond0:eth0,eth1']))).toEqual(['bond0', 'eth2.10']);
  });

  it('conflicts are refused, naming the word', () => {
    expect(reason(() => linkPlan(['eth0.5:eth0'], ['bond0:eth0,eth1']))).toBe(
      'vlan=eth0.5:eth0: eth0 is a slave of bond0: tag the bond instead',
    );
    expect(reason(() => linkPlan([], ['bond0:eth0', 'bond1:eth0']))).toMatch(/eth0 is already a slave of bond0/);
    expect(reason(() => linkPlan([], ['bond0:eth0', 'bond0:eth1']))).toMatch(/bond0 is also made by/);
    expect(reason(() => linkPlan(['eth0.5:eth0', 'eth0.0005:eth0'], []))).toMatch(/VLAN 5 on eth0 is made twice/);
    expect(reason(() => linkPlan(['eth0.5.6:eth0.5', 'eth0.5:eth0'], []))).toMatch(/eth0.5 is itself a VLAN/);
    expect(
      reason(() =>
        linkPlan(
          Array.from({ length: 17 }, (_, i) => `eth0.${i + 1}:eth0`),
          [],
        ),
      ),
    ).toMatch(/more than 16 vlan= arguments/);
  });

  it('random text only ever gives a NetError naming vlan= or bond=', () => {
    const alphabet = fc.constantFrom(...'eth0.1:,=bondmae-vl;/ 9'.split(''));
    const text = fc.oneof(fc.string({ maxLength: 100 }), fc.string({ unit: alphabet, maxLength: 100 }));
    fc.assert(
      fc.property(text, text, (v, b) => {
        for (const f of [() => parseVlanArg(v), () => parseBondArg(b), () => linkPlan([v], [b])])
          try {
            f();
          } catch (e) {
            expect(e).toBeInstanceOf(NetError);
            expect((e as NetError).subject).toMatch(/^(vlan|bond)=/);
          }
      }),
      { numRuns: 3000 },
    );
  });

  it('generated plans written out as words read back the same', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
    const vlan = fc
      .tuple(name, fc.integer({ min: 1, max: 4094 }), fc.boolean())
      .map(([phys, id, style]) => ({ name: style ? `${phys}.${id}` : `vlan${id}`, phys, id }));
    const bond = fc.record({
      name: name.map((n) => `b${n}`.slice(0, 15)),
      slaves: fc.uniqueArray(
        name.map((n) => `s${n}`),
        { minLength: 1, maxLength: 4 },
      ),
      options: fc.constantFrom(
        [['mode', 'active-backup']] as [string, string][],
        [
          ['mode', '802.3ad'],
          ['lacp_rate', 'fast'],
        ] as [string, string][],
        [['arp_ip_target', '192.0.2.1;192.0.2.2']] as [string, string][],
      ),
    });
    fc.assert(
      fc.property(vlan, bond, fc.option(fc.integer({ min: 68, max: 65535 }), { nil: undefined }), (v, b, mtu) => {
        expect(parseVlanArg(vlanWord(v))).toEqual(v);
        const withMtu = mtu === undefined ? b : { ...b, mtu };
        expect(parseBondArg(bondWord(withMtu))).toEqual(withMtu);
      }),
    );
  });
});

describe('making the links', () => {
  let root = '';
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  /** A tree like /sys/class/net with eth0 and eth1; `bonding_masters` makes a bond directory. */
  function sysfs(): string {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-links-'));
    for (const n of ['eth0', 'eth1']) fs.mkdirSync(path.join(root, n));
    return root;
  }

  it('bond: the existing bond0 reused, options before slaves, each slave down first; then the VLAN', async () => {
    sysfs();
    const calls: string[] = [];
    // bond0 exists already (loading the driver makes it), with its attribute files.
    const ip = (_: string, args: readonly string[]) => {
      calls.push(args.join(' '));
      if (args[1] === 'add') fs.mkdirSync(path.join(root, args[4]!));
      return Promise.resolve('');
    };
    fs.mkdirSync(path.join(root, 'bond0', 'bonding'), { recursive: true });
    for (const f of ['mode', 'miimon', 'slaves']) fs.writeFileSync(path.join(root, 'bond0', 'bonding', f), '');
    const p = linkPlan(['bond0.10:bond0'], ['bond0:eth0,eth1:miimon=100,mode=active-backup:1400']);
    await makeLinks(p, { root, ip });
    const b = (f: string) => fs.readFileSync(path.join(root, 'bond0', 'bonding', f), 'utf8');
    expect([b('mode'), b('miimon'), b('slaves')]).toEqual(['active-backup', '100', '+eth1']);
    expect(calls).toEqual([
      'link set dev bond0 down',
      'link set dev eth0 down',
      'link set dev eth1 down',
      'link set dev bond0 mtu 1400',
      'link set dev bond0 up',
      'link add link bond0 name bond0.10 type vlan id 10',
    ]);
  });

  it('a missing lower interface and a refused sysfs write are named', async () => {
    sysfs();
    const ip = () => Promise.resolve('');
    await expect(makeLinks(linkPlan(['eth9.3:eth9'], []), { root, ip, appearMs: 100 })).rejects.toThrow(
      'eth9: no such network interface (waited 0 s)',
    );
    // No bonding driver: bonding_masters is missing, so its write fails with ENOENT.
    await expect(makeLinks(linkPlan([], ['bond1:eth0']), { root, ip })).rejects.toThrow(
      `bond1: write '+bond1' to ${root}/bonding_masters: ENOENT`,
    );
  });
});

describe('settings and the hand-on', () => {
  it("dracut's vlan=/bond= on the kernel command line add to net.vlan/net.bond of the file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-linkset-'));
    const file = path.join(dir, 'tendril.toml');
    fs.writeFileSync(file, '[net]\nbond = "bond0:eth0,eth1:mode=active-backup"\nvlan = ["eth2.5:eth2"]\n');
    const r = loadSettings({ file, cmdline: 'quiet vlan=bond0.10:bond0 tendril.net.vlan=vlan7:eth3' });
    fs.rmSync(dir, { recursive: true });
    expect(r.problems).toEqual([]);
    expect(r.settings.net.bond).toEqual(['bond0:eth0,eth1:mode=active-backup']);
    expect(r.settings.net.vlan).toEqual(['eth2.5:eth2', 'bond0.10:bond0', 'vlan7:eth3']);
    expect(loadSettings({ file: '/nonexistent', cmdline: 'vlan=a b\tc' }).settings.net.vlan).toEqual(['a']);
    // A bare `bond` is dracut's bond0:eth0,eth1:mode=balance-rr.
    const bare = loadSettings({ file: '/nonexistent', cmdline: 'quiet bond' }).settings.net.bond;
    expect(linkWords(linkPlan([], bare))).toEqual(['bond=bond0:eth0,eth1:mode=balance-rr']);
  });

  it('the words go on network Linux entries that have none of their own', () => {
    const entry = (id: string, cmdline: string) =>
      ({
        id,
        status: { ok: true, target: { kind: 'linux', kernel: { fsId: 'n', path: '/k' }, initrds: [], cmdline } },
      }) as unknown as MenuEntry;
    const menu = { entries: [entry('a', 'quiet'), entry('b', 'vlan=eth0.3:eth0')] } as unknown as NetMenu;
    const out = withLinkWords(menu, ['vlan=eth0.10:eth0']).entries.map(
      (e) => e.status.ok && e.status.target.kind === 'linux' && e.status.target.cmdline,
    );
    expect(out).toEqual(['quiet vlan=eth0.10:eth0', 'vlan=eth0.3:eth0']);
  });
});
