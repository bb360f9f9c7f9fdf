// grub's wildcard expansion (regexp.mod's translator, on in EFI builds): an unquoted word
// with * ? or [...] in its last path component is replaced by the matching names in that
// directory, sorted; no match leaves the word as written. Globs in directory components
// are not expanded (grub-mkconfig never writes them; multi-ISO menus glob the file name).

import { FsError } from '../../fs/types';
import type { GrubHost } from './host';
import type { Exec } from './state';

/** Entries read per directory; more and the word is left as written. */
const MAX_DIR_ENTRIES = 10_000;

export function hasGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

/** Translate one glob component to an anchored RegExp; null if malformed. */
export function globToRegExp(pat: string): RegExp | null {
  let re = '';
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pat.indexOf(']', i + 2);
      if (close < 0) return null;
      let body = pat.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`, 's');
  } catch {
    return null;
  }
}

export async function expandGlob(it: GrubHost, x: Exec, word: string): Promise<string[]> {
  if (!hasGlob(word)) return [word];
  let dev = '';
  let path = word;
  if (word.startsWith('(')) {
    const close = word.indexOf(')');
    if (close < 0) return [word];
    dev = word.slice(0, close + 1);
    path = word.slice(close + 1);
  }
  const slash = path.lastIndexOf('/');
  if (!path.startsWith('/') || slash < 0) return [word];
  const dir = path.slice(0, slash) || '/';
  const last = path.slice(slash + 1);
  if (hasGlob(dir) || !hasGlob(last)) return [word];
  const re = globToRegExp(last);
  if (!re) return [word];
  const r = it.resolve(x, dev + dir);
  if (!r.ok) return [word];
  let names: string[];
  try {
    const entries = await r.loc.fs.readdir(r.path);
    if (entries.length > MAX_DIR_ENTRIES) return [word];
    names = entries.map((e) => e.name).filter((n) => re.test(n) && !(n.startsWith('.') && !last.startsWith('.')));
  } catch (e) {
    if (e instanceof FsError) return [word];
    throw e;
  }
  if (names.length === 0) return [word];
  names.sort();
  const base = dev + (dir === '/' ? '' : dir);
  return names.map((n) => `${base}/${n}`);
}
