// The log: every message goes to a ring buffer (the menu's `l` view) and, unless muted,
// to stderr. Diagnostics from discovery are logged through here too. Messages quote disk
// content: the ring buffer keeps them exact, the console gets them printable.

import { printable } from './util/printable';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  readonly time: number;
  readonly level: LogLevel;
  readonly scope: string;
  readonly message: string;
}

const CAPACITY = 2000;
const ring: LogRecord[] = [];
let consoleLevel: LogLevel | 'off' = 'warn';
const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function setConsoleLevel(level: LogLevel | 'off'): void {
  consoleLevel = level;
}

export function log(level: LogLevel, scope: string, message: string): void {
  const rec = { time: Date.now(), level, scope, message };
  ring.push(rec);
  if (ring.length > CAPACITY) ring.splice(0, ring.length - CAPACITY);
  if (consoleLevel !== 'off' && order[level] >= order[consoleLevel]) {
    process.stderr.write(`tendril ${level} ${printable(scope)}: ${printable(message)}\n`);
  }
}

export function logRecords(): readonly LogRecord[] {
  return ring;
}
