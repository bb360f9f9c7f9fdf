// Hostile but valid disks (issue 16, findings 5, 6, 7 and 13), through the real CLI bundle on
// images made by mke2fs/mkfs.vfat/sgdisk (test/fixtures/hostile.ts). Memory is asserted by
// running `tendril list` under a V8 heap cap that the unbounded code died under (or lost the
// whole disk under, when a scan worker ran out); every image is checked unchanged.

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../src/discovery/diagnostics';
import type { ListJson } from '../../../src/discovery/json';
import {
  MAX_DIAGNOSTICS_PER_FILE,
  MAX_ENTRIES_PER_DISK,
  MAX_ENTRY_BYTES_PER_DISK,
  MAX_EXPANSION_BYTES,
} from '../../../src/discovery/limits';
import { DEFAULT_LIMITS } from '../../../src/discovery/sources/grub';
import {
  denseGrubCfg,
  denseGrubDisk,
  diagnosticFloodDisk,
  expansionDisk,
  fatSproutDisk,
  healthyGrubDisk,
  loopingGrubDisk,
} from '../../fixtures/hostile';
import { sha256File } from '../../fixtures/images';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');

/** `tendril list --json` in a child whose V8 heaps (main thread and workers) are capped. */
function list(heapMiB: number, ...args: string[]): { json: ListJson; bytes: number } {
  const r = spawnSync(
    process.execPath,
    [`--max-old-space-size=${heapMiB}`, BIN, 'list', '--json', '--no-sys', ...args],
    { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120_000 },
  );
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return { json: JSON.parse(r.stdout) as ListJson, bytes: r.stdout.length };
}

/** Diagnostics per file of a list, summary lines apart. */
function perFile(ds: readonly Diagnostic[]): Map<string, { kept: number; summaries: Diagnostic[] }> {
  const out = new Map<string, { kept: number; summaries: Diagnostic[] }>();
  for (const d of ds) {
    const k = `${d.fsId ?? d.device ?? ''} ${d.file ?? ''}`;
    const x = out.get(k) ?? { kept: 0, summaries: [] };
    if (/^\d+ more diagnostics not shown/.test(d.message)) x.summaries.push(d);
    else x.kept++;
    out.set(k, x);
  }
  return out;
}

/** Each list keeps at most the cap per file, and says so in at most one summary line per file. */
function expectCapped(lists: readonly (readonly Diagnostic[])[]): void {
  for (const ds of lists) {
    for (const [file, x] of perFile(ds)) {
      expect(x.kept, file).toBeLessThanOrEqual(MAX_DIAGNOSTICS_PER_FILE);
      expect(x.summaries.length, file).toBeLessThanOrEqual(1);
    }
  }
}

/** Every list of diagnostics in a listing: the run's, each device's and each entry's. */
function allDiagnostics(j: ListJson): (readonly Diagnostic[])[] {
  return [j.diagnostics, ...j.devices.map((d) => d.diagnostics), ...j.entries.map((e) => e.diagnostics)];
}

describe('finding 5: an expansion cannot exhaust memory', () => {
  let one = '';
  let four = '';
  beforeAll(() => {
    one = expansionDisk(1);
    four = expansionDisk(4);
  });

  it('one snippet repeating a 60,000-character $kernelopts: bounded entry, healthy entry kept, 64 MiB heap', () => {
    const before = sha256File(one);
    const { json, bytes } = list(64, '--disk', one);
    const ok = json.entries.find((e) => e.id === 'ok.conf');
    expect(ok?.bootable).toBe(true);
    const bad = json.entries.find((e) => e.id === 'expand0.conf')!;
    expect(bad.bootable).toBe(false);
    expect(bad.reason).toMatch(new RegExp(`more than ${MAX_EXPANSION_BYTES} characters in this snippet`));
    // One line per variable and line, values quoted short; the error names file and line.
    expect(bad.diagnostics.length).toBeLessThan(10);
    expect(bad.diagnostics.find((d) => d.severity === 'error')).toMatchObject({
      file: '/loader/entries/expand0.conf',
      line: 3,
    });
    expect(bytes).toBeLessThan(64 * 1024);
    expect(sha256File(one)).toBe(before);
  });

  it('four such snippets: every entry still listed under a 64 MiB heap', () => {
    const before = sha256File(four);
    const { json } = list(64, '--disk', four);
    expect(json.entries.map((e) => e.id).sort()).toEqual([
      'expand0.conf',
      'expand1.conf',
      'expand2.conf',
      'expand3.conf',
      'ok.conf',
    ]);
    expect(json.entries.find((e) => e.id === 'ok.conf')?.bootable).toBe(true);
    expectCapped(allDiagnostics(json));
    expect(sha256File(four)).toBe(before);
  });
});

