// GRUB script parser (grub-core/script/parser.y): commands, if/elif/else, for, while/until,
// function, menuentry/submenu/hiddenentry with bodies kept as ASTs (evaluated later, when
// the entry is "executed"). A parse error costs only the top-level command it is in: the
// parser resynchronises at the next command that starts a line in column 0, which is where
// every generator (grub-mkconfig, grub2-mkconfig, YaST) puts top-level commands.

import { lex, type Token, type WordToken } from './lexer';

export type Word = WordToken;

export type Cmd =
  | { readonly kind: 'simple'; readonly words: readonly Word[]; readonly line: number }
  | {
      readonly kind: 'if';
      readonly clauses: readonly { readonly cond: readonly Cmd[]; readonly body: readonly Cmd[] }[];
      readonly otherwise: readonly Cmd[] | null;
      readonly line: number;
    }
  | {
      readonly kind: 'for';
      readonly name: string;
      readonly items: readonly Word[];
      readonly body: readonly Cmd[];
      readonly line: number;
    }
  | {
      readonly kind: 'while';
      readonly until: boolean;
      readonly cond: readonly Cmd[];
      readonly body: readonly Cmd[];
      readonly line: number;
    }
  | { readonly kind: 'function'; readonly name: string; readonly body: readonly Cmd[]; readonly line: number }
  | {
      readonly kind: 'menu';
      readonly menuKind: MenuKind;
      readonly args: readonly Word[];
      readonly body: readonly Cmd[];
      readonly line: number;
    }
  | { readonly kind: 'block'; readonly body: readonly Cmd[]; readonly line: number }
  | { readonly kind: 'not'; readonly cmd: Cmd; readonly line: number };

export type MenuKind = 'menuentry' | 'submenu' | 'hiddenentry';

export interface ParseError {
  readonly line: number;
  readonly message: string;
}

export interface ParsedScript {
  readonly cmds: readonly Cmd[];
  readonly errors: readonly ParseError[];
}

/** Nesting of blocks/ifs/loops the parser accepts (keeps recursion off the JS stack limit). */
export const MAX_PARSE_DEPTH = 128;

class Fail extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const CLOSERS = new Set(['then', 'fi', 'do', 'done', 'else', 'elif', 'esac', 'in']);

