// Schema enforcement (docs/sprout.md §1–§10, §17.1): version gate, string-only value maps, required
// fields, one kind per action/generator, and unknown keys reported with their line.
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../src/discovery/diagnostics';
import { mergeDocuments } from '../../../src/discovery/sources/sprout/dropins';
import { KeyLocator } from '../../../src/discovery/sources/sprout/locate';
import { validateConfig } from '../../../src/discovery/sources/sprout/schema';

function load(text: string) {
  const diagnostics: Diagnostic[] = [];
  const merged = mergeDocuments([{ file: '/sprout.toml', text }], 'vda:1', diagnostics);
  if (!merged) return { config: undefined, diagnostics };
  const v = validateConfig(merged.raw, merged.locate, 'vda:1');
  return { config: v.config, diagnostics: [...diagnostics, ...v.diagnostics] };
}
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
const find = (ds: Diagnostic[], re: RegExp) => {
  const d = ds.find((x) => re.test(x.message));
  if (!d) throw new Error(`no diagnostic ${re} in:\n${ds.map((x) => `${x.line}: ${x.message}`).join('\n')}`);
  return d;
};

describe('version gate (docs/sprout.md §1)', () => {
  it('missing version means 1', () => {
    expect(load('[values]\na = "b"\n').config?.values.get('a')).toBe('b');
  });
  it('version = 2 fails with "unsupported configuration version: 2" at its line', () => {
    const r = load('\n\nversion = 2\n');
    expect(r.config).toBeUndefined();
    const d = find(r.diagnostics, /unsupported configuration version: 2/);
    expect(d).toMatchObject({ severity: 'error', file: '/sprout.toml', line: 3 });
  });
  it('a non-integer version fails with "unable to get configuration version"', () => {
    const r = load('version = "1"\n');
    expect(r.config).toBeUndefined();
    find(r.diagnostics, /unable to get configuration version/);
  });
});

describe('TOML errors', () => {
  it('a syntax error names line and column', () => {
    const r = load('version = 1\n[values]\nbroken = \n');
    expect(r.config).toBeUndefined();
    expect(find(r.diagnostics, /TOML syntax error at column/)).toMatchObject({ line: 3, file: '/sprout.toml' });
  });
  it('duplicate tables are a TOML error', () => {
    const t =
      '[extractors.boot.filesystem-device-match]\nhas-item = "a"\n[extractors.boot.filesystem-device-match]\nhas-item = "b"\n';
    const r = load(t);
    expect(r.config).toBeUndefined();
    expect(find(r.diagnostics, /TOML syntax error/).line).toBe(3);
  });
});

describe('value maps are string → string', () => {
  it('a non-string [values] item is a warning with its line; other values survive', () => {
    const t = 'version = 1\n[values]\nok = "yes"\nnum = 5\nflag = true\n';
    const r = load(t);
    expect(r.config?.values).toEqual(new Map([['ok', 'yes']]));
    expect(find(r.diagnostics, /value "num" must be a string, not integer/)).toMatchObject({
      severity: 'warning',
      line: 4,
    });
    expect(find(r.diagnostics, /value "flag" must be a string, not boolean/).line).toBe(5);
  });
  it('entry values in an inline table: the bad key is located on its line', () => {
    const t = '[entries.a]\ntitle = "A"\nvalues = { x = "1", y = 2 }\n';
    const r = load(t);
    expect(r.config?.entries[0]?.values).toEqual(new Map([['x', '1']]));
    expect(find(r.diagnostics, /value "y"/).line).toBe(3);
  });
});

describe('unknown keys are warnings naming key and line (docs/sprout.md §17.1)', () => {
  const t = [
    'version = 1', //                              1
    '[defaults]', //                               2  historic name of [options]
    'entry = "x"', //                              3
    '[options]', //                                4
    'menu-timout = 3', //                          5
    '[entries.a]', //                              6
    'title = "A"', //                              7
    'titel = "typo"', //                           8
    '[actions.go.chainload]', //                   9
    'path = "\\\\vmlinuz"', //                    10
    'pth = "x"', //                               11
    '[actions.old]', //                           12
    'splash.image = "x.bmp"', //                  13
    '[generators.g.matrix]', //                   14
    'entry.title = "$x"', //                      15
    'entry.sortkey = "1"', //                     16
    'values.x = ["1"]', //                        17
    '[[phases.startup]]', //                      18
    'actions = []', //                            19
    '[[phases.startup]]', //                      20
    'action = ["a"]', //                          21
    '[extractors.e.filesystem-device-match]', //  22
    'has-lable = "ESP"', //                       23
    'has-item = "\\\\x"', //                      24
  ].join('\n');
  const r = load(t);
  const cases: [RegExp, number][] = [
    [/unknown key "defaults" in the top level/, 2],
    [/unknown key "menu-timout" in \[options\]/, 5],
    [/unknown key "titel" in \[entries\.a\]/, 8],
    [/unknown key "pth" in \[actions\.go\.chainload\]/, 11],
    [/unknown key "splash" in \[actions\.old\]/, 13],
    [/unknown key "sortkey" in \[generators\.g\.matrix\.entry\]/, 16],
    [/unknown key "action" in \[phases\.startup\[1\]\]/, 21],
    [/unknown key "has-lable"/, 23],
  ];
  for (const [re, line] of cases) {
    it(`${re.source} → line ${line}`, () => {
      expect(find(r.diagnostics, re)).toMatchObject({ severity: 'warning', file: '/sprout.toml', line });
    });
  }
  it('an action with only unknown kinds is "unknown action configuration" (it fails when run)', () => {
    expect(r.config?.actions.get('old')).toMatchObject({ problem: 'unknown action configuration' });
  });
});

