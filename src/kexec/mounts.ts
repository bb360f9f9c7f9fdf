// Mounts tendril itself made (kernel-side mounts for network or rescue use). Before the jump
// they are detached in reverse order (docs/kexec.md §4 step 3); the kernel does not do it.

import { MNT_DETACH, umount2 } from '../native/sys';

const mounted: string[] = [];

export function trackMount(target: string): void {
  mounted.push(target);
}

/** Detach everything we mounted, newest first. Returns the failures (they do not stop a boot). */
export function unmountTracked(umount: (t: string, f: number) => void = umount2): string[] {
  const errors: string[] = [];
  while (mounted.length) {
    const t = mounted.pop()!;
    try {
      umount(t, MNT_DETACH);
    } catch (e) {
      errors.push(`${t}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return errors;
}

export function trackedMounts(): readonly string[] {
  return mounted;
}
