// NICs that appear after the lease stage (a USB adapter plugged in, a cable-side NIC whose
// driver bound late, a hot-added virtio NIC) while the menu waits: the lease stage's own rescan
// ends with its carrier window, so the menu keeps one cheap poll of /sys/class/net for the rest
// of its life. docs/net-dhcp.md §5.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { listNics, nicInfo, SYS_NET, type NicInfo } from './link';

function readCarrier(name: string, root: string): string | undefined {
  try {
    // Reading carrier of a down interface fails with EINVAL: not up yet counts as no carrier.
    return fs.readFileSync(path.join(root, name, 'carrier'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export interface NicWatch {
  stop(): void;
}

export interface NicWatchOptions {
  /** Interfaces already handled (leased or reported): never reported again. */
  readonly known: Iterable<string>;
  /** Of those, the ones that had no carrier: reported once their carrier comes up (a cable plugged in). */
  readonly noCarrier?: Iterable<string>;
  readonly onNic: (nic: NicInfo) => void;
  /** Poll period (default 1 s: a directory listing, nothing more). */
  readonly intervalMs?: number;
  /** /sys/class/net (tests point it elsewhere). */
  readonly root?: string;
}

/**
 * Reports each device-backed Ethernet NIC not seen before, once, and each cableless one whose
 * carrier came up, once. The timer is unref'd: the
 * watch never keeps the process alive on its own.
 */
export function watchNewNics(o: NicWatchOptions): NicWatch {
  const seen = new Set(o.known);
  const cableless = new Set(o.noCarrier ?? []);
  const root = o.root ?? SYS_NET;
  const poll = (): void => {
    for (const name of cableless) {
      if (readCarrier(name, root) !== '1') continue;
      cableless.delete(name);
      const nic = nicInfo(name, root);
      if (nic) o.onNic(nic);
    }
    let nics: NicInfo[];
    try {
      nics = listNics([], root);
    } catch {
      return;
    }
    for (const nic of nics) {
      if (seen.has(nic.name)) continue;
      seen.add(nic.name);
      o.onNic(nic);
    }
  };
  const timer = setInterval(poll, o.intervalMs ?? 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
