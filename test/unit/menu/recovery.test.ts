// With a TPM measuring the boot, the editor opens only after the UI extended PCR 4
// (docs/measured-boot.md §2): `e` asks for it first (after the password, when one is set), once.

import { describe, expect, it } from 'vitest';
import { MenuState } from '../../../src/menu/state';
import { all, settings } from './entries';

function menu(opts = {}) {
  const st = new MenuState({ canQuit: true, measureRecovery: true, ...opts });
  st.setEntries(all, settings('debian.conf'));
  return st;
}

describe('editor behind the PCR 4 recovery measurement', () => {
  it('e asks for the measurement; the editor opens only once it is done', () => {
    const st = menu();
    expect(st.key('e')).toEqual({ kind: 'recovery', then: 'editor' });
    expect(st.mode.kind).toBe('list');
    expect(st.recoveryMeasured('editor')).toEqual({ kind: 'none' });
    expect(st.mode).toMatchObject({ kind: 'editor', entry: { id: 'debian.conf' } });
    // Once per boot: the next `e` opens at once.
    st.key('escape');
    expect(st.key('e')).toEqual({ kind: 'none' });
    expect(st.mode.kind).toBe('editor');
  });

  it('the password comes first, then the measurement', () => {
    const st = menu({ passwordRequired: true });
    st.key('e');
    expect(st.mode.kind).toBe('password');
    expect(st.passwordAccepted('editor')).toEqual({ kind: 'recovery', then: 'editor' });
    expect(st.mode.kind).toBe('list');
  });

  it('without a TPM (measureRecovery off) the editor opens at once, as before', () => {
    const st = menu({ measureRecovery: false });
    expect(st.key('e')).toEqual({ kind: 'none' });
    expect(st.mode.kind).toBe('editor');
  });

  it('a disabled editor is refused before anything is measured', () => {
    const st = new MenuState({ measureRecovery: true });
    st.setEntries(all, settings('debian.conf', { editor: false }));
    expect(st.key('e')).toEqual({ kind: 'none' });
    expect(st.mode.kind).toBe('error');
  });
});
