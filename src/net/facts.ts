// Small facts about the client the boot-file readers share: SMBIOS strings (pxelinux's UUID file,
// iPXE's settings) and IPv4 address arithmetic.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** SMBIOS facts some lookups use (pxelinux's UUID file, iPXE's settings). */
export interface Smbios {
  /** Lower-case dashed, as /sys/class/dmi/id/product_uuid shows it. */
  readonly uuid?: string;
  readonly manufacturer?: string;
  readonly product?: string;
  readonly serial?: string;
  readonly asset?: string;
  readonly version?: string;
}

/** The SMBIOS strings the kernel exports (absent ones, and unreadable ones, left out). */
export function readSmbios(dir = '/sys/class/dmi/id'): Smbios {
  const read = (f: string): string | undefined => {
    try {
      const v = fs.readFileSync(path.join(dir, f), 'utf8').trim();
      return v === '' ? undefined : v;
    } catch {
      return undefined;
    }
  };
  const uuid = read('product_uuid')?.toLowerCase();
  const fields = {
    uuid: uuid !== undefined && /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(uuid) ? uuid : undefined,
    manufacturer: read('sys_vendor'),
    product: read('product_name'),
    serial: read('product_serial'),
    asset: read('chassis_asset_tag'),
    version: read('product_version'),
  };
  const out: { -readonly [K in keyof Smbios]: string } = {};
  for (const [k, v] of Object.entries(fields) as [keyof Smbios, string | undefined][]) if (v !== undefined) out[k] = v;
  return out;
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Four bytes of a dotted IPv4 address, or undefined. */
export function ipv4Bytes(a: string): number[] | undefined {
  const m = IPV4_RE.exec(a);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((n) => n <= 255) ? b : undefined;
}

/** Dotted netmask of a prefix length (24 → 255.255.255.0). */
export function prefixToNetmask(len: number): string {
  const n = Math.max(0, Math.min(32, Math.trunc(len)));
  const v = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return [24, 16, 8, 0].map((s) => (v >>> s) & 0xff).join('.');
}
