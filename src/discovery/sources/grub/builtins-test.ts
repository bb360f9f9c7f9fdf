// `test` / `[` exactly as grub-core/commands/test.c evaluates it: left to right, 3-argument
// forms first, then 2-argument forms, then `(`, `)`, `!`, `-a`, `-o`, then a bare string is
// true when non-empty. File tests go against the resolved device and path.

import { FsError } from '../../fs/types';
import type { GrubHost } from './host';
import type { Exec } from './state';

interface FileInfo {
  exists: boolean;
  dir: boolean;
  size: number;
  mtime: number;
}

async function fileInfo(it: GrubHost, x: Exec, spec: string): Promise<FileInfo> {
  const none = { exists: false, dir: false, size: 0, mtime: 0 };
  const r = it.resolve(x, spec);
  if (!r.ok) return none;
  const st = await it.statFile(r.loc, r.path);
  if (st instanceof FsError) return none;
  return { exists: true, dir: st.kind === 'dir', size: st.size, mtime: st.mtimeMs ?? 0 };
}

/** grub_strtosl with base 0 semantics, lenient: garbage reads as 0. */
function num(s: string): number {
  const t = s.trim();
  let m = /^([+-]?)0x([0-9a-f]+)/i.exec(t);
  if (m) return (m[1] === '-' ? -1 : 1) * parseInt(m[2]!, 16);
  m = /^([+-]?)0([0-7]+)/.exec(t);
  if (m) return (m[1] === '-' ? -1 : 1) * parseInt(m[2]!, 8);
  m = /^[+-]?[0-9]+/.exec(t);
  return m ? Number(m[0]) : 0;
}

/** Compare the numeric tails of two strings with equal non-numeric prefixes (-pgt/-plt). */
function prefixCmp(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i] && !/[0-9]/.test(a[i]!)) i++;
  return num(a.slice(i)) - num(b.slice(i));
}

export async function evalTest(it: GrubHost, x: Exec, args: readonly string[]): Promise<boolean> {
  let pos = 0;
  const parseLevel = async (depth: number): Promise<boolean> => {
    let ret = false;
    let discard = false;
    let invert = false;
    const update = (v: boolean): void => {
      if (!discard) ret = invert ? !v : v;
      invert = false;
      discard = false;
    };
    while (pos < args.length) {
      const a = args[pos]!;
      if (pos + 2 < args.length) {
        const op = args[pos + 1]!;
        const b = args[pos + 2]!;
        let v: boolean | undefined;
        switch (op) {
          case '=':
          case '==':
            v = a === b;
            break;
          case '!=':
            v = a !== b;
            break;
          case '<':
            v = a < b;
            break;
          case '<=':
            v = a <= b;
            break;
          case '>':
            v = a > b;
            break;
          case '>=':
            v = a >= b;
            break;
          case '-eq':
            v = num(a) === num(b);
            break;
          case '-ne':
            v = num(a) !== num(b);
            break;
          case '-lt':
            v = num(a) < num(b);
            break;
          case '-le':
            v = num(a) <= num(b);
            break;
          case '-gt':
            v = num(a) > num(b);
            break;
          case '-ge':
            v = num(a) >= num(b);
            break;
          case '-pgt':
            v = prefixCmp(a, b) > 0;
            break;
          case '-plt':
            v = prefixCmp(a, b) < 0;
            break;
          case '-nt':
          case '-ot': {
            const fa = await fileInfo(it, x, a);
            const fb = await fileInfo(it, x, b);
            v = op === '-nt' ? fa.mtime > fb.mtime : fa.mtime < fb.mtime;
            break;
          }
        }
        if (v !== undefined) {
          update(v);
          pos += 3;
          continue;
        }
      }
      if (pos + 1 < args.length) {
        const f = args[pos + 1]!;
        let v: boolean | undefined;
        switch (a) {
          case '-d':
            v = (await fileInfo(it, x, f)).dir;
            break;
          case '-e':
            v = (await fileInfo(it, x, f)).exists;
            break;
          case '-f': {
            const i = await fileInfo(it, x, f);
            v = i.exists && !i.dir;
            break;
          }
          case '-s': {
            const i = await fileInfo(it, x, f);
            v = i.exists && !i.dir && i.size > 0;
            break;
          }
          case '-n':
            v = f.length > 0;
            break;
          case '-z':
            v = f.length === 0;
            break;
        }
        if (v !== undefined) {
          update(v);
          pos += 2;
          continue;
        }
      }
      if (a === ')') {
        pos++;
        if (depth > 0) return ret;
        continue;
      }
      if (a === '(' && depth < 64) {
        pos++;
        update(await parseLevel(depth + 1));
        continue;
      }
      if (a === '!') {
        invert = !invert;
        pos++;
        continue;
      }
      if (a === '-a') {
        discard = !ret;
        pos++;
        continue;
      }
      if (a === '-o') {
        discard = ret;
        pos++;
        continue;
      }
      update(a.length > 0);
      pos++;
    }
    return ret;
  };
  return parseLevel(0);
}
