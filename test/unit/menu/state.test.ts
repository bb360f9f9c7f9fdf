import { describe, expect, it } from 'vitest';
import { MenuState } from '../../../src/menu/state';
import { ASCII, render } from '../../../src/menu/view';
import { all, fedora, settings } from './entries';

function menu(defaultId = 'debian.conf', opts = {}) {
  const st = new MenuState({ canQuit: true, ...opts });
  st.setEntries(all, settings(defaultId));
  return st;
}
const titles = (st: MenuState) => st.rows().map((r) => r.entry.id);

describe('menu rows', () => {
  it('folds versions of one OS under the newest, hides hidden entries, keeps bad ones', () => {
    const st = menu();
    expect(titles(st)).toEqual(['f39-6.5.conf', 'debian.conf', 'memtest.conf', 'old+0-3.conf']);
    expect(st.rows()[0]!.groupSize).toBe(3);
  });
  it('selects the default entry, expanding its group when it is an older member', () => {
    expect(menu('debian.conf').current?.id).toBe('debian.conf');
    const st = menu('f39-6.4.conf');
    expect(st.current?.id).toBe('f39-6.4.conf');
    expect(titles(st)).toEqual([
      'f39-6.5.conf',
      'f39-6.4.conf',
      'f39-6.3.conf',
      'debian.conf',
      'memtest.conf',
      'old+0-3.conf',
    ]);
  });
  it('opens and folds groups with Right and Left', () => {
    const st = menu('f39-6.5.conf');
    st.key('right');
    expect(titles(st)).toHaveLength(6);
    st.key('down');
    expect(st.current?.id).toBe('f39-6.4.conf');
    st.key('left');
    expect(titles(st)).toHaveLength(4);
    expect(st.current?.id).toBe('f39-6.5.conf');
  });
  it('shows hidden entries on request', () => {
    const st = menu();
    st.key('H');
    expect(titles(st)).toContain('hidden.conf');
  });
});

describe('menu keys', () => {
  it('moves with arrows, Home/End, PgUp/PgDn and digits', () => {
    const st = menu('f39-6.5.conf');
    st.key('down');
    expect(st.current?.id).toBe('debian.conf');
    st.key('end');
    expect(st.current?.id).toBe('old+0-3.conf');
    st.key('home');
    expect(st.current?.id).toBe('f39-6.5.conf');
    st.key('pagedown');
    expect(st.current?.id).toBe('old+0-3.conf');
    st.key('pageup');
    expect(st.current?.id).toBe('f39-6.5.conf');
    st.key('3');
    expect(st.current?.id).toBe('memtest.conf');
    st.key('9');
    expect(st.current?.id).toBe('memtest.conf');
  });
  it('boots the selection on Enter', () => {
    const st = menu();
    st.key('down');
    expect(st.key('enter')).toEqual({ kind: 'boot', entry: all[4] });
  });
  it('any key stops the countdown; otherwise the default boots when it ends', () => {
    const st = menu('debian.conf');
    st.startCountdown(2);
    expect(st.tick()).toEqual({ kind: 'none' });
    expect(st.tick()).toEqual({ kind: 'boot', entry: all[3] });
    const st2 = menu('debian.conf');
    st2.startCountdown(2);
    st2.key('x');
    expect(st2.countdown).toBeNull();
    expect(st2.tick()).toEqual({ kind: 'none' });
    expect(st2.tick()).toEqual({ kind: 'none' });
  });
  it('a key pressed before the countdown starts keeps it from starting', () => {
    const st = menu();
    st.key('down');
    st.startCountdown(5);
    expect(st.countdown).toBeNull();
  });
  it('searches titles and jumps to the match', () => {
    const st = menu();
    st.key('/');
    for (const c of 'fedora 39 (6.3') st.key(c === ' ' ? 'space' : c);
    expect(titles(st)).toEqual(['f39-6.3.conf']);
    st.key('enter');
    expect(st.mode.kind).toBe('list');
    expect(st.current?.id).toBe('f39-6.3.conf');
  });
  it('edits the command line and boots with the edited line', () => {
    const st = menu('debian.conf');
    st.key('e');
    expect(st.mode.kind).toBe('editor');
    for (const c of ' tendril.test=42') st.key(c === ' ' ? 'space' : c);
    expect(st.key('enter')).toEqual({
      kind: 'boot',
      entry: all[3],
      cmdline: 'root=/dev/vda2 ro debian.conf tendril.test=42',
    });
  });
  it('Esc leaves the editor without booting; Ctrl-U/K/A/E edit', () => {
    const st = menu('debian.conf');
    st.key('e');
    st.key('C-a');
    st.key('C-k');
    for (const c of 'quiet') st.key(c);
    st.key('C-a');
    st.key('x');
    if (st.mode.kind !== 'editor') throw new Error('not editing');
    expect(st.mode.editor.value).toBe('xquiet');
    st.key('C-e');
    st.key('C-u');
    expect(st.mode.editor.value).toBe('');
    expect(st.key('escape')).toEqual({ kind: 'none' });
    expect(st.mode.kind).toBe('list');
  });
  it('asks for the password before the editor and the shell', () => {
    const st = menu('debian.conf', { passwordRequired: true });
    st.key('e');
    expect(st.mode.kind).toBe('password');
    for (const c of 'pw') st.key(c);
    expect(st.key('enter')).toEqual({ kind: 'verify-password', password: 'pw', then: 'editor' });
    st.passwordRejected('editor');
    expect(st.mode).toMatchObject({ kind: 'password', error: 'wrong password' });
    st.passwordAccepted('editor');
    expect(st.mode.kind).toBe('editor');
    st.key('escape');
    expect(st.key('s')).toEqual({ kind: 'shell' });
  });
  it('refuses the editor when the configuration disables it', () => {
    const st = new MenuState();
    st.setEntries(fedora, settings('f39-6.5.conf', { editor: false }));
    st.key('e');
    expect(st.mode).toMatchObject({ kind: 'error', title: 'Editor disabled' });
  });
  it('confirms reboot and power-off', () => {
    const st = menu();
    st.key('R');
    expect(st.key('n')).toEqual({ kind: 'none' });
    st.key('P');
    expect(st.key('y')).toEqual({ kind: 'poweroff' });
  });
  it('d asks to save the selection as the default (the command does the write)', () => {
    const st = menu();
    st.key('down');
    const a = st.key('d');
    expect(a).toMatchObject({ kind: 'save-default' });
    expect(a.kind === 'save-default' && a.entry.id).toBe(st.rows()[st.selected]!.entry.id);
    expect(st.mode.kind).toBe('list');
  });
  it('details, log, help and rescan', () => {
    const st = menu();
    expect(st.key('i')).toMatchObject({ kind: 'details' });
    st.key('escape');
    st.key('l');
    expect(st.mode.kind).toBe('log');
    st.key('escape');
    st.key('?');
    expect(st.mode.kind).toBe('help');
    st.key('q');
    expect(st.key('r')).toEqual({ kind: 'rescan' });
  });
  it('keeps the selected entry when live discovery inserts entries above it', () => {
    const st = new MenuState();
    st.setEntries(all.slice(3), settings('debian.conf'));
    st.key('down');
    const sel = st.current?.id;
    st.setEntries(all, settings('debian.conf'));
    expect(st.current?.id).toBe(sel);
  });
});