describe('required fields and kinds', () => {
  it('entries need a title; the rest of the config survives', () => {
    const r = load('[entries.a]\nactions = []\n[entries.b]\ntitle = "B"\n');
    expect(r.config?.entries.map((e) => e.name)).toEqual(['b']);
    expect(find(r.diagnostics, /entries\.a skipped: "title" is required/)).toMatchObject({
      severity: 'error',
      line: 1,
    });
  });
  it('chainload needs path; edera needs xen and kernel', () => {
    const r = load('[actions.c.chainload]\noptions = []\n[actions.e.edera]\nxen = "x"\n');
    const problem = (name: string) => {
      const a = r.config?.actions.get(name);
      return a?.kind === 'broken' ? a.problem : undefined;
    };
    expect(problem('c')).toMatch(/chainload needs/);
    expect(problem('e')).toMatch(/edera needs/);
  });
  it('several kinds in one action: first of chainload → print → edera runs, with a warning', () => {
    const t = '[actions.x]\nprint.text = "hi"\nedera.xen = "a"\nedera.kernel = "b"\nchainload.path = "k"\n';
    const r = load(t);
    expect(r.config?.actions.get('x')?.kind).toBe('chainload');
    expect(find(r.diagnostics, /several kinds \(chainload, print, edera\); only chainload runs/)).toMatchObject({
      severity: 'warning',
      line: 1,
    });
  });
  it('generator precedence matrix → bls → list, with a warning', () => {
    const t = '[generators.g]\nlist.entry.title = "l"\nmatrix.entry.title = "m"\n';
    const r = load(t);
    expect(r.config?.generators[0]?.kind).toBe('matrix');
    find(r.diagnostics, /several kinds \(matrix, list\)/);
  });
  it('extractors need at least one criterion and GUIDs must parse', () => {
    const t =
      '[extractors.a.filesystem-device-match]\nfallback = "x"\n[extractors.b.filesystem-device-match]\nhas-partition-uuid = "nope"\n';
    const r = load(t);
    expect(r.config?.extractors.map((e) => e.problem)).toEqual([
      'at least one criteria is required',
      'has-partition-uuid is not a GUID',
    ]);
    expect(find(r.diagnostics, /is not a GUID/).line).toBe(4);
  });
  it('menu-timeout must be a non-negative integer', () => {
    const r = load('[options]\nmenu-timeout = -1\n');
    expect(r.config?.options.menuTimeout).toBe(10);
    expect(find(r.diagnostics, /menu-timeout must be a non-negative integer/).line).toBe(2);
  });
  it('maps iterate in byte order, as sprout’s BTreeMaps', () => {
    const r = load('[entries.b]\ntitle="b"\n[entries.B]\ntitle="B"\n[entries.a]\ntitle="a"\n');
    expect(r.config?.entries.map((e) => e.name)).toEqual(['B', 'a', 'b']);
  });
});

describe('KeyLocator', () => {
  it('places dotted keys, quoted keys, array tables and skips multi-line strings', () => {
    const t = [
      '[a."b.c"]', //              1
      'x.y = 1', //                2
      's = """', //                3
      '[not.a.table]', //          4
      'z = 1', //                  5
      '"""', //                    6
      '[[p.q]]', //                7
      '[[p.q]]', //                8
      "'k w' = 2", //              9
    ].join('\n');
    const l = new KeyLocator(t);
    expect(l.line(['a', 'b.c'])).toBe(1);
    expect(l.line(['a', 'b.c', 'x', 'y'])).toBe(2);
    expect(l.has(['not', 'a', 'table'])).toBe(false);
    expect(l.line(['p', 'q', 1, 'k w'])).toBe(9);
    expect(l.line(['p', 'q', 0, 'missing'])).toBe(7);
    expect(lineOf(t, 'k w')).toBe(9);
  });
});
