// GRUB script lexer (docs/grub-syslinux.md §A2, grub-core/script/yylex.l). Produces words made of
// literal and variable parts, so the evaluator can expand and field-split exactly as GRUB:
// quoted text never splits, unquoted `$var` does.

export type WordPart =
  | { readonly kind: 'lit'; readonly v: string }
  /** `$name`/`${name}`; quoted = inside "...". Names: identifiers, digits, ? # * @. */
  | { readonly kind: 'var'; readonly name: string; readonly quoted: boolean };

export interface WordToken {
  readonly kind: 'word';
  readonly parts: readonly WordPart[];
  /** The text when the word is only unquoted plain characters (keyword candidate), else null. */
  readonly plain: string | null;
  readonly line: number;
  /** 0-based column of the first character (0 = starts a line; used for error recovery). */
  readonly col: number;
  /** An unquoted, unescaped * ? or [ appeared: grub's wildcard expansion applies. */
  readonly glob: boolean;
}

export interface PunctToken {
  readonly kind: 'nl' | 'semi' | 'lbrace' | 'rbrace' | 'eof';
  readonly line: number;
  readonly col: number;
}

export interface ErrorToken {
  readonly kind: 'error';
  readonly message: string;
  readonly line: number;
  readonly col: number;
}

export type Token = WordToken | PunctToken | ErrorToken;

