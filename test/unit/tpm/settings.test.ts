// The [tpm] measure key: read from the settings file and from `tendril.tpm.measure=`, a bad
// value named with its file and line and the default ("auto") kept.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../../src/settings/load';

describe('[tpm] measure', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-tpm-settings-'));
  const file = (text: string): string => {
    const f = path.join(dir, `s${Math.random().toString(36).slice(2)}.toml`);
    fs.writeFileSync(f, text);
    return f;
  };

  it('defaults to auto', () => {
    expect(loadSettings({ file: path.join(dir, 'absent'), cmdline: '' }).settings.tpm.measure).toBe('auto');
  });

  it.each(['auto', 'off', 'require'] as const)('takes %s from the file', (v) => {
    const r = loadSettings({ file: file(`[tpm]\nmeasure = "${v}"\n`), cmdline: '' });
    expect(r).toMatchObject({ settings: { tpm: { measure: v } }, problems: [] });
  });

  it('a kernel argument overrides the file', () => {
    const r = loadSettings({ file: file('[tpm]\nmeasure = "require"\n'), cmdline: 'quiet tendril.tpm.measure=off' });
    expect(r.settings.tpm.measure).toBe('off');
  });

  it('a bad value is named with file and line, and auto is kept', () => {
    const f = file('[tpm]\n\nmeasure = "always"\n');
    const r = loadSettings({ file: f, cmdline: '' });
    expect(r.settings.tpm.measure).toBe('auto');
    expect(r.problems).toEqual([`${f}:3: tpm.measure: expected auto, off, require, got 'always'; default kept`]);
  });
});
