// The one argument parser (src/util/args.ts): typed values, the error messages every command
// prints, and the usage generated from the same declaration.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ArgError,
  choice,
  commandArgs,
  type CommandSpec,
  flag,
  formatSize,
  num,
  type OptionMap,
  type Parsed,
  parseCommand,
  parseNumber,
  parseSize,
  size,
  text,
  usage,
} from '../../../src/util/args';

const OPTIONS = {
  json: flag({ help: 'as JSON' }),
  dryRun: flag({ help: 'do not' }),
  disk: text({ metavar: 'FILE', repeat: true, help: 'a disk' }),
  entry: text({ metavar: 'ID', help: 'an entry' }),
  append: text({ metavar: 'ARGS', repeat: true, empty: true, help: 'more' }),
  timeout: num({ metavar: 'S', min: 0, max: 3600, unit: 'seconds', help: 'seconds' }),
  deadline: num({ metavar: 'MS', integer: true, min: 100, max: 600_000, help: 'ms' }),
  offset: num({ metavar: 'N', integer: true, min: -10, max: 10, help: 'signed' }),
  policy: choice({ values: ['keep', 'replace'], help: 'policy' }),
  memory: size({ metavar: 'SIZE', min: 128 * 2 ** 20, max: 64 * 2 ** 30, defaultUnit: 2 ** 20, help: 'RAM' }),
};

function spec<O extends OptionMap>(options: O, extra: Partial<CommandSpec<O, Parsed<O>>> = {}) {
  return { name: 'demo', synopsis: '[options]', options, build: (p: Parsed<O>) => p, ...extra };
}

const DEMO = spec(OPTIONS);

function parse(argv: string[]) {
  const r = parseCommand(DEMO, argv);
  if (r.kind !== 'args') throw new Error('help asked for');
  return r.args;
}

function message(argv: string[]): string {
  try {
    parse(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(ArgError);
    return (e as Error).message;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
}

describe('parseCommand', () => {
  it('gives typed values with defaults for everything not given', () => {
    expect(parse([]).opts).toEqual({
      json: false,
      dryRun: false,
      disk: [],
      entry: undefined,
      append: [],
      timeout: undefined,
      deadline: undefined,
      offset: undefined,
      policy: undefined,
      memory: undefined,
    });
    const p = parse([
      '--json',
      '--dry-run',
      '--disk',
      'a.img',
      '--disk=b.img',
      '--entry=x.conf',
      '--append',
      '',
      '--append=--x',
      '--timeout',
      '2.5',
      '--deadline=1500',
      '--offset',
      '-3',
      '--policy',
      'keep',
      '--memory',
      '2G',
    ]);
    expect(p.opts).toEqual({
      json: true,
      dryRun: true,
      disk: ['a.img', 'b.img'],
      entry: 'x.conf',
      append: ['', '--x'],
      timeout: 2.5,
      deadline: 1500,
      offset: -3,
      policy: 'keep',
      memory: 2 * 2 ** 30,
    });
    expect(p.positional).toEqual([]);
  });

  it('names the option in every error, in one line', () => {
    expect(message(['--jsno'])).toBe('unknown option --jsno');
    expect(message(['--jsno=1'])).toBe('unknown option --jsno');
    expect(message(['-x'])).toBe('unknown option -x');
    expect(message(['--disk'])).toBe('--disk needs a value');
    expect(message(['--entry', '--json'])).toBe('--entry needs a value');
    expect(message(['--entry='])).toBe('--entry needs a value');
    expect(message(['--json=1'])).toBe('--json takes no value');
    expect(message(['--entry', 'a', '--entry', 'b'])).toBe('--entry given more than once');
    expect(message(['--timeout', 'x'])).toBe("--timeout needs a number in 0..3600 (seconds), got 'x'");
    expect(message(['--deadline', '1.5'])).toBe("--deadline needs a whole number in 100..600000, got '1.5'");
    expect(message(['--policy', 'all'])).toBe("--policy must be one of keep, replace, got 'all'");
    expect(message(['--memory', '64M'])).toBe("--memory needs a size in 128M..64G (K/M/G suffix), got '64M'");
    expect(message(['stray'])).toBe("unexpected argument 'stray'");
    for (const m of [message(['--timeout', 'x']), message(['--jsno'])]) expect(m).not.toContain('\n');
  });

  it('refuses numbers JavaScript would accept but a user did not mean', () => {
    for (const bad of ['', ' ', '0x10', '1e3', 'Infinity', 'NaN', '-1', '3601', '1.', '.5', '+1', '1_000'])
      expect(() => parseNumber(bad, { min: 0, max: 3600 }), bad).toThrow(ArgError);
    expect(() => parseNumber('9007199254740993', { min: 0, max: 2 ** 60, integer: true })).toThrow(ArgError);
    expect(parseNumber('0', { min: 0, max: 1 })).toBe(0);
    expect(parseNumber('3600', { min: 0, max: 3600 })).toBe(3600);
  });

  it('accepts exactly the in-range numbers (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), (n) => {
        const r = { min: -100, max: 100, integer: true };
        if (n >= -100 && n <= 100) expect(parseNumber(String(n), r)).toBe(n);
        else expect(() => parseNumber(String(n), r)).toThrow(ArgError);
      }),
    );
  });

  it('parses sizes with binary suffixes and refuses the rest', () => {
    expect(parseSize('1G', 2 ** 20)).toBe(2 ** 30);
    expect(parseSize('512m', 2 ** 20)).toBe(512 * 2 ** 20);
    expect(parseSize('4KiB', 2 ** 20)).toBe(4096);
    expect(parseSize('3MB', 2 ** 20)).toBe(3 * 2 ** 20);
    expect(parseSize('256', 2 ** 20)).toBe(256 * 2 ** 20);
    for (const bad of ['', 'G', '1T', '1.5G', '-1G', '1 G', '1GG', '99999999999999999G'])
      expect(parseSize(bad, 2 ** 20), bad).toBeUndefined();
    expect(formatSize(128 * 2 ** 20)).toBe('128M');
    expect(formatSize(64 * 2 ** 30)).toBe('64G');
    expect(formatSize(1536)).toBe('1536');
  });

  it('treats everything after -- as operands, and -h/--help as a request for the usage', () => {
    const withOperands = spec(OPTIONS, { positional: { name: 'X', min: 0, max: 2, help: 'x' } });
    expect(parseCommand(withOperands, ['--', '--json', '-x'])).toMatchObject({
      kind: 'args',
      args: { positional: ['--json', '-x'], opts: { json: false } },
    });
    expect(() => parseCommand(withOperands, ['a', 'b', 'c'])).toThrow("unexpected argument 'c'");
    const needsOne = spec(OPTIONS, { positional: { name: 'PASSWORD', min: 1, max: 1, help: 'x' } });
    expect(() => parseCommand(needsOne, [])).toThrow('needs PASSWORD');
    expect(parseCommand(DEMO, ['--json', '-h'])).toEqual({ kind: 'help' });
    expect(parseCommand(DEMO, ['--help', '--bogus'])).toEqual({ kind: 'help' });
    expect(() => parseCommand(DEMO, ['--', '--help'])).toThrow("unexpected argument '--help'");
  });

  it('passes the build step ArgErrors through as usage errors', () => {
    const oneOf = spec(OPTIONS, {
      build: (p) => {
        if (!p.opts.json) throw new ArgError('--json is required');
        return p;
      },
    });
    expect(() => parseCommand(oneOf, [])).toThrow('--json is required');
  });
});