function describe(t: Token): string {
  switch (t.kind) {
    case 'word':
      return t.plain !== null ? `'${t.plain.slice(0, 40)}'` : 'word';
    case 'nl':
      return 'end of line';
    case 'semi':
      return "';'";
    case 'lbrace':
      return "'{'";
    case 'rbrace':
      return "'}'";
    case 'eof':
      return 'end of file';
    case 'error':
      return t.message;
  }
}

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly toks: readonly Token[]) {}

  private peek(): Token {
    return this.toks[this.pos]!;
  }
  private next(): Token {
    const t = this.toks[this.pos]!;
    if (t.kind !== 'eof') this.pos++;
    return t;
  }
  private isKw(t: Token, kw: string): boolean {
    return t.kind === 'word' && t.plain === kw;
  }
  private skipSeps(): void {
    for (;;) {
      const t = this.peek();
      if (t.kind === 'nl' || t.kind === 'semi') this.pos++;
      else return;
    }
  }
  private skipNewlines(): void {
    while (this.peek().kind === 'nl') this.pos++;
  }
  private failAt(t: Token, what: string): never {
    throw new Fail(t.line, t.kind === 'error' ? t.message : what);
  }
  private fail(t: Token, what: string): never {
    if (t.kind === 'error') throw new Fail(t.line, t.message);
    throw new Fail(t.line, `${what}, found ${describe(t)}`);
  }

  program(): ParsedScript {
    const cmds: Cmd[] = [];
    const errors: ParseError[] = [];
    for (;;) {
      this.skipSeps();
      const t = this.peek();
      if (t.kind === 'eof') break;
      const start = this.pos;
      try {
        if (t.kind === 'word' && t.plain !== null && CLOSERS.has(t.plain)) this.failAt(t, `unexpected '${t.plain}'`);
        if (t.kind === 'rbrace') this.failAt(t, "unexpected '}'");
        cmds.push(this.command());
      } catch (e) {
        if (!(e instanceof Fail)) throw e;
        errors.push({ line: e.line, message: e.message });
        this.depth = 0;
        this.resync(start, e.line);
      }
    }
    return { cmds, errors };
  }

  /**
   * Skip to the first token in column 0 that can start a command (or is a stray '}'), after
   * the line of the error; when the error is at the end of the file (an unclosed block),
   * after the line where the failed command started instead.
   */
  private resync(start: number, errLine: number): void {
    const startLine = this.toks[start]!.line;
    const find = (after: number): number => {
      for (let i = start + 1; i < this.toks.length; i++) {
        const t = this.toks[i]!;
        if (t.kind === 'eof') return -1;
        if (t.line <= after || t.col !== 0) continue;
        if (t.kind === 'rbrace' || t.kind === 'word') return i;
      }
      return -1;
    };
    let i = find(errLine);
    if (i < 0) i = find(startLine);
    this.pos = i < 0 ? this.toks.length - 1 : i;
  }

  /** Commands until a terminator keyword (at command position), '}' or end of file. */
  private list(terms: ReadonlySet<string>, braceEnds: boolean): Cmd[] {
    const out: Cmd[] = [];
    for (;;) {
      this.skipSeps();
      const t = this.peek();
      if (t.kind === 'eof') return out;
      if (t.kind === 'rbrace') {
        if (braceEnds) return out;
        this.failAt(t, "unexpected '}'");
      }
      if (t.kind === 'word' && t.plain !== null && terms.has(t.plain)) return out;
      if (t.kind === 'word' && t.plain !== null && CLOSERS.has(t.plain)) this.failAt(t, `unexpected '${t.plain}'`);
      out.push(this.command());
    }
  }

  private enter(t: Token): void {
    if (++this.depth > MAX_PARSE_DEPTH) throw new Fail(t.line, `nesting deeper than ${MAX_PARSE_DEPTH} (parser limit)`);
  }

  private command(): Cmd {
    const t = this.peek();
    this.enter(t);
    try {
      if (t.kind === 'lbrace') {
        this.next();
        const body = this.list(NONE, true);
        this.expectRbrace();
        return { kind: 'block', body, line: t.line };
      }
      if (t.kind === 'word' && t.plain !== null) {
        switch (t.plain) {
          case 'if':
            return this.ifCmd();
          case 'for':
            return this.forCmd();
          case 'while':
          case 'until':
            return this.whileCmd(t.plain === 'until');
          case 'function':
            return this.functionCmd();
          case 'menuentry':
          case 'submenu':
          case 'hiddenentry':
            return this.menuCmd(t.plain);
          case '!': {
            this.next();
            return { kind: 'not', cmd: this.command(), line: t.line };
          }
        }
      }
      return this.simple();
    } finally {
      this.depth--;
    }
  }

  private simple(): Cmd {
    const first = this.peek();
    const words: Word[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'word') {
        words.push(t);
        this.next();
        continue;
      }
      if (t.kind === 'nl' || t.kind === 'semi' || t.kind === 'eof' || t.kind === 'rbrace') break;
      this.fail(t, 'expected a word');
    }
    if (words.length === 0) this.fail(first, 'expected a command');
    return { kind: 'simple', words, line: first.line };
  }

  private expectKw(kw: string): void {
    const t = this.peek();
    if (!this.isKw(t, kw)) this.fail(t, `expected '${kw}'`);
    this.next();
  }

  private expectRbrace(): void {
    const t = this.peek();
    if (t.kind !== 'rbrace') this.fail(t, "expected '}'");
    this.next();
  }

  private ifCmd(): Cmd {
    const start = this.next();
    const clauses: { cond: Cmd[]; body: Cmd[] }[] = [];
    let otherwise: Cmd[] | null = null;
    for (;;) {
      const cond = this.list(THEN, false);
      this.expectKw('then');
      const body = this.list(ELSE_FI, false);
      clauses.push({ cond, body });
      const t = this.peek();
      if (this.isKw(t, 'elif')) {
        this.next();
        continue;
      }
      if (this.isKw(t, 'else')) {
        this.next();
        otherwise = this.list(FI, false);
      }
      this.expectKw('fi');
      return { kind: 'if', clauses, otherwise, line: start.line };
    }
  }

  private forCmd(): Cmd {
    const start = this.next();
    const nameTok = this.next();
    if (nameTok.kind !== 'word' || nameTok.plain === null || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(nameTok.plain)) {
      this.fail(nameTok, 'expected a variable name after for');
    }
    const name = nameTok.plain;
    const items: Word[] = [];
    if (this.isKw(this.peek(), 'in')) {
      this.next();
      for (;;) {
        const t = this.peek();
        if (t.kind !== 'word') break;
        items.push(t);
        this.next();
      }
    }
    this.skipSeps();
    this.expectKw('do');
    const body = this.list(DONE, false);
    this.expectKw('done');
    return { kind: 'for', name, items, body, line: start.line };
  }

  private whileCmd(until: boolean): Cmd {
    const start = this.next();
    const cond = this.list(DO, false);
    this.expectKw('do');
    const body = this.list(DONE, false);
    this.expectKw('done');
    return { kind: 'while', until, cond, body, line: start.line };
  }

  private functionCmd(): Cmd {
    const start = this.next();
    const nameTok = this.next();
    if (nameTok.kind !== 'word' || nameTok.plain === null || nameTok.plain === '') {
      this.fail(nameTok, 'expected a function name');
    }
    this.skipNewlines();
    const lb = this.next();
    if (lb.kind !== 'lbrace') this.fail(lb, "expected '{' after function name");
    const body = this.list(NONE, true);
    this.expectRbrace();
    return { kind: 'function', name: nameTok.plain, body, line: start.line };
  }

  private menuCmd(menuKind: MenuKind): Cmd {
    const start = this.next();
    const args: Word[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'word') {
        args.push(t);
        this.next();
        continue;
      }
      if (t.kind === 'lbrace') break;
      this.fail(t, `expected '{' to open the ${menuKind} body`);
    }
    if (args.length === 0) this.fail(this.peek(), `${menuKind} needs a title`);
    this.next();
    const body = this.list(NONE, true);
    this.expectRbrace();
    return { kind: 'menu', menuKind, args, body, line: start.line };
  }
}

const NONE: ReadonlySet<string> = new Set();
const THEN: ReadonlySet<string> = new Set(['then']);
const ELSE_FI: ReadonlySet<string> = new Set(['elif', 'else', 'fi']);
const FI: ReadonlySet<string> = new Set(['fi']);
const DO: ReadonlySet<string> = new Set(['do']);
const DONE: ReadonlySet<string> = new Set(['done']);

/** Parse a script; `firstLine` numbers lines of text taken from inside another file (eval). */
export function parse(text: string, firstLine = 1): ParsedScript {
  return new Parser(lex(text, firstLine)).program();
}
