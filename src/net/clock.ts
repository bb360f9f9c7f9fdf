// The clock before TLS (docs/net-dhcp.md §12): a certificate is valid from a date to a date, so a
// machine whose RTC says 2005 refuses every https server. Once leases are up and before the first
// fetch, the NTP servers the leases (DHCPv4 option 42) and `net.ntp` name are asked once, within a
// small budget; `net.clock = set` steps the system clock (never the RTC) by the best answer's
// offset, `check` only reports it.

import { clockSettime } from '../native/sys';
import type { ClockMode } from '../settings/schema';
import { sntpRound, type SntpOptions, type SntpSample } from './sntp/client';
import type { Lease } from './types';

/** The whole SNTP step may take this long: it runs inside the network source, never before a disk. */
export const CLOCK_BUDGET_MS = 3000;
/** A smaller offset is left alone: TLS needs the day right, not the millisecond. */
export const STEP_THRESHOLD_MS = 1000;

/** `net.clock` when the settings leave it unset: set under tendril's initramfs (/init exports
 *  TENDRIL_INITRAMFS=1, src/boot/handover.ts), check on a running system that has its own NTP. */
export function clockMode(setting: ClockMode | undefined, env: NodeJS.ProcessEnv = process.env): ClockMode {
  return setting ?? (env.TENDRIL_INITRAMFS === '1' ? 'set' : 'check');
}

/** The settings' servers first, then each lease's option 42, without repeats. */
export function ntpServers(configured: readonly string[], leases: readonly Lease[]): string[] {
  return [...new Set([...configured, ...leases.flatMap((l) => l.ntp)])];
}

export interface ClockReport {
  readonly level: 'info' | 'warn';
  /** "clock: stepped by +662688000.123 s from 192.0.2.1 (stratum 8)" and the like. */
  readonly line: string;
  /** The offset found (ms), when a server answered. */
  readonly offsetMs?: number;
  /** The answer used (the lowest delay), when one was usable. */
  readonly sample?: SntpSample;
  readonly stepped: boolean;
}

export interface ClockOptions extends Partial<SntpOptions> {
  readonly mode: ClockMode;
  readonly servers: readonly string[];
  /** Sets the clock to Unix ms (tests inject; the addon's clock_settime by default). */
  readonly setClock?: (ms: number) => void;
}

const seconds = (ms: number): string => `${ms >= 0 ? '+' : '-'}${(Math.abs(ms) / 1000).toFixed(3)} s`;

/** Asks the servers once and steps or reports; never throws (a failure is the report's line). */
export async function syncClock(o: ClockOptions): Promise<ClockReport> {
  if (o.mode === 'off') return { level: 'info', line: 'clock: not checked (net.clock = off)', stepped: false };
  if (o.servers.length === 0)
    return {
      level: 'warn',
      line: 'clock: no NTP server (no DHCP option 42, net.ntp empty): the clock stays as it is',
      stepped: false,
    };
  const now = o.now ?? Date.now;
  const round = await sntpRound(o.servers, {
    timeoutMs: o.timeoutMs ?? CLOCK_BUDGET_MS,
    now,
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const b = round.best;
  if (!b)
    return {
      level: 'warn',
      line: `clock: no usable NTP reply, the clock stays as it is: ${round.errors.map((e) => e.message).join('; ')}`,
      stepped: false,
    };
  const from = `${b.server}${b.address !== b.server ? ` (${b.address})` : ''}, stratum ${b.stratum}, delay ${b.delayMs.toFixed(1)} ms`;
  if (o.mode === 'check')
    return {
      level: 'info',
      line: `clock: off by ${seconds(b.offsetMs)} from ${from} (check only)`,
      offsetMs: b.offsetMs,
      sample: b,
      stepped: false,
    };
  if (Math.abs(b.offsetMs) < STEP_THRESHOLD_MS)
    return {
      level: 'info',
      line: `clock: within ${seconds(b.offsetMs)} of ${from}, not stepped`,
      offsetMs: b.offsetMs,
      sample: b,
      stepped: false,
    };
  try {
    (o.setClock ?? clockSettime)(now() + b.offsetMs);
  } catch (e) {
    return {
      level: 'warn',
      line: `clock: off by ${seconds(b.offsetMs)} from ${from}, cannot step it: ${e instanceof Error ? e.message : String(e)}`,
      offsetMs: b.offsetMs,
      sample: b,
      stepped: false,
    };
  }
  return {
    level: 'info',
    line: `clock: stepped by ${seconds(b.offsetMs)} from ${from}`,
    offsetMs: b.offsetMs,
    sample: b,
    stepped: true,
  };
}
