// The bls generator's own semantics (docs/sprout.md §9.3): parser, variables, sort_bls order, the
// synthetic sort key, and the directory rules.
import { afterEach, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../src/discovery/diagnostics';
import { blsValues, parseBls, readBlsDir, sortBls } from '../../../src/discovery/sources/sprout/bls';
import { makeCtx, type TestCtx } from './tree';

let t: TestCtx | undefined;
afterEach(() => t?.cleanup());

const rec = (stem: string, text: string) => parseBls(stem, `/loader/entries/${stem}.conf`, text);

describe('parser and variables', () => {
  it('last value wins for sprout; natively every initrd and options line is kept', () => {
    const r = rec(
      'a',
      'initrd /one\ninitrd /two\noptions a\noptions "b c"\nlinux /vmlinuz\n# comment\n  title   Fedora Linux  \n',
    );
    expect(r.initrd).toBe('/two');
    expect(r.options).toBe('"b c"'); // sprout: no quote stripping
    expect(r.nativeInitrds).toEqual(['/one', '/two']);
    expect(r.nativeOptions).toEqual(['a', 'b c']);
    expect(r.title).toBe('Fedora Linux');
  });
  it('$title appends the version unless the title contains it; $title-base falls back to the stem', () => {
    expect(blsValues(rec('x', 'title Fedora\nversion 6.1\nlinux /k\n')).get('title')).toBe('Fedora 6.1');
    expect(blsValues(rec('x', 'title Fedora 6.1 (Workstation)\nversion 6.1\nlinux /k\n')).get('title')).toBe(
      'Fedora 6.1 (Workstation)',
    );
    const v = blsValues(rec('stem', 'linux /k\n'));
    expect([v.get('title-base'), v.get('title'), v.get('version'), v.get('machine-id')]).toEqual([
      'stem',
      'stem',
      '',
      '',
    ]);
  });
  it('$chainload and $initrd: / → \\, leading \\ stripped, $tuned_initrd removed; efi when no linux', () => {
    const v = blsValues(rec('x', 'linux /boot/vmlinuz-6.5\ninitrd /boot/initramfs-6.5.img $tuned_initrd\n'));
    expect(v.get('chainload')).toBe('boot\\vmlinuz-6.5');
    expect(v.get('initrd')).toBe('boot\\initramfs-6.5.img ');
    expect(blsValues(rec('x', 'efi /EFI/tool.efi\n')).get('chainload')).toBe('EFI\\tool.efi');
  });
});

describe('sort_bls (docs/sprout.md §9.3)', () => {
  it('no sort-key first, then sort-key ascending; machine-id likewise; versionless before versioned, versions descending; stems descending', () => {
    const rs = [
      rec('s-b', 'sort-key b\nlinux /k\n'),
      rec('s-a', 'sort-key a\nlinux /k\n'),
      rec('v-2', 'version 2\nlinux /k\n'),
      rec('v-10', 'version 10\nlinux /k\n'),
      rec('nov-1', 'linux /k\n'),
      rec('nov-2', 'linux /k\n'),
      rec('m', 'machine-id 0000\nlinux /k\n'),
    ];
    expect(sortBls(rs).map((r) => r.stem)).toEqual(['nov-2', 'nov-1', 'v-10', 'v-2', 'm', 's-a', 's-b']);
  });
});

describe('readBlsDir', () => {
  it('reads *.conf (any case), ignores a bare .conf, directories and other files; bad UTF-8 skips one file', async () => {
    t = makeCtx([
      {
        fsId: 'vda:2',
        files: {
          'loader/entries/a.conf': 'linux /a\n',
          'loader/entries/B.CONF': 'linux /b\n',
          'loader/entries/.conf': 'linux /hidden\n',
          'loader/entries/notes.txt': 'linux /n\n',
          'loader/entries/dir.conf/': '',
          'loader/entries/bad.conf': new Uint8Array([0x6c, 0x69, 0x6e, 0x75, 0x78, 0x20, 0xff, 0xfe]),
          'loader/entries/nolinux.conf': 'title nothing\n',
        },
      },
    ]);
    const ds: Diagnostic[] = [];
    const recs = await readBlsDir(
      t.ctx.filesystems[0]!.fs,
      '/loader',
      { fsId: 'vda:2', file: '/sprout.toml', line: 3 },
      ds,
    );
    expect(recs.map((r) => r.stem).sort()).toEqual(['B', 'a']);
    expect(ds.find((d) => d.file === '/loader/entries/bad.conf')?.message).toMatch(/not valid UTF-8/);
    expect(ds.find((d) => d.file === '/loader/entries/nolinux.conf')?.message).toMatch(/neither linux nor efi/);
  });
});

describe('sortBls with fixSortBugs (docs/sprout.md §15.6 → docs/bls.md §8.1)', () => {
  it('entries with a sort-key come first; versionless ones are not hoisted', () => {
    const rs = [
      rec('nokey', 'version 9\nlinux /k\n'),
      rec('key-a', 'sort-key a\nversion 1\nlinux /k\n'),
      rec('key-a2', 'sort-key a\nversion 2\nlinux /k\n'),
    ];
    expect(sortBls(rs).map((r) => r.stem)).toEqual(['nokey', 'key-a2', 'key-a']);
    expect(sortBls(rs, true).map((r) => r.stem)).toEqual(['key-a2', 'key-a', 'nokey']);
  });
});
