// POSIX extended regular expressions as grub's `regexp` compiles them: gnulib's regcomp() with
// REG_EXTENDED (RE_SYNTAX_POSIX_EXTENDED) in the C locale (docs/grub-syslinux.md §A12). The parser
// follows gnulib's lib/regcomp.c (parse_reg_exp, parse_branch, parse_expression, parse_dup_op,
// parse_bracket_exp) so that the tree has the same shape, the same error codes and, through it,
// the same preferences between equally long matches. Counted repetitions stay unexpanded here;
// the compiler expands them under a size limit.

import { addByte, addRange, classSet, emptySet, invert, setOf, union, type ByteSet } from './byteset';

/** regcomp() error codes (POSIX.1-2017 <regex.h>), with gnulib's regerror() texts. */
export const REG_ERRORS = {
  ECOLLATE: 'Invalid collation character',
  ECTYPE: 'Invalid character class name',
  EESCAPE: 'Trailing backslash',
  ESUBREG: 'Invalid back reference',
  EBRACK: 'Unmatched [, [^, [:, [., or [=',
  EPAREN: 'Unmatched ( or \\(',
  EBRACE: 'Unmatched \\{',
  BADBR: 'Invalid content of \\{\\}',
  ERANGE: 'Invalid range end',
  BADRPT: 'Invalid preceding regular expression',
  ESIZE: 'Regular expression too big',
} as const;
export type RegErrorCode = keyof typeof REG_ERRORS;

/** A pattern regcomp() rejects (`code`), or one this sandbox will not run (`code: null`). */
export class EreError extends Error {
  constructor(
    readonly code: RegErrorCode | null,
    message: string,
  ) {
    super(message);
  }
}

const fail = (code: RegErrorCode): never => {
  throw new EreError(code, REG_ERRORS[code]);
};

/** Zero-width conditions: gnulib's ANCHOR contexts without REG_NEWLINE, REG_NOTBOL or REG_NOTEOL. */
export type Assertion = 'bol' | 'eol' | 'wordFirst' | 'wordLast' | 'insideWord' | 'insideNotWord';

/** gnulib's tree after parsing; `null` is the empty expression (its NULL subtree). */
export type Ere =
  | { readonly k: 'byte'; readonly b: number }
  | { readonly k: 'set'; readonly set: ByteSet }
  | { readonly k: 'assert'; readonly a: Assertion }
  | { readonly k: 'cat'; readonly items: readonly Ere[] }
  /**
   * `b0|b1|…|bk` in source order, null for an empty branch. gnulib's tree for it is
   * ALT(…ALT(ALT(b0, b1), b2)…, bk); the compiler builds exactly that shape.
   */
  | { readonly k: 'alt'; readonly branches: readonly (Ere | null)[] }
  | { readonly k: 'group'; readonly n: number; readonly body: Ere | null }
  /** `max` -1: unbounded. */
  | { readonly k: 'repeat'; readonly body: Ere; readonly min: number; readonly max: number };

export interface ParsedEre {
  readonly root: Ere | null;
  /** Number of parenthesised subexpressions (regex_t.re_nsub). */
  readonly nsub: number;
  /** Group reported for each group (1-based; index 0 unused): gnulib's subexp_map for `((x))`. */
  readonly alias: readonly number[];
}

/** RE_DUP_MAX. */
const DUP_MAX = 0x7fff;
/** Groups and stacked repetitions nested deeper than this are refused (the sandbox's stack). */
export const MAX_NESTING = 200;

/** Tokens without operands. */
type Simple =
  | 'open'
  | 'close'
  | 'alt'
  | 'star'
  | 'plus'
  | 'question'
  | 'openDup'
  | 'closeDup'
  | 'bracket'
  | 'period'
  | 'backslash'
  | 'end';

type Tok =
  | { readonly t: 'char'; readonly c: number }
  | { readonly t: 'anchor'; readonly a: 'bol' | 'eol' | 'wordFirst' | 'wordLast' | 'wordDelim' | 'notWordDelim' }
  | { readonly t: 'class'; readonly name: 'alnum' | 'space'; readonly neg: boolean }
  | { readonly t: 'backref'; readonly n: number }
  | { readonly t: Simple };

