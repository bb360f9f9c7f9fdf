// Time budgets of the cross-disk sources (src/discovery/budget.ts) and how a device deadline
// is told (worker/partial.ts). Budgets that are already spent make these deterministic: no
// test here depends on how fast the machine is.

import { describe, expect, it } from 'vitest';
import { Budget, settleWithin } from '../../../src/discovery/budget';
import { runSourcesOver } from '../../../src/discovery/local';
import type { DeviceInfo } from '../../../src/discovery/model';
import type { EntrySourceFn, SourceContext } from '../../../src/discovery/sources/context';
import { EvaluationTable, Evaluations } from '../../../src/discovery/sources/evaluations';
import { scanGrub } from '../../../src/discovery/sources/grub';
import { createSproutSource } from '../../../src/discovery/sources/sprout';
import { scanFilesystem } from '../../../src/discovery/sources/syslinux';
import { PartialScan, answerWindowMs, verdictOf } from '../../../src/discovery/worker/partial';
import { ScanProgress } from '../../../src/discovery/worker/progress';
import { makeCtx } from '../grub/helpers';

describe('Budget', () => {
  it('a share never outlives its parent, and a cut share blames the parent', () => {
    const source = new Budget(50, 'grub source');
    const own = source.child(10, 'config a');
    expect(own.ms).toBeLessThanOrEqual(10);
    expect(own.spent()).toBe(own);
    const cut = source.child(60_000, 'config b');
    expect(cut.ms).toBeLessThanOrEqual(50);
    expect(cut.spent()).toBe(source);
    expect(new Budget(0, 'spent').expired).toBe(true);
    expect(new Budget(0, 'spent').left()).toBe(0);
  });

  it('settleWithin gives up on a promise that never settles, and passes results through', async () => {
    expect(await settleWithin(new Promise<never>(() => undefined), 5)).toEqual({ done: false });
    expect(await settleWithin(Promise.resolve(7), 1000)).toEqual({ done: true, value: 7 });
    await expect(settleWithin(Promise.reject(new Error('boom')), 1000)).rejects.toThrow('boom');
  });
});

describe('cross-disk sources stop at a spent budget, with a diagnostic naming the file', () => {
  const spent = (ctx: SourceContext): SourceContext => ({ ...ctx, budget: new Budget(0, 'test source') });

  it('grub: no config is evaluated, each says why', async () => {
    const t = makeCtx([
      { device: 'vda', partition: 1, files: { 'boot/grub/grub.cfg': 'menuentry a {linux /k}\n', k: 'k' } },
    ]);
    try {
      const s = await scanGrub(spent(t.ctx));
      expect(s.entries).toEqual([]);
      expect(s.diagnostics.map((d) => [d.fsId, d.file, d.message])).toEqual([
        ['vda:1', '/boot/grub/grub.cfg', 'not evaluated: the time budget of the test source (0 ms) is spent'],
      ]);
    } finally {
      t.cleanup();
    }
  });

  it('grub: a config running out mid-way keeps the entries defined before, names the line', async () => {
    const t = makeCtx([
      {
        device: 'vda',
        partition: 1,
        files: {
          'boot/grub/grub.cfg': 'menuentry a {linux /k}\nwhile true; do true; done\nmenuentry b {linux /k}\n',
          k: 'k',
        },
      },
    ]);
    try {
      // The loop spends the budget (100,000 iterations are far more than 30 ms of work).
      const s = await scanGrub({ ...t.ctx, budget: new Budget(30, 'test source') });
      expect(s.entries.map((e) => e.title)).toEqual(['a']);
      const stop = s.diagnostics.find((d) => /time budget/.test(d.message));
      expect(stop).toMatchObject({ severity: 'error', file: '/boot/grub/grub.cfg', line: 2 });
    } finally {
      t.cleanup();
    }
  });

  it('sprout: stops before the first entry, the config still loads', async () => {
    const toml = '[actions.a]\nchainload.path = "k"\n[entries.one]\ntitle = "One"\nactions = ["a"]\n';
    const t = makeCtx([
      { device: 'vda', partition: 1, type: 'vfat', role: 'esp', files: { 'sprout.toml': toml, k: 'k' } },
    ]);
    try {
      const src = createSproutSource();
      const ctx = t.ctx;
      // Only the evaluation's own share is spent: the source itself may still look at the ESP.
      const r = await src({ ...ctx, budget: new Budget(60_000, 'test source') });
      expect(r.entries.map((e) => e.title)).toEqual(['One']);
      const late = await createSproutSource()(spent(ctx));
      expect(late.entries).toEqual([]);
      expect(late.diagnostics.map((d) => d.message)).toEqual([
        'not evaluated: the time budget of the test source (0 ms) is spent',
      ]);
    } finally {
      t.cleanup();
    }
  });

  it('syslinux: stops at the first label and names it', async () => {
    const cfg = 'DEFAULT a\nLABEL a\n  KERNEL /k\nLABEL b\n  KERNEL /k\n';
    const t = makeCtx([{ device: 'vda', partition: 1, files: { 'syslinux.cfg': cfg, k: 'k' } }]);
    try {
      const r = await scanFilesystem(t.ctx.filesystems[0]!, new Budget(0, 'syslinux config on vda:1'));
      expect(r?.entries).toEqual([]);
      expect(r?.diagnostics).toContainEqual(
        expect.objectContaining({ severity: 'error', file: '/syslinux.cfg', line: 2 }),
      );
    } finally {
      t.cleanup();
    }
  });

  it('a source that never returns is given up on; what it reported as finished is kept', async () => {
    const stuck: EntrySourceFn = async function stuckSource(ctx) {
      ctx.partial?.({ entries: [], diagnostics: [{ severity: 'info', source: 'x', message: 'first config done' }] });
      ctx.progress?.({ fsId: 'vda:1', file: '/second.cfg' });
      return new Promise(() => undefined);
    };
    const r = await runSourcesOver([stuck], [], 'x64', { budgetMs: 10 });
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      'first config done',
      expect.stringMatching(
        /^entry source stuck did not finish within its budget of 10 ms while it was on vda:1 \/second\.cfg/,
      ),
    ]);
  });
});

