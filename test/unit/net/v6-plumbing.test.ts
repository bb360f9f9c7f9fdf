// The IPv6 plumbing around the DHCPv6 client: which families each ip= plan and net.family value
// run (acquire.ts familiesFor, docs/net-dhcp.md §11), and IPv6 boot URLs (option 59's
// `tftp://[2001:db8::1]/file`, `http://[2001:db8::1]/x`) through URL resolution, the network
// filesystem's paths and titles. The transfers themselves run against real servers in
// netboot-v6-netns.test.ts, tftp-servers.test.ts and http-servers.test.ts.
import { describe, expect, it } from 'vitest';
import { familiesFor } from '../../../src/net/acquire';
import { parseIpArg } from '../../../src/net/manual';
import { pathToUrl, urlToPath } from '../../../src/net/netfs';
import { dirUrl, resolveUrl, urlHost } from '../../../src/net/url';

describe('familiesFor', () => {
  it.each([
    [{ kind: 'auto', method: 'dhcp' }, 'both', { v4: true, v6: true }],
    [{ kind: 'auto', method: 'dhcp' }, '4', { v4: true, v6: false }],
    [{ kind: 'auto', method: 'any' }, '6', { v4: false, v6: true }],
    [{ kind: 'auto', method: 'dhcp6' }, 'both', { v4: false, v6: true }],
    [{ kind: 'auto', method: 'auto6' }, '4', { v4: false, v6: true }],
    [{ kind: 'auto', method: 'off' }, 'both', { v4: false, v6: false }],
    [{ kind: 'auto', method: 'none' }, '6', { v4: false, v6: false }],
  ] as const)('%o with net.family %s', (plan, family, want) => {
    expect(familiesFor(plan, family)).toEqual(want);
  });

  it('a static ip= is IPv4 alone, whatever net.family says', () => {
    const plan = parseIpArg('192.0.2.5::192.0.2.1:24::eth0:none');
    expect(plan.kind).toBe('static');
    expect(familiesFor(plan, '6')).toEqual({ v4: true, v6: false });
    expect(familiesFor(parseIpArg('eth0:dhcp6'), 'both')).toEqual({ v4: false, v6: true });
  });
});

describe('IPv6 boot URLs', () => {
  it('resolve, name relative files, and map to network file paths and back', () => {
    for (const url of ['tftp://[2001:db8::1]/file', 'http://[2001:db8::1]/x', 'https://[2001:db8::1]:8443/a/b.efi']) {
      expect(resolveUrl(url, undefined)).toBe(url);
      expect(pathToUrl(urlToPath(url))).toBe(url);
      expect(urlHost(url)).toBe('[2001:db8::1]');
    }
    expect(resolveUrl('vmlinuz', 'tftp://[2001:db8::1]/boot/boot.ipxe')).toBe('tftp://[2001:db8::1]/boot/vmlinuz');
    expect(resolveUrl('/x', 'http://[2001:DB8:0::1]/a/b')).toBe('http://[2001:db8::1]/x');
    expect(dirUrl('http://[2001:db8::1]/a/b.ipxe')).toBe('http://[2001:db8::1]/a/');
    expect(() => resolveUrl('http://[2001:db8::1/x', undefined)).toThrow(/not a URL/);
  });
});