describe('usage and commandArgs', () => {
  it('lists every option with its value name, and -h', () => {
    const u = usage(DEMO);
    expect(u.split('\n')[0]).toBe('usage: tendril demo [options]');
    for (const l of ['--json ', '--dry-run ', '--disk FILE ', '--timeout S ', '--policy keep|replace ', '-h, --help '])
      expect(u).toContain(`  ${l}`);
    expect(u).toMatch(/--disk FILE +a disk \(repeatable\)/);
    expect(u.endsWith('\n')).toBe(true);
  });

  it('prints one error line and the usage on stderr with exit 2; help on stdout with exit 0', () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: { write: (s: string) => out.push(s) }, err: { write: (s: string) => err.push(s) } };
    expect(commandArgs(DEMO, ['--timeout', '-5'], io)).toEqual({ exit: 2 });
    expect(err.join('')).toBe(`tendril demo: --timeout needs a number in 0..3600 (seconds), got '-5'\n${usage(DEMO)}`);
    expect(out).toEqual([]);
    err.length = 0;
    expect(commandArgs(DEMO, ['--help'], io)).toEqual({ exit: 0 });
    expect(out.join('')).toBe(usage(DEMO));
    expect(err).toEqual([]);
    expect(commandArgs(DEMO, ['--json'], io)).toMatchObject({ args: { opts: { json: true } } });
  });

  it('names a command that is not a tendril subcommand as it is typed', () => {
    const tool = spec({ out: text({ metavar: 'FILE', help: 'x' }) }, { invocation: 'npm run tool --', label: 'tool' });
    const err: string[] = [];
    const io = { out: { write: () => true }, err: { write: (s: string) => err.push(s) } };
    expect(commandArgs(tool, ['--out'], io)).toEqual({ exit: 2 });
    expect(err.join('').split('\n').slice(0, 2)).toEqual([
      'tool: --out needs a value',
      'usage: npm run tool -- [options]',
    ]);
  });

  it('does not turn a bug in a command into a usage error', () => {
    const broken = spec(OPTIONS, {
      build: () => {
        throw new RangeError('bug');
      },
    });
    const io = { out: { write: () => true }, err: { write: () => true } };
    expect(() => commandArgs(broken, [], io)).toThrow(RangeError);
  });
});
