// iPXE settings (docs/net-bootfiles.md §4.2): named values with a type, `${scope/name:type}`
// expansion, and the built-in settings a lease and SMBIOS give. Values are kept as bytes, as
// iPXE keeps them, so `${mac:hexhyp}` and `${cls:string}` format the same bytes differently.

import type { Lease } from '../types';
import { type Smbios, ipv4Bytes, prefixToNetmask } from '../facts';

export type SettingType = 'string' | 'uristring' | 'hex' | 'hexhyp' | 'hexraw' | 'ipv4' | 'uuid' | 'base64';
const TYPES = new Set<string>(['string', 'uristring', 'hex', 'hexhyp', 'hexraw', 'ipv4', 'uuid', 'base64']);

export interface Setting {
  readonly type: SettingType;
  readonly bytes: Uint8Array;
}

export const SETTING_LIMITS = {
  /** Bytes of one value. */
  valueBytes: 4096,
  /** Distinct settings a script may create. */
  count: 1024,
  /** `${...}` substitutions in one line. */
  expansions: 1024,
  /** Characters of a line after expansion. */
  lineChars: 16384,
} as const;

/** Thrown for a bad name, type or value; the interpreter turns it into a failed command. */
export class SettingError extends Error {}

/** Thrown when a limit is reached; the interpreter turns it into a script error. */
export class SettingLimitError extends Error {}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8');

export function isSettingType(t: string): t is SettingType {
  return TYPES.has(t);
}

/** Parse `text` as a value of `type` (what `set name:type text` stores). */
export function parseValue(type: SettingType, text: string): Uint8Array {
  switch (type) {
    case 'string':
    case 'uristring':
      return enc.encode(text);
    case 'hex':
    case 'hexhyp':
    case 'hexraw': {
      const clean =
        type === 'hexraw' ? (text.match(/.{1,2}/g) ?? []) : text === '' ? [] : text.split(type === 'hex' ? ':' : '-');
      if (!clean.every((h) => /^[0-9a-fA-F]{1,2}$/.test(h)))
        throw new SettingError(`${JSON.stringify(text)} is not ${type}`);
      return Uint8Array.from(clean.map((h) => parseInt(h, 16)));
    }
    case 'ipv4': {
      const b = ipv4Bytes(text);
      if (!b) throw new SettingError(`${JSON.stringify(text)} is not an IPv4 address`);
      return Uint8Array.from(b);
    }
    case 'uuid': {
      const h = text.replace(/-/g, '');
      if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new SettingError(`${JSON.stringify(text)} is not a UUID`);
      return Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
    }
    case 'base64':
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new SettingError(`${JSON.stringify(text)} is not base64`);
      return Uint8Array.from(Buffer.from(text, 'base64'));
  }
}

const hex = (b: Uint8Array, sep: string) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(sep);

