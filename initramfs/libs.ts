// The shared libraries a dynamically linked program needs, as the dynamic loader itself
// resolves them (`<PT_INTERP> --list <binary>`), so nothing is hard-coded. Each library is
// placed at the path the loader reported; when that path is a symlink, the real file is
// added too and the reported path becomes a symlink to it.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { PT_INTERP, readElf64 } from './elf';

export interface LibFile {
  /** Path the loader uses ('/lib64/ld-linux-x86-64.so.2'). */
  readonly path: string;
  /** Host file with the bytes (symlinks resolved). */
  readonly realPath: string;
}

/** PT_INTERP of a 64-bit little-endian ELF, or undefined for a static binary. */
export function elfInterpreter(file: string): string | undefined {
  const b = fs.readFileSync(file);
  const interp = readElf64(b, file).programHeaders.find((h) => h.type === PT_INTERP);
  return (
    interp &&
    b
      .subarray(interp.offset, interp.offset + interp.filesz)
      .toString('latin1')
      .replace(/\0.*$/s, '')
  );
}

/**
 * Parse the loader's --list (ldd) output. Lines: 'name => /path (0x..)', '/path (0x..)',
 * 'linux-vdso.so.1 (0x..)' (virtual, skipped); 'name => not found' is an error.
 */
export function parseLoaderList(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const arrow = /^(\S+)\s+=>\s+(.*?)\s*(\(0x[0-9a-f]+\))?$/.exec(line);
    if (arrow) {
      if (arrow[2] === 'not found') throw new Error(`shared library ${arrow[1]} not found`);
      if (arrow[2]!.startsWith('/')) out.push(arrow[2]!);
      continue;
    }
    const abs = /^(\/\S+)\s+\(0x[0-9a-f]+\)$/.exec(line);
    if (abs) out.push(abs[1]!);
    // Anything else (vdso, 'statically linked') carries no file.
  }
  return [...new Set(out)];
}

/** Libraries (and the interpreter) needed by `binary`, via the loader. */
export function sharedLibraries(binary: string): LibFile[] {
  const interp = elfInterpreter(binary);
  if (!interp) return [];
  const text = execFileSync(interp, ['--list', binary], { encoding: 'utf8' });
  const paths = parseLoaderList(text);
  if (!paths.includes(interp)) paths.push(interp);
  return paths.map((p) => ({ path: p, realPath: fs.realpathSync(p) }));
}
