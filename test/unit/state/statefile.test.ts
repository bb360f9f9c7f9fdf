// tendril's state file (docs/state.md §3): the 512-byte block format, its updates, and how
// discovery finds and reads it on an ESP (real vfat images made by mkfs.vfat + mtools).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEnvBlock } from '../../../src/discovery/config/grubenv';
import { emptyState, STATE_FORMAT, type StateKey, updateState } from '../../../src/state/statefile';

const W = { file: '/loader/tendril-state', fsId: 'vda:1' };
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('the state block', () => {
  it('is 512 bytes: signature line, then # padding', () => {
    const b = emptyState();
    expect(b.length).toBe(512);
    expect(text(b)).toBe('# tendril state\n' + '#'.repeat(512 - 16));
  });

  it('sets, replaces and removes keys in place, keeping the size', () => {
    let b = emptyState();
    const set = (k: StateKey, v: string | null) => {
      const r = updateState(b, new Map([[k, v]]));
      if (!r.ok) throw new Error(r.error);
      b = r.block;
    };
    set('default', 'debian.conf');
    set('oneshot', 'fedora.conf');
    expect(text(b).startsWith('# tendril state\ndefault=debian.conf\noneshot=fedora.conf\n#')).toBe(true);
    set('default', 'arch.conf');
    set('oneshot', null);
    expect(b.length).toBe(512);
    expect([...parseEnvBlock(b, STATE_FORMAT, W).vars]).toEqual([['default', 'arch.conf']]);
  });

  it('refuses what it cannot store: a wrong size, a foreign block, ids with newlines, overflow', () => {
    expect(updateState(new Uint8Array(1024), new Map()).ok).toBe(false);
    expect(updateState(new Uint8Array(512), new Map())).toMatchObject({ ok: false, error: /no signature/ });
    expect(updateState(emptyState(), new Map([['default', 'a\nb']]))).toMatchObject({ ok: false });
    expect(updateState(emptyState(), new Map([['default', 'x'.repeat(600)]]))).toMatchObject({
      ok: false,
      error: /need \d+ bytes/,
    });
  });

  it('random blocks and ids: updateState never throws, and a success is 512 bytes that parse back', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.constantFrom<StateKey>('default', 'oneshot', 'last'),
        fc.option(fc.string({ maxLength: 80 }), { nil: null }),
        (junk, k, v) => {
          const start = junk.length % 2 === 0 ? emptyState() : junk;
          const r = updateState(start, new Map([[k, v]]));
          if (!r.ok) return;
          expect(r.block.length).toBe(512);
          const back = parseEnvBlock(r.block, STATE_FORMAT, W).vars.get(k);
          expect(back).toBe(v === null ? undefined : v);
        },
      ),
      { numRuns: 500 },
    );
  });
});
