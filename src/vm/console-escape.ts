// The console's command key (docs/vmm-platform.md §15.2): Ctrl-\ followed by a letter is a
// command for tendril, not input for the guest, as ssh's "~." is. `s` writes a screenshot; a
// second Ctrl-\ sends one Ctrl-\ to the guest; anything else sends both bytes on. The key pair
// may arrive split across reads (a person types it), so the state spans chunks.

export const CTRL_BACKSLASH = 0x1c;

export type ConsoleCommand = 'screenshot';

const COMMANDS: ReadonlyMap<number, ConsoleCommand> = new Map([
  [0x73, 'screenshot'], // s
  [0x53, 'screenshot'], // S
]);

export class ConsoleEscape {
  private pending = false;

  /** Separates the guest's bytes from the commands in one chunk of console input. */
  feed(chunk: Uint8Array): { bytes: Uint8Array; commands: ConsoleCommand[] } {
    const out: number[] = [];
    const commands: ConsoleCommand[] = [];
    for (const b of chunk) {
      if (!this.pending) {
        if (b === CTRL_BACKSLASH) this.pending = true;
        else out.push(b);
        continue;
      }
      this.pending = false;
      const cmd = COMMANDS.get(b);
      if (cmd) commands.push(cmd);
      else if (b === CTRL_BACKSLASH) out.push(CTRL_BACKSLASH);
      else out.push(CTRL_BACKSLASH, b);
    }
    return { bytes: out.length === chunk.length ? chunk : Uint8Array.from(out), commands };
  }
}
