// PXE boot menus (DHCPv4 option 43, PXE 2.1; docs/net-dhcp.md §14): the sub-option codec on the
// bytes dnsmasq 2.90 sends, round trips, malformed input (a problem naming the server and the
// sub-option, never a throw), and the menu's items as entries (each item's boot file built like a
// lease's, with an in-memory fetch).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { netbootEntries } from '../../../src/net/entries';
import { bootUrl } from '../../../src/net/dhcp4/lease';
import { decodeDhcp4 } from '../../../src/net/dhcp4/packet';
import { subnetBroadcast } from '../../../src/net/dhcp4/pxe-discovery';
import {
  PXE_LIMITS,
  encodePxeOptions,
  parsePxeOptions,
  pxeMenuOf,
  type PxeOptions,
} from '../../../src/net/dhcp4/pxe-menu';
import type { Lease, PxeMenu } from '../../../src/net/types';
import { memFetch, tinyBzImage } from './memfetch';

const z = (n: number) => '00'.repeat(n);
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

// Captured from dnsmasq 2.90 run as
//   --dhcp-range=192.0.2.0,proxy --pxe-prompt="Press F8 for menu.",10
//   --pxe-service=x86-64_EFI,"Install Linux",vmlinuz --pxe-service=x86-64_EFI,"Rescue shell",rescue.ipxe
//   --pxe-service=x86-64_EFI,"Boot from local disk"
// MENU_ACK: its answer on port 4011 to a REQUEST from 192.0.2.99 without sub-option 71 (an EFI
// client's proxy offer carries no menu: dnsmasq sends it here). ITEM_ACK: its answer to the
// REQUEST with 71 = {0x8000, layer 0}.
const MENU_ACK = bytes(
  '020106001234567800008000c000026300000000c000020100000000020000000001' +
    z(202) +
    '638253633501053604c00002013c09505845436c69656e742b61060103080e800001c0000201800101c0000201093680000d496e7374616c6c204c696e757880010c526573637565207368656c6c000014426f6f742066726f6d206c6f63616c206469736b0a130a507265737320463820666f72206d656e752effff',
);
const ITEM_ACK = bytes(
  '02010600123456780000800000000000c0000263c000020100000000020000000001' +
    z(74) +
    '766d6c696e757a2e30' +
    z(119) +
    '638253633501053604c00002013c09505845436c69656e742b1c4704800000000a130a507265737320463820666f72206d656e752effff000000000000000000',
);

describe('option 43 as dnsmasq sends it', () => {
  it('the menu: discovery control, boot servers by type, three items, the prompt', () => {
    const p = decodeDhcp4(MENU_ACK);
    const got = pxeMenuOf(p.options, '192.0.2.1');
    expect(got?.menu).toEqual({
      server: '192.0.2.1',
      discoveryControl: 3,
      bootServers: [
        { type: 0x8000, addresses: ['192.0.2.1'] },
        { type: 0x8001, addresses: ['192.0.2.1'] },
      ],
      prompt: { timeout: 10, text: 'Press F8 for menu.' },
      items: [
        { type: 0x8000, description: 'Install Linux' },
        { type: 0x8001, description: 'Rescue shell' },
        { type: 0, description: 'Boot from local disk' },
      ],
      chosen: 0,
    } satisfies PxeMenu);
    expect(parsePxeOptions(p.options.get(43)!, '192.0.2.1').problems).toEqual([]);
  });

  it('the item ACK: the boot file (basename + ".0" for layer 0) and 71 echoed, no menu', () => {
    const p = decodeDhcp4(ITEM_ACK);
    expect(bootUrl(p)).toBe('tftp://192.0.2.1/vmlinuz.0');
    expect(parsePxeOptions(p.options.get(43)!, '192.0.2.1').options.bootItem).toEqual({ type: 0x8000, layer: 0 });
    expect(pxeMenuOf(p.options, '192.0.2.1')).toBeUndefined();
  });

  it('the request tendril sends for an item: 71 = {type, layer 0}, END', () => {
    expect(Buffer.from(encodePxeOptions({ bootItem: { type: 0x8001, layer: 0 } })).toString('hex')).toBe(
      '47048001' + '0000' + 'ff',
    );
  });
});

const printable = fc.string({ maxLength: 40 }).map((s) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, 'x').trim());
const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const u16 = fc.nat(0xffff);
const pxeOptions: fc.Arbitrary<PxeOptions> = fc.record(
  {
    discoveryControl: fc.nat(255),
    mcastAddr: ip,
    bootServers: fc.array(fc.record({ type: u16, addresses: fc.array(ip, { minLength: 1, maxLength: 3 }) }), {
      maxLength: 4,
    }),
    menu: fc.array(fc.record({ type: u16, description: printable }), { maxLength: 4 }),
    prompt: fc.record({ timeout: fc.nat(255), text: printable }),
    bootItem: fc.record({ type: u16, layer: u16 }),
  },
  { requiredKeys: ['bootServers', 'menu'] },
);

