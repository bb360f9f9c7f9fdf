// An iPXE script as lines (docs/net-bootfiles.md §4.1): `#!ipxe` magic, `\` continuations,
// `:label` lines. Limits on bytes, lines and line length; a violation is an IpxeError.

export const SCRIPT_LIMITS = {
  bytes: 256 << 10,
  lines: 10_000,
  lineChars: 8192,
} as const;

/** A script error or a limit, naming the script URL and line. */
export class IpxeError extends Error {
  constructor(
    readonly url: string,
    readonly line: number | undefined,
    readonly reason: string,
    /** A limit was reached (as opposed to a command that failed or a bad script). */
    readonly limit = false,
  ) {
    super(`${url}${line !== undefined ? `:${line}` : ''}: ${reason}`);
    this.name = 'IpxeError';
  }
}

export interface ScriptLine {
  /** 1-based line number of the line's first physical line. */
  readonly line: number;
  /** The command part (after the label on a `:label` line; iPXE runs it too). */
  readonly text: string;
  /** Set on a `:label` line: the word after ':'. */
  readonly label?: string;
}

export interface Script {
  readonly url: string;
  readonly lines: readonly ScriptLine[];
}

/** Split a script; throws IpxeError when it is not one or is too big. */
export function parseScript(url: string, bytes: Uint8Array): Script {
  if (bytes.length > SCRIPT_LIMITS.bytes)
    throw new IpxeError(url, undefined, `script is ${bytes.length} bytes (limit ${SCRIPT_LIMITS.bytes})`, true);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new IpxeError(url, undefined, 'script is not valid UTF-8');
  }
  const raw = text.split('\n');
  if (raw.length > SCRIPT_LIMITS.lines)
    throw new IpxeError(url, undefined, `script has ${raw.length} lines (limit ${SCRIPT_LIMITS.lines})`, true);
  if (!/^#![ig]pxe\s/.test(raw[0] + '\n')) throw new IpxeError(url, 1, 'not an iPXE script (no #!ipxe first line)');
  const lines: ScriptLine[] = [];
  // The magic line is a comment, as for iPXE; line numbers stay those of the file.
  for (let i = 1; i < raw.length; i++) {
    const start = i + 1;
    let t = raw[i]!.replace(/\r$/, '');
    // A trailing backslash continues the line (iPXE's script reader joins them).
    while (t.endsWith('\\') && i + 1 < raw.length) t = t.slice(0, -1) + raw[++i]!.replace(/\r$/, '');
    if (t.length > SCRIPT_LIMITS.lineChars)
      throw new IpxeError(url, start, `line longer than ${SCRIPT_LIMITS.lineChars} characters`, true);
    const trimmed = t.trimStart();
    // `:label command`: the label is the word after ':', and the rest of the line is a command.
    const m = /^:(\S*)\s*(.*)$/s.exec(trimmed);
    if (m) lines.push({ line: start, text: m[2]!, label: m[1]! });
    else lines.push({ line: start, text: t });
  }
  return { url, lines };
}

/** Split an expanded line into words; a word starting with '#' starts a comment (iPXE has no quoting). */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  for (const w of line.split(/[ \t\r\n\v\f]+/)) {
    if (w === '') continue;
    if (w.startsWith('#')) break;
    out.push(w);
  }
  return out;
}

export interface OptSpec {
  readonly [long: string]: { readonly value: boolean; readonly short?: string };
}

export class UsageError extends Error {}

/** iPXE-style options: `--name value`, `--name=value`, `-n value`, stopping at the first non-option. */
export function parseOptions(args: readonly string[], spec: OptSpec): { opts: Map<string, string>; rest: string[] } {
  const opts = new Map<string, string>();
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (eq >= 0) inline = a.slice(eq + 1);
    } else if (a.length > 1 && a.startsWith('-')) {
      const hit = Object.entries(spec).find(([, s]) => s.short === a.slice(1, 2));
      if (!hit) throw new UsageError(`unknown option ${a}`);
      name = hit[0];
      if (a.length > 2) inline = a.slice(2);
    } else break;
    const s = spec[name];
    if (!s) throw new UsageError(`unknown option --${name}`);
    if (s.value) {
      const v = inline ?? args[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      opts.set(name, v);
    } else opts.set(name, '');
  }
  return { opts, rest: args.slice(i) };
}
