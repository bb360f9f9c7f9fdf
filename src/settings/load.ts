// Reads tendril's settings: the defaults, then /etc/tendril/tendril.toml (baked into the
// initramfs, so into flash), then `tendril.<table>.<key>=` kernel arguments, each overriding the
// one before. Nothing here throws on bad input: a file that does not parse is ignored as a
// whole, a bad or unknown key is skipped, and each becomes one message naming where it came from.

import * as fs from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { KeyLocator } from '../discovery/sources/sprout/locate';
import { ARG_ALIASES, DEFAULT_SETTINGS, KEYS, type KeyDef, type Settings } from './schema';

export const SETTINGS_FILE = '/etc/tendril/tendril.toml';
/** Larger than any sensible settings file; a bigger one is refused unread. */
export const SETTINGS_MAX_BYTES = 64 << 10;

export interface LoadedSettings {
  readonly settings: Settings;
  /** One line each: `tendril.toml:3: net.identity: expected pxe, http, ipxe, tendril, got 'x'`. */
  readonly problems: readonly string[];
}

export interface SettingsSources {
  /** The TOML file (default SETTINGS_FILE, or $TENDRIL_SETTINGS); absent is fine. */
  readonly file?: string;
  /** The kernel command line (default: /proc/cmdline). */
  readonly cmdline?: string;
}

const keyName = (k: KeyDef): string => k.path.join('.');
const byName = new Map(KEYS.map((k) => [keyName(k), k]));
const TABLES = new Set(KEYS.map((k) => k.path[0]));

function shown(v: unknown): string {
  let t: string;
  if (typeof v === 'string') t = `'${v}'`;
  else if (v instanceof Date) t = 'a date';
  else if (Array.isArray(v)) t = 'an array';
  else if (typeof v === 'object' && v !== null) t = 'a table';
  else t = String(v);
  return t.length > 80 ? t.slice(0, 77) + '...' : t;
}

function readSmall(file: string): string | { error: string } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : { error: `cannot open: ${code ?? String(e)}` };
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size > SETTINGS_MAX_BYTES)
      return { error: `${size} bytes, more than the ${SETTINGS_MAX_BYTES} a settings file may have` };
    const buf = Buffer.alloc(size);
    fs.readSync(fd, buf, 0, size, 0);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function applyToml(s: Settings, file: string, text: string, problems: string[]): Settings {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (e) {
    const where = e instanceof TomlError ? `${file}:${e.line}` : file;
    problems.push(`${where}: not used: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
    return s;
  }
  const at = new KeyLocator(text);
  const where = (path: readonly string[]): string => {
    const line = at.line(path);
    return line === undefined ? file : `${file}:${line}`;
  };
  for (const [table, body] of Object.entries(doc)) {
    if (typeof body !== 'object' || body === null || Array.isArray(body) || body instanceof Date) {
      problems.push(`${where([table])}: '${table}' is not a settings table; ignored`);
      continue;
    }
    for (const [key, value] of Object.entries(body)) {
      const def = byName.get(`${table}.${key}`);
      if (!def) {
        problems.push(`${where([table, key])}: unknown setting ${table}.${key}; ignored`);
        continue;
      }
      const next = def.apply(s, value);
      if (next) s = next;
      else
        problems.push(
          `${where([table, key])}: ${keyName(def)}: expected ${def.expect}, got ${shown(value)}; default kept`,
        );
    }
  }
  return s;
}

function applyArgs(s: Settings, cmdline: string, problems: string[]): Settings {
  // Kernel arguments are space-separated words (quotes are the kernel's own business and do not
  // occur in tendril.* values).
  for (const word of cmdline.split(/\s+/)) {
    // dracut's own vlan=/bond= (and a bare `bond`) are net.vlan/net.bond (docs/net-dhcp.md §13).
    const dracut = /^(vlan|bond)=/.test(word) || word === 'bond';
    if (!word.startsWith('tendril.') && !dracut) continue;
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const value = word === 'bond' ? 'bond' : eq < 0 ? '' : word.slice(eq + 1);
    const key = dracut ? `net.${name}` : (ARG_ALIASES[name] ?? name.slice('tendril.'.length));
    const def = byName.get(key);
    if (!def) {
      // Other tendril.* arguments belong to /init (tendril.mode, tendril.debug, ...); a key in
      // one of our tables that is not ours is a typo worth naming.
      if (TABLES.has(key.split('.')[0]!) && key.includes('.'))
        problems.push(`kernel argument ${name}: unknown setting; not used`);
      continue;
    }
    const next = def.fromArg ? def.fromArg(s, value) : def.apply(s, value);
    if (next) s = next;
    else problems.push(`kernel argument ${name}: expected ${def.expect}, got ${shown(value)}; not used`);
  }
  return s;
}

export function loadSettings(src: SettingsSources = {}): LoadedSettings {
  const problems: string[] = [];
  let s = DEFAULT_SETTINGS;
  const file = src.file ?? process.env.TENDRIL_SETTINGS ?? SETTINGS_FILE;
  const text = readSmall(file);
  if (typeof text === 'string') s = applyToml(s, file, text, problems);
  else if (text) problems.push(`${file}: not used: ${text.error}`);
  let cmdline = src.cmdline;
  if (cmdline === undefined) {
    try {
      cmdline = fs.readFileSync('/proc/cmdline', 'utf8');
    } catch {
      cmdline = '';
    }
  }
  s = applyArgs(s, cmdline, problems);
  return { settings: s, problems };
}
