// The per-device deadline keeps finished work (issue 16, findings 3 and 12): a disk served
// through FUSE (test/fixtures/slowdisk.ts) that answers every read slowly, or stops answering
// midway, next to what it already gave. The disk never answering at all is the FIFO test in
// cli-list.test.ts. Needs root and python3-fusepy (scripts/setup.sh installs it).

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ListJson } from '../../../src/discovery/json';
import { manyEntriesDisk } from '../../fixtures/hostile';
import { sha256File } from '../../fixtures/images';
import { mountSlowDisk, slowDiskUnavailable, type SlowDisk } from '../../fixtures/slowdisk';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');

let image = '';
let mounted: SlowDisk | undefined;

beforeAll(() => {
  expect(slowDiskUnavailable()).toBeUndefined();
  image = manyEntriesDisk();
});

afterEach(() => {
  mounted?.unmount();
  mounted = undefined;
});

function list(disk: string): ListJson {
  const r = spawnSync(process.execPath, [BIN, 'list', '--json', '--no-sys', '--deadline', '3000', '--disk', disk], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ListJson;
}

describe('a device past its deadline', () => {
  it('still answering but slowly: says so, names what it was reading, keeps what it found', async () => {
    const before = sha256File(image);
    mounted = await mountSlowDisk(image, { delay: 0.02 });
    const j = list(mounted.path);
    const dev = j.devices.find((d) => d.device.path === mounted!.path)!;
    expect(dev.timedOut).toBe(true);
    // Both filesystems were probed before the deadline: they stay in the report. What was being
    // read is somewhere on the slow ext4 root (an entry snippet, or a kernel one names).
    expect(dev.filesystems.map((f) => f.partition)).toEqual([1, 2]);
    expect(dev.diagnostics[0]).toMatchObject({ severity: 'warning', source: 'device' });
    expect(dev.diagnostics[0]?.message).toMatch(
      /^still answering, but slowly: the 3000 ms deadline passed after \d+ reads, while reading disk\.img:2 \/\S*, for \d+ ms \(last answer \d+ ms before\); kept what was found before \(2 filesystems, 1 entry\), the rest is unfinished$/,
    );
    // The ESP's entry directory was finished: its entry is listed; the slow directory's are not.
    expect(j.entries.map((e) => [e.id, e.bootable])).toEqual([['ok.conf', true]]);
    expect(sha256File(image)).toBe(before);
  });

  it('stopped answering midway: says so, names what it was reading, keeps what it found', async () => {
    const before = sha256File(image);
    // About 20 reads find the ESP's entry, the 300 on the ext4 root take hundreds: the 61st read
    // stalls past the deadline.
    mounted = await mountSlowDisk(image, { delay: 0.01, stop: { afterReads: 60, forSeconds: 8 } });
    const j = list(mounted.path);
    const dev = j.devices.find((d) => d.device.path === mounted!.path)!;
    expect(dev.timedOut).toBe(true);
    expect(dev.diagnostics[0]).toMatchObject({ severity: 'error', source: 'device' });
    expect(dev.diagnostics[0]?.message).toMatch(
      /^stopped answering: nothing for \d+ ms when the 3000 ms deadline passed \(was reading disk\.img:\d \S+, for \d+ ms\); kept what was found before \(2 filesystems, 1 entry\), the rest is unfinished \(the device may be hung\)$/,
    );
    expect(j.entries.map((e) => e.id)).toEqual(['ok.conf']);
    expect(sha256File(image)).toBe(before);
  });
});
