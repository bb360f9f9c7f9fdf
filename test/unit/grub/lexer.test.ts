import { describe, expect, it } from 'vitest';
import { lex, type Token, type WordToken } from '../../../src/discovery/sources/grub/lexer';
import { parse } from '../../../src/discovery/sources/grub/parser';

const words = (src: string): WordToken[] => lex(src).filter((t): t is WordToken => t.kind === 'word');
const kinds = (src: string): string[] =>
  lex(src).map((t: Token) =>
    t.kind === 'word'
      ? `w:${t.parts.map((p) => (p.kind === 'lit' ? p.v : `$${p.name}${p.quoted ? 'q' : ''}`)).join('|')}`
      : t.kind,
  );

describe('GRUB lexer (docs/grub-syslinux.md §A2)', () => {
  it('splits words on blanks and commands on newline and ;', () => {
    expect(kinds('set a=b; echo  x\ttab\n')).toEqual(['w:set', 'w:a=b', 'semi', 'w:echo', 'w:x', 'w:tab', 'nl', 'eof']);
  });
  it("'…' is literal, no escapes inside", () => {
    expect(kinds(`echo 'a $b \\" c'`)).toEqual(['w:echo', 'w:a $b \\" c', 'eof']);
  });
  it('"…" expands variables; only \\\\ \\$ \\" and \\newline are escapes', () => {
    expect(kinds('echo "x $a ${b}y \\$c \\\\ \\" \\q"')).toEqual(['w:echo', 'w:x |$aq| |$bq|y $c \\ " \\q', 'eof']);
    expect(kinds('echo "a\\\nb"')).toEqual(['w:echo', 'w:ab', 'eof']);
  });
  it('unquoted \\x yields x; backslash-newline continues the line', () => {
    expect(kinds('echo a\\ b \\$x\\\n c')).toEqual(['w:echo', 'w:a b', 'w:$x', 'w:c', 'eof']);
  });
  it('# starts a comment only at the start of a word', () => {
    expect(kinds('echo a#b # comment ; not a command\necho')).toEqual(['w:echo', 'w:a#b', 'nl', 'w:echo', 'eof']);
  });
  it('variables: $name ${name} positional and specials; a lone $ is literal', () => {
    expect(kinds('echo $a$1 ${10} $# $? $* $@ $ $-')).toEqual([
      'w:echo',
      'w:$a|$1',
      'w:$10',
      'w:$#',
      'w:$?',
      'w:$*',
      'w:$@',
      'w:$',
      'w:$-',
      'eof',
    ]);
  });
  it('braces are tokens; empty quotes still make a word', () => {
    expect(kinds('menuentry \'\' "" {x}')).toEqual(['w:menuentry', 'w:', 'w:', 'lbrace', 'w:x', 'rbrace', 'eof']);
  });
  it('plain is set only for unquoted literal words (keyword candidates)', () => {
    expect(words('if "if" i\\f').map((w) => w.plain)).toEqual(['if', null, null]);
  });
  it('tracks lines and columns across multi-line quotes and continuations', () => {
    const w = words("a 'x\ny'\n  b\\\nc\nd");
    expect(w.map((x) => [x.line, x.col])).toEqual([
      [1, 0],
      [1, 2],
      [3, 2],
      [5, 0],
    ]);
  });
  it('an unterminated quote is an error token on its line; lexing resumes on the next line', () => {
    const toks = lex("echo 'oops\nset a=1\n");
    expect(toks[1]).toMatchObject({ kind: 'error', line: 1 });
    expect(kinds("echo 'oops\nset a=1\n").slice(2)).toEqual(['nl', 'w:set', 'w:a=1', 'nl', 'eof']);
  });
});

describe('GRUB parser', () => {
  it('parses if/elif/else, for, while/until, function, menuentry/submenu/hiddenentry', () => {
    const p = parse(
      [
        'if [ a ]; then echo 1; elif true; then echo 2; else echo 3; fi',
        'for x in a b c; do echo $x; done',
        'while false; do echo; done; until true; do echo; done',
        'function f { echo $1; }',
        "menuentry 'A' --id a { linux /k }",
        "submenu 'S' { menuentry 'B' { linux /k } }",
        'hiddenentry "H" { linux /k }',
        '{ echo block; }',
      ].join('\n'),
    );
    expect(p.errors).toEqual([]);
    expect(p.cmds.map((c) => c.kind)).toEqual([
      'if',
      'for',
      'while',
      'while',
      'function',
      'menu',
      'menu',
      'menu',
      'block',
    ]);
  });
  it('reserved words are only keywords at command position', () => {
    const p = parse('echo if then fi do done menuentry\n');
    expect(p.errors).toEqual([]);
    expect(p.cmds).toHaveLength(1);
  });
  it('a parse error names the line; the next column-0 command still parses', () => {
    const p = parse("menuentry 'A' {\n  linux /a\nmenuentry 'B' {\n  linux /b\n}\n");
    expect(p.errors).toHaveLength(1);
    expect(p.errors[0]!.message).toMatch(/expected '}'/);
    expect(p.cmds).toHaveLength(1);
    expect(p.cmds[0]).toMatchObject({ kind: 'menu', line: 3 });
  });
  it('stray fi, unexpected } and missing then are errors with lines; the rest survives', () => {
    const p = parse('fi\nset a=1\nif true\necho x\nfi\n}\nset b=2\n');
    expect(p.errors.map((e) => [e.line, e.message])).toEqual([
      [1, "unexpected 'fi'"],
      [5, "unexpected 'fi'"],
      [6, "unexpected '}'"],
    ]);
    expect(p.cmds.map((c) => (c.kind === 'simple' ? c.words[1]!.plain : c.kind))).toEqual(['a=1', 'b=2']);
  });
  it('nesting beyond the parser limit is an error, not a stack overflow', () => {
    const p = parse('if true; then '.repeat(5000) + 'echo' + '; fi'.repeat(5000));
    expect(p.errors[0]!.message).toMatch(/nesting deeper than/);
  });
});