describe('the codec', () => {
  it('round trip: encode then parse gives the same options and no problem', () => {
    fc.assert(
      fc.property(pxeOptions, (o) => {
        let enc: Uint8Array;
        try {
          enc = encodePxeOptions(o);
        } catch {
          return; // a sub-option over 255 bytes cannot be sent; the encoder says so
        }
        const r = parsePxeOptions(enc, '192.0.2.1');
        expect(r.problems).toEqual([]);
        expect(r.options).toEqual(o);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes never throw, stay within the limits, and every problem names the server and sub-option', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => {
        const r = parsePxeOptions(b, '198.51.100.5');
        expect(r.options.menu.length).toBeLessThanOrEqual(PXE_LIMITS.maxItems);
        expect(r.options.bootServers.length).toBeLessThanOrEqual(PXE_LIMITS.maxServerEntries);
        for (const s of r.options.bootServers) expect(s.addresses.length).toBeLessThanOrEqual(PXE_LIMITS.maxAddresses);
        for (const p of r.problems) expect(p).toMatch(/^PXE option 43 from 198\.51\.100\.5: sub-option \d+/);
      }),
      { numRuns: 2000 },
    );
  });

  it('random sub-options of the known codes (valid framing, random contents) never throw', () => {
    const sub = fc
      .tuple(fc.constantFrom(6, 7, 8, 9, 10, 71, 1, 200), fc.uint8Array({ maxLength: 60 }))
      .map(([c, v]) => [c, v.length, ...v]);
    fc.assert(
      fc.property(fc.array(sub, { maxLength: 12 }), (subs) => {
        const r = parsePxeOptions(Uint8Array.from(subs.flat()), 's');
        for (const m of r.options.menu) expect(m.description).not.toMatch(/[\u0000-\u001f]/);
      }),
    );
  });

  it('a menu item that runs past the end: the items before it stand, the problem names server and sub-option', () => {
    const good = [...encodePxeOptions({ menu: [{ type: 0x8000, description: 'one' }] })].slice(2, -1);
    const v = Uint8Array.from([9, good.length + 4, ...good, 0x80, 0x01, 9, 0x41]);
    const r = parsePxeOptions(v, '192.0.2.7');
    expect(r.options.menu).toEqual([{ type: 0x8000, description: 'one' }]);
    expect(r.problems).toEqual([
      'PXE option 43 from 192.0.2.7: sub-option 9 (PXE_BOOT_MENU): item 2 (type 32769) runs past the end',
    ]);
  });

  it('wrong lengths, a repeated sub-option, a sub-option past the end: problems, not throws', () => {
    const r = parsePxeOptions(Uint8Array.from([6, 2, 1, 2, 71, 3, 0, 0, 0, 6, 1, 8, 6, 1, 3, 10, 9, 1]), 'S');
    expect(r.options).toEqual({ discoveryControl: 8, bootServers: [], menu: [] });
    expect(r.problems).toEqual([
      'PXE option 43 from S: sub-option 6 (PXE_DISCOVERY_CONTROL): length 2, not 1',
      'PXE option 43 from S: sub-option 71 (PXE_BOOT_ITEM): length 3, not 4',
      'PXE option 43 from S: sub-option 6 (PXE_DISCOVERY_CONTROL): sent twice; the first one counts',
      'PXE option 43 from S: sub-option 10 (PXE_MENU_PROMPT): length 9 runs past the end of option 43',
    ]);
  });

  it('control characters in a description (terminal escapes) are replaced', () => {
    const v = encodePxeOptions({ menu: [{ type: 1, description: 'a\u001b[2Jb\u0007' }] });
    expect(parsePxeOptions(v, 's').options.menu[0]!.description).toBe('a\ufffd[2Jb\ufffd');
  });

  it('more items than the limit: the first ones are kept and the rest reported', () => {
    const menu = Array.from({ length: PXE_LIMITS.maxItems + 3 }, (_, i) => ({ type: i + 1, description: `i${i}` }));
    const r = parsePxeOptions(encodePxeOptions({ menu }), 's');
    expect(r.options.menu).toHaveLength(PXE_LIMITS.maxItems);
    expect(r.problems[0]).toMatch(/sub-option 9 \(PXE_BOOT_MENU\): more than 16 items/);
  });

  it('a menu is only read from a PXEClient reply, and a first item of type 0 means local boot', () => {
    const o43 = encodePxeOptions({
      menu: [
        { type: 0, description: 'Local' },
        { type: 5, description: 'Net' },
      ],
    });
    const text = (s: string) => new TextEncoder().encode(s);
    expect(pxeMenuOf(new Map([[43, o43]]), 's')).toBeUndefined();
    expect(
      pxeMenuOf(
        new Map([
          [60, text('HTTPClient')],
          [43, o43],
        ]),
        's',
      ),
    ).toBeUndefined();
    const m = pxeMenuOf(
      new Map([
        [60, text('PXEClient')],
        [43, o43],
      ]),
      's',
    )!.menu;
    expect(m.chosen).toBeUndefined();
    expect(m.items.map((i) => i.type)).toEqual([0, 5]);
  });

  it('the subnet broadcast discovery uses', () => {
    const l = (address: string, prefixLength: number) => ({ address, prefixLength }) as Lease;
    expect(subnetBroadcast(l('198.51.100.104', 24))).toBe('198.51.100.255');
    expect(subnetBroadcast(l('10.1.2.3', 8))).toBe('10.255.255.255');
    expect(subnetBroadcast(l('10.1.2.3', 20))).toBe('10.1.15.255');
    expect(subnetBroadcast(l('10.1.2.3', 32))).toBe('255.255.255.255');
  });
});

