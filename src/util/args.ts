// The one argument parser of every `tendril` command (and of the initramfs builder). A command
// declares its options once (kind, value name, help, range); the parser turns argv into typed
// values and the usage's option list comes from the same declaration (test/unit/cli checks
// that each hand-written synopsis names every option).
//
// Syntax: `--flag`, `--opt VALUE`, `--opt=VALUE`, `-h`/`--help` on every command, `--` ends the
// options. An option key `dryRun` is spelled `--dry-run`. A separate value may not itself start
// with `--` (`--entry --default` is a missing value, not an id); `--opt=--x` passes one.
// Unknown options, missing values, bad numbers and a repeated single-valued option are errors:
// a typo must not silently change what boots.

export class ArgError extends Error {
  override readonly name = 'ArgError';
}

interface OptionBase {
  readonly help: string;
}

export interface FlagDef extends OptionBase {
  readonly kind: 'flag';
}

export interface ValueDef<T, R extends boolean> extends OptionBase {
  readonly kind: 'value';
  /** The value's name in the usage (`FILE`, `S`, `SIZE`). */
  readonly metavar: string;
  /** Repeatable options collect every value in order; the others may be given once. */
  readonly repeat: R;
  /** The raw text to a value; throws ArgError whose message continues "--opt ...". */
  readonly parse: (raw: string) => T;
}

export type OptionDef = FlagDef | ValueDef<unknown, boolean>;
export type OptionMap = Readonly<Record<string, OptionDef>>;

export type OptionValue<D> = D extends FlagDef
  ? boolean
  : D extends ValueDef<infer T, infer R>
    ? R extends true
      ? T[]
      : T | undefined
    : never;

export type Options<O extends OptionMap> = { readonly [K in keyof O]: OptionValue<O[K]> };

export interface Parsed<O extends OptionMap> {
  readonly opts: Options<O>;
  readonly positional: readonly string[];
}

export interface PositionalSpec {
  /** How the usage names them, e.g. `PASSWORD`. */
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly help: string;
}

export interface CommandSpec<O extends OptionMap, T> {
  /** The command word: messages read `tendril <name>: ...`. */
  readonly name: string;
  /** For a command that is not a `tendril` subcommand: how the usage spells it and what error
   *  lines start with (default `tendril <name>` for both). */
  readonly invocation?: string;
  readonly label?: string;
  /** What follows the command in the usage line (hand-written: it shows alternatives and repeats). */
  readonly synopsis: string;
  readonly summary?: string;
  readonly options: O;
  /** Without this, any operand is an error. */
  readonly positional?: PositionalSpec;
  /** Lines printed after the option list. */
  readonly notes?: readonly string[];
  /** The command's own argument type from the parsed options; throws ArgError for bad combinations. */
  readonly build: (p: Parsed<O>) => T;
}

export type ParseOutcome<T> = { readonly kind: 'args'; readonly args: T } | { readonly kind: 'help' };

// ---- option constructors ----

export function flag(o: { readonly help: string }): FlagDef {
  return { kind: 'flag', help: o.help };
}

interface ValueOpts<R extends boolean> {
  readonly metavar: string;
  readonly help: string;
  readonly repeat?: R;
}

/** Any value of the option's own syntax, converted by `parse` (which throws ArgError). */
export function custom<T, R extends boolean = false>(
  o: ValueOpts<R> & { readonly parse: (raw: string) => T },
): ValueDef<T, R> {
  return { kind: 'value', metavar: o.metavar, help: o.help, repeat: (o.repeat ?? false) as R, parse: o.parse };
}

/** Text; empty text is refused unless `empty` allows it (`--cmdline ''` is a real command line). */
export function text<R extends boolean = false>(o: ValueOpts<R> & { readonly empty?: boolean }): ValueDef<string, R> {
  return custom({
    ...o,
    parse: (raw) => {
      if (raw === '' && !o.empty) throw new ArgError('needs a value');
      return raw;
    },
  });
}

export function choice<const V extends string>(o: {
  readonly values: readonly V[];
  readonly help: string;
}): ValueDef<V, false> {
  return custom({
    metavar: o.values.join('|'),
    help: o.help,
    parse: (raw) => {
      const v = o.values.find((x) => x === raw);
      if (v === undefined) throw new ArgError(`must be one of ${o.values.join(', ')}, got '${raw}'`);
      return v;
    },
  });
}