describe('finding 13: diagnostics are capped per file with one summary line', () => {
  let disk = '';
  beforeAll(() => {
    disk = diagnosticFloodDisk();
  });

  it('a BLS entry with 2,001 problems and a sprout.toml with 60,000 unknown keys', () => {
    const before = sha256File(disk);
    const { json, bytes } = list(256, '--disk', disk);
    expect(json.entries.find((e) => e.id === 'ok.conf')?.bootable).toBe(true);
    expect(json.entries.some((e) => e.title === 'Good sprout entry')).toBe(true);

    const flood = json.entries.find((e) => e.id === 'flood.conf')!;
    expect(flood.diagnostics).toHaveLength(MAX_DIAGNOSTICS_PER_FILE + 1);
    expect(flood.diagnostics.at(-1)).toMatchObject({
      file: '/loader/entries/flood.conf',
      message: `1801 more diagnostics not shown (0 errors, 0 warnings, 1801 infos; limit ${MAX_DIAGNOSTICS_PER_FILE} per file)`,
    });

    const sprout = json.diagnostics.filter((d) => d.file === '/sprout.toml');
    expect(sprout.filter((d) => /unknown key/.test(d.message))).toHaveLength(MAX_DIAGNOSTICS_PER_FILE);
    const summaries = sprout.filter((d) => /more diagnostics not shown/.test(d.message));
    expect(summaries.map((d) => [d.severity, d.message])).toEqual([
      [
        'warning',
        `59800 more diagnostics not shown (0 errors, 59800 warnings, 0 infos; limit ${MAX_DIAGNOSTICS_PER_FILE} per file)`,
      ],
    ]);
    expectCapped(allDiagnostics(json));
    expect(bytes).toBeLessThan(1024 * 1024);
    expect(sha256File(disk)).toBe(before);
  });
});

describe('finding 7: many entries cannot exhaust memory', () => {
  it('a 4 MiB grub.cfg of dense menuentry lines is refused by size; the healthy entry stays (96 MiB heap)', () => {
    const bytes = 4 * 1024 * 1024 - 64;
    expect(denseGrubCfg(bytes, '').entries).toBeGreaterThan(290_000);
    const disk = denseGrubDisk(1, bytes, '');
    const before = sha256File(disk);
    const { json } = list(96, '--disk', disk);
    expect(json.entries.map((e) => [e.title, e.bootable])).toEqual([['Healthy grub entry', true]]);
    const refused = json.diagnostics.find((d) => d.file === '/EFI/v0/grub.cfg' && /EFBIG/.test(d.message));
    expect(refused?.message).toMatch(new RegExp(`EFBIG \\(\\d+ bytes > limit ${DEFAULT_LIMITS.maxFileBytes}\\)`));
    expect(sha256File(disk)).toBe(before);
  });

  it('six vendor directories with a dense grub.cfg just under the size limit: the disk budget holds (192 MiB heap)', () => {
    const disk = denseGrubDisk(6, DEFAULT_LIMITS.maxFileBytes - 64);
    const before = sha256File(disk);
    const { json } = list(192, '--disk', disk);
    expect(json.entries[0]?.title).toBe('Healthy grub entry');
    expect(json.entries).toHaveLength(MAX_ENTRIES_PER_DISK);
    const budget = json.diagnostics.find((d) => d.device === disk && /entries on this disk/.test(d.message));
    expect(budget?.message).toMatch(
      new RegExp(
        `^more than ${MAX_ENTRIES_PER_DISK} entries or 16 MiB of entries on this disk: \\d+ more not listed \\(limit per disk\\)$`,
      ),
    );
    // Configs after the budget is spent are not even evaluated, and say so.
    expect(
      json.diagnostics.filter((d) => /^not evaluated: this disk already has/.test(d.message)).length,
    ).toBeGreaterThan(0);
    expectCapped(allDiagnostics(json));
    expect(sha256File(disk)).toBe(before);
  });
});

describe('finding 7: entries with 64 KiB of text each are budgeted by bytes too', () => {
  it('a 61 KB sprout.toml generating 19,602 entries with 60,000-character command lines (96 MiB heap)', () => {
    const disk = fatSproutDisk();
    const before = sha256File(disk);
    const { json } = list(96, '--disk', disk);
    expect(json.entries.find((e) => e.id === 'ok.conf')?.bootable).toBe(true);
    const sprout = json.entries.filter((e) => e.origin.source === 'sprout');
    // As many as fit in the disk's bytes (about 16 MiB of entry text), not 19,602.
    expect(sprout.length).toBeGreaterThan(100);
    expect(sprout.length).toBeLessThan(MAX_ENTRY_BYTES_PER_DISK / 60_000 + 1);
    const stop = json.diagnostics.find((d) => d.file === '/sprout.toml' && /the rest are not built/.test(d.message));
    expect(stop?.message).toMatch(
      /^entry \S+ and the rest are not built: this disk already has as many entries as discovery keeps/,
    );
    expect(sha256File(disk)).toBe(before);
  });
});

describe('finding 6: one grub.cfg cannot stall the menu', () => {
  it('a config that loops for minutes stops at its time budget; its earlier entry and the healthy disk stay', () => {
    const loopy = loopingGrubDisk();
    const healthy = healthyGrubDisk();
    const sums = [loopy, healthy].map(sha256File);
    const { json } = list(256, '--deadline', '4000', '--disk', loopy, '--disk', healthy);
    expect(json.entries.map((e) => [e.title, e.bootable]).sort()).toEqual([
      ['Before the loop', true],
      ['Healthy grub disk', true],
    ]);
    const stop = json.diagnostics.find((d) => /time budget/.test(d.message));
    expect(stop).toMatchObject({ severity: 'error', file: '/boot/grub/grub.cfg', line: 5 });
    expect(stop?.message).toMatch(
      /^evaluation stopped here after \d+ ms, the time budget of the grub config \S+:1 \/boot\/grub\/grub\.cfg/,
    );
    expect([loopy, healthy].map(sha256File)).toEqual(sums);
  });
});