describe('menu items as entries', () => {
  const lease = (menu: PxeMenu): Lease => ({
    iface: 'eth0',
    mac: '52:54:00:ab:cd:ef',
    family: 4,
    how: 'dhcp',
    address: '192.0.2.91',
    prefixLength: 24,
    dns: [],
    ntp: [],
    server: '192.0.2.1',
    bootUrl: 'tftp://192.0.2.5/linux.0',
    pxeMenu: menu,
  });
  const menu: PxeMenu = {
    server: '192.0.2.5',
    discoveryControl: 3,
    bootServers: [],
    prompt: { timeout: 10, text: 'Press F8' },
    items: [
      { type: 0x8000, description: 'Install Linux', bootServer: '192.0.2.5', bootUrl: 'tftp://192.0.2.5/linux.0' },
      { type: 0, description: 'Local disk' },
      {
        type: 0x8001,
        description: 'Rescue',
        bootServer: '192.0.2.6',
        bootUrl: 'tftp://192.0.2.6/rescue.ipxe',
      },
      { type: 0x8002, description: 'Broken', error: 'no answer on port 4011 from 192.0.2.5' },
    ],
    chosen: 0,
  };
  const files = {
    'tftp://192.0.2.5/linux.0': tinyBzImage(),
    'tftp://192.0.2.6/rescue.ipxe':
      '#!ipxe\nmenu Rescue\nitem a Shell A\nitem b Shell B\nchoose x && goto ${x}\n:a\nkernel http://192.0.2.6/a.krn\nboot\n:b\nkernel http://192.0.2.6/b.krn\nboot\n',
  };

  it('one entry per booting path of each item but local boot; the first item is the default; the prompt is the timeout', async () => {
    const r = await netbootEntries(lease(menu), memFetch(files).fetch);
    expect(r.entries.map((e) => [e.title, e.status.ok])).toEqual([
      ['PXE: Install Linux (from 192.0.2.5)', true],
      ['PXE: Rescue: iPXE: Shell A (192.0.2.6)', true],
      ['PXE: Rescue: iPXE: Shell B (192.0.2.6)', true],
      ['PXE: Broken (from 192.0.2.5)', false],
    ]);
    const broken = r.entries[3]!.status;
    expect(broken.ok ? '' : broken.reason).toContain('no answer on port 4011');
    expect(new Set(r.entries.map((e) => e.sourceId)).size).toBe(4);
    expect(r.defaultId).toBe(r.entries[0]!.sourceId);
    expect(r.settings).toMatchObject({ kind: 'menu-config', defaultId: r.entries[0]!.sourceId });
    expect(r.timeout).toEqual({ kind: 'seconds', seconds: 10 });
    expect(r.bootFile).toMatchObject({ url: 'tftp://192.0.2.5/linux.0', kind: { kind: 'bzimage' } });
    expect(r.diagnostics.map((d) => d.message)).toContain(
      'PXE menu from 192.0.2.5: "Local disk" is local boot; no entry',
    );
  });

  it('a menu whose first item is local boot proposes no network default; 255 waits for a key', async () => {
    const m: PxeMenu = {
      ...menu,
      prompt: { timeout: 255, text: '' },
      items: [menu.items[1]!, menu.items[0]!],
    };
    const { chosen: _c, ...noChoice } = m;
    const { bootUrl: _u, ...noBootFile } = lease(noChoice);
    const r = await netbootEntries(noBootFile, memFetch(files).fetch);
    expect(r.entries.map((e) => e.title)).toEqual(['PXE: Install Linux (from 192.0.2.5)']);
    expect(r.defaultId).toBeUndefined();
    expect(r.timeout).toEqual({ kind: 'menu-force' });
    expect(r.diagnostics.map((d) => d.message)).toContain(
      'PXE menu from 192.0.2.5: its first item is local boot; no network default',
    );
  });
});
