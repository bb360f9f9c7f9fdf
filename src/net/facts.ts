// Small facts about the client the boot-file readers share: SMBIOS strings (pxelinux's UUID file,
// iPXE's settings) and IPv4 address arithmetic.

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
