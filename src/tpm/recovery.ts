// The rescue shell and the editor leave the measured path: PCR 4 gets the fixed
// "tendril-recovery" event first, once per boot, so secrets sealed to a normal boot stop
// unsealing (docs/measured-boot.md §2; Heads does the same before its recovery shell).

import { TpmError } from './client';
import { MeasureError, type MeasureState } from './measure';
import { EventLogError } from './eventlog';

/** A function the menu calls before the shell or editor: undefined = go ahead, else why not. */
export function recoveryGate(current: () => MeasureState, say: (s: string) => void): () => string | undefined {
  return () => {
    const state = current();
    if (state.kind === 'off') return undefined;
    if (state.kind === 'refuse') return state.why;
    try {
      if (state.recoveryOnce() === 'extended')
        say(`PCR 4 extended with "tendril-recovery" (${state.device}); a normal boot's PCR 4 no longer matches`);
      return undefined;
    } catch (e) {
      if (e instanceof TpmError || e instanceof MeasureError || e instanceof EventLogError) return e.message;
      throw e;
    }
  };
}
