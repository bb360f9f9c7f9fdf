// The memory of evaluations behind live discovery: what an evaluation's context records,
// and which arriving filesystems make the session forget it.

import { afterAll, describe, expect, it } from 'vitest';
import type { FsLookup, MountedFs, SourceContext } from '../../../src/discovery/sources/context';
import {
  EvaluationTable,
  Evaluations,
  filesystemsFor,
  lookupMatches,
} from '../../../src/discovery/sources/evaluations';
import { makeCtx } from '../grub/helpers';

const t = makeCtx([
  { device: 'vda', partition: 1, uuid: 'AbCd-0001', label: 'one', files: { 'boot/x': 'x' } },
  { device: 'vda', partition: 2, uuid: 'abcd-0002', label: 'two', files: { 'other/': '' } },
  { device: 'vdb', partition: 1, uuid: 'abcd-0003', label: 'one', files: { 'boot/x': 'x' } },
]);
afterAll(() => t.cleanup());
const [a1, a2, b1] = t.ctx.filesystems as [MountedFs, MountedFs, MountedFs];

function over(filesystems: readonly MountedFs[], session: Evaluations): SourceContext {
  return { filesystems, get: (id) => filesystems.find((m) => m.report.fsId === id), arch: 'x64', session };
}

describe('lookups', () => {
  it('match by fsId, uuid (any case), label, partition, file and all of several', async () => {
    const cases: [FsLookup, boolean[]][] = [
      [{ kind: 'every' }, [true, true, true]],
      [{ kind: 'fsId', fsId: 'vda:2' }, [false, true, false]],
      [{ kind: 'uuid', uuid: 'ABCD-0001' }, [true, false, false]],
      [{ kind: 'label', label: 'one' }, [true, false, true]],
      [{ kind: 'partition', device: '/dev/vdb', partition: 1 }, [false, false, true]],
      [{ kind: 'file', path: '/boot/x' }, [true, false, true]],
      [{ kind: 'file', path: '/other' }, [false, true, false]],
      [
        {
          kind: 'and',
          of: [
            { kind: 'label', label: 'one' },
            { kind: 'uuid', uuid: 'abcd-0003' },
          ],
        },
        [false, false, true],
      ],
    ];
    for (const [l, want] of cases) {
      const got = await Promise.all([a1, a2, b1].map((m) => lookupMatches(l, m)));
      expect([l, got]).toEqual([l, want]);
    }
  });
});

describe('EvaluationTable', () => {
  it('without a session every call runs and nothing is recorded', async () => {
    const table = new EvaluationTable<number>();
    const ctx: SourceContext = { filesystems: [a1], get: () => a1, arch: 'x64' };
    let runs = 0;
    for (let i = 0; i < 3; i++) await table.run(ctx, 'k', async () => ++runs);
    expect(runs).toBe(3);
    expect(filesystemsFor(ctx, { kind: 'label', label: 'one' })).toBe(ctx.filesystems);
  });

  it('reuses an evaluation until a filesystem matching one of its lookups arrives', async () => {
    const session = new Evaluations();
    const table = new EvaluationTable<string[]>();
    // Looks up label 'one' (a narrow lookup), then fsId vdb:1 through get().
    const evaluate = async (c: SourceContext) => {
      const hits = filesystemsFor(c, { kind: 'label', label: 'one' }).filter((m) => m.report.probe?.label === 'one');
      return [...hits.map((m) => m.report.fsId), c.get('vdb:1') ? 'has vdb:1' : 'no vdb:1'];
    };
    expect(await table.run(over([a1], session), 'k', evaluate)).toEqual(['vda:1', 'no vdb:1']);
    expect(session.count).toBe(1);

    await session.forget([a2]); // neither label 'one' nor vdb:1
    expect(await table.run(over([a1, a2], session), 'k', evaluate)).toEqual(['vda:1', 'no vdb:1']);
    expect(session.count).toBe(1);

    await session.forget([b1]);
    expect(await table.run(over([a1, a2, b1], session), 'k', evaluate)).toEqual(['vda:1', 'vdb:1', 'has vdb:1']);
    expect(session.count).toBe(2);
  });

  it('reading ctx.filesystems depends on every filesystem; reuse() can refuse; throws are not kept', async () => {
    const session = new Evaluations();
    const table = new EvaluationTable<number>();
    const count = async (c: SourceContext) => c.filesystems.length;
    expect(await table.run(over([a1], session), 'n', count)).toBe(1);
    await session.forget([a2]);
    expect(await table.run(over([a1, a2], session), 'n', count)).toBe(2);
    expect(await table.run(over([a1, a2], session), 'n', count, () => false)).toBe(2);
    expect(session.count).toBe(3);

    let calls = 0;
    const boom = async () => {
      calls++;
      throw new Error('boom');
    };
    await expect(table.run(over([a1], session), 'x', boom)).rejects.toThrow('boom');
    await expect(table.run(over([a1], session), 'x', boom)).rejects.toThrow('boom');
    expect(calls).toBe(2);

    session.clear();
    expect(await table.run(over([a1, a2], session), 'n', count)).toBe(2);
    expect(session.count).toBe(6);
  });
});
