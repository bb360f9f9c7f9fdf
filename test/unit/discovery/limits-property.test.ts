// Property tests for discovery's budgets (issue 16): generators of their own for diagnostic
// floods, expansion chains (grubenv values that name themselves and double on every use)
// and entry floods. Each run checks the output is bounded and the healthy entry is there.
// Expansion and entry floods go through the real BLS and grub sources on host-directory
// filesystems (real files, written for each run).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { capPerFile, DiagnosticCap } from '../../../src/discovery/capped';
import { BLS_LIMITS } from '../../../src/discovery/config/blsfile';
import { diag, type Diagnostic, type Severity } from '../../../src/discovery/diagnostics';
import { EntryBudget, entryBytes } from '../../../src/discovery/entry-budget';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import { MAX_DIAGNOSTICS_PER_FILE, MAX_EXPANSION_BYTES, MAX_MESSAGE_CHARS } from '../../../src/discovery/limits';
import { discover } from '../../../src/discovery/discover';
import { runSourcesOver } from '../../../src/discovery/local';
import { namedTarget, type FsReport, type SourceEntry } from '../../../src/discovery/model';
import { blsSource } from '../../../src/discovery/sources/bls';
import type { MountedFs } from '../../../src/discovery/sources/context';
import { grubSource } from '../../../src/discovery/sources/grub';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-limits-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let runNo = 0;

/** A fresh host directory with `files`, mounted as an XBOOTLDR (BLS) or plain ext4 filesystem. */
function mount(files: Record<string, string>, device = '/dev/vda', partition = 1, role?: FsReport['role']): MountedFs {
  const dir = path.join(root, `run${runNo++}`);
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), content);
  }
  fs.mkdirSync(dir, { recursive: true });
  const report: FsReport = {
    fsId: `${path.basename(device)}:${partition}`,
    device,
    partition,
    offset: 0,
    size: 0,
    probe: { type: 'ext4', readable: true },
    ...(role ? { role } : {}),
  };
  return { report, fs: new HostDirFileSystem(dir, false) };
}

function perFile(ds: readonly Diagnostic[]): Map<string, Diagnostic[]> {
  const m = new Map<string, Diagnostic[]>();
  for (const d of ds) {
    const k = `${d.fsId ?? d.device ?? ''}\0${d.file ?? ''}`;
    m.set(k, [...(m.get(k) ?? []), d]);
  }
  return m;
}

const SUMMARY = /^(\d+) more diagnostics not shown/;

/** Each file: at most the cap kept, at most one summary; returns kept + summarised per file. */
function checkCapped(ds: readonly Diagnostic[], max = MAX_DIAGNOSTICS_PER_FILE): Map<string, number> {
  const totals = new Map<string, number>();
  for (const [file, list] of perFile(ds)) {
    const summaries = list.filter((d) => SUMMARY.test(d.message));
    expect(summaries.length).toBeLessThanOrEqual(1);
    expect(list.length - summaries.length).toBeLessThanOrEqual(max);
    if (summaries.length) expect(list.length - 1).toBe(max);
    totals.set(
      file,
      list.length - summaries.length + summaries.reduce((n, d) => n + Number(SUMMARY.exec(d.message)![1]), 0),
    );
  }
  return totals;
}

