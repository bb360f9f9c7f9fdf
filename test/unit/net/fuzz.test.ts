// fast-check (docs/net-bootfiles.md §7): random iPXE scripts (from the command grammar, with
// chains between them, and raw bytes) always settle, end only in an outcome or an IpxeError
// naming URL and line, and never fetch or name a URL outside the permitted schemes; the pxelinux
// candidate generator keeps its order; URL resolution and the NetFileSystem path mapping either
// give a permitted URL that round-trips or a NetError, nothing else; random pxelinux configs
// through netbootEntries never throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { netbootEntries } from '../../../src/net/entries';
import { IpxeError, exploreIpxe, runIpxe, type IpxeOutcome } from '../../../src/net/ipxe';
import { SettingLimitError, SettingStore, builtinSettings, expand } from '../../../src/net/ipxe/settings';
import { pathToUrl, urlToPath } from '../../../src/net/netfs';
import { pxelinuxCandidates, resolvePxeName } from '../../../src/net/pxelinux';
import { NetError } from '../../../src/net/types';
import { MAX_URL, resolveUrl } from '../../../src/net/url';
import { LEASE, UUID, memFetch, tinyBzImage, type Served } from './memfetch';

const PERMITTED = /^(tftp|http|https):\/\//;
const BASE = 'http://192.0.2.1/s/';

const urlish = fc.constantFrom(
  'a.ipxe',
  'b.ipxe',
  'vmlinuz',
  '../k/vmlinuz',
  '/abs/initrd.img',
  'http://192.0.2.1/s/a.ipxe',
  'https://198.51.100.2/x.efi',
  'tftp://192.0.2.1/k',
  'ftp://192.0.2.1/x',
  'file:///etc/passwd',
  'data:text/plain,x',
  'javascript:alert(1)',
  '//198.51.100.9/x',
  '${base}k',
  '${filename}',
  'missing.ipxe',
  'junk.bin',
  '::k',
  '',
);
const word = fc.oneof(
  fc.constantFrom(
    '${mac}',
    '${net0/mac:hexhyp}',
    '${ip}',
    '${uuid:uuid}',
    '${x}',
    '${${x}}',
    '${x:hex}',
    '${target}',
    'x',
    'target',
    '--default',
    '--timeout',
    '1000',
    '--name',
    'k',
    '||',
    '&&',
    ';',
    '#',
    'a',
    'b',
    '${',
    '}',
    'x:hex',
    '41:42',
  ),
  fc.string({ maxLength: 8 }),
);
const words = fc.array(word, { maxLength: 6 }).map((w) => w.join(' '));
const line = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        'set',
        'clear',
        'isset',
        'iseq',
        'echo',
        'inc',
        'imgargs',
        'imgfree',
        'sleep',
        'prompt',
        'cpuid',
        'exit',
        'boot',
        'sanboot',
        'shell',
        'frob',
      ),
      words,
    )
    .map(([c, w]) => `${c} ${w}`),
  fc
    .tuple(fc.constantFrom('kernel', 'initrd', 'module', 'imgfetch', 'chain', 'chain --autofree'), urlish, words)
    .map(([c, u, w]) => `${c} ${u} ${w}`),
  fc.constantFrom(':a', ':b', ':start', 'goto a', 'goto b', 'goto start', 'goto ${target}', 'goto nowhere'),
  fc.constantFrom(
    'menu Title',
    'menu --name m M',
    'item a A',
    'item b B',
    'item --gap --',
    'item --menu m a A',
    'choose target',
    'choose --default b --timeout 5 target && goto ${target}',
    'choose --menu m target || goto start',
  ),
  fc.constantFrom(
    'set base http://192.0.2.1/s/',
    'set base file:///',
    'set x:hex zz',
    'set x ${x}${x}${x}${x}',
    'kernel ${base}vmlinuz',
    'boot || goto a',
  ),
);
// Well-formed pieces, so that random scripts also reach boots and menus, not only early failures.
const piece = fc.constantFrom(
  'kernel vmlinuz quiet ${mac}\ninitrd initrd.img\nboot',
  'chain vmlinuz console=ttyS0',
  'chain a.ipxe ${ip}',
  'menu Pick\nitem a Alpha\nitem --gap --\nitem b Beta\nchoose --default a target && goto ${target} || exit',
  'menu Sub\nitem a A2\nitem start Back\nchoose t && goto ${t}',
  'isset ${x} || set x 1\ninc x\niseq ${x} 3 && goto b ||',
);
const script = fc.array(fc.oneof(line, piece), { maxLength: 25 }).map((ls) => `#!ipxe\n${ls.join('\n')}\n`);

