// The measurement state for this run from tendril's settings ([tpm] measure, docs/measured-boot.md §5).

import { loadSettings, SETTINGS_FILE } from '../settings/load';
import type { MenuEntry } from '../discovery/model';
import type { MeasureHook } from '../kexec/load';
import type { BootPlan, FsLookup } from '../kexec/plan';
import { measureHookFor } from './boot';
import { type MeasurePolicy, type MeasureState, openMeasurement, type TpmSetup } from './measure';

export interface TpmBoot {
  readonly policy: MeasurePolicy;
  /**
   * What measuring means now. Asked when it matters (a boot, the shell, the editor), not once at
   * start: while the device node is absent the answer is asked again, as a TPM driver loaded as a
   * module may appear after tendril started.
   */
  state(): MeasureState;
  /** The settings file measured into PCR 5 when present (the one loadSettings reads). */
  readonly settingsFile: string;
}

export function tpmFromSettings(setup: Omit<TpmSetup, 'policy'> = {}): TpmBoot {
  const policy = loadSettings().settings.tpm.measure;
  let cached: MeasureState | undefined;
  return {
    policy,
    state() {
      if (!cached || (cached.kind !== 'on' && cached.absent)) cached = openMeasurement({ ...setup, policy });
      return cached;
    },
    settingsFile: process.env.TENDRIL_SETTINGS ?? SETTINGS_FILE,
  };
}

/** The per-plan hook factory execute() takes, for one entry. */
export function hookFactory(
  t: TpmBoot,
  entry: MenuEntry,
  lookup: FsLookup,
): (plan: BootPlan) => MeasureHook | undefined {
  return (plan) => measureHookFor(t.state(), { entry, lookup, settingsFile: t.settingsFile }, plan);
}
