// dracut's ip= / nameserver= syntax (docs/net-dhcp.md §7): each form parses to the plan it
// means, random text only ever yields a NetError, and generated static configurations survive
// being written out and read back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planFor } from '../../../src/net/acquire';
import { parseIpArg, parseNetCmdline, staticLease, type StaticPlan } from '../../../src/net/manual';
import { NetError } from '../../../src/net/types';

describe('ip= forms', () => {
  it('ip=dhcp and the other bare keywords', () => {
    expect(parseIpArg('ip=dhcp')).toEqual({ kind: 'auto', method: 'dhcp' });
    expect(parseIpArg('off')).toEqual({ kind: 'auto', method: 'off' });
  });

  it('<interface>:<autoconf>[:[<mtu>][:<macaddr>]]', () => {
    expect(parseIpArg('ip=eth0:dhcp')).toEqual({ kind: 'auto', iface: 'eth0', method: 'dhcp' });
    expect(parseIpArg('ip=eth0:dhcp:9000')).toEqual({ kind: 'auto', iface: 'eth0', method: 'dhcp', mtu: 9000 });
    expect(parseIpArg('ip=eth0:on::52:54:00:AB:CD:EF')).toEqual({
      kind: 'auto',
      iface: 'eth0',
      method: 'on',
      mac: '52:54:00:ab:cd:ef',
    });
  });

  it('the static form, with a dotted netmask or a prefix, MTU and MAC or DNS servers', () => {
    expect(parseIpArg('ip=192.0.2.10::192.0.2.1:255.255.255.0:box:eth0:none')).toEqual({
      kind: 'static',
      address: '192.0.2.10',
      prefixLength: 24,
      gateway: '192.0.2.1',
      hostname: 'box',
      iface: 'eth0',
      dns: [],
    });
    expect(parseIpArg('ip=192.0.2.10:192.0.2.2::26:::off:1400:52:54:00:12:34:56')).toMatchObject({
      kind: 'static',
      peer: '192.0.2.2',
      prefixLength: 26,
      mtu: 1400,
      mac: '52:54:00:12:34:56',
    });
    expect(parseIpArg('ip=192.0.2.10::192.0.2.1:24::eth0:none:192.0.2.53:192.0.2.54')).toMatchObject({
      dns: ['192.0.2.53', '192.0.2.54'],
    });
  });

  it('the static form with a DHCP keyword means DHCP on that interface', () => {
    expect(parseIpArg('ip=192.0.2.10::192.0.2.1:24::eth1:dhcp')).toEqual({
      kind: 'auto',
      iface: 'eth1',
      method: 'dhcp',
    });
  });

  it('names what is wrong', () => {
    expect(() => parseIpArg('ip=eth0:sometimes')).toThrow(/'sometimes' is not one of none, off, dhcp/);
    expect(() => parseIpArg('ip=192.0.2.300::192.0.2.1:24::eth0:none')).toThrow(/client address '192.0.2.300'/);
    expect(() => parseIpArg('ip=192.0.2.10::192.0.2.1:255.0.255.0::eth0:none')).toThrow(/netmask '255.0.255.0'/);
    expect(() => parseIpArg('ip=[2001:db8::1]::[2001:db8::fffe]:64::eth0:none')).toThrow(/IPv6 static/);
    expect(() => parseIpArg('ip=eth0:dhcp:12')).toThrow(/MTU '12'/);
    expect(() => parseIpArg('ip=eth0:dhcp:1500:zz')).toThrow(/'zz' is not a MAC address/);
    expect(() => parseIpArg('ip=' + 'x'.repeat(600))).toThrow(/longer than 512/);
  });

  it('reads ip= and nameserver= from a command line', () => {
    expect(parseNetCmdline('quiet ip=eth0:dhcp nameserver=192.0.2.53 root=/dev/sda1')).toEqual({
      ips: [{ kind: 'auto', iface: 'eth0', method: 'dhcp' }],
      nameservers: ['192.0.2.53'],
    });
    expect(() => parseNetCmdline('nameserver=example')).toThrow(NetError);
  });

  it('a static plan becomes a manual lease with the extra nameservers after its own', () => {
    const p = parseIpArg('ip=192.0.2.10::192.0.2.1:24:box:eth0:none:192.0.2.53') as StaticPlan;
    expect(staticLease(p, { name: 'eth0', mac: '52:54:00:12:34:56' }, ['192.0.2.53', '192.0.2.99'])).toEqual({
      iface: 'eth0',
      mac: '52:54:00:12:34:56',
      family: 4,
      how: 'manual',
      address: '192.0.2.10',
      prefixLength: 24,
      router: '192.0.2.1',
      hostname: 'box',
      dns: ['192.0.2.53', '192.0.2.99'],
      ntp: [],
    });
  });
});

