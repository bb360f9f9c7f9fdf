// sproutSource: `/sprout.toml` (plus `sprout.d/*.toml` drop-ins) at the root of every FAT ESP,
// each evaluated separately with that ESP as its home filesystem (sprout.md §19.1). Entries
// come back in sprout's own menu order, one config after another, ids `sprout:<fsId>:<name>`.

import { diag, errorMessage, type Diagnostic } from '../../diagnostics';
import { statOrNull } from '../../fs/types';
import type { BootEntry } from '../../model';
import type { EntrySourceFn, MountedFs, ProposedSettings, SourceContext, SourceResult } from '../context';
import { loadConfig } from './dropins';
import { evaluateSprout } from './evaluate';
import { SOURCE } from './schema';

export const CONFIG_PATH = '/sprout.toml';

function isEsp(m: MountedFs): boolean {
  return m.report.role === 'esp' || m.report.probe?.type === 'vfat';
}

export const sproutSource: EntrySourceFn = async (ctx: SourceContext): Promise<SourceResult> => {
  const entries: BootEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  let settings: ProposedSettings | undefined;
  for (const m of ctx.filesystems.filter(isEsp)) {
    const fsId = m.report.fsId;
    try {
      if ((await statOrNull(m.fs, CONFIG_PATH))?.kind !== 'file') continue;
      const merged = await loadConfig(m.fs, CONFIG_PATH, fsId, diagnostics);
      if (!merged) {
        diagnostics.push(diag('error', SOURCE, 'config not used; no sprout entries from it', { fsId, file: CONFIG_PATH }));
        continue;
      }
      const r = await evaluateSprout(merged, m, ctx);
      entries.push(...r.entries);
      diagnostics.push(...r.diagnostics);
      if (!settings) settings = r.settings;
      else diagnostics.push(diag('info', SOURCE, `timeout/default of ${r.settings.from} not used; ${settings.from} came first`, { fsId, file: CONFIG_PATH }));
    } catch (e) {
      diagnostics.push(diag('error', SOURCE, `evaluation failed: ${errorMessage(e)}`, { fsId, file: CONFIG_PATH }));
    }
  }
  return settings ? { entries, diagnostics, settings } : { entries, diagnostics };
};
