// os-release(5) parsing with the same state machine as systemd's parse_env_file(): KEY=VALUE
// lines, '#'/';' comments, blank lines, '…' (literal) and "…" (backslash escapes only before
// " \ ` $ and newline) quoting, unquoted backslash escapes and line continuations, trailing
// whitespace of unquoted values dropped, adjacent quoted/unquoted pieces concatenated.
// sd-boot's own reader only strips one pair of double quotes; we handle the general case
// (docs/bls.md §10.3). Used for UKI .osrel and .profile sections.

const WHITESPACE = ' \t\n\r';
const NEWLINE = '\n\r';
const COMMENTS = '#;';
const SHELL_NEED_ESCAPE = '"\\`$';

/** Longest os-release text we parse; larger .osrel sections are refused by the caller. */
export const MAX_OSREL_BYTES = 64 * 1024;

export interface OsRelease {
  /** Last assignment wins. An empty value ('A=' or 'A=""') is stored as '' and means "unset". */
  readonly values: ReadonlyMap<string, string>;
}

/** Parse os-release text. Never throws; input stops at the first NUL as in C. */
export function parseOsRelease(text: string): OsRelease {
  const values = new Map<string, string>();
  type State =
    | 'PRE_KEY'
    | 'KEY'
    | 'PRE_VALUE'
    | 'VALUE'
    | 'VALUE_ESCAPE'
    | 'SQ'
    | 'DQ'
    | 'DQ_ESCAPE'
    | 'COMMENT'
    | 'COMMENT_ESCAPE';
  let state: State = 'PRE_KEY';
  let key = '';
  let value = '';
  // Index in `key`/`value` where a trailing whitespace run starts (-1: none).
  let keyWs = -1;
  let valueWs = -1;

  const push = (chompValue: boolean): void => {
    const k = keyWs >= 0 ? key.slice(0, keyWs) : key;
    const v = chompValue && valueWs >= 0 ? value.slice(0, valueWs) : value;
    values.set(k, v);
    key = '';
    value = '';
  };

  const nul = text.indexOf('\0');
  const src = nul >= 0 ? text.slice(0, nul) : text;
  for (const c of src) {
    switch (state) {
      case 'PRE_KEY':
        if (COMMENTS.includes(c)) state = 'COMMENT';
        else if (!WHITESPACE.includes(c)) {
          state = 'KEY';
          keyWs = -1;
          key += c;
        }
        break;
      case 'KEY':
        if (NEWLINE.includes(c)) {
          state = 'PRE_KEY'; // a line without '=' is ignored
          key = '';
        } else if (c === '=') {
          state = 'PRE_VALUE';
          valueWs = -1;
        } else {
          if (!WHITESPACE.includes(c)) keyWs = -1;
          else if (keyWs < 0) keyWs = key.length;
          key += c;
        }
        break;
      case 'PRE_VALUE':
        if (NEWLINE.includes(c)) {
          state = 'PRE_KEY';
          push(false);
        } else if (c === "'") state = 'SQ';
        else if (c === '"') state = 'DQ';
        else if (c === '\\') state = 'VALUE_ESCAPE';
        else if (!WHITESPACE.includes(c)) {
          state = 'VALUE';
          value += c;
        }
        break;
      case 'VALUE':
        if (NEWLINE.includes(c)) {
          state = 'PRE_KEY';
          push(true);
        } else if (c === '\\') {
          state = 'VALUE_ESCAPE';
          valueWs = -1;
        } else {
          if (!WHITESPACE.includes(c)) valueWs = -1;
          else if (valueWs < 0) valueWs = value.length;
          value += c;
        }
        break;
      case 'VALUE_ESCAPE':
        state = 'VALUE';
        if (!NEWLINE.includes(c)) value += c; // an escaped newline is a continuation
        break;
      case 'SQ':
        if (c === "'") state = 'PRE_VALUE';
        else value += c;
        break;
      case 'DQ':
        if (c === '"') state = 'PRE_VALUE';
        else if (c === '\\') state = 'DQ_ESCAPE';
        else value += c;
        break;
      case 'DQ_ESCAPE':
        state = 'DQ';
        if (SHELL_NEED_ESCAPE.includes(c)) value += c;
        else if (c !== '\n') value += '\\' + c; // like the shell: other escapes keep the backslash
        break;
      case 'COMMENT':
        if (c === '\\') state = 'COMMENT_ESCAPE';
        else if (NEWLINE.includes(c)) state = 'PRE_KEY';
        break;
      case 'COMMENT_ESCAPE':
        state = NEWLINE.includes(c) ? 'PRE_KEY' : 'COMMENT';
        break;
    }
  }
  if (state === 'VALUE') push(true);
  else if (
    state === 'PRE_VALUE' ||
    state === 'VALUE_ESCAPE' ||
    state === 'SQ' ||
    state === 'DQ' ||
    state === 'DQ_ESCAPE'
  ) {
    push(false);
  }
  return { values };
}

/** A non-empty value, or undefined. */
export function osrelGet(os: OsRelease, key: string): string | undefined {
  const v = os.values.get(key);
  return v === undefined || v === '' ? undefined : v;
}
