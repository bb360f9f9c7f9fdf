// The grub environment block (docs/grub-syslinux.md §A8): 1024 bytes, a signature line, then
// `name=value` lines (value escapes: `\\` and `\`+newline), padded with '#'. Parsing is
// read-only; rewriteGrubenv() builds a new block of the same size for the one-shot
// `next_entry` clear, changing what grub-editenv would change and nothing else.

import { diag, type Diagnostic } from '../diagnostics';
import { at, type Where } from './lines';

export const GRUBENV_SIZE = 1024;
export const GRUBENV_SIGNATURE = '# GRUB Environment Block\n';
/** Anything bigger is not a grubenv; refuse rather than scan it. */
export const GRUBENV_MAX_BYTES = 64 * 1024;

/**
 * An environment-block format: a signature line, `name=value` lines, '#' padding to a fixed
 * size. grubenv is one; tendril's own state file (src/state/statefile.ts) is another, so both
 * are parsed and rewritten by the same code.
 */
export interface EnvFormat {
  /** What diagnostics call it ('grubenv'). */
  readonly name: string;
  readonly signature: string;
  readonly size: number;
}

export const GRUBENV_FORMAT: EnvFormat = { name: 'grubenv', signature: GRUBENV_SIGNATURE, size: GRUBENV_SIZE };
const NL = 0x0a;
const HASH = 0x23;
const BACKSLASH = 0x5c;
const EQ = 0x3d;

interface VarRecord {
  readonly kind: 'var';
  readonly name: string;
  readonly value: string;
  /** Byte range of the whole line including its '\n'. */
  readonly start: number;
  readonly end: number;
  readonly line: number;
}
interface OtherRecord {
  readonly kind: 'other';
  readonly start: number;
  readonly end: number;
}
type EnvRecord = VarRecord | OtherRecord;

interface Scan {
  readonly records: EnvRecord[];
  /** Where the '#' padding starts (end of meaningful content). */
  readonly contentEnd: number;
  readonly diagnostics: Diagnostic[];
  readonly signatureOk: boolean;
}

function hasSignature(b: Uint8Array, SIG: Uint8Array): boolean {
  if (b.length < SIG.length) return false;
  for (let i = 0; i < SIG.length; i++) if (b[i] !== SIG[i]) return false;
  return true;
}

const utf8 = new TextDecoder('utf-8');

function scan(b: Uint8Array, where: Where, format: EnvFormat): Scan {
  const diagnostics: Diagnostic[] = [];
  const records: EnvRecord[] = [];
  const SRC = format.name;
  const SIG = new TextEncoder().encode(format.signature);
  if (!hasSignature(b, SIG)) {
    diagnostics.push(
      diag('warning', SRC, `missing ${JSON.stringify(format.signature.trim())} signature; ignored`, at(where, 1)),
    );
    return { records, contentEnd: 0, diagnostics, signatureOk: false };
  }
  let p = SIG.length;
  let line = 2;
  let contentEnd = p;
  while (p < b.length) {
    const start = p;
    const startLine = line;
    if (b[p] === HASH) {
      // A comment line, or the trailing '#' padding (which has no newline).
      const nl = b.indexOf(NL, p);
      if (nl < 0) break;
      p = nl + 1;
      line++;
      records.push({ kind: 'other', start, end: p });
      contentEnd = p;
      continue;
    }
    // A logical line runs to the first newline not escaped by a backslash.
    const raw: number[] = [];
    let eq = -1;
    let terminated = false;
    while (p < b.length) {
      const c = b[p]!;
      if (c === NL) {
        p++;
        line++;
        terminated = true;
        break;
      }
      if (c === BACKSLASH && p + 1 < b.length) {
        if (b[p + 1] === NL) line++;
        raw.push(b[p + 1]!);
        p += 2;
        continue;
      }
      if (c === EQ && eq < 0) eq = raw.length;
      raw.push(c);
      p++;
    }
    if (!terminated) {
      diagnostics.push(
        diag('warning', SRC, 'last line has no newline (truncated block?); ignored', at(where, startLine)),
      );
      break;
    }
    records.push(...lineRecord(raw, eq, start, p, startLine, where, diagnostics, SRC));
    contentEnd = p;
  }
  return { records, contentEnd, diagnostics, signatureOk: true };
}