describe('VM entries: write-through behind a confirmation screen and the password', () => {
  const frame = (st: MenuState) =>
    render(st, 100, 24, ASCII)
      .lines.map((l) => l.text)
      .join('\n');

  it('Enter boots an efi entry with the overlay; w asks first, and only y writes through', () => {
    const st = menu('memtest.conf');
    const memtest = st.current!;
    expect(memtest.id).toBe('memtest.conf');
    expect(st.key('enter')).toEqual({ kind: 'boot', entry: memtest });
    expect(st.key('w')).toEqual({ kind: 'none' });
    expect(st.mode).toEqual({ kind: 'write-through', entry: memtest });
    const f = frame(st);
    expect(f).toContain('Write through to the disk?');
    expect(f).toContain('with the disk holding disk.img:1 WRITE-THROUGH?');
    expect(f).toContain('Press y to boot with write-through; any other key goes back.');
    // Enter is not a yes.
    expect(st.key('enter')).toEqual({ kind: 'none' });
    expect(st.mode.kind).toBe('list');
    st.key('w');
    expect(st.key('y')).toEqual({ kind: 'boot', entry: memtest, writeThrough: true });
    expect(st.mode.kind).toBe('list');
  });

  it('with a menu password, w asks for it before the confirmation', () => {
    const st = menu('memtest.conf', { passwordRequired: true });
    st.key('w');
    expect(st.mode).toMatchObject({ kind: 'password', then: 'write-through' });
    st.key('p');
    expect(st.key('enter')).toEqual({ kind: 'verify-password', password: 'p', then: 'write-through' });
    st.passwordRejected('write-through');
    expect(st.mode).toMatchObject({ kind: 'password', then: 'write-through', error: 'wrong password' });
    expect(st.passwordAccepted('write-through')).toEqual({ kind: 'none' });
    expect(st.mode).toMatchObject({ kind: 'write-through', entry: { id: 'memtest.conf' } });
    expect(st.key('n')).toEqual({ kind: 'none' });
    // Unlocked for the rest of the session, as the editor is.
    st.key('w');
    expect(st.mode.kind).toBe('write-through');
  });

  it('w on a kexec entry says it is for VM entries and writes nothing', () => {
    const st = menu('debian.conf');
    expect(st.key('w')).toEqual({ kind: 'none' });
    expect(st.mode).toMatchObject({ kind: 'error', title: 'Write-through is for VM entries' });
  });

  it('a host that cannot run the VM: the row says so and the status line gives the reason', () => {
    const st = menu('memtest.conf');
    expect(frame(st)).toMatch(/>\*\s+Memtest86\+ {2}\[VM\]/);
    st.vmUnavailable = '/dev/kvm: stat: ENOENT (no such file)';
    const f = frame(st);
    expect(f).toMatch(/>\*\s+Memtest86\+ {2}\[VM unavailable\]/);
    expect(f).toContain(' memtest.conf  VM unavailable: /dev/kvm: stat: ENOENT (no such file)');
  });
});
