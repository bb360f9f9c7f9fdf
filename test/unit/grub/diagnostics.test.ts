// The diagnostic cap: one config keeps at most `maxDiagnostics`, the rest are counted in one
// summary line. Menus are the path that used to bypass it (notes recorded while a submenu or
// an unlisted entry ran were appended past the cap).

import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../src/discovery/diagnostics';
import { DEFAULT_LIMITS } from '../../../src/discovery/sources/grub';
import { runCfg } from './helpers';

/** A body line running an unknown command `n` times: one warning each. */
const flood = (n: number): string =>
  ` for i in ${Array.from({ length: n }, (_, i) => i).join(' ')}; do no_such_command; done\n`;
const SUMMARY = /^(\d+) more diagnostics not shown \(limit (\d+)\)$/;
const summaries = (ds: readonly Diagnostic[]): Diagnostic[] => ds.filter((d) => SUMMARY.test(d.message));
const unknown = (d: Diagnostic): boolean => d.message === "unknown command 'no_such_command' (ignored, status 1)";

describe('the diagnostic cap holds for menus', () => {
  it('a submenu body flooding warnings: the cap, then one summary line with the count left out', async () => {
    const s = await runCfg(`submenu 'S' {\n${flood(30)}}\n`, {}, { limits: { ...DEFAULT_LIMITS, maxDiagnostics: 10 } });
    expect(s.diagnostics).toHaveLength(11);
    expect(s.diagnostics.slice(0, 10).every((d) => unknown(d) && d.line === 2)).toBe(true);
    expect(summaries(s.diagnostics)).toHaveLength(1);
    expect(s.diagnostics[10]!.message).toBe('20 more diagnostics not shown (limit 10)');
  });

  it('an entry that is not listed: its reason and its notes share the cap', async () => {
    const s = await runCfg(
      `menuentry 'E' {\n${flood(30)}}\n`,
      {},
      { limits: { ...DEFAULT_LIMITS, maxDiagnostics: 10 } },
    );
    expect(s.entries).toHaveLength(0);
    expect(s.diagnostics).toHaveLength(11);
    expect(s.diagnostics[0]!.message).toMatch(/^entry 'E' not listed: /);
    expect(s.diagnostics.slice(1, 10).every(unknown)).toBe(true);
    expect(s.diagnostics[10]!.message).toBe('21 more diagnostics not shown (limit 10)');
  });

  it('many flooding submenus: per-entry and per-config caps add up in the one summary', async () => {
    // Each body keeps 50 notes (the per-entry cap) and drops 10; the config keeps 100 of the
    // 150 kept notes. Left out: 3 × 10 + 50.
    const cfg = ['A', 'B', 'C'].map((t) => `submenu '${t}' {\n${flood(60)}}\n`).join('');
    const s = await runCfg(cfg, {}, { limits: { ...DEFAULT_LIMITS, maxDiagnostics: 100 } });
    expect(s.diagnostics).toHaveLength(101);
    expect(s.diagnostics.slice(0, 100).every(unknown)).toBe(true);
    expect(summaries(s.diagnostics)).toHaveLength(1);
    expect(s.diagnostics[100]!.message).toBe('80 more diagnostics not shown (limit 100)');
  });

  it('under the cap nothing is summarised', async () => {
    const s = await runCfg(`submenu 'S' {\n${flood(5)}}\n`, {}, { limits: { ...DEFAULT_LIMITS, maxDiagnostics: 10 } });
    expect(s.diagnostics.filter(unknown)).toHaveLength(5);
    expect(summaries(s.diagnostics)).toHaveLength(0);
  });
});
