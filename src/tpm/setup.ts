// The measurement state for this run from tendril's settings ([tpm] measure, docs/measured-boot.md §5).

import { loadSettings, SETTINGS_FILE } from '../settings/load';
import type { MenuEntry } from '../discovery/model';
import type { MeasureHook } from '../kexec/load';
import type { BootPlan, FsLookup } from '../kexec/plan';
import { measureHookFor } from './boot';
import { type MeasureState, openMeasurement } from './measure';

export interface TpmBoot {
  readonly state: MeasureState;
  /** The settings file measured into PCR 5 when present (the one loadSettings reads). */
  readonly settingsFile: string;
}

export function tpmFromSettings(): TpmBoot {
  const { settings } = loadSettings();
  return {
    state: openMeasurement({ policy: settings.tpm.measure }),
    settingsFile: process.env.TENDRIL_SETTINGS ?? SETTINGS_FILE,
  };
}

/** The per-plan hook factory execute() takes, for one entry. */
export function hookFactory(
  t: TpmBoot | undefined,
  entry: MenuEntry,
  lookup: FsLookup,
): ((plan: BootPlan) => MeasureHook | undefined) | undefined {
  if (!t) return undefined;
  return (plan) => measureHookFor(t.state, { entry, lookup, settingsFile: t.settingsFile }, plan);
}
