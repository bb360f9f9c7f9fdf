// filesystem-device-match on tendril's inventory (docs/sprout.md §6, §17.3): each criterion alone,
// AND, first match in discovery order, GPT-only GUIDs, fallback, no match.
import { afterEach, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../src/discovery/diagnostics';
import { runExtractors, unavailableMarker } from '../../../src/discovery/sources/sprout/extractors';
import type { ExtractorCfg } from '../../../src/discovery/sources/sprout/schema';
import { esp, LINUX_TYPE, makeCtx, XBOOTLDR_TYPE, type TestCtx } from './tree';

let t: TestCtx | undefined;
afterEach(() => t?.cleanup());

const at = { file: '/sprout.toml', line: 1 };
const P2 = '22222222-2222-4222-8222-222222222222';
const P3 = '33333333-3333-4333-8333-333333333333';

function setup() {
  t = makeCtx([
    esp({ 'EFI/BOOT/BOOTX64.EFI': 'x' }, { label: 'ESP' }),
    // An MBR partition: its PARTUUID is '<sig>-<nn>', its type '0x83'; GUID criteria never match it.
    { fsId: 'vdb:1', partType: '0x83', partUuid: '1234abcd-01', label: 'rootfs', files: { 'etc/os-release': 'x' } },
    {
      fsId: 'vda:2',
      partType: LINUX_TYPE,
      partUuid: P2,
      label: 'rootfs',
      files: { 'boot/vmlinuz': 'k', 'loader/entries/': '' },
    },
    { fsId: 'vda:3', partType: XBOOTLDR_TYPE, partUuid: P3, label: 'boot', files: { 'loader/entries/a.conf': 'x' } },
  ]);
  return t;
}

async function run(e: Partial<ExtractorCfg>, values: Record<string, string> = {}) {
  const ds: Diagnostic[] = [];
  const r = await runExtractors([{ name: 'x', at, ...e }], new Map(Object.entries(values)), setup().ctx, 'vda:1', ds);
  return { value: r.get('x'), ds };
}

describe('filesystem-device-match', () => {
  it('has-label alone: the filesystem label, exact, first in discovery order', async () => {
    expect((await run({ hasLabel: 'rootfs' })).value).toBe('tendril-fs:vdb:1/');
    expect((await run({ hasLabel: 'ROOTFS' })).value).toBe(unavailableMarker('x'));
  });
  it('has-item alone: a file or a directory; backslashes; case-insensitive on FAT only', async () => {
    expect((await run({ hasItem: '\\boot\\vmlinuz' })).value).toBe('tendril-fs:vda:2/');
    expect((await run({ hasItem: '\\loader\\entries' })).value).toBe('tendril-fs:vda:2/');
    expect((await run({ hasItem: '\\efi\\boot\\bootx64.efi' })).value).toBe('tendril-fs:vda:1/');
    expect((await run({ hasItem: '\\BOOT\\VMLINUZ' })).value).toBe(unavailableMarker('x'));
  });
  it('has-item and has-label are stamped with root values', async () => {
    expect((await run({ hasItem: '\\boot\\$k', hasLabel: '$l' }, { k: 'vmlinuz', l: 'rootfs' })).value).toBe(
      'tendril-fs:vda:2/',
    );
  });
  it('has-partition-uuid alone: GPT PARTUUID (given lower-cased by the schema)', async () => {
    expect((await run({ hasPartitionUuid: P3 })).value).toBe('tendril-fs:vda:3/');
  });
  it('GUID criteria never match MBR partitions', async () => {
    expect((await run({ hasPartitionUuid: '1234abcd-01' })).value).toBe(unavailableMarker('x'));
  });
  it('has-partition-type-uuid alone', async () => {
    expect((await run({ hasPartitionTypeUuid: XBOOTLDR_TYPE })).value).toBe('tendril-fs:vda:3/');
  });
  it('AND: every given criterion must match on the same filesystem', async () => {
    expect((await run({ hasItem: '\\loader\\entries', hasPartitionTypeUuid: XBOOTLDR_TYPE })).value).toBe(
      'tendril-fs:vda:3/',
    );
    expect((await run({ hasLabel: 'rootfs', hasPartitionUuid: P3 })).value).toBe(unavailableMarker('x'));
    expect((await run({ hasLabel: 'rootfs', hasPartitionUuid: P2, hasItem: '\\boot\\vmlinuz' })).value).toBe(
      'tendril-fs:vda:2/',
    );
  });
  it('empty fallback is used verbatim when nothing matches', async () => {
    const r = await run({ hasLabel: 'nope', fallback: '' });
    expect(r.value).toBe('');
    expect(r.ds.map((d) => d.message)).toContain('extractor x: no filesystem matched; using fallback ""');
  });
  it('no match and no fallback: a warning and the unavailable marker (not an abort)', async () => {
    const r = await run({ hasLabel: 'nope' });
    expect(r.value).toBe(unavailableMarker('x'));
    expect(r.ds[0]).toMatchObject({ severity: 'warning', file: '/sprout.toml', line: 1 });
    expect(r.ds[0]?.message).toMatch(/unable to find matching filesystem/);
  });
});
