// PXE boot menus: the vendor-encapsulated options (DHCPv4 option 43) of a PXEClient reply, PXE
// specification 2.1, "DHCP Options Used by PXE": discovery control (6), multicast discovery address (7), boot servers
// (8), boot menu (9), menu prompt (10) and boot item (71). The server controls every byte, so the
// reader is bounded and never throws: what it cannot read is a problem naming the server and the
// sub-option, and the rest of the menu stands. docs/net-dhcp.md §14.

import { NetError, type PxeMenu } from '../types';
import { OPT, ipv4, optText, type Options } from './options';

export const PXE_SUB = {
  DISCOVERY_CONTROL: 6,
  MCAST_ADDR: 7,
  BOOT_SERVERS: 8,
  BOOT_MENU: 9,
  MENU_PROMPT: 10,
  BOOT_ITEM: 71,
} as const;

/** PXE_DISCOVERY_CONTROL bits (docs/net-dhcp.md §14 has the table). */
export const DISCOVERY = {
  NO_BROADCAST: 1,
  NO_MULTICAST: 2,
  ONLY_LISTED_SERVERS: 4,
  USE_BOOT_FILE: 8,
} as const;

const NAMES: Record<number, string> = {
  6: 'PXE_DISCOVERY_CONTROL',
  7: 'PXE_DISCOVERY_MCAST_ADDR',
  8: 'PXE_BOOT_SERVERS',
  9: 'PXE_BOOT_MENU',
  10: 'PXE_MENU_PROMPT',
  71: 'PXE_BOOT_ITEM',
};

/** Bounds on what one reply can make tendril hold and ask about. */
export const PXE_LIMITS = {
  /** Menu items kept (each one may cost a discovery round trip). */
  maxItems: 16,
  /** Boot server entries (type + addresses) kept, and addresses per entry. */
  maxServerEntries: 16,
  maxAddresses: 8,
} as const;

export interface PxeOptions {
  readonly discoveryControl?: number;
  readonly mcastAddr?: string;
  readonly bootServers: readonly { readonly type: number; readonly addresses: readonly string[] }[];
  readonly menu: readonly { readonly type: number; readonly description: string }[];
  readonly prompt?: { readonly timeout: number; readonly text: string };
  readonly bootItem?: { readonly type: number; readonly layer: number };
}

export interface PxeParse {
  readonly options: PxeOptions;
  /** Each names the server and the sub-option: "PXE option 43 from 192.0.2.5: sub-option 9 (PXE_BOOT_MENU): …". */
  readonly problems: string[];
}

/** Reads option 43 as PXE sub-options. Never throws; `value` is at most a packet's size (options.ts limits). */
export function parsePxeOptions(value: Uint8Array, server: string): PxeParse {
  const problems: string[] = [];
  const say = (code: number, what: string) =>
    problems.push(`PXE option 43 from ${server}: sub-option ${code}${NAMES[code] ? ` (${NAMES[code]})` : ''}: ${what}`);
  const seen = new Set<number>();
  let discoveryControl: number | undefined;
  let mcastAddr: string | undefined;
  const bootServers: { type: number; addresses: string[] }[] = [];
  const menu: { type: number; description: string }[] = [];
  let prompt: { timeout: number; text: string } | undefined;
  let bootItem: { type: number; layer: number } | undefined;
  let i = 0;
  while (i < value.length) {
    const code = value[i]!;
    if (code === OPT.END) break;
    if (code === OPT.PAD) {
      i++;
      continue;
    }
    if (i + 1 >= value.length) {
      say(code, 'no length byte');
      break;
    }
    const len = value[i + 1]!;
    if (i + 2 + len > value.length) {
      say(code, `length ${len} runs past the end of option 43`);
      break;
    }
    const v = value.subarray(i + 2, i + 2 + len);
    i += 2 + len;
    if (!(code in NAMES)) continue; // MTFTP (1–5) and vendor sub-options: not ours
    // The first well-formed instance of a code counts (a malformed one is reported and skipped).
    if (seen.has(code)) {
      say(code, 'sent twice; the first one counts');
      continue;
    }
    let ok = true;
    const bad = (what: string) => {
      ok = false;
      say(code, what);
    };
    switch (code) {
      case PXE_SUB.DISCOVERY_CONTROL:
        if (len !== 1) bad(`length ${len}, not 1`);
        else discoveryControl = v[0]!;
        break;
      case PXE_SUB.MCAST_ADDR:
        if (len !== 4) bad(`length ${len}, not 4`);
        else mcastAddr = ipv4(v);
        break;
      // A list keeps what it read before a fault, so it counts even then.
      case PXE_SUB.BOOT_SERVERS:
        readServers(v, bootServers, (w) => say(code, w));
        break;
      case PXE_SUB.BOOT_MENU:
        readMenu(v, menu, (w) => say(code, w));
        break;
      case PXE_SUB.MENU_PROMPT:
        if (len < 1) bad('empty');
        else prompt = { timeout: v[0]!, text: printable(v.subarray(1)) };
        break;
      case PXE_SUB.BOOT_ITEM:
        if (len !== 4) bad(`length ${len}, not 4`);
        else bootItem = { type: (v[0]! << 8) | v[1]!, layer: (v[2]! << 8) | v[3]! };
        break;
    }
    if (ok) seen.add(code);
  }
  return {
    options: {
      ...(discoveryControl !== undefined ? { discoveryControl } : {}),
      ...(mcastAddr !== undefined ? { mcastAddr } : {}),
      bootServers,
      menu,
      ...(prompt ? { prompt } : {}),
      ...(bootItem ? { bootItem } : {}),
    },
    problems,
  };
}