describe('ip= under fast-check', () => {
  it('random text gives a plan or a NetError', () => {
    const alphabet = fc.constantFrom(...'0123456789.:[]abdefhilnoc x-'.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: alphabet, maxLength: 120 })), (s) => {
        try {
          parseIpArg(s);
        } catch (e) {
          expect(e).toBeInstanceOf(NetError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a static plan written in the syntax reads back the same', () => {
    const mac = fc
      .uint8Array({ minLength: 6, maxLength: 6 })
      .map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
    fc.assert(
      fc.property(
        fc.ipV4(),
        fc.option(fc.ipV4(), { nil: undefined }),
        fc.option(fc.ipV4(), { nil: undefined }),
        fc.integer({ min: 0, max: 32 }),
        fc.option(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), { nil: undefined }),
        fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/), { nil: undefined }),
        fc.constantFrom('none', 'off'),
        fc.option(fc.integer({ min: 68, max: 65535 }), { nil: undefined }),
        fc.option(mac, { nil: undefined }),
        (address, peer, gateway, prefixLength, hostname, iface, how, mtu, m) => {
          const tailText = mtu !== undefined || m ? `:${mtu ?? ''}${m ? `:${m}` : ''}` : '';
          const text = `ip=${address}:${peer ?? ''}:${gateway ?? ''}:${prefixLength}:${hostname ?? ''}:${iface ?? ''}:${how}${tailText}`;
          const p = parseIpArg(text);
          expect(p).toEqual({
            kind: 'static',
            address,
            prefixLength,
            dns: [],
            ...(iface ? { iface } : {}),
            ...(peer ? { peer } : {}),
            ...(gateway ? { gateway } : {}),
            ...(hostname ? { hostname } : {}),
            ...(mtu !== undefined ? { mtu } : {}),
            ...(m ? { mac: m } : {}),
          });
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('which plan each NIC gets', () => {
  const eth0 = { name: 'eth0', mac: '52:54:00:00:00:01' };
  const eth1 = { name: 'eth1', mac: '52:54:00:00:00:02' };
  const all = [eth0, eth1];
  const plan = (...ips: string[]) => ({ ips: ips.map(parseIpArg), nameservers: [] });

  it('DHCP everywhere without ip=', () => {
    expect(planFor(eth1, all, undefined)).toEqual({ kind: 'auto', method: 'dhcp' });
  });

  it('a static ip= without an interface goes to the first NIC only', () => {
    const p = plan('192.0.2.10::192.0.2.1:24:::none');
    expect(planFor(eth0, all, p)).toMatchObject({ kind: 'static', address: '192.0.2.10' });
    expect(planFor(eth1, all, p)).toEqual({ kind: 'auto', method: 'off' });
  });

  it('ip= matches by interface name; NICs it does not name are left alone', () => {
    const p = plan('192.0.2.10::192.0.2.1:24::eth1:none', 'eth9:dhcp::52:54:00:00:00:01');
    expect(planFor(eth1, all, p)).toMatchObject({ kind: 'static', iface: 'eth1' });
    expect(planFor(eth0, all, p)).toEqual({ kind: 'auto', method: 'off' });
    expect(planFor(eth0, all, plan('192.0.2.10::192.0.2.1:24::eth1:none'))).toEqual({ kind: 'auto', method: 'off' });
    expect(planFor(eth0, all, plan('eth1:dhcp', 'dhcp'))).toEqual({ kind: 'auto', method: 'dhcp' });
  });
});
