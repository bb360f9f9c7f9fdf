// `tendril tpm recovery`: for /init, before its own rescue shell (after tendril crashed, or with
// tendril.mode=shell): the same PCR 4 event as the menu's shell, once per boot
// (docs/measured-boot.md §2). Exit 0: extended, already extended, or nothing to measure;
// 3: refused (require without a TPM) or the TPM failed, so the shell must stay closed.

import { commandArgs, type CommandSpec } from '../util/args';
import { printable } from '../util/printable';
import { recoveryGate } from './recovery';
import { tpmFromSettings } from './setup';

export const TPM_COMMAND: CommandSpec<Record<string, never>, string> = {
  name: 'tpm',
  synopsis: 'recovery',
  summary: 'Extend PCR 4 with the tendril-recovery event (once per boot) before a rescue shell opens.',
  options: {},
  positional: { name: 'ACTION', min: 1, max: 1, help: "'recovery'" },
  build: (p) => p.positional[0]!,
};

export const EXIT_REFUSED = 3;

export function runTpmCommand(argv: string[]): number {
  const parsed = commandArgs(TPM_COMMAND, argv);
  if ('exit' in parsed) return parsed.exit;
  if (parsed.args !== 'recovery') {
    process.stderr.write(`tendril tpm: unknown action '${printable(parsed.args)}' (only 'recovery')\n`);
    return 2;
  }
  const tpm = tpmFromSettings();
  const say = (s: string): void => void process.stderr.write(`tendril: tpm: ${printable(s)}\n`);
  const state = tpm.state();
  if (state.kind === 'off') say(state.why);
  const err = recoveryGate(() => state, say)();
  if (err === undefined) return 0;
  say(`the rescue shell stays closed: ${err}`);
  return EXIT_REFUSED;
}
