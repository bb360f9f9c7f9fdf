// The boot origin rules (docs/net-bootfiles.md §8): systemd's last-component replacement for
// `bootorigin` pulls, the rewrite of the command line, and the BLS `uki-url` value.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ukiUrlOf } from '../../../src/discovery/entries/blsentry';
import { bootOriginFor, changeLastComponent, rewriteBootOriginPulls } from '../../../src/net/origin';
import { netRef } from '../../../src/net/netentry';

describe("systemd's import_url_change_suffix(url, 1, name)", () => {
  it.each([
    ['http://h/dir/boot.efi', 'img.raw', 'http://h/dir/img.raw'],
    ['http://h/dir/boot.efi?token=1#frag', 'img.raw', 'http://h/dir/img.raw'],
    // A trailing slash: the directory itself is the last component.
    ['http://h/dir/sub/', 'img.raw', 'http://h/dir/img.raw'],
    ['http://h/a//b', 'x', 'http://h/a/x'],
    ['http://h', 'x', 'http://h/x'],
    ['http://h/', 'x', 'http://h/x'],
    ['https://h:8443/boot.efi', 'x.raw.xz', 'https://h:8443/x.raw.xz'],
    ['http://h?q=1', 'x', 'http://h/x'],
  ])('%s + %s = %s', (url, name, want) => {
    expect(changeLastComponent(url, name)).toBe(want);
  });

  it('refuses what systemd refuses: no scheme, an empty host', () => {
    expect(changeLastComponent('noscheme', 'x')).toBeUndefined();
    expect(changeLastComponent(':x', 'x')).toBeUndefined();
    expect(changeLastComponent('http://', 'x')).toBeUndefined();
    // As lenient as systemd: every slash after the colon is skipped, so 'path' is the host.
    expect(changeLastComponent('http:///path', 'x')).toBe('http:///path/x');
  });

  it('keeps the scheme and host, drops query and fragment, ends in /name (any input)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 20 }), (url, name) => {
        const r = changeLastComponent(url, name);
        if (r === undefined) return;
        expect(r.endsWith(`/${name}`)).toBe(true);
        const head = r.slice(0, r.length - name.length - 1);
        expect(url.startsWith(head)).toBe(true);
        expect(head.slice(url.indexOf(':') + 1)).not.toMatch(/[?#]/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('rewriteBootOriginPulls', () => {
  const origin = 'http://192.0.2.1/os/uki.efi';

  it('rewrites rd.systemd.pull and systemd.pull with bootorigin; leaves the rest byte for byte', () => {
    const cl =
      'quiet  rd.systemd.pull=raw,machine,verify=no,blockdev,bootorigin:image:image.raw.xz root=/dev/disk/by-loop-ref/image.raw-part2 systemd.pull=bootorigin,tar,sysext::ext.tar';
    const r = rewriteBootOriginPulls(cl, origin);
    expect(r.cmdline).toBe(
      'quiet  rd.systemd.pull=raw,machine,verify=no,blockdev:image:http://192.0.2.1/os/image.raw.xz root=/dev/disk/by-loop-ref/image.raw-part2 systemd.pull=tar,sysext::http://192.0.2.1/os/ext.tar',
    );
    expect(r.rewrites.map((x) => x.to)).toEqual([
      'rd.systemd.pull=raw,machine,verify=no,blockdev:image:http://192.0.2.1/os/image.raw.xz',
      'systemd.pull=tar,sysext::http://192.0.2.1/os/ext.tar',
    ]);
    expect(r.notes).toEqual([]);
  });

  it('leaves pulls without bootorigin, quoted words and unsplittable ones alone', () => {
    for (const cl of [
      'rd.systemd.pull=raw,machine::https://x/y.raw',
      'rd.systemd.pull="raw,bootorigin:a:b c"',
      'x="a rd.systemd.pull=raw,bootorigin:a:b"',
      'rd.systemd.pull=raw,bootorigin:onlyone',
      'foo.rd.systemd.pull=raw,bootorigin:a:b',
      'rd.systemd.pull=raw,notbootorigin:a:b',
    ]) {
      const r = rewriteBootOriginPulls(cl, origin);
      expect(r.cmdline).toBe(cl);
      expect(r.rewrites).toEqual([]);
    }
  });

  it('without an http(s) origin the option stays, with a note saying why', () => {
    const cl = 'rd.systemd.pull=raw,machine,bootorigin:i:i.raw';
    expect(rewriteBootOriginPulls(cl, undefined)).toMatchObject({
      cmdline: cl,
      notes: [expect.stringMatching(/no origin/)],
    });
    expect(rewriteBootOriginPulls(cl, 'tftp://h/x.efi')).toMatchObject({
      cmdline: cl,
      notes: [expect.stringMatching(/not http\(s\)/)],
    });
  });

  it('never throws; changes only pull words, and every rewrite names an http(s) URL (any input)', () => {
    const word = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc
        .tuple(
          fc.constantFrom('rd.systemd.pull=', 'systemd.pull='),
          fc.subarray(['raw', 'tar', 'machine', 'bootorigin', 'verify=no', 'blockdev'], { minLength: 1 }),
          fc.string({ maxLength: 10 }),
          fc.string({ maxLength: 20 }),
        )
        .map(([k, o, l, r]) => `${k}${o.join(',')}:${l}:${r}`),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), fc.option(fc.webUrl(), { nil: undefined }), (words, o) => {
        const cl = words.join(' ');
        const r = rewriteBootOriginPulls(cl, o);
        for (const x of r.rewrites) {
          expect(x.from).toMatch(/^(rd\.)?systemd\.pull=/);
          expect(x.to.split(',').includes('bootorigin')).toBe(false);
          expect(x.to).toMatch(/:https?:\/\//);
        }
        if (r.rewrites.length === 0) expect(r.cmdline).toBe(cl);
      }),
      { numRuns: 1000 },
    );
  });

  it('the origin of a network image is its own URL (StubDeviceURL), else tendril’s', () => {
    const uki = netRef('eth0', 'http://192.0.2.1/os/uki.efi');
    expect(bootOriginFor(uki, 'http://other/x')).toBe('http://192.0.2.1/os/uki.efi');
    expect(bootOriginFor({ fsId: 'vda:1', path: '/EFI/Linux/a.efi' }, 'http://o/boot.efi')).toBe('http://o/boot.efi');
    expect(bootOriginFor({ fsId: 'vda:1', path: '/EFI/Linux/a.efi' }, undefined)).toBeUndefined();
  });
});

describe('BLS uki-url values', () => {
  it('absolute http(s)/tftp URLs as given; `:name` against the origin (last component replaced)', () => {
    expect(ukiUrlOf('http://h/a.efi', undefined)).toEqual({ ok: true, url: 'http://h/a.efi' });
    expect(ukiUrlOf('tftp://h/a.efi', undefined)).toEqual({ ok: true, url: 'tftp://h/a.efi' });
    expect(ukiUrlOf(':fooos.efi', 'http://example.com/somedir/fooosbootldr.img')).toEqual({
      ok: true,
      url: 'http://example.com/somedir/fooos.efi',
    });
    expect(ukiUrlOf(':a.efi', 'http://h/d/boot.efi?x#y')).toEqual({ ok: true, url: 'http://h/d/a.efi' });
  });

  it('says why when it cannot be fetched', () => {
    const none = ukiUrlOf(':a.efi', undefined);
    expect(none.ok ? '' : none.reason).toMatch(/net\.origin/);
    expect(ukiUrlOf('/EFI/a.efi', undefined)).toMatchObject({ ok: false });
    expect(ukiUrlOf('file:///a.efi', undefined)).toMatchObject({ ok: false });
    expect(ukiUrlOf(':', 'http://h/x')).toMatchObject({ ok: false });
    expect(ukiUrlOf(':a.efi', 'ftp://h/x')).toMatchObject({ ok: false });
  });

  it('any value: ok results are fetchable URLs, never a throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.option(fc.webUrl(), { nil: undefined }), (v, o) => {
        const r = ukiUrlOf(v, o);
        if (r.ok) expect(r.url).toMatch(/^(https?|tftp):\/\/[^/?#\s]+/i);
      }),
      { numRuns: 2000 },
    );
  });
});
