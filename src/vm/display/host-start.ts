// Starting the host output for `--display-out` (docs/vmm-platform.md §15.1) on the VM worker:
// which device `auto` means, and what happens when it cannot be used. A device named on the command
// line must work (the run fails with the reason); `auto` falls back to no host output with a note.
import { displayNative } from '../../native/display';
import { HostDisplay } from './host-link';
import { resolveDisplayOutput } from './host-output';

export async function startHostDisplay(
  bundle: string,
  spec: string | undefined,
  note: (line: string) => void,
): Promise<HostDisplay | null> {
  if (spec === undefined || spec === 'none') return null;
  const device = resolveDisplayOutput(spec);
  if (!device) {
    note('display output: no host screen found (no /dev/fb0, no DRM card with a connected connector)');
    return null;
  }
  try {
    const d = await HostDisplay.start(bundle, device, displayNative().displayConstants().memLogDirtyPages);
    note(`display output: ${device}: ${d.description}`);
    return d;
  } catch (e) {
    if (spec !== 'auto') throw e;
    note(`display output: ${(e as Error).message}; the screen is not shown on this machine`);
    return null;
  }
}