/** Format a value as `type` (what `${name:type}` expands to). */
export function formatValue(type: SettingType, bytes: Uint8Array): string {
  switch (type) {
    case 'string':
      return dec.decode(bytes);
    case 'uristring':
      // RFC 3986 unreserved characters stay; everything else is %-encoded (as iPXE's uri_encode).
      return [...bytes]
        .map((c) =>
          /[A-Za-z0-9\-._~]/.test(String.fromCharCode(c))
            ? String.fromCharCode(c)
            : `%${c.toString(16).toUpperCase().padStart(2, '0')}`,
        )
        .join('');
    case 'hex':
      return hex(bytes, ':');
    case 'hexhyp':
      return hex(bytes, '-');
    case 'hexraw':
      return hex(bytes, '');
    case 'ipv4':
      if (bytes.length !== 4) throw new SettingError(`${bytes.length} bytes are not an IPv4 address`);
      return [...bytes].join('.');
    case 'uuid': {
      if (bytes.length !== 16) throw new SettingError(`${bytes.length} bytes are not a UUID`);
      const h = hex(bytes, '');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case 'base64':
      return Buffer.from(bytes).toString('base64');
  }
}

/** A `scope/name:type` reference split up; scope and type are optional. */
export interface SettingRef {
  readonly scope?: string;
  readonly name: string;
  readonly type?: SettingType;
}

export function parseRef(text: string): SettingRef {
  const m = /^(?:([^/:]+)\/)?([^/:]+)(?::([^/:]+))?$/.exec(text);
  if (!m) throw new SettingError(`bad setting name ${JSON.stringify(text)}`);
  const [, scope, name, type] = m;
  if (type !== undefined && !isSettingType(type))
    throw new SettingError(`unknown setting type ${JSON.stringify(type)}`);
  return { ...(scope ? { scope } : {}), name: name!, ...(type ? { type } : {}) };
}

export interface Builtins {
  readonly lease: Lease;
  readonly smbios?: Smbios;
  /** The script's own URL: `${filename}` when the lease named none. */
  readonly scriptUrl?: string;
}

/** Built-in settings (docs/net-bootfiles.md §4.2), typed as iPXE types them. */
export function builtinSettings(b: Builtins): Map<string, Setting> {
  const m = new Map<string, Setting>();
  const str = (k: string, v: string | undefined) =>
    v !== undefined && v !== '' && m.set(k, { type: 'string', bytes: enc.encode(v) });
  const ip = (k: string, v: string | undefined) => {
    const bytes = v === undefined ? undefined : ipv4Bytes(v);
    if (bytes) m.set(k, { type: 'ipv4', bytes: Uint8Array.from(bytes) });
  };
  const l = b.lease;
  const mac = l.mac.split(':').map((h) => parseInt(h, 16));
  if (mac.length === 6 && mac.every((n) => Number.isInteger(n) && n >= 0 && n <= 255))
    m.set('mac', { type: 'hex', bytes: Uint8Array.from(mac) });
  if (l.family === 4) {
    ip('ip', l.address);
    ip('netmask', prefixToNetmask(l.prefixLength));
    ip('gateway', l.router);
    ip('dns', l.dns[0]);
  }
  ip('next-server', l.bootUrl ? hostOf(l.bootUrl) : l.server);
  str('domain', l.domain);
  str('hostname', l.hostname);
  str('filename', l.bootUrl ?? b.scriptUrl);
  str('platform', 'efi');
  str('buildarch', 'x86_64');
  str('manufacturer', b.smbios?.manufacturer);
  str('product', b.smbios?.product);
  str('serial', b.smbios?.serial);
  str('asset', b.smbios?.asset);
  str('version', b.smbios?.version);
  if (b.smbios?.uuid) {
    try {
      m.set('uuid', { type: 'uuid', bytes: parseValue('uuid', b.smbios.uuid) });
    } catch {
      /* an unreadable SMBIOS UUID is left unset */
    }
  }
  return m;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** The settings of one run: built-ins, then what the script sets. */
export class SettingStore {
  private readonly values: Map<string, Setting>;
  /** A built-in setting keeps its type when set without one (`set ip 192.0.2.5` is ipv4). */
  private readonly builtinTypes: ReadonlyMap<string, SettingType>;
  constructor(
    builtins: ReadonlyMap<string, Setting>,
    /** Scopes that name the one interface: 'net0', 'netX' and its own name. */
    private readonly netScopes: ReadonlySet<string>,
  ) {
    this.values = new Map(builtins);
    this.builtinTypes = new Map([...builtins].map(([k, v]) => [k, v.type]));
  }

  private key(r: SettingRef): string | undefined {
    // One interface: `net0/x`, `netX/x` and `x` are one setting; `smbios/x` reads SMBIOS's; other scopes are empty.
    if (r.scope === undefined || this.netScopes.has(r.scope) || r.scope === 'smbios') return r.name;
    return undefined;
  }

  get(r: SettingRef): Setting | undefined {
    const k = this.key(r);
    return k === undefined ? undefined : this.values.get(k);
  }

  /** Expand one reference; an unset setting expands to ''. */
  format(r: SettingRef): string {
    const s = this.get(r);
    if (!s) return '';
    return formatValue(r.type ?? s.type, s.bytes);
  }

  set(r: SettingRef, text: string): void {
    const k = this.key(r);
    if (k === undefined) throw new SettingError(`scope ${r.scope} cannot be written`);
    if (text === '') {
      this.values.delete(k);
      return;
    }
    // Any other setting set without a type is a string, whatever it held (`set cls ${cls:string}`).
    const type = r.type ?? this.builtinTypes.get(k) ?? 'string';
    const bytes = parseValue(type, text);
    if (bytes.length > SETTING_LIMITS.valueBytes)
      throw new SettingLimitError(`value of ${r.name} is ${bytes.length} bytes (limit ${SETTING_LIMITS.valueBytes})`);
    if (!this.values.has(k) && this.values.size >= SETTING_LIMITS.count)
      throw new SettingLimitError(`more than ${SETTING_LIMITS.count} settings`);
    this.values.set(k, { type, bytes });
  }

  clear(r: SettingRef): void {
    const k = this.key(r);
    if (k !== undefined) this.values.delete(k);
  }
}

/**
 * Expand `${...}` as iPXE does: innermost first (the last `${` before the first `}`), again
 * until none is left, so `${${name}}` works. Bounded by SETTING_LIMITS.
 */
export function expand(line: string, store: SettingStore): string {
  let s = line;
  for (let n = 0; ; n++) {
    let open = -1;
    let close = -1;
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '$' && s[i + 1] === '{') open = i;
      else if (open >= 0 && s[i] === '}') {
        close = i;
        break;
      }
    }
    if (close < 0) return s;
    if (n >= SETTING_LIMITS.expansions)
      throw new SettingLimitError(`more than ${SETTING_LIMITS.expansions} \${...} expansions in one line`);
    let value: string;
    try {
      value = store.format(parseRef(s.slice(open + 2, close)));
    } catch (e) {
      if (e instanceof SettingError) value = '';
      else throw e;
    }
    s = s.slice(0, open) + value + s.slice(close + 1);
    if (s.length > SETTING_LIMITS.lineChars)
      throw new SettingLimitError(`line longer than ${SETTING_LIMITS.lineChars} characters after expansion`);
  }
}
