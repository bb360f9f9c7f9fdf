// A small argv parser: `--flag`, `--opt VALUE`, `--opt=VALUE`, repeatable options.
// Unknown options are errors (a typo must not silently change what boots).

export interface ArgSpec {
  readonly flags?: readonly string[];
  readonly options?: readonly string[];
  readonly repeatable?: readonly string[];
}

export interface ParsedArgs {
  readonly flags: Set<string>;
  readonly options: Map<string, string>;
  readonly lists: Map<string, string[]>;
  readonly positional: string[];
}

export class ArgError extends Error {}

export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const flags = new Set<string>();
  const options = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (spec.flags?.includes(name)) {
      if (eq > 0) throw new ArgError(`--${name} takes no value`);
      flags.add(name);
      continue;
    }
    const isOpt = spec.options?.includes(name);
    const isList = spec.repeatable?.includes(name);
    if (!isOpt && !isList) throw new ArgError(`unknown option --${name}`);
    let value: string;
    if (eq > 0) value = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new ArgError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (isList) lists.set(name, [...(lists.get(name) ?? []), value]);
    else options.set(name, value);
  }
  return { flags, options, lists, positional };
}

export function numberOption(args: ParsedArgs, name: string): number | undefined {
  const v = args.options.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new ArgError(`--${name}: not a non-negative number: ${v}`);
  return n;
}