/** PXE_BOOT_SERVERS: { type u16, count u8, count × IPv4 }… */
function readServers(v: Uint8Array, out: { type: number; addresses: string[] }[], say: (w: string) => void): void {
  let j = 0;
  while (j < v.length) {
    if (j + 3 > v.length) return say(`entry at byte ${j} is cut short`);
    const type = (v[j]! << 8) | v[j + 1]!;
    const count = v[j + 2]!;
    if (j + 3 + 4 * count > v.length) return say(`entry for type ${type} lists ${count} addresses past the end`);
    if (out.length >= PXE_LIMITS.maxServerEntries)
      return say(`more than ${PXE_LIMITS.maxServerEntries} entries; the rest are ignored`);
    const addresses: string[] = [];
    for (let k = 0; k < Math.min(count, PXE_LIMITS.maxAddresses); k++) addresses.push(ipv4(v, j + 3 + 4 * k));
    if (count > PXE_LIMITS.maxAddresses)
      say(`type ${type} lists ${count} addresses; the first ${PXE_LIMITS.maxAddresses} are used`);
    out.push({ type, addresses });
    j += 3 + 4 * count;
  }
}

/** PXE_BOOT_MENU: { type u16, length u8, description }… */
function readMenu(v: Uint8Array, out: { type: number; description: string }[], say: (w: string) => void): void {
  let j = 0;
  while (j < v.length) {
    if (j + 3 > v.length) return say(`item ${out.length + 1} is cut short`);
    const type = (v[j]! << 8) | v[j + 1]!;
    const n = v[j + 2]!;
    if (j + 3 + n > v.length) return say(`item ${out.length + 1} (type ${type}) runs past the end`);
    if (out.length >= PXE_LIMITS.maxItems) return say(`more than ${PXE_LIMITS.maxItems} items; the rest are ignored`);
    out.push({ type, description: printable(v.subarray(j + 3, j + 3 + n)) });
    j += 3 + n;
  }
}

/** Text for a menu: UTF-8 up to a NUL, control characters (a terminal's escapes) as U+FFFD. */
function printable(b: Uint8Array): string {
  const nul = b.indexOf(0);
  const s = new TextDecoder('utf-8').decode(nul < 0 ? b : b.subarray(0, nul));
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd').trim();
}

/** Encodes sub-options (END last); what we send (71) and what the tests build as a server would. */
export function encodePxeOptions(o: Partial<PxeOptions>): Uint8Array {
  const out: number[] = [];
  const put = (code: number, bytes: readonly number[]) => {
    if (bytes.length > 255)
      throw new NetError('PXE option 43', `sub-option ${code} is ${bytes.length} bytes, over 255`);
    out.push(code, bytes.length, ...bytes);
  };
  const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
  const ip = (s: string) => s.split('.').map(Number);
  const text = (s: string) => [...new TextEncoder().encode(s)];
  if (o.discoveryControl !== undefined) put(PXE_SUB.DISCOVERY_CONTROL, [o.discoveryControl]);
  if (o.mcastAddr !== undefined) put(PXE_SUB.MCAST_ADDR, ip(o.mcastAddr));
  if (o.bootServers?.length)
    put(
      PXE_SUB.BOOT_SERVERS,
      o.bootServers.flatMap((s) => [...u16(s.type), s.addresses.length, ...s.addresses.flatMap(ip)]),
    );
  if (o.menu?.length)
    put(
      PXE_SUB.BOOT_MENU,
      o.menu.flatMap((m) => {
        const t = text(m.description);
        return [...u16(m.type), t.length, ...t];
      }),
    );
  if (o.prompt) put(PXE_SUB.MENU_PROMPT, [o.prompt.timeout, ...text(o.prompt.text)]);
  if (o.bootItem) put(PXE_SUB.BOOT_ITEM, [...u16(o.bootItem.type), ...u16(o.bootItem.layer)]);
  out.push(OPT.END);
  return Uint8Array.from(out);
}

/**
 * The boot menu of a reply, when it is a PXEClient reply (option 60) whose option 43 lists at
 * least one item; undefined otherwise. `chosen` is the item a PXE client boots without user input:
 * the first one (the prompt's timeout, 0 at once, selects it: docs/net-dhcp.md §14), absent when that
 * item is local boot (type 0).
 */
export function pxeMenuOf(
  options: Options,
  server: string,
  log?: (line: string) => void,
): { menu: PxeMenu; options: PxeOptions } | undefined {
  if (optText(options, OPT.VENDOR_CLASS)?.startsWith('PXEClient') !== true) return undefined;
  const raw = options.get(OPT.VENDOR_SPECIFIC);
  if (!raw) return undefined;
  const { options: o, problems } = parsePxeOptions(raw, server);
  for (const p of problems) log?.(p);
  if (o.menu.length === 0) return undefined;
  const menu: PxeMenu = {
    server,
    discoveryControl: o.discoveryControl ?? 0,
    bootServers: o.bootServers,
    ...(o.prompt ? { prompt: o.prompt } : {}),
    items: o.menu.map((m) => ({ type: m.type, description: m.description })),
    ...(o.menu[0]!.type !== 0 ? { chosen: 0 } : {}),
  };
  return { menu, options: o };
}