function checkOutcome(o: IpxeOutcome): void {
  switch (o.kind) {
    case 'linux':
      for (const u of [o.kernel.url, ...o.initrds.map((i) => i.url)]) expect(u).toMatch(PERMITTED);
      break;
    case 'uki':
    case 'efi':
      expect(o.image.url).toMatch(PERMITTED);
      break;
    case 'error':
      expect(o.error).toBeInstanceOf(IpxeError);
      expect(o.error.url).toMatch(PERMITTED);
      break;
    default:
      break;
  }
}

describe('iPXE interpreter under random scripts', () => {
  it('settles, ends in an outcome or an IpxeError, and fetches only permitted URLs', async () => {
    const kinds = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        script,
        script,
        script,
        fc.array(fc.constantFrom('a', 'b', 'zz'), { maxLength: 3 }),
        async (main, a, b, choices) => {
          const files: Record<string, Served> = {
            [`${BASE}a.ipxe`]: a,
            [`${BASE}b.ipxe`]: b,
            [`${BASE}vmlinuz`]: tinyBzImage(),
            [`${BASE}junk.bin`]: 'junk',
          };
          const m = memFetch(files);
          const opts = {
            builtins: { lease: { ...LEASE, bootUrl: `${BASE}main.ipxe` }, smbios: { uuid: UUID } },
            fetchFile: async (u: string) => (await m.fetch(u, { maxBytes: 1 << 20 })).bytes,
          };
          const r = await runIpxe(`${BASE}main.ipxe`, new TextEncoder().encode(main), { ...opts, choices });
          checkOutcome(r.outcome);
          kinds.add(r.outcome.kind);
          const x = await exploreIpxe(`${BASE}main.ipxe`, new TextEncoder().encode(main), opts, 4);
          for (const p of x.paths) checkOutcome(p.outcome);
          for (const u of m.asked) expect(u).toMatch(PERMITTED);
        },
      ),
      { numRuns: 150 },
    );
    // The grammar reaches every kind of ending, so the checks above are exercised.
    expect([...kinds]).toEqual(expect.arrayContaining(['end', 'error', 'exit', 'linux', 'menu']));
  }, 120_000);
  it('raw bytes after #!ipxe never throw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        const all = new Uint8Array([...new TextEncoder().encode('#!ipxe\n'), ...bytes]);
        const r = await runIpxe(`${BASE}x`, all, {
          builtins: { lease: LEASE },
          fetchFile: async (u) => {
            throw new NetError(u, 'offline', true, true);
          },
        });
        checkOutcome(r.outcome);
      }),
      { numRuns: 300 },
    );
  });
  it('expansion ends in a string or a SettingLimitError', () => {
    const store = new SettingStore(builtinSettings({ lease: LEASE }), new Set(['net0']));
    store.set({ name: 'self' }, '${self}');
    fc.assert(
      fc.property(fc.array(fc.oneof(word, fc.constantFrom('${self}', '$', '{', '}')), { maxLength: 30 }), (ws) => {
        try {
          expect(typeof expand(ws.join(''), store)).toBe('string');
        } catch (e) {
          expect(e).toBeInstanceOf(SettingLimitError);
        }
      }),
    );
  });
});

describe('pxelinux candidates', () => {
  const mac = fc
    .array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
    .map((b) => b.map((x) => x.toString(16).padStart(2, '0')).join(':'));
  const ip = fc.ipV4();
  const uuid = fc.oneof(fc.uuid(), fc.constant(undefined), fc.string({ maxLength: 40 }));
  it('UUID (when valid), 01-MAC, 8..1 hex digits of the address, default — in that order', () => {
    fc.assert(
      fc.property(mac, ip, uuid, (m, a, u) => {
        const c = pxelinuxCandidates({ mac: m, address: a, family: 4 }, u);
        const validUuid = u !== undefined && /^[0-9a-f-]{36}$/i.test(u) && !/^[0-]+$/.test(u) && !/^[fF-]+$/.test(u);
        const rest = validUuid ? c.slice(1) : c;
        if (validUuid) expect(c[0]).toBe(u.toLowerCase());
        expect(rest[0]).toBe(`01-${m.replace(/:/g, '-')}`);
        const hex = a
          .split('.')
          .map((n) => Number(n).toString(16).toUpperCase().padStart(2, '0'))
          .join('');
        expect(rest.slice(1, 9)).toEqual([8, 7, 6, 5, 4, 3, 2, 1].map((n) => hex.slice(0, n)));
        expect(rest.slice(9)).toEqual(['default']);
      }),
    );
  });
});