describe('diagnostic floods (DiagnosticCap)', () => {
  const severity = fc.constantFrom<Severity>('info', 'warning', 'error');
  const flood = fc.array(
    fc.record({ file: fc.constantFrom('/a.conf', '/b.conf', '/c/sprout.toml', undefined), severity, n: fc.nat(40) }),
    { maxLength: 40 },
  );
  const expand = (spec: { file: string | undefined; severity: Severity; n: number }[]): Diagnostic[] =>
    spec.flatMap((s, i) =>
      Array.from({ length: s.n * 7 }, (_, k) =>
        diag(s.severity, 'test', `problem ${i}.${k}`, { fsId: 'vda:1', file: s.file }),
      ),
    );

  it('keeps the first of each file in order, sums the rest up once, loses no count (property)', () => {
    fc.assert(
      fc.property(flood, fc.integer({ min: 1, max: 60 }), (spec, max) => {
        const all = expand(spec);
        const capped = capPerFile(all, max);
        const totals = checkCapped(capped, max);
        for (const [file, list] of perFile(all)) {
          expect(totals.get(file)).toBe(list.length);
          // The kept ones are the first ones, in order.
          const kept = (perFile(capped).get(file) ?? []).filter((d) => !SUMMARY.test(d.message));
          expect(kept).toEqual(list.slice(0, max));
          // The summary is as severe as the worst it hides.
          const summary = (perFile(capped).get(file) ?? []).find((d) => SUMMARY.test(d.message));
          const hidden = list.slice(max);
          if (summary) {
            const worst = hidden.some((d) => d.severity === 'error')
              ? 'error'
              : hidden.some((d) => d.severity === 'warning')
                ? 'warning'
                : 'info';
            expect(summary.severity).toBe(worst);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('capping parts and then the whole says the same as capping once (property)', () => {
    fc.assert(
      fc.property(flood, fc.nat(5), (spec, cut) => {
        const all = expand(spec);
        const at = Math.floor((all.length * cut) / 5);
        const twice = capPerFile([...capPerFile(all.slice(0, at)), ...capPerFile(all.slice(at))]);
        const once = capPerFile(all);
        expect(checkCapped(twice)).toEqual(checkCapped(once));
      }),
      { numRuns: 200 },
    );
  });

  it('full() tells a caller a file has no room left', () => {
    const cap = new DiagnosticCap(2);
    const where = { fsId: 'vda:1', file: '/x' };
    expect(cap.full(where)).toBe(false);
    cap.push(diag('info', 't', 'one', where));
    cap.push(diag('info', 't', 'two', where));
    expect(cap.full(where)).toBe(true);
    expect(cap.full({ fsId: 'vda:1', file: '/y' })).toBe(false);
  });
});

describe('expansion chains through the BLS source', () => {
  /** Values that name themselves and each other, some of them long. */
  const value = fc
    .array(
      fc.oneof(
        fc.constantFrom('$kernelopts', '${kernelopts}', '$tuned_params', '$missing', 'ro', 'quiet'),
        fc.integer({ min: 1, max: 60_000 }).map((n) => 'a'.repeat(n)),
      ),
      { minLength: 1, maxLength: 6 },
    )
    .map((parts) => parts.join(' '));
  const snippet = fc.record({
    lines: fc.integer({ min: 1, max: 40 }),
    uses: fc.integer({ min: 1, max: 400 }),
    initrd: fc.boolean(),
  });

  it('every snippet expands within its budget, diagnostics stay capped, the healthy entry boots (property)', async () => {
    await fc.assert(
      fc.asyncProperty(value, value, fc.array(snippet, { minLength: 1, maxLength: 4 }), async (ko, tp, snippets) => {
        const files: Record<string, string> = {
          'grub2/grubenv': `# GRUB Environment Block\nkernelopts=${ko}\ntuned_params=${tp}\n`,
          'loader/entries/ok.conf': 'title Healthy\nlinux /vmlinuz\noptions root=/dev/sda1\n',
          vmlinuz: 'k',
        };
        let readable = 0;
        snippets.forEach((s, i) => {
          const key = s.initrd ? 'initrd' : 'options';
          const text =
            'title Expanding\nlinux /vmlinuz\n' +
            `${key} ${'$kernelopts $tuned_params '.repeat(s.uses)}\n`.repeat(s.lines);
          files[`loader/entries/x${i}.conf`] = text;
          // Larger snippets are refused by size (with an error), before any expansion.
          if (text.length <= BLS_LIMITS.maxBytes) readable++;
        });
        const m = mount(files, '/dev/vda', 1, 'xbootldr');
        const r = await runSourcesOver([blsSource], [m], 'x64');
        const ok = r.entries.find((e) => e.sourceId === 'ok.conf');
        expect(ok?.status.ok).toBe(true);
        expect(r.entries).toHaveLength(readable + 1);
        for (const e of r.entries) {
          const t = namedTarget(e.status);
          if (t?.kind === 'linux') {
            expect(t.cmdline.length).toBeLessThanOrEqual(MAX_EXPANSION_BYTES);
            expect(t.initrds.length).toBeLessThanOrEqual(256);
          }
          checkCapped(e.diagnostics);
          // Values are quoted short: no diagnostic carries a 60,000-character value.
          for (const d of e.diagnostics) expect(d.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
          if (!e.status.ok) expect(e.status.reason.length).toBeLessThan(1000);
        }
        checkCapped(r.diagnostics);
      }),
      { numRuns: 25 },
    );
  });
});

describe('entry floods', () => {
  it('EntryBudget admits in order, per disk and per run, by count and by bytes, and counts every refusal (property)', () => {
    const arrivals = fc.array(
      fc.record({
        device: fc.constantFrom('/dev/a', '/dev/b', '/dev/c'),
        n: fc.nat(50),
        // Titles and command lines of any size up to 64 KiB: a count alone bounds nothing.
        title: fc.nat(64 * 1024),
        cmdline: fc.nat(64 * 1024),
      }),
      { maxLength: 20 },
    );
    const limits = fc.record({
      perDisk: fc.integer({ min: 1, max: 60 }),
      perRun: fc.integer({ min: 1, max: 120 }),
      bytesPerDisk: fc.integer({ min: 1, max: 2 * 1024 * 1024 }),
      bytesPerRun: fc.integer({ min: 1, max: 4 * 1024 * 1024 }),
    });
    fc.assert(
      fc.property(arrivals, limits, (spec, l) => {
        const entries: SourceEntry[] = spec.flatMap((s, i) =>
          Array.from({ length: s.n }, (_, k) => ({
            sourceId: `${i}.${k}`,
            title: 't'.repeat(s.title),
            origin: { source: 'grub' as const, fsId: 'x:1', device: s.device, partition: 1, file: '/grub.cfg' },
            status: {
              ok: true as const,
              target: {
                kind: 'linux' as const,
                kernel: { fsId: 'x:1', path: '/k' },
                initrds: [],
                cmdline: 'c'.repeat(s.cmdline),
              },
            },
            diagnostics: [],
          })),
        );
        const b = new EntryBudget(l.perDisk, l.perRun, l.bytesPerDisk, l.bytesPerRun);
        const kept = b.admit(entries);
        const bytes = (es: readonly SourceEntry[]) => es.reduce((n, e) => n + entryBytes(e), 0);
        expect(kept.length).toBeLessThanOrEqual(l.perRun);
        expect(bytes(kept)).toBeLessThanOrEqual(l.bytesPerRun);
        for (const dev of ['/dev/a', '/dev/b', '/dev/c']) {
          const mine = kept.filter((e) => e.origin.device === dev);
          expect(mine.length).toBeLessThanOrEqual(l.perDisk);
          expect(bytes(mine)).toBeLessThanOrEqual(l.bytesPerDisk);
        }
        // A subsequence, in order.
        let j = 0;
        for (const e of entries) if (kept[j] === e) j++;
        expect(j).toBe(kept.length);
        const refused = b.diagnostics().reduce((n, d) => n + Number(/: (\d+) more not listed/.exec(d.message)![1]), 0);
        expect(refused).toBe(entries.length - kept.length);
        expect(b.overflowed).toBe(refused > 0);
      }),
      { numRuns: 300 },
    );
  });

  it('grub configs flooding one disk stop at its budget; the healthy config on another disk is listed (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 5 }), async (counts) => {
        const flood: Record<string, string> = { k: 'k' };
        counts.forEach((n, v) => {
          let cfg = '';
          for (let i = 0; i < n; i++) cfg += `menuentry e${i} {linux /k}\n`;
          flood[`EFI/v${v}/grub.cfg`] = cfg;
        });
        const a = mount(flood, '/dev/vda', 1, 'esp');
        const b = mount({ 'boot/grub/grub.cfg': "menuentry 'Healthy' {\n linux /k\n}\n", k: 'k' }, '/dev/vdb', 1);
        const budget = new EntryBudget(100, 150);
        const r = await runSourcesOver([grubSource], [a, b], 'x64', { entryBudget: budget, budgetMs: 30_000 });
        const kept = budget.admit(r.entries);
        expect(kept.filter((e) => e.origin.device === '/dev/vda').length).toBeLessThanOrEqual(100);
        expect(kept.some((e) => e.title === 'Healthy' && e.status.ok)).toBe(true);
        // Configs are skipped only once the disk's budget is spent.
        const skipped = r.diagnostics.filter((d) => /^not evaluated: this disk already has/.test(d.message));
        const total = counts.reduce((x, y) => x + y, 0);
        if (total <= 100) expect(skipped).toEqual([]);
        checkCapped(r.diagnostics);
      }),
      { numRuns: 20 },
    );
  });

  it('discover keeps at most the per-disk and per-run budgets, in disk order, and says so', async () => {
    const dirs = ['a', 'b', 'c'].map((name) => {
      const dir = path.join(root, `roots-${name}`);
      fs.mkdirSync(path.join(dir, 'loader', 'entries'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'vmlinuz'), 'k');
      for (let i = 0; i < 30; i++)
        fs.writeFileSync(
          path.join(dir, 'loader', 'entries', `${name}${String(i).padStart(2, '0')}.conf`),
          `title ${name} ${i}\nlinux /vmlinuz\n`,
        );
      return dir;
    });
    const s = await discover({
      roots: dirs.map((d) => `${d},xbootldr`),
      sysBlock: false,
      sources: [blsSource],
      entryLimits: { perDisk: 20, perRun: 50 },
    });
    try {
      const perDevice = (d: string) => s.result.entries.filter((e) => e.origin.device === d).length;
      expect(dirs.map(perDevice)).toEqual([20, 20, 10]);
      const msgs = s.result.diagnostics.map((d) => d.message);
      // The BLS source stopped reading each full disk; discovery refused the third disk's excess.
      expect(msgs.filter((m) => /^this disk already has/.test(m))).toHaveLength(3);
      expect(msgs).toContain(
        'more than 50 entries or 64 MiB of entries over all disks: 10 more not listed (limit per run)',
      );
    } finally {
      await s.close();
    }
  });
});
