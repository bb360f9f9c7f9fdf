// Signature verification for this run from tendril's settings ([trust], docs/signatures.md §5):
// the policy, and the owner's keys read once from the initramfs when first needed.

import type { MenuEntry } from '../discovery/model';
import type { VerifyHook } from '../kexec/load';
import type { BootPlan, FsLookup } from '../kexec/plan';
import { loadSettings } from '../settings/load';
import type { TrustPolicy } from '../settings/schema';
import { checkEntry, describeVerdict, verifySession } from './boot';
import { type TrustStore, loadTrustStore } from './keys';
import type { EntryVerdict } from './verdict';

export interface TrustBoot {
  readonly policy: TrustPolicy;
  store(): TrustStore;
  /** The per-plan hook for execute(); undefined when the policy is off. */
  hookFactory(
    entry: MenuEntry,
    lookup: FsLookup,
    warn: (line: string) => void,
  ): (plan: BootPlan) => VerifyHook | undefined;
  /** The verdicts without booting (details pane); undefined when the policy is off. */
  check(entry: MenuEntry, plan: BootPlan, lookup: FsLookup): Promise<EntryVerdict | undefined>;
  /** `--dry-run` lines; none when the policy is off. */
  describe(entry: MenuEntry, plan: BootPlan, lookup: FsLookup): Promise<string[]>;
}

export function trustFrom(t: { policy: TrustPolicy; db: string; keys: string }): TrustBoot {
  let cached: TrustStore | undefined;
  const store = (): TrustStore => (cached ??= loadTrustStore(t.db, t.keys));
  const policy = t.policy;
  return {
    policy,
    store,
    hookFactory: (entry, lookup, warn) => (plan) => {
      if (policy === 'off') return undefined;
      const s = store();
      for (const p of s.problems) warn(`trust: key file skipped: ${p}`);
      return verifySession(policy, s, entry, plan, lookup, warn);
    },
    check: async (entry, plan, lookup) => (policy === 'off' ? undefined : checkEntry(store(), entry, plan, lookup)),
    async describe(entry, plan, lookup) {
      if (policy === 'off') return [];
      try {
        return describeVerdict(policy, await checkEntry(store(), entry, plan, lookup), store().problems);
      } catch (e) {
        return [`signatures (trust.policy = ${policy}): not computed: ${e instanceof Error ? e.message : String(e)}`];
      }
    },
  };
}

export function trustFromSettings(): TrustBoot {
  return trustFrom(loadSettings().settings.trust);
}
