// `--display-out` / `[vm] display-output` (docs/vmm-platform.md §15.1): where the VM's screen is
// shown on this machine. No policy beyond the syntax; display/host-output.ts resolves `auto`.

/** auto, none, or a /dev/fbN or /dev/dri/cardN path; throws a message naming the value otherwise. */
export function parseDisplayOut(raw: string): string {
  if (raw === 'auto' || raw === 'none' || /^\/dev\/(fb\d+|dri\/card\d+)$/.test(raw)) return raw;
  throw new Error(`display output ${raw}: want auto, none, /dev/fbN or /dev/dri/cardN`);
}
