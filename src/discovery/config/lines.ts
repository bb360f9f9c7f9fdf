// sd-boot's line_get_key_value(content, " \t") (docs/bls.md §2), shared by BLS snippets and
// loader.conf, plus strict UTF-8 decoding that says where the first bad byte is.

import { diag, type Diagnostic } from '../diagnostics';

/** Where a config file lives, for diagnostics. */
export interface Where {
  readonly file: string;
  readonly fsId?: string;
  readonly device?: string;
}

export interface KeyValueLine {
  readonly key: string;
  readonly value: string;
  /** 1-based line number as an editor shows it (CRLF counts as one line break). */
  readonly line: number;
}

export interface LineLimits {
  /** Physical lines beyond this are not read (the caller decides whether that is fatal). */
  readonly maxLines: number;
}

export const DEFAULT_LINE_LIMITS: LineLimits = { maxLines: 4096 };

export function at(where: Where, line?: number): Omit<Diagnostic, 'severity' | 'source' | 'message'> {
  return {
    file: where.file,
    ...(where.fsId !== undefined ? { fsId: where.fsId } : {}),
    ...(where.device !== undefined ? { device: where.device } : {}),
    ...(line !== undefined ? { line } : {}),
  };
}

/** Offset of the first byte that is not part of well-formed UTF-8, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** 1-based line of byte offset `off` (a CRLF pair counts once). */
export function lineOfOffset(b: Uint8Array, off: number): number {
  let line = 1;
  for (let i = 0; i < off && i < b.length; i++) {
    if (b[i] === 0x0a) line++;
    else if (b[i] === 0x0d && b[i + 1] !== 0x0a) line++;
  }
  return line;
}

export type DecodeResult =
  { ok: true; text: string; diagnostics: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

/**
 * Decode a config file. Invalid UTF-8 is an error naming the line. A UTF-8 BOM is dropped
 * (sd-boot would read it as part of the first key). A NUL ends the text, as it ends the C
 * string sd-boot parses; that is reported.
 */
export function decodeConfig(bytes: Uint8Array, where: Where, source: string): DecodeResult {
  const diagnostics: Diagnostic[] = [];
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    diagnostics.push(
      diag(
        'error',
        source,
        `invalid UTF-8 (byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} at offset ${bad})`,
        at(where, lineOfOffset(bytes, bad)),
      ),
    );
    return { ok: false, diagnostics };
  }
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    start = 3;
    diagnostics.push(diag('info', source, 'UTF-8 byte order mark ignored', at(where, 1)));
  }
  let end = bytes.indexOf(0, start);
  if (end >= 0) {
    diagnostics.push(
      diag('warning', source, 'NUL byte: the rest of the file is ignored', at(where, lineOfOffset(bytes, end))),
    );
  } else {
    end = bytes.length;
  }
  return { ok: true, text: new TextDecoder('utf-8').decode(bytes.subarray(start, end)), diagnostics };
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t';

/**
 * Split `text` into key/value lines exactly as sd-boot does: lines end at '\n' or '\r';
 * spaces and tabs are trimmed; '#' starts a comment; the key runs to the first space or
 * tab and a line without one is ignored; the value is the rest after the blanks; a value
 * that starts with '"' on a line that ends with '"' loses both quotes (nothing else is
 * unescaped).
 */
export function splitKeyValueLines(
  text: string,
  limits: LineLimits = DEFAULT_LINE_LIMITS,
): { lines: KeyValueLine[]; tooManyLines?: number } {
  const out: KeyValueLine[] = [];
  let line = 1;
  let pos = 0;
  while (pos < text.length) {
    if (line > limits.maxLines) return { lines: out, tooManyLines: line };
    let end = pos;
    while (end < text.length && text[end] !== '\n' && text[end] !== '\r') end++;
    const raw = text.slice(pos, end);
    const thisLine = line;
    // Advance past the break; CRLF is one editor line (sd-boot sees an empty line between).
    if (text[end] === '\r' && text[end + 1] === '\n') pos = end + 2;
    else pos = end + 1;
    line++;

    let a = 0;
    let b = raw.length;
    while (a < b && isBlank(raw[a]!)) a++;
    while (b > a && isBlank(raw[b - 1]!)) b--;
    if (a === b) continue;
    const l = raw.slice(a, b);
    if (l[0] === '#') continue;
    let k = 0;
    while (k < l.length && !isBlank(l[k]!)) k++;
    if (k === l.length) continue; // key without a value
    let v = k;
    while (v < l.length && isBlank(l[v]!)) v++;
    let value = l.slice(v);
    if (value.startsWith('"') && value.endsWith('"')) value = value.length >= 2 ? value.slice(1, -1) : '';
    out.push({ key: l.slice(0, k), value, line: thisLine });
  }
  return { lines: out };
}

const TRUE = ['yes', 'y', 'true', 't', 'on', '1'];
const FALSE = ['no', 'n', 'false', 'f', 'off', '0'];

/**
 * loader.conf booleans (docs/bls.md §11.1). sd-boot compares case-sensitively; bootctl's parser does not.
 * We accept any case so `Yes` behaves as the user meant.
 */
export function parseBool(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  return undefined;
}

/** sd-boot parse_number8: one or more ASCII digits and nothing else; undefined past `max`. */
export function parseUnsigned(value: string, max: number): number | undefined {
  if (!/^[0-9]+$/.test(value)) return undefined;
  const n = BigInt(value);
  if (n > BigInt(max)) return undefined;
  return Number(n);
}
