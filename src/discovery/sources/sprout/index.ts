// sproutSource: `/sprout.toml` (plus `sprout.d/*.toml` drop-ins) at the root of every FAT ESP,
// each evaluated separately with that ESP as its home filesystem (docs/sprout.md §17.1). Entries
// come back in sprout's own menu order, one config after another, ids `sprout:<fsId>:<name>`.

import { diag, errorMessage, type Diagnostic } from '../../diagnostics';
import { statOrNull } from '../../fs/types';
import type { BootEntry } from '../../model';
import type { EntrySourceFn, MountedFs, ProposedSettings, SourceContext, SourceResult } from '../context';
import { loadConfig, type MergedConfig } from './dropins';
import { evaluateSprout, type SproutEvalOptions } from './evaluate';
import { SOURCE } from './schema';

export const CONFIG_PATH = '/sprout.toml';

function isEsp(m: MountedFs): boolean {
  return m.report.role === 'esp' || m.report.probe?.type === 'vfat';
}

/** sprout's load options (docs/sprout.md §3) as tendril options; all optional. */
export interface SproutSourceOptions extends SproutEvalOptions {
  /** `--config PATH`: another file on each ESP ('/'-separated; '\\' accepted). */
  readonly configPath?: string;
  /** `--autoconfigure`: ignore config files; autoconfigure once, with the first ESP as home. */
  readonly autoconfigureOnly?: boolean;
}

/** The empty config plus autoconfigure that `--autoconfigure` means (docs/sprout.md §1). */
function autoconfigOnly(): MergedConfig {
  const raw = { options: { autoconfigure: true } };
  return { raw, locate: () => ({ file: '(--autoconfigure)' }), files: ['(--autoconfigure)'] };
}

export function createSproutSource(opts: SproutSourceOptions = {}): EntrySourceFn {
  const configPath = '/' + (opts.configPath ?? CONFIG_PATH).replace(/\\/g, '/').replace(/^\/+/, '');
  return async function sproutSource(ctx: SourceContext): Promise<SourceResult> {
    if (opts.autoconfigureOnly) {
      const home = ctx.filesystems.find(isEsp) ?? ctx.filesystems[0];
      if (!home) return { entries: [], diagnostics: [] };
      const r = await evaluateSprout(autoconfigOnly(), home, ctx, opts);
      return { entries: r.entries, diagnostics: r.diagnostics, settings: r.settings };
    }
    return scanConfigs(ctx, configPath, opts);
  };
}

export const sproutSource: EntrySourceFn = createSproutSource();

async function scanConfigs(ctx: SourceContext, configPath: string, opts: SproutEvalOptions): Promise<SourceResult> {
  const entries: BootEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  let settings: ProposedSettings | undefined;
  for (const m of ctx.filesystems.filter(isEsp)) {
    const fsId = m.report.fsId;
    try {
      if ((await statOrNull(m.fs, configPath))?.kind !== 'file') continue;
      const merged = await loadConfig(m.fs, configPath, fsId, diagnostics);
      if (!merged) {
        diagnostics.push(
          diag('error', SOURCE, 'config not used; no sprout entries from it', { fsId, file: configPath }),
        );
        continue;
      }
      const r = await evaluateSprout(merged, m, ctx, opts);
      entries.push(...r.entries);
      diagnostics.push(...r.diagnostics);
      if (!settings) settings = r.settings;
      else
        diagnostics.push(
          diag('info', SOURCE, `timeout/default of ${r.settings.from} not used; ${settings.from} came first`, {
            fsId,
            file: configPath,
          }),
        );
    } catch (e) {
      diagnostics.push(diag('error', SOURCE, `evaluation failed: ${errorMessage(e)}`, { fsId, file: configPath }));
    }
  }
  return settings ? { entries, diagnostics, settings } : { entries, diagnostics };
}
