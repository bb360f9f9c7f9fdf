// Drop-ins (tendril extension, format documented at the top of dropins.ts): sprout.d/*.toml
// merged in name order, key-by-key table merge, arrays replace, [mask] removes tables,
// version must agree, broken drop-ins are skipped with file and line.
import { afterEach, describe, expect, it } from 'vitest';
import type { LinuxTarget, SourceEntry } from '../../../src/discovery/model';
import { sproutSource } from '../../../src/discovery/sources/sprout';
import { esp, makeCtx, type Files, type TestCtx } from './tree';
import { isBootable, targetOf } from '../../fixtures/status';

const K = { real: 'kernel' } as const;
let t: TestCtx | undefined;
afterEach(() => t?.cleanup());

const nameOf = (e: SourceEntry) => e.sourceId.replace(/^sprout:vda:1:/, '');
const MAIN = `version = 1
[values]
cmdline = "root=LABEL=rootfs ro"
[actions.linux]
chainload.path = "vmlinuz"
chainload.options = ["$cmdline"]
[actions.debug]
chainload.path = "vmlinuz"
chainload.options = ["$cmdline", "debug"]
[entries.stable]
title = "Linux"
sort-key = "2"
actions = ["linux"]
[entries.debug]
title = "Linux (debug)"
sort-key = "1"
actions = ["debug"]
`;

async function run(dropins: Record<string, string>, extra: Files = {}) {
  const files: Files = { 'sprout.toml': MAIN, vmlinuz: K, ...extra };
  for (const [n, text] of Object.entries(dropins)) (files as Record<string, string>)[`sprout.d/${n}`] = text;
  t = makeCtx([esp(files)]);
  return sproutSource(t.ctx);
}
const cmd = (e: SourceEntry | undefined) => (targetOf(e!) as LinuxTarget).cmdline;

describe('sprout.d drop-ins', () => {
  it('override: a later file replaces one key and keeps the table’s other keys', async () => {
    const r = await run({ '10-title.toml': '[entries.stable]\ntitle = "Linux (local)"\n' });
    expect(r.entries.map((e) => [nameOf(e), e.title])).toEqual([
      ['stable', 'Linux (local)'],
      ['debug', 'Linux (debug)'],
    ]);
    expect(isBootable(r.entries[0]!)).toBe(true);
  });

  it('order: files apply in name order, the last one wins', async () => {
    const r = await run({
      '20-b.toml': '[values]\ncmdline = "from-20"\n',
      '10-a.toml': '[values]\ncmdline = "from-10"\n',
      'notes.txt': '[values]\ncmdline = "ignored"\n',
    });
    expect(cmd(r.entries[0])).toBe('from-20');
  });

  it('arrays replace instead of concatenating', async () => {
    const r = await run({ 'opts.toml': '[actions.linux]\nchainload.options = ["quiet"]\n' });
    expect(cmd(r.entries[0])).toBe('quiet');
  });

  it('mask: [mask] entries = [...] removes an entry; the origin of remaining ones is unchanged', async () => {
    const r = await run({ '50-mask.toml': '[mask]\nentries = ["debug"]\nactions = ["debug"]\n' });
    expect(r.entries.map(nameOf)).toEqual(['stable']);
    expect(r.diagnostics.map((d) => d.message)).toContain('drop-in masks entries.debug');
  });

  it('mask + redefine in one drop-in replaces a table wholesale (no key-by-key merge)', async () => {
    const r = await run({ '50-redo.toml': '[mask]\nentries = ["stable"]\n[entries.stable]\ntitle = "Only a title"\n' });
    const s = r.entries.find((e) => nameOf(e) === 'stable')!;
    expect(s.title).toBe('Only a title');
    // Its actions and sort-key are gone: not bootable, sorted by its name, and a digit run
    // beats letters in UAPI.10, so debug's "1" now sorts above "stable".
    expect(isBootable(s)).toBe(false);
    expect(r.entries.map(nameOf)).toEqual(['debug', 'stable']);
    expect(s.origin).toMatchObject({ file: '/sprout.d/50-redo.toml', line: 3 });
  });

  it('a later drop-in can re-add what an earlier one masked', async () => {
    const r = await run({
      '10-mask.toml': '[mask]\nentries = ["debug"]\n',
      '20-back.toml': '[entries.debug]\ntitle = "Back"\nactions = ["debug"]\n',
    });
    expect(r.entries.map((e) => e.title)).toEqual(['Linux', 'Back']);
  });

  it('mask values and phases; unknown mask sections are warnings with their line', async () => {
    const r = await run({
      'm.toml': '[mask]\nvalues = ["cmdline"]\nwidgets = ["x"]\nentries = ["nope"]\n',
    });
    expect(cmd(r.entries[0])).toBe('$cmdline');
    const warn = r.diagnostics.find((d) => /unknown key "widgets" in \[mask\]/.test(d.message));
    expect(warn).toMatchObject({ severity: 'warning', file: '/sprout.d/m.toml', line: 3 });
    expect(r.diagnostics.map((d) => d.message)).toContain('mask entries.nope: nothing to mask');
  });

  it('version must agree: a drop-in with version = 2 is skipped, the rest applies', async () => {
    const r = await run({
      '10-v2.toml': 'version = 2\n[values]\ncmdline = "v2"\n',
      '20-ok.toml': '[values]\ncmdline = "ok"\n',
    });
    expect(cmd(r.entries[0])).toBe('ok');
    expect(r.diagnostics.find((d) => /unsupported configuration version: 2/.test(d.message))).toMatchObject({
      file: '/sprout.d/10-v2.toml',
      line: 1,
    });
  });

  it('a drop-in with a TOML error is skipped with file and line', async () => {
    const r = await run({ 'bad.toml': '[values]\n\ncmdline = \n' });
    expect(cmd(r.entries[0])).toBe('root=LABEL=rootfs ro');
    expect(r.diagnostics.find((d) => /TOML syntax error/.test(d.message))).toMatchObject({
      file: '/sprout.d/bad.toml',
      line: 3,
    });
  });

  it('unknown keys are reported in the file and at the line that defined them', async () => {
    const r = await run({ 'typo.toml': '# comment\n[entries.stable]\ntitel = "x"\n' });
    expect(r.diagnostics.find((d) => /unknown key "titel"/.test(d.message))).toMatchObject({
      file: '/sprout.d/typo.toml',
      line: 3,
    });
  });

  it('[mask] in the main sprout.toml has nothing to act on and is reported', async () => {
    t = makeCtx([
      esp({ 'sprout.toml': `[mask]\nentries = ["stable"]\n${MAIN.replace('version = 1\n', '')}`, vmlinuz: K }),
    ]);
    const r = await sproutSource(t.ctx);
    expect(r.entries.map(nameOf)).toEqual(['stable', 'debug']);
    expect(r.diagnostics.find((d) => /\[mask\] in the main config/.test(d.message))?.line).toBe(1);
  });
});