/** Bytes that are operators outside brackets in ERE (`^` and `$` are read as anchors). */
const SIMPLE: Readonly<Record<number, Simple>> = {
  0x7c: 'alt',
  0x2a: 'star',
  0x2b: 'plus',
  0x3f: 'question',
  0x7b: 'openDup',
  0x7d: 'closeDup',
  0x28: 'open',
  0x29: 'close',
  0x5b: 'bracket',
  0x2e: 'period',
};

const WORD_SET = (() => {
  const s = classSet('alnum')!.slice();
  addByte(s, 0x5f);
  return s;
})();

class Parser {
  private i = 0;
  private tok: Tok = { t: 'end' };
  private nsub = 0;
  private depth = 0;
  /** Groups closed so far, for back-reference validity (gnulib's completed_bkref_map). */
  private completed = new Set<number>();

  constructor(private readonly p: Uint8Array) {}

  parse(): ParsedEre {
    this.fetch();
    const root = this.regExp(0);
    const alias = Array.from({ length: this.nsub + 1 }, (_, k) => k);
    return { root: root && optimizeSubexps(root, alias), nsub: this.nsub, alias };
  }

  /** The current token's type, read afresh (calls in between move the cursor). */
  private kind(): Tok['t'] {
    return this.tok.t;
  }

  /** peek_token() + skip for the syntax outside brackets. */
  private fetch(): void {
    const p = this.p;
    if (this.i >= p.length) {
      this.tok = { t: 'end' };
      return;
    }
    const c = p[this.i++]!;
    if (c === 0x5c) {
      if (this.i >= p.length) {
        this.tok = { t: 'backslash' };
        return;
      }
      const d = p[this.i++]!;
      this.tok = escaped(d);
      return;
    }
    if (c === 0x5e) this.tok = { t: 'anchor', a: 'bol' };
    else if (c === 0x24) this.tok = { t: 'anchor', a: 'eol' };
    else {
      const t = SIMPLE[c];
      this.tok = t === undefined ? { t: 'char', c } : { t };
    }
  }

