import { describe, expect, it } from 'vitest';
import { ArgError, numberOption, parseArgs } from '../../../src/util/args';

const spec = { flags: ['json'], options: ['timeout'], repeatable: ['disk'] };

describe('argument parsing', () => {
  it('parses flags, options and repeatable options in both spellings', () => {
    const a = parseArgs(['--json', '--disk', 'a.img', '--disk=b.img', '--timeout=5', 'pos'], spec);
    expect(a.flags.has('json')).toBe(true);
    expect(a.lists.get('disk')).toEqual(['a.img', 'b.img']);
    expect(numberOption(a, 'timeout')).toBe(5);
    expect(a.positional).toEqual(['pos']);
  });
  it('rejects unknown options and missing values', () => {
    expect(() => parseArgs(['--jsno'], spec)).toThrow(ArgError);
    expect(() => parseArgs(['--disk'], spec)).toThrow(/needs a value/);
    expect(() => parseArgs(['--json=1'], spec)).toThrow(/takes no value/);
    expect(() => numberOption(parseArgs(['--timeout', 'x'], spec), 'timeout')).toThrow(/not a non-negative number/);
  });
  it('treats everything after -- as positional', () => {
    expect(parseArgs(['--', '--json'], spec).positional).toEqual(['--json']);
  });
});
