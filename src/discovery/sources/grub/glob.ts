// grub's wildcard expansion (regexp.mod's translator, on in EFI builds): an unquoted word
// with * ? or [...] in its last path component is replaced by the matching names in that
// directory, sorted; no match leaves the word as written. Globs in directory components
// are not expanded (grub-mkconfig never writes them; multi-ISO menus glob the file name).
// Matching is match/wildcard.ts, linear in pattern × name (docs/grub-syslinux.md §A12).

import { FsError } from '../../fs/types';
import type { GrubHost } from './host';
import { compileWildcard, hasWildcard, matchWildcard } from './match/wildcard';
import type { Exec } from './state';

/** Entries read per directory; more and the word is left as written. */
const MAX_DIR_ENTRIES = 10_000;
/** Matcher steps for one word over one directory (tens of milliseconds); more and it is left as written. */
export const MAX_GLOB_STEPS = 4_000_000;

export function hasGlob(s: string): boolean {
  return hasWildcard(s);
}

export async function expandGlob(it: GrubHost, x: Exec, word: string, line: number): Promise<string[]> {
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
  const pattern = compileWildcard(last);
  if (!pattern.ok) {
    it.report(x, 'warning', `wildcard ${word.slice(0, 60)}: ${pattern.reason}; left as written`, line);
    return [word];
  }
  const r = it.resolve(x, dev + dir);
  if (!r.ok) return [word];
  const names: string[] = [];
  try {
    const entries = await r.loc.fs.readdir(r.path);
    if (entries.length > MAX_DIR_ENTRIES) return [word];
    let steps = pattern.wildcard.steps;
    for (const { name } of entries) {
      // wildcard.c skips "." and ".."; hidden names need a pattern that starts with '.'.
      if (name === '.' || name === '..' || (name.startsWith('.') && !last.startsWith('.'))) continue;
      const m = matchWildcard(pattern.wildcard, name);
      steps += m.steps;
      if (steps > MAX_GLOB_STEPS) {
        it.report(
          x,
          'warning',
          `wildcard ${word.slice(0, 60)}: more than ${MAX_GLOB_STEPS} matcher steps; left as written`,
          line,
        );
        return [word];
      }
      if (m.matched) names.push(name);
    }
  } catch (e) {
    if (e instanceof FsError) return [word];
    throw e;
  }
  if (names.length === 0) return [word];
  names.sort();
  const base = dev + (dir === '/' ? '' : dir);
  return names.map((n) => `${base}/${n}`);
}