  private nest<T>(f: () => T): T {
    if (++this.depth > MAX_NESTING) throw new EreError(null, `nested deeper than ${MAX_NESTING}`);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  /** parse_reg_exp: branches separated by `|`, in source order (null: an empty branch). */
  private regExp(nest: number): Ere | null {
    const initial = new Set(this.completed);
    const first = this.branch(nest);
    if (this.tok.t !== 'alt') return first;
    const branches: (Ere | null)[] = [first];
    const accumulated = new Set<number>();
    while (this.tok.t === 'alt') {
      this.fetch();
      let b: Ere | null = null;
      if (this.tok.t !== 'alt' && this.tok.t !== 'end' && (nest === 0 || this.tok.t !== 'close')) {
        for (const g of this.completed) accumulated.add(g);
        this.completed = new Set(initial);
        b = this.branch(nest);
        for (const g of accumulated) this.completed.add(g);
      }
      branches.push(b);
    }
    return { k: 'alt', branches };
  }

  /** parse_branch: a concatenation; empty expressions vanish. */
  private branch(nest: number): Ere | null {
    const items: Ere[] = [];
    const first = this.expression(nest);
    if (first) items.push(first);
    while (this.tok.t !== 'alt' && this.tok.t !== 'end' && (nest === 0 || this.tok.t !== 'close')) {
      const e = this.expression(nest);
      if (e) items.push(e);
    }
    return items.length === 0 ? null : items.length === 1 ? items[0]! : { k: 'cat', items };
  }

  /** parse_expression: one atom and the repetition operators after it. */
  private expression(nest: number): Ere | null {
    const tok = this.tok;
    let tree: Ere | null;
    switch (tok.t) {
      case 'char':
        tree = { k: 'byte', b: tok.c };
        break;
      case 'open':
        tree = this.nest(() => this.subExp(nest + 1));
        break;
      case 'bracket': {
        const [set, next] = parseBracket(this.p, this.i);
        this.i = next;
        tree = { k: 'set', set };
        break;
      }
      case 'backref':
        if (!this.completed.has(tok.n)) fail('ESUBREG');
        throw new EreError(null, 'back-references (\\1…\\9) are not supported');
      case 'openDup':
      case 'star':
      case 'plus':
      case 'question':
        return fail('BADRPT');
      case 'close': // only at the top level: an unmatched ')' is ordinary (RE_UNMATCHED_RIGHT_PAREN_ORD)
        tree = { k: 'byte', b: 0x29 };
        break;
      case 'closeDup':
        tree = { k: 'byte', b: 0x7d };
        break;
      case 'anchor': {
        const a = tok.a;
        if (a === 'wordDelim' || a === 'notWordDelim') {
          const [x, y]: Assertion[] = a === 'wordDelim' ? ['wordFirst', 'wordLast'] : ['insideWord', 'insideNotWord'];
          tree = {
            k: 'alt',
            branches: [
              { k: 'assert', a: x! },
              { k: 'assert', a: y! },
            ],
          };
        } else tree = { k: 'assert', a };
        // An anchor takes no repetition: "^*" is an error, as in gnulib.
        this.fetch();
        return tree;
      }
      case 'period': {
        tree = { k: 'set', set: setOf((b) => b !== 0) }; // RE_DOT_NOT_NULL; newline matches
        break;
      }
      case 'class': {
        const s = tok.name === 'alnum' ? WORD_SET.slice() : classSet('space')!.slice();
        if (tok.neg) invert(s);
        tree = { k: 'set', set: s };
        break;
      }
      case 'alt':
      case 'end':
        return null;
      case 'backslash':
        return fail('EESCAPE');
    }
    this.fetch();
    let stacked = 0;
    while (this.tok.t === 'star' || this.tok.t === 'plus' || this.tok.t === 'question' || this.tok.t === 'openDup') {
      if (++stacked + this.depth > MAX_NESTING) throw new EreError(null, `nested deeper than ${MAX_NESTING}`);
      tree = this.dupOp(tree);
    }
    return tree;
  }

  /** parse_sub_exp: `(` was the current token. */
  private subExp(nest: number): Ere {
    const n = ++this.nsub;
    this.fetch();
    let body: Ere | null = null;
    if (this.tok.t !== 'close') {
      body = this.regExp(nest);
      if (this.kind() !== 'close') fail('EPAREN');
    }
    this.completed.add(n);
    return { k: 'group', n, body };
  }

  /** fetch_number: -1 no digits, -2 invalid or end of pattern; stops at `,` or `}`. */
  private number(): { n: number; stop: Tok } {
    let num = -1;
    for (;;) {
      this.fetch();
      const tok = this.tok;
      if (tok.t === 'end') return { n: -2, stop: tok };
      if (tok.t === 'closeDup' || (tok.t === 'char' && tok.c === 0x2c)) return { n: num, stop: tok };
      num =
        tok.t !== 'char' || tok.c < 0x30 || tok.c > 0x39 || num === -2
          ? -2
          : num === -1
            ? tok.c - 0x30
            : Math.min(DUP_MAX + 1, num * 10 + tok.c - 0x30);
    }
  }

  /** parse_dup_op for `* + ? {m} {m,} {,n} {m,n}` (the operator is the current token). */
  private dupOp(elem: Ere | null): Ere | null {
    let min: number;
    let max: number;
    if (this.tok.t === 'openDup') {
      const first = this.number();
      min = first.n;
      let stop = first.stop;
      if (min === -1) {
        if (stop.t === 'char')
          min = 0; // "{,m}" is "{0,m}"
        else return fail('BADBR'); // "{}"
      }
      if (min !== -2) {
        if (stop.t === 'closeDup') max = min;
        else {
          const second = this.number();
          max = second.n;
          stop = second.stop;
        }
      } else max = -2;
      if (min === -2 || max === -2) return fail(stop.t === 'end' ? 'EBRACE' : 'BADBR');
      if ((max !== -1 && min > max) || stop.t !== 'closeDup') return fail('BADBR');
      if ((max === -1 ? min : max) > DUP_MAX) return fail('ESIZE');
    } else {
      min = this.tok.t === 'plus' ? 1 : 0;
      max = this.tok.t === 'question' ? 1 : -1;
    }
    this.fetch();
    if (elem === null || (min === 0 && max === 0)) return null;
    if (min === 1 && max === 1) return elem; // "{1}" is the element itself, as a tree
    return { k: 'repeat', body: elem, min, max };
  }
}

/** A backslash and the byte after it (gnulib's peek_token, RE_SYNTAX_POSIX_EXTENDED). */
function escaped(d: number): Tok {
  if (d >= 0x31 && d <= 0x39) return { t: 'backref', n: d - 0x30 };
  switch (d) {
    case 0x3c:
      return { t: 'anchor', a: 'wordFirst' };
    case 0x3e:
      return { t: 'anchor', a: 'wordLast' };
    case 0x62:
      return { t: 'anchor', a: 'wordDelim' };
    case 0x42:
      return { t: 'anchor', a: 'notWordDelim' };
    case 0x60:
      return { t: 'anchor', a: 'bol' }; // \` buffer start: the same as ^ without REG_NEWLINE
    case 0x27:
      return { t: 'anchor', a: 'eol' }; // \' buffer end
    case 0x77:
      return { t: 'class', name: 'alnum', neg: false };
    case 0x57:
      return { t: 'class', name: 'alnum', neg: true };
    case 0x73:
      return { t: 'class', name: 'space', neg: false };
    case 0x53:
      return { t: 'class', name: 'space', neg: true };
    default:
      return { t: 'char', c: d }; // \( \{ \| \. … and any other byte are literal in ERE
  }
}

type BracketElem =
  { readonly k: 'char'; readonly c: number } | { readonly k: 'coll' | 'equiv' | 'class'; readonly name: number[] };

type BracketTok =
  | { readonly t: 'char'; readonly c: number; readonly len: number }
  | { readonly t: 'range' | 'close' | 'nonMatch' | 'end'; readonly c: number; readonly len: number }
  | { readonly t: 'openColl' | 'openEquiv' | 'openClass'; readonly c: number; readonly len: 2 };

/** peek_token_bracket: backslash is literal inside brackets in ERE. */
function peekBracket(p: Uint8Array, i: number): BracketTok {
  if (i >= p.length) return { t: 'end', c: 0, len: 0 };
  const c = p[i]!;
  if (c === 0x5b) {
    const c2 = i + 1 < p.length ? p[i + 1]! : 0;
    if (c2 === 0x2e) return { t: 'openColl', c: c2, len: 2 };
    if (c2 === 0x3d) return { t: 'openEquiv', c: c2, len: 2 };
    if (c2 === 0x3a) return { t: 'openClass', c: c2, len: 2 };
    return { t: 'char', c, len: 1 };
  }
  if (c === 0x2d) return { t: 'range', c, len: 1 };
  if (c === 0x5d) return { t: 'close', c, len: 1 };
  if (c === 0x5e) return { t: 'nonMatch', c, len: 1 };
  return { t: 'char', c, len: 1 };
}

/** BRACKET_NAME_BUF_SIZE. */
const NAME_MAX = 32;

/** parse_bracket_exp from just after `[`: the set and the index after the closing `]`. */
function parseBracket(p: Uint8Array, from: number): [ByteSet, number] {
  let i = from;
  const set = emptySet();
  let tok = peekBracket(p, i);
  let nonMatch = false;
  if (tok.t === 'nonMatch') {
    nonMatch = true;
    i += tok.len;
    tok = peekBracket(p, i);
  }
  if (tok.t === 'close') tok = { t: 'char', c: tok.c, len: tok.len }; // a first ']' is literal
  let firstRound = true;

  /** parse_bracket_element; returns the element and the index after it. */
  const element = (tk: BracketTok, from: number, acceptHyphen: boolean): [BracketElem, number] => {
    let j = from + tk.len;
    if (tk.t === 'openColl' || tk.t === 'openEquiv' || tk.t === 'openClass') {
      // parse_bracket_symbol: up to ".]", "=]" or ":]".
      const name: number[] = [];
      if (j >= p.length) return fail('EBRACK');
      for (let n = 0; ; n++) {
        if (n >= NAME_MAX) return fail('EBRACK');
        const ch = p[j++]!;
        if (j >= p.length) return fail('EBRACK');
        if (ch === tk.c && p[j] === 0x5d) break;
        name.push(ch);
      }
      j++;
      return [{ k: tk.t === 'openColl' ? 'coll' : tk.t === 'openEquiv' ? 'equiv' : 'class', name }, j];
    }
    if (tk.t === 'range' && !acceptHyphen) {
      // A '-' that is not a range operator must come just before the closing bracket.
      if (peekBracket(p, j).t !== 'close') return fail('ERANGE');
    }
    return [{ k: 'char', c: tk.c }, j];
  };

  for (;;) {
    const [start, afterStart] = element(tok, i, firstRound);
    i = afterStart;
    firstRound = false;
    tok = peekBracket(p, i);
    let end: BracketElem | null = null;
    if (start.k !== 'class' && start.k !== 'equiv') {
      if (tok.t === 'end') return fail('EBRACK');
      if (tok.t === 'range') {
        const tok2 = peekBracket(p, i + tok.len);
        if (tok2.t === 'end') return fail('EBRACK');
        if (tok2.t === 'close')
          tok = { t: 'char', c: tok.c, len: tok.len }; // a last '-' is literal
        else {
          const [e, afterEnd] = element(tok2, i + tok.len, true);
          end = e;
          i = afterEnd;
          tok = peekBracket(p, i);
        }
      }
    }
    if (end) addRange(set, ...range(start, end));
    else addElement(set, start);
    if (tok.t === 'end') return fail('EBRACK');
    if (tok.t === 'close') break;
  }
  if (nonMatch) invert(set);
  return [set, i + tok.len];
}

/**
 * build_range_exp in the C locale, its checks in its order: no class ends, single-byte collating
 * symbols, bytes btowc() knows (none above 0x7f), no empty ranges (RE_NO_EMPTY_RANGES).
 */
function range(a: BracketElem, b: BracketElem): [number, number] {
  if (a.k === 'class' || a.k === 'equiv' || b.k === 'class' || b.k === 'equiv') return fail('ERANGE');
  if ((a.k === 'coll' && a.name.length !== 1) || (b.k === 'coll' && b.name.length !== 1)) return fail('ECOLLATE');
  const lo = a.k === 'char' ? a.c : a.name[0]!;
  const hi = b.k === 'char' ? b.c : b.name[0]!;
  if (lo > 0x7f || hi > 0x7f) return fail('ECOLLATE');
  if (lo > hi) return fail('ERANGE');
  return [lo, hi];
}

function addElement(set: ByteSet, e: BracketElem): void {
  if (e.k === 'char') addByte(set, e.c);
  else if (e.k === 'class') {
    const s = classSet(String.fromCharCode(...e.name));
    if (!s) fail('ECTYPE');
    else union(set, s);
  } else {
    // Collating symbols and equivalence classes of the C locale are single bytes.
    if (e.name.length !== 1) fail('ECOLLATE');
    addByte(set, e.name[0]!);
  }
}

/**
 * gnulib's optimize_subexps, run top-down: a group whose whole body is another group keeps its
 * number and takes the inner group's body; the inner group reports the outer one's offsets.
 */
function optimizeSubexps(e: Ere, alias: number[]): Ere {
  switch (e.k) {
    case 'group': {
      let body = e.body;
      if (body && body.k === 'group') {
        alias[body.n] = alias[e.n]!;
        body = body.body;
      }
      return { k: 'group', n: e.n, body: body && optimizeSubexps(body, alias) };
    }
    case 'cat':
      return { k: 'cat', items: e.items.map((x) => optimizeSubexps(x, alias)) };
    case 'alt':
      return { k: 'alt', branches: e.branches.map((x) => x && optimizeSubexps(x, alias)) };
    case 'repeat':
      return { ...e, body: optimizeSubexps(e.body, alias) };
    default:
      return e;
  }
}

/** Parse a pattern's bytes; throws EreError. */
export function parseEre(pattern: Uint8Array): ParsedEre {
  return new Parser(pattern).parse();
}
