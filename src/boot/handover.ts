// How a loaded kernel is started (docs/state.md §4). In tendril's own initramfs nothing else
// runs, so reboot(LINUX_REBOOT_CMD_KEXEC) is right. On a running system that would cut off
// every service mid-write; systemd's `systemctl kexec` stops them, unmounts and syncs, then
// starts the kernel already loaded. An immediate kexec there needs --force.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export type Handover =
  | { readonly kind: 'reboot-kexec'; readonly why: string }
  | { readonly kind: 'systemctl'; readonly why: string }
  | { readonly kind: 'refuse'; readonly why: string };

export interface HandoverFacts {
  readonly force: boolean;
  readonly pid: number;
  /** /init of tendril's initramfs exports TENDRIL_INITRAMFS=1. */
  readonly tendrilInitramfs: boolean;
  /** /run/systemd/system exists: systemd is the running init (sd_booted()). */
  readonly systemd: boolean;
}

export function handoverFor(f: HandoverFacts): Handover {
  if (f.force) return { kind: 'reboot-kexec', why: '--force' };
  if (f.pid === 1 || f.tendrilInitramfs) return { kind: 'reboot-kexec', why: "tendril's initramfs" };
  if (f.systemd)
    return { kind: 'systemctl', why: 'a running systemd system: systemctl kexec stops its services first' };
  return {
    kind: 'refuse',
    why: 'this is a running system without systemd: an immediate kexec would not stop its services; stop them and use --force',
  };
}

export function hostHandover(force: boolean): Handover {
  return handoverFor({
    force,
    pid: process.pid,
    tendrilInitramfs: process.env.TENDRIL_INITRAMFS === '1',
    systemd: fs.existsSync('/run/systemd/system'),
  });
}

/** Ask systemd to kexec the loaded kernel. Returns an error message, or undefined once systemd took over. */
export function systemctlKexec(run = spawnSync): string | undefined {
  const r = run('systemctl', ['kexec'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `systemctl kexec: ${r.error.message}`;
  if (r.status !== 0) return `systemctl kexec: exit status ${r.status}: ${(r.stderr ?? '').trim().slice(0, 500)}`;
  return undefined;
}
