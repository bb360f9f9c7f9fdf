// `tendril probe` prints the device tree and needs no boot entries (issue 16, finding 1: it
// spent 110 s reading a 40,000-entry /boot it never showed): it runs discovery with no entry
// source. discover() is wrapped, not replaced, to see the options it is given.

import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as Discover from '../../../src/discovery/discover';
import type { DiscoverOptions } from '../../../src/discovery/discover';
import { runDiscoveryCommand } from '../../../src/discovery/commands';
import { bootEntriesImage } from '../../fixtures/hostile-ext';
import { sha256File } from '../../fixtures/disks';

const seen = vi.hoisted(() => [] as DiscoverOptions[]);

vi.mock('../../../src/discovery/discover', async (importOriginal) => {
  const real = await importOriginal<typeof Discover>();
  return {
    ...real,
    discover: (o: DiscoverOptions) => {
      seen.push(o);
      return real.discover(o);
    },
  };
});

async function run(cmd: 'list' | 'probe', args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    expect(await runDiscoveryCommand(cmd, args)).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('probe runs no entry source', () => {
  afterEach(() => {
    seen.length = 0;
  });

  it('probe: sources [] and the tree of a 10,000-entry /boot; list: every source', async () => {
    const img = bootEntriesImage(10_000);
    const before = sha256File(img);
    const tree = await run('probe', ['--disk', img]);
    expect(seen.map((o) => o.sources)).toEqual([[]]);
    expect(tree).toContain(`└─${path.basename(img)}:0`);
    expect(tree).toContain('ext4');
    expect(tree).not.toContain('bls');
    const list = await run('list', ['--disk', img]);
    expect(seen.at(-1)?.sources).toBeUndefined();
    expect(list).toContain('Healthy');
    expect(sha256File(img)).toBe(before);
  });
});
