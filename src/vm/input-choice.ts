// `--input-devices` / `[vm] input-devices`: which of the host's evdev devices feed the guest's PS/2
// keyboard and mouse (host-input.ts). Apart so settings and the plan can parse it without the VMM.

/** Every keyboard and mouse found (auto), or these nodes. `none` is the absence of a choice. */
export type InputDevicesChoice = 'auto' | readonly string[];

/** Parses `auto`, `none` (undefined) or a comma-separated list of /dev/input/eventN (or
 *  /dev/input/by-id, by-path) paths; throws with the reason otherwise. */
export function parseInputDevicesChoice(raw: string): InputDevicesChoice | undefined {
  if (raw === 'auto') return 'auto';
  if (raw === 'none') return undefined;
  const paths = raw.split(',').map((p) => p.trim());
  for (const p of paths)
    if (!/^\/dev\/input\/event\d+$/.test(p) && !/^\/dev\/input\/by-(id|path)\/[^,/]+$/.test(p))
      throw new Error(`input device ${JSON.stringify(p)}: expected auto, none or /dev/input/eventN[,...]`);
  if (new Set(paths).size !== paths.length) throw new Error(`input devices ${raw}: a device is named twice`);
  return paths;
}
