// [trust] settings: the file sets them, a kernel argument may only make the policy stricter and
// never moves the key directories (docs/signatures.md §5).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../../src/settings/load';

let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-trust-settings-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const load = (toml: string, cmdline = '') => {
  const f = path.join(dir, 'tendril.toml');
  fs.writeFileSync(f, toml);
  return loadSettings({ file: f, cmdline });
};

describe('[trust]', () => {
  it('defaults: off, keys under /etc/tendril', () => {
    expect(load('').settings.trust).toEqual({ policy: 'off', db: '/etc/tendril/db', keys: '/etc/tendril/keys' });
  });
  it('the file sets policy and directories', () => {
    const r = load('[trust]\npolicy = "require"\ndb = "/x/db"\nkeys = "/x/keys"\n');
    expect(r.problems).toEqual([]);
    expect(r.settings.trust).toEqual({ policy: 'require', db: '/x/db', keys: '/x/keys' });
  });
  it('a kernel argument makes the policy stricter, never looser', () => {
    expect(load('[trust]\npolicy = "warn"\n', 'tendril.trust.policy=require').settings.trust.policy).toBe('require');
    const r = load('[trust]\npolicy = "require"\n', 'tendril.trust.policy=off');
    expect(r.settings.trust.policy).toBe('require');
    expect(r.problems.join('\n')).toMatch(/tendril\.trust\.policy: expected .*only makes it stricter/);
  });
  it('kernel arguments cannot move the key directories; bad values keep the default', () => {
    const r = load('[trust]\npolicy = "maybe"\ndb = "relative"\n', 'tendril.trust.db=/disk/db tendril.trust.keys=/k');
    expect(r.settings.trust).toEqual({ policy: 'off', db: '/etc/tendril/db', keys: '/etc/tendril/keys' });
    expect(r.problems).toHaveLength(4);
  });
});