export interface NumberRange {
  readonly min: number;
  readonly max: number;
  /** Refuse fractions. */
  readonly integer?: boolean;
  /** Shown after the range, e.g. `seconds`. */
  readonly unit?: string;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** A decimal number within [min, max]: no hex, exponents, `Infinity` or empty text. */
export function parseNumber(raw: string, r: NumberRange): number {
  const what = `${r.integer ? 'a whole number' : 'a number'} in ${r.min}..${r.max}${r.unit ? ` (${r.unit})` : ''}`;
  const n = Number(raw);
  if (!DECIMAL.test(raw) || !Number.isFinite(n) || (r.integer && !Number.isSafeInteger(n)) || n < r.min || n > r.max)
    throw new ArgError(`needs ${what}, got '${raw}'`);
  return n;
}

export function num<R extends boolean = false>(o: ValueOpts<R> & NumberRange): ValueDef<number, R> {
  return custom({ ...o, parse: (raw) => parseNumber(raw, o) });
}

const SIZE_UNITS = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as const;
type SizeUnit = keyof typeof SIZE_UNITS;

/** `123` (in the default unit) or `123K`, `123M`, `123G` with optional `B`/`iB`; binary units. */
export function parseSize(raw: string, defaultUnit: number): number | undefined {
  const m = /^(\d+)(?:([KMG])(?:i?B)?)?$/i.exec(raw);
  if (!m) return undefined;
  const unit = m[2] ? SIZE_UNITS[m[2].toUpperCase() as SizeUnit] : defaultUnit;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The shortest exact spelling: 134217728 → `128M`. */
export function formatSize(n: number): string {
  for (const u of ['G', 'M', 'K'] as const) if (n % SIZE_UNITS[u] === 0) return `${n / SIZE_UNITS[u]}${u}`;
  return String(n);
}

/** A byte count with K/M/G suffixes; a bare number counts `defaultUnit` bytes. */
export function size<R extends boolean = false>(
  o: ValueOpts<R> & { readonly min: number; readonly max: number; readonly defaultUnit: number },
): ValueDef<number, R> {
  return custom({
    ...o,
    parse: (raw) => {
      const n = parseSize(raw, o.defaultUnit);
      if (n === undefined || n < o.min || n > o.max)
        throw new ArgError(`needs a size in ${formatSize(o.min)}..${formatSize(o.max)} (K/M/G suffix), got '${raw}'`);
      return n;
    },
  });
}

// ---- parsing ----

export function optionName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Parse argv against the options; `--help` anywhere before `--` asks for the usage. */
export function parseCommand<O extends OptionMap, T>(
  spec: CommandSpec<O, T>,
  argv: readonly string[],
): ParseOutcome<T> {
  const byName = new Map<string, string>();
  for (const key of Object.keys(spec.options)) byName.set(optionName(key), key);
  const values: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(spec.options))
    values[key] = def.kind === 'flag' ? false : def.repeat ? [] : undefined;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h' || a === '--help') return { kind: 'help' };
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.startsWith('--') ? (eq > 0 ? a.slice(2, eq) : a.slice(2)) : '';
    const key = byName.get(name);
    const def = key === undefined ? undefined : spec.options[key];
    if (key === undefined || def === undefined) throw new ArgError(`unknown option ${eq > 0 ? a.slice(0, eq) : a}`);
    if (def.kind === 'flag') {
      if (eq > 0) throw new ArgError(`--${name} takes no value`);
      values[key] = true;
      continue;
    }
    let raw: string;
    if (eq > 0) raw = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ArgError(`--${name} needs a value`);
      raw = next;
      i++;
    }
    let value: unknown;
    try {
      value = def.parse(raw);
    } catch (e) {
      if (e instanceof ArgError) throw new ArgError(`--${name} ${e.message}`);
      throw e;
    }
    if (def.repeat) (values[key] as unknown[]).push(value);
    else if (values[key] !== undefined) throw new ArgError(`--${name} given more than once`);
    else values[key] = value;
  }
  const p = spec.positional;
  if (!p && positional.length > 0) throw new ArgError(`unexpected argument '${positional[0]}'`);
  if (p && positional.length > p.max) throw new ArgError(`unexpected argument '${positional[p.max]}'`);
  if (p && positional.length < p.min) throw new ArgError(`needs ${p.name}`);
  return { kind: 'args', args: spec.build({ opts: values as Options<O>, positional }) };
}

export function usage<O extends OptionMap, T>(spec: CommandSpec<O, T>): string {
  const rows: [string, string][] = [];
  if (spec.positional) rows.push([spec.positional.name, spec.positional.help]);
  for (const [key, def] of Object.entries(spec.options)) {
    const left = `--${optionName(key)}${def.kind === 'value' ? ` ${def.metavar}` : ''}`;
    rows.push([left, def.kind === 'value' && def.repeat ? `${def.help} (repeatable)` : def.help]);
  }
  rows.push(['-h, --help', 'this text']);
  const width = Math.min(28, Math.max(...rows.map(([l]) => l.length)));
  const indent = ' '.repeat(width + 4);
  const lines = [`usage: ${spec.invocation ?? `tendril ${spec.name}`} ${spec.synopsis}`];
  if (spec.summary) lines.push(spec.summary);
  for (const [l, r] of rows) {
    const help = wrap(r, USAGE_WIDTH - indent.length);
    if (l.length > width) lines.push(`  ${l}`, ...help.map((h) => indent + h));
    else lines.push(`  ${l.padEnd(width)}  ${help[0] ?? ''}`, ...help.slice(1).map((h) => indent + h));
  }
  for (const n of spec.notes ?? []) lines.push(n);
  return lines.join('\n') + '\n';
}

const USAGE_WIDTH = 100;

function wrap(s: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of s.split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      out.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  out.push(line);
  return out;
}

export interface ArgsIo {
  readonly out: { write(s: string): unknown };
  readonly err: { write(s: string): unknown };
}

export type CommandArgs<T> = { readonly args: T } | { readonly exit: number };

/**
 * The CLI side of parseCommand: `--help` prints the usage on stdout (exit 0); an ArgError
 * prints one line `tendril <name>: <message>` and the usage on stderr (exit 2).
 */
export function commandArgs<O extends OptionMap, T>(
  spec: CommandSpec<O, T>,
  argv: readonly string[],
  io: ArgsIo = { out: process.stdout, err: process.stderr },
): CommandArgs<T> {
  try {
    const r = parseCommand(spec, argv);
    if (r.kind === 'args') return { args: r.args };
    io.out.write(usage(spec));
    return { exit: 0 };
  } catch (e) {
    if (!(e instanceof ArgError)) throw e;
    io.err.write(`${spec.label ?? `tendril ${spec.name}`}: ${e.message}\n${usage(spec)}`);
    return { exit: 2 };
  }
}