describe('an evaluation a pass gave up on', () => {
  it('is not waited for again by later passes of the session until it finishes', async () => {
    const table = new EvaluationTable<string>();
    const session = new Evaluations();
    const ctx: SourceContext = { filesystems: [], get: () => undefined, arch: 'x64', session };
    let release: (v: string) => void = () => undefined;
    const first = table.run(ctx, 'vda:1 /boot/grub/grub.cfg', () => new Promise<string>((r) => (release = r)));
    expect(await settleWithin(first, 5)).toEqual({ done: false });
    expect(table.stillRunning(ctx, 'vda:1 /boot/grub/grub.cfg')).toBe(true);
    expect(table.stillRunning(ctx, 'vdb:1 /boot/grub/grub.cfg')).toBe(false);
    // Another session, or none, knows nothing of it.
    expect(table.stillRunning({ ...ctx, session: new Evaluations() }, 'vda:1 /boot/grub/grub.cfg')).toBe(false);
    release('menu');
    await first;
    expect(table.stillRunning(ctx, 'vda:1 /boot/grub/grub.cfg')).toBe(false);
    expect(await table.run(ctx, 'vda:1 /boot/grub/grub.cfg', () => Promise.resolve('again'))).toBe('menu');
  });
});

describe('how a deadline is told (partial.ts)', () => {
  const info: DeviceInfo = { path: '/dev/sdz', name: 'sdz', bus: 'usb', size: 0, removable: true, readOnly: true };
  const now = 1_000_000;

  it('no answer at all, stopped answering, still answering but slow', () => {
    expect(verdictOf(30_000, { answers: 0 }, now)).toBe('no-answer');
    expect(verdictOf(30_000, { answers: 5, lastAnswerAt: now - answerWindowMs(30_000) - 1 }, now)).toBe('stopped');
    expect(verdictOf(30_000, { answers: 5, lastAnswerAt: now - 10 }, now)).toBe('slow');
  });

  it('the report keeps what was found and says the deadline first', () => {
    const p = new PartialScan(info);
    p.onReport({
      device: info,
      filesystems: [{ fsId: 'sdz:1', device: '/dev/sdz', partition: 1, offset: 0, size: 0 }],
      diagnostics: [{ severity: 'info', source: 'vfat', message: 'a note' }],
      elapsedMs: 3,
    });
    const { report, verdict } = p.timedOut(
      30_000,
      { answers: 12, lastAnswerAt: now - 5, reading: 'sdz:1 /loader/entries', readingSince: now - 900 },
      now,
    );
    expect(verdict).toBe('slow');
    expect(report.timedOut).toBe(true);
    expect(report.filesystems.map((f) => f.fsId)).toEqual(['sdz:1']);
    expect(report.diagnostics.map((d) => d.message)).toEqual([
      'still answering, but slowly: the 30000 ms deadline passed after 12 reads, while reading sdz:1 /loader/entries, for 900 ms (last answer 5 ms before); kept what was found before (1 filesystem, 0 entries), the rest is unfinished',
      'a note',
    ]);
  });

  it('the progress buffer is read back whole', () => {
    const p = new ScanProgress();
    expect(p.snapshot()).toEqual({ answers: 0 });
    p.reading('sdz:2 /loader/entries/a.conf');
    p.answered();
    const s = p.snapshot();
    expect(s).toMatchObject({ answers: 1, reading: 'sdz:2 /loader/entries/a.conf' });
    expect(p.cancelled).toBe(false);
    new ScanProgress(p.buffer).cancel();
    expect(p.cancelled).toBe(true);
  });
});