describe('URL resolution and confinement', () => {
  const ref = fc.oneof(
    urlish,
    fc.string({ maxLength: 40 }),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.string({ minLength: MAX_URL - 5, maxLength: MAX_URL + 5 }),
  );
  const base = fc.constantFrom(
    'http://192.0.2.1/s/',
    'https://192.0.2.1/s/x',
    'tftp://192.0.2.1/',
    'tftp://192.0.2.1/boot/pxelinux.0',
  );
  it('resolveUrl gives a permitted URL (no downgrade from https, no credentials) or a NetError', () => {
    fc.assert(
      fc.property(ref, base, (r, b) => {
        let out: string;
        try {
          out = resolveUrl(r, b);
        } catch (e) {
          expect(e).toBeInstanceOf(NetError);
          return;
        }
        expect(out).toMatch(PERMITTED);
        expect(out.length).toBeLessThanOrEqual(MAX_URL);
        if (b.startsWith('https:')) expect(out).toMatch(/^https:/);
        expect(new URL(out).username).toBe('');
      }),
    );
  });
  it('resolvePxeName too; and every result round-trips through its NetFileSystem path', () => {
    fc.assert(
      fc.property(ref, base, (r, b) => {
        let out: string;
        try {
          out = resolvePxeName(r, b);
        } catch (e) {
          expect(e).toBeInstanceOf(NetError);
          return;
        }
        expect(out).toMatch(PERMITTED);
        // Every URL has a path that leads back to it; only one whose escaped path passes PATH_MAX has none.
        if (out.length < 1300) expect(pathToUrl(urlToPath(out))).toBe(out);
        else {
          try {
            expect(pathToUrl(urlToPath(out))).toBe(out);
          } catch (e) {
            expect(e).toBeInstanceOf(NetError);
          }
        }
      }),
    );
  });
});

describe('pxelinux configs through netbootEntries', () => {
  const pxLine = fc.oneof(
    fc
      .tuple(
        fc.constantFrom(
          'LABEL',
          'KERNEL',
          'LINUX',
          'INITRD',
          'APPEND',
          'IPAPPEND',
          'SYSAPPEND',
          'DEFAULT',
          'ONTIMEOUT',
          'INCLUDE',
          'MENU INCLUDE',
          'PROXY',
          'LOCALBOOT',
          'MENU LABEL',
          'CONFIG',
          'TIMEOUT',
        ),
        urlish,
        words,
      )
      .map(([k, u, w]) => `${k} ${u} ${w}`),
    fc.string({ maxLength: 30 }),
  );
  const cfg = fc.array(pxLine, { maxLength: 20 }).map((l) => l.join('\n'));
  it('never throw; every error diagnostic names a file or the interface; all named files are permitted URLs', async () => {
    let bootable = 0;
    let broken = 0;
    await fc.assert(
      fc.asyncProperty(cfg, cfg, async (main, inc) => {
        const B = 'tftp://192.0.2.1/boot/';
        const m = memFetch({
          [`${B}pxelinux.0`]: 'x',
          [`${B}pxelinux.cfg/default`]: main,
          [`${B}a.ipxe`]: inc,
          [`${B}b.ipxe`]: inc,
        });
        const r = await netbootEntries(LEASE, m.fetch);
        for (const e of r.entries) {
          if (e.status.ok) bootable++;
          else broken++;
          expect(e.origin.file).toMatch(PERMITTED);
          if (e.status.ok && e.status.target.kind === 'linux') {
            for (const f of [e.status.target.kernel, ...e.status.target.initrds])
              expect(pathToUrl(f.path)).toMatch(PERMITTED);
          }
        }
        for (const u of m.asked) expect(u).toMatch(PERMITTED);
        for (const d of r.diagnostics) if (d.severity === 'error') expect(d.file ?? d.device).toBeDefined();
      }),
      { numRuns: 150 },
    );
    // Random configs make bootable labels and broken ones, so both paths above were checked.
    expect(bootable).toBeGreaterThan(0);
    expect(broken).toBeGreaterThan(0);
  });
});