function lineRecord(
  raw: number[],
  eq: number,
  start: number,
  end: number,
  line: number,
  where: Where,
  diagnostics: Diagnostic[],
  SRC: string,
): EnvRecord[] {
  if (raw.length === 0) return [{ kind: 'other', start, end }];
  if (eq < 0) {
    diagnostics.push(diag('info', SRC, 'line without "=" ignored', at(where, line)));
    return [{ kind: 'other', start, end }];
  }
  if (eq === 0) {
    diagnostics.push(diag('info', SRC, 'line with an empty name ignored', at(where, line)));
    return [{ kind: 'other', start, end }];
  }
  const bytes = Uint8Array.from(raw);
  return [
    {
      kind: 'var',
      name: utf8.decode(bytes.subarray(0, eq)),
      value: utf8.decode(bytes.subarray(eq + 1)),
      start,
      end,
      line,
    },
  ];
}

export interface GrubenvParse {
  readonly vars: Map<string, string>;
  readonly diagnostics: Diagnostic[];
}

/** Parse a grubenv block. Later duplicates win, as with grub's load_env. */
export function parseGrubenv(bytes: Uint8Array, where: Where = { file: 'grubenv' }): GrubenvParse {
  return parseEnvBlock(bytes, GRUBENV_FORMAT, where);
}

/** Parse a block of `format`. Later duplicates win, as with grub's load_env. */
export function parseEnvBlock(bytes: Uint8Array, format: EnvFormat, where: Where): GrubenvParse {
  const vars = new Map<string, string>();
  const SRC = format.name;
  if (bytes.length > GRUBENV_MAX_BYTES) {
    return {
      vars,
      diagnostics: [diag('warning', SRC, `${bytes.length} bytes is too big for a ${SRC}; ignored`, at(where, 1))],
    };
  }
  const s = scan(bytes, where, format);
  if (s.signatureOk && bytes.length !== format.size) {
    s.diagnostics.push(diag('info', SRC, `block is ${bytes.length} bytes, not ${format.size}`, at(where, 1)));
  }
  for (const r of s.records) if (r.kind === 'var') vars.set(r.name, r.value);
  return { vars, diagnostics: s.diagnostics };
}

function escapeValue(v: string): Uint8Array {
  const src = new TextEncoder().encode(v);
  const out: number[] = [];
  for (const c of src) {
    if (c === BACKSLASH || c === NL) out.push(BACKSLASH);
    out.push(c);
  }
  return Uint8Array.from(out);
}

export type RewriteResult =
  { readonly ok: true; readonly block: Uint8Array } | { readonly ok: false; readonly error: string };

/**
 * A new block of the same size with `changes` applied: a string sets (in place if the
 * name exists, appended otherwise), null removes. Other lines are kept byte for byte; the
 * rest is '#' padding. Fails (without a partial result) if the block is not a grubenv or
 * the result does not fit.
 */
export function rewriteGrubenv(block: Uint8Array, changes: ReadonlyMap<string, string | null>): RewriteResult {
  return rewriteEnvBlock(block, changes, GRUBENV_FORMAT);
}

/** rewriteGrubenv for a block of any `format`. */
export function rewriteEnvBlock(
  block: Uint8Array,
  changes: ReadonlyMap<string, string | null>,
  format: EnvFormat,
): RewriteResult {
  const what = format.name;
  for (const name of changes.keys()) {
    if (name === '' || /[=\n\\]/.test(name))
      return { ok: false, error: `invalid variable name ${JSON.stringify(name)}` };
  }
  if (block.length > GRUBENV_MAX_BYTES) return { ok: false, error: `not a ${what} (too big)` };
  const s = scan(block, { file: what }, format);
  if (!s.signatureOk) return { ok: false, error: `not a ${what} (no signature)` };
  if (s.diagnostics.some((d) => d.severity === 'warning'))
    return { ok: false, error: `${what} is damaged; not rewriting it` };

  const parts: Uint8Array[] = [block.subarray(0, new TextEncoder().encode(format.signature).length)];
  const done = new Set<string>();
  for (const r of s.records) {
    if (r.kind === 'var' && changes.has(r.name)) {
      if (done.has(r.name)) continue; // a later duplicate would undo the change on load
      done.add(r.name);
      const v = changes.get(r.name);
      if (v !== null && v !== undefined) parts.push(varLine(r.name, v));
      continue;
    }
    parts.push(block.subarray(r.start, r.end));
  }
  for (const [name, v] of changes) if (!done.has(name) && v !== null) parts.push(varLine(name, v));

  const used = parts.reduce((n, p) => n + p.length, 0);
  if (used > block.length)
    return { ok: false, error: `the new variables need ${used} bytes, the block has ${block.length}` };
  const out = new Uint8Array(block.length).fill(HASH);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return { ok: true, block: out };
}

function varLine(name: string, value: string): Uint8Array {
  const n = new TextEncoder().encode(name + '=');
  const v = escapeValue(value);
  const out = new Uint8Array(n.length + v.length + 1);
  out.set(n, 0);
  out.set(v, n.length);
  out[out.length - 1] = NL;
  return out;
}
