// Boot-stage timestamps from the guest's own clock (/proc/uptime), printed as
// `tendril-stage NAME SECONDS` lines that bench/boot.ts collects from the serial console.

import * as fs from 'node:fs';

export function uptimeSeconds(read: () => string = () => fs.readFileSync('/proc/uptime', 'utf8')): number | undefined {
  try {
    const v = parseFloat(read().split(/\s+/)[0] ?? '');
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Print a stage line when TENDRIL_STAGES is set (the initramfs /init sets it). */
export function stage(name: string, out: { write(s: string): unknown } = process.stderr): void {
  if (!process.env.TENDRIL_STAGES) return;
  const t = uptimeSeconds();
  out.write(`tendril-stage ${name} ${t === undefined ? '?' : t.toFixed(2)}\n`);
}