const VAR_START = /[A-Za-z_]/;
const VAR_CHAR = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
/** Characters that end an unquoted word (GRUB's CHAR class excludes these). */
const WORD_END = new Set([' ', '\t', '\n', '\r', ';', '{', '}']);
/** A run of characters with no special meaning inside an unquoted word. */
const PLAIN_RUN = /[^ \t\n\r;{}\\'"$]+/y;
/** A run of characters with no special meaning inside double quotes. */
const DQ_RUN = /[^"\\$\n]+/y;

/**
 * Tokenise a whole file. Never throws: an unterminated quote or `${` yields an error token
 * at the line where it started, and lexing resumes on the next line.
 */
export function lex(text: string, firstLine = 1): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = firstLine;
  let lineStart = 0;
  const n = text.length;

  const newline = (at: number): void => {
    line++;
    lineStart = at + 1;
  };

  /** Parse a variable reference at text[i] === '$'. Returns null when '$' is literal. */
  const readVar = (quoted: boolean): WordPart | { error: string } | null => {
    const c = text[i + 1];
    if (c === '{') {
      const close = text.indexOf('}', i + 2);
      const nl = text.indexOf('\n', i + 2);
      if (close < 0 || (nl >= 0 && nl < close)) return { error: 'unterminated ${' };
      const name = text.slice(i + 2, close);
      if (!validName(name)) return { error: `bad variable name \${${name.slice(0, 40)}}` };
      i = close + 1;
      return { kind: 'var', name, quoted };
    }
    if (c !== undefined && VAR_START.test(c)) {
      let j = i + 2;
      while (j < n && VAR_CHAR.test(text[j]!)) j++;
      const name = text.slice(i + 1, j);
      i = j;
      return { kind: 'var', name, quoted };
    }
    if (c !== undefined && DIGIT.test(c)) {
      let j = i + 2;
      while (j < n && DIGIT.test(text[j]!)) j++;
      const name = text.slice(i + 1, j);
      i = j;
      return { kind: 'var', name, quoted };
    }
    if (c === '?' || c === '#' || c === '*' || c === '@') {
      i += 2;
      return { kind: 'var', name: c, quoted };
    }
    return null;
  };

  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      newline(i + 1);
      i += 2;
      continue;
    }
    const col = i - lineStart;
    if (c === '\n') {
      out.push({ kind: 'nl', line, col });
      newline(i);
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === ';') {
      out.push({ kind: 'semi', line, col });
      i++;
      continue;
    }
    if (c === '{' || c === '}') {
      out.push({ kind: c === '{' ? 'lbrace' : 'rbrace', line, col });
      i++;
      continue;
    }
    // A word.
    const startLine = line;
    const startLineStart = lineStart;
    const wordStart = i;
    const parts: WordPart[] = [];
    let lit = '';
    let plain = true;
    let glob = false;
    let error: string | null = null;
    const flush = (): void => {
      if (lit) parts.push({ kind: 'lit', v: lit });
      lit = '';
    };
    while (i < n && error === null) {
      PLAIN_RUN.lastIndex = i;
      if (PLAIN_RUN.test(text)) {
        const run = text.slice(i, PLAIN_RUN.lastIndex);
        if (!glob && /[*?[]/.test(run)) glob = true;
        lit += run;
        i = PLAIN_RUN.lastIndex;
        continue;
      }
      const ch = text[i]!;
      if (WORD_END.has(ch)) break;
      if (ch === '\\') {
        plain = false;
        const nx = text[i + 1];
        if (nx === undefined) {
          lit += '\\';
          i++;
        } else if (nx === '\n') {
          newline(i + 1);
          i += 2;
        } else {
          lit += nx;
          i += 2;
        }
        continue;
      }
      if (ch === "'") {
        plain = false;
        const close = text.indexOf("'", i + 1);
        if (close < 0) {
          error = "unterminated ' quote";
          break;
        }
        const s = text.slice(i + 1, close);
        for (let k = i + 1; k < close; k++) if (text[k] === '\n') newline(k);
        lit += s;
        // An empty '' still makes the word exist.
        if (s === '') parts.push({ kind: 'lit', v: '' });
        i = close + 1;
        continue;
      }
      if (ch === '"') {
        plain = false;
        i++;
        let closed = false;
        let any = false;
        while (i < n) {
          DQ_RUN.lastIndex = i;
          if (DQ_RUN.test(text)) {
            lit += text.slice(i, DQ_RUN.lastIndex);
            i = DQ_RUN.lastIndex;
            any = true;
            continue;
          }
          const d = text[i]!;
          if (d === '"') {
            closed = true;
            i++;
            break;
          }
          if (d === '\\') {
            const nx = text[i + 1];
            if (nx === '\\' || nx === '$' || nx === '"') {
              lit += nx;
              i += 2;
            } else if (nx === '\n') {
              newline(i + 1);
              i += 2;
            } else {
              lit += '\\';
              i++;
            }
            any = true;
            continue;
          }
          if (d === '$') {
            const v = readVar(true);
            if (v && 'error' in v) {
              error = v.error;
              break;
            }
            if (v) {
              flush();
              parts.push(v);
              any = true;
              continue;
            }
          }
          if (d === '\n') newline(i);
          lit += d;
          any = true;
          i++;
        }
        if (error !== null) break;
        if (!closed) {
          error = 'unterminated " quote';
          break;
        }
        if (!any && !lit) parts.push({ kind: 'lit', v: '' });
        continue;
      }
      if (ch === '$') {
        const v = readVar(false);
        if (v && 'error' in v) {
          error = v.error;
          break;
        }
        if (v) {
          plain = false;
          flush();
          parts.push(v);
          continue;
        }
      }
      lit += ch;
      i++;
    }
    if (error !== null) {
      out.push({ kind: 'error', message: error, line: startLine, col });
      // Drop the rest of the line the bad word started on and resume after it.
      i = text.indexOf('\n', wordStart);
      if (i < 0) i = n;
      line = startLine;
      lineStart = startLineStart;
      continue;
    }
    flush();
    out.push({ kind: 'word', parts, plain: plain ? joinLits(parts) : null, line: startLine, col, glob });
  }
  out.push({ kind: 'eof', line, col: 0 });
  return out;
}

function joinLits(parts: readonly WordPart[]): string {
  let s = '';
  for (const p of parts) if (p.kind === 'lit') s += p.v;
  return s;
}

export function validName(name: string): boolean {
  if (name === '?' || name === '#' || name === '*' || name === '@') return true;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /^[0-9]+$/.test(name);
}
