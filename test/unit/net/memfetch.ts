// An in-memory Fetch for the pure boot-file readers (no network): a Map of URL → bytes. A URL
// not in the map is a "not found" NetError, as a TFTP error 1 or an HTTP 404 would be; a URL
// mapped to an Error rejects with it. Every URL asked for is recorded, in order.
import { createHash } from 'node:crypto';
import { type Fetch, NetError } from '../../../src/net/types';

export type Served = string | Uint8Array | Error;

export interface MemFetch {
  readonly fetch: Fetch;
  readonly asked: string[];
}

export function memFetch(files: Readonly<Record<string, Served>> | ReadonlyMap<string, Served>): MemFetch {
  const map: ReadonlyMap<string, Served> =
    files instanceof Map
      ? (files as ReadonlyMap<string, Served>)
      : new Map(Object.entries(files as Record<string, Served>));
  const asked: string[] = [];
  const fetch: Fetch = async (url, opts) => {
    asked.push(url);
    const v = map.get(url);
    if (v === undefined) throw new NetError(url, 'TFTP error 1 (File not found)', true, true);
    if (v instanceof Error) throw v;
    const bytes = typeof v === 'string' ? new TextEncoder().encode(v) : v;
    if (bytes.length > opts.maxBytes) throw new NetError(url, `${bytes.length} bytes > limit ${opts.maxBytes}`, true);
    return { url, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  };
  return { fetch, asked };
}

export const LEASE = {
  iface: 'eth0',
  mac: '52:54:00:ab:cd:ef',
  family: 4,
  how: 'dhcp',
  address: '192.0.2.91',
  prefixLength: 24,
  router: '192.0.2.1',
  dns: ['192.0.2.53'],
  domain: 'example.test',
  hostname: 'client1',
  ntp: [],
  server: '192.0.2.1',
  bootUrl: 'tftp://192.0.2.1/boot/pxelinux.0',
} as const;

export const UUID = '4c4c4544-0042-3510-8051-b4c04f4b4e31';

/** The smallest file the bzImage probe accepts (boot protocol 2.15, 64-bit, loadable above 4 GiB). */
export function tinyBzImage(): Uint8Array {
  const b = Buffer.alloc(4096);
  b.writeUInt16LE(0xaa55, 0x1fe);
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x020f, 0x206);
  b[0x211] = 1;
  b.writeUInt16LE(3, 0x236);
  b.writeUInt32LE(2047, 0x238);
  return new Uint8Array(b);
}
