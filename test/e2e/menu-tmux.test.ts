// The menu driven as a person would: the real bundle in a real terminal (tmux, 80x24),
// keys sent with send-keys, the screen read with capture-pane. --dry-run turns the final
// kexec into a printed boot plan, so an edited command line can be checked end to end.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { debianEspDisk, fedoraDisk } from '../fixtures/demo';
import { buildGptDisk } from '../fixtures/images';
import { hostileExt4 } from '../fixtures/hostile-disks';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'tendril.js');
const SNAP_DIR = path.join(ROOT, 'test', 'data', 'menu');

/** A disk whose entries carry Debian's real kernel, so --dry-run can plan them. */
function realKernelDisk(): string {
  const kernel = { copyOf: hostKernel().vmlinuz };
  const entry = (n: string, v: string) =>
    `title Testix ${n}\nversion ${v}\nsort-key testix\noptions root=LABEL=testroot ro console=ttyS0\nlinux /vmlinuz\ninitrd /initrd-${v}.img\n`;
  return buildGptDisk([
    {
      type: 'esp',
      sizeMiB: 40,
      fs: {
        kind: 'vfat',
        label: 'TESTESP',
        files: {
          'loader/loader.conf': 'timeout 30\ndefault testix-2*\n',
          'loader/entries/testix-2.conf': entry('two', '2.0'),
          'loader/entries/testix-1.conf': entry('one', '1.0'),
          'loader/entries/rescue.conf': 'title Rescue\noptions single\nlinux /vmlinuz\n',
          vmlinuz: kernel,
          'initrd-2.0.img': 'initrd two\n',
          'initrd-1.0.img': 'initrd one\n',
        },
      },
    },
  ]);
}

let session = '';
let counter = 0;

// A private tmux server per test file: on the shared default socket a session started right
// after another was killed can reach a server that is shutting down.
const SOCKET = `tendril-menu-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

function start(term: string, args: string[], env: Record<string, string> = {}): void {
  session = `tendril-menu-${process.pid}-${counter++}`;
  const envs = Object.entries({ TERM: term, LANG: 'C.UTF-8', ...env }).map(([k, v]) => `${k}=${v}`);
  const cmd = ['env', ...envs, process.execPath, BIN, 'menu', '--no-sys', '--dry-run', ...args]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  tmux('new-session', '-d', '-s', session, '-x', '80', '-y', '24', cmd);
  tmux('set-option', '-t', session, 'remain-on-exit', 'on');
}

/** The visible screen, or with `history` also what scrolled off (tmux pushes cleared screens there). */
function screen(history = false): string {
  return tmux('capture-pane', '-p', '-t', session, ...(history ? ['-S', '-100'] : []));
}

async function waitFor(re: RegExp, ms = 20_000, history = false): Promise<string> {
  const end = Date.now() + ms;
  let s = '';
  while (Date.now() < end) {
    s = screen(history);
    if (re.test(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${re}; screen:\n${s}`);
}

function keys(...k: string[]): void {
  tmux('send-keys', '-t', session, ...k);
}

function type(text: string): void {
  tmux('send-keys', '-t', session, '-l', text);
}

/** Compare with a reviewed capture; UPDATE_SNAPSHOTS=1 rewrites it. */
function snapshot(name: string, text: string): void {
  const file = path.join(SNAP_DIR, `${name}.txt`);
  const norm = text.replace(/\s+$/gm, '').trimEnd() + '\n';
  if (process.env.UPDATE_SNAPSHOTS === '1' || !fs.existsSync(file)) {
    fs.mkdirSync(SNAP_DIR, { recursive: true });
    fs.writeFileSync(file, norm);
  }
  expect(norm).toBe(fs.readFileSync(file, 'utf8'));
}

let real = '';
let fedora = '';
let debian = '';

beforeAll(() => {
  // A session that lives as long as the file's tests keeps the private server up: when the
  // last session ends, tmux shuts the server down, and the next test's new-session can reach
  // it while it exits ("server exited unexpectedly").
  tmux('new-session', '-d', '-s', 'keepalive', 'sleep 86400');
  real = realKernelDisk();
  fedora = fedoraDisk();
  debian = debianEspDisk();
});

afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    /* no server left */
  }
});

afterEach(() => {
  if (session) {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      /* already gone */
    }
    session = '';
  }
});

describe('tendril menu in tmux (TERM=linux, 80x24)', () => {
  it('shows the entries with the default selected and counting down; a key stops the countdown', async () => {
    start('linux', ['--disk', real]);
    const s = await waitFor(/Booting 'Testix two' in \d+ s/);
    expect(s).toMatch(/┌ Boot entries/);
    expect(s).toMatch(/>\*> Testix two .*\[\+1\]/);
    keys('Down');
    const s2 = await waitFor(/^│> +Rescue/m);
    expect(s2).not.toMatch(/Booting 'Testix two'/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(screen()).not.toMatch(/Booting/);
  });

  it('navigates into a group and boots the edited command line (dry-run plan)', async () => {
    start('linux', ['--disk', real]);
    await waitFor(/Booting 'Testix two'/);
    keys('Right', 'Down');
    await waitFor(/^│>  +Testix one/m);
    keys('e');
    await waitFor(/^ >root=LABEL=testroot ro console=ttyS0/m);
    keys('End');
    type(' tendril.test=42');
    keys('Enter');
    const plan = await waitFor(/syscall: kexec_file_load/, 20_000, true);
    expect(plan).toMatch(/entry: testix-1\.conf/);
    expect(plan).toMatch(/cmdline \(\d+\/\d+ bytes\): root=LABEL=testroot ro console=ttyS0 tendril\.test=42/);
    expect(plan).toMatch(/initrd\[0\]: .*\/initrd-1\.0\.img size 11/);
  });

  it('searches, shows details and help, and returns with Esc', async () => {
    start('linux', ['--disk', real]);
    await waitFor(/Booting/);
    keys('/');
    type('resc');
    await waitFor(/Search: resc/);
    keys('Enter');
    await waitFor(/^│> +Rescue/m);
    keys('i');
    const d = await waitFor(/final +single/);
    expect(d).toMatch(/kernel +\S+:\/vmlinuz +\(\d+ bytes\)/);
    keys('Escape');
    await waitFor(/┌ Boot entries/);
    keys('h');
    await waitFor(/Ctrl-K \(kill to end\)/);
    keys('Escape');
    snapshot('linux-list-80x24', await waitFor(/┌ Boot entries/));
  });

  it('shows a load failure as an error panel and returns to the list', async () => {
    start('linux', ['--disk', debian, '--timeout', '0']);
    // timeout 0 boots the default at once; its kernel is not a bzImage: the error stays on screen.
    const s = await waitFor(/Cannot boot/);
    expect(s).toMatch(/bzImage|boot_flag|HdrS|too small/i);
    keys('x');
    await waitFor(/┌ Boot entries/);
  });

  it('guards the editor with the password', async () => {
    const hash = execFileSync(process.execPath, [BIN, 'hash-password', 'letmein'], { encoding: 'utf8' }).trim();
    start('linux', ['--disk', real, '--password-hash', hash]);
    await waitFor(/Booting/);
    keys('e');
    await waitFor(/Password:/);
    type('wrong');
    keys('Enter');
    await waitFor(/wrong password/);
    type('letmein');
    keys('Enter');
    await waitFor(/^ >root=LABEL=testroot/m);
  });

  it("inserts a slow device's entries while it is still being read", async () => {
    start('linux', ['--disk', real, '--disk', fedora], { TENDRIL_DEBUG_SCAN_DELAY: `${path.basename(fedora)}=4000` });
    const early = await waitFor(/Testix two/);
    expect(early).toMatch(/scanning 1 device/);
    expect(early).not.toMatch(/Fedora/);
    const late = await waitFor(/Fedora Linux 39/, 15_000);
    expect(late).not.toMatch(/scanning/);
  });
});

describe('the remaining keys, in the real terminal', () => {
  it('digits, End/Home/PgDn/PgUp, H, l, r, s (shell and back) and R/P', async () => {
    // A disk with a grub hiddenentry next to BLS entries, to exercise H.
    start('linux', ['--disk', real, '--disk', fedora]);
    await waitFor(/Booting/);
    // Rows: the Fedora group (sort-key fedora < testix), then Testix (the default), Rescue.
    keys('1');
    await waitFor(/^│> > Fedora/m);
    keys('2');
    await waitFor(/^│>\*> Testix two/m);
    keys('End');
    const end = await waitFor(/^│> +\S/m);
    const lastRow = /^│> +(.*?)\s*│$/m.exec(end)![1];
    keys('Home');
    await waitFor(/^│> > Fedora/m);
    keys('PgDn');
    await waitFor(new RegExp(`^│> +${lastRow!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
    keys('PgUp');
    await waitFor(/^│> > Fedora/m);
    keys('l');
    await waitFor(/┌ Log \(\d+ lines\)/);
    keys('Escape');
    await waitFor(/┌ Boot entries/);
    keys('H');
    await waitFor(/Boot entries \(hidden shown\)/);
    keys('H');
    await waitFor(/┌ Boot entries─/);
    keys('r');
    await waitFor(/Testix two/);
    keys('s');
    await waitFor(/tendril rescue shell; exit to return to the menu/);
    type('echo SHELL-$((6*7))');
    keys('Enter');
    await waitFor(/SHELL-42/);
    type('exit');
    keys('Enter');
    await waitFor(/┌ Boot entries/);
    keys('R');
    await waitFor(/Really reboot\? \(y\/n\)/);
    keys('n');
    await waitFor(/┌ Boot entries/);
    keys('P');
    await waitFor(/Really power off\? \(y\/n\)/);
    keys('y');
    // --dry-run: the action is printed, never performed.
    await waitFor(/would poweroff/, 20_000, true);
  });
});

describe('tendril menu in tmux (TERM=vt100, 80x24)', () => {
  it('draws ASCII borders only and works the same', async () => {
    start('vt100', ['--disk', real]);
    const s = await waitFor(/Booting 'Testix two'/);
    expect(s).toMatch(/^\+ Boot entries-+\+$/m);
    expect(s).not.toMatch(/[lqkxmj]{5}/);
    expect(s).toMatch(/^[\x20-\x7e\n]*$/);
    keys('Down', 'Down');
    await waitFor(/^\|> +Rescue/m);
    snapshot('vt100-list-80x24', screen());
  });
});

describe('disk strings in the blessed menu (issue 16 finding 10)', () => {
  it('shows control sequences in a title as escapes: nothing is cleared, erased or retitled', async () => {
    const ESC = '\x1b';
    const img = hostileExt4({
      vmlinuz: { copyOf: hostKernel().vmlinuz },
      'loader/entries/a.conf': 'title Healthy\nlinux /vmlinuz\n',
      'loader/entries/b.conf': `title Evil ${ESC}[2J${ESC}]2;pwned\x07\u009b1A ${ESC}[1A${ESC}[K {bold}end\nlinux /vmlinuz\n`,
    });
    try {
      start('linux', ['--disk', img.image]);
      const s = await waitFor(/Evil \\x1b\[2J\\x1b\]2;pwned\\x07\\x9b1A \\x1b\[1A\\x1b\[K \{bold\}end/);
      expect(s.split('\n')[0]).toMatch(/^ tendril boot menu/);
      expect(s).toMatch(/Healthy/);
      expect(tmux('display-message', '-p', '-t', session, '#{pane_title}')).not.toContain('pwned');
    } finally {
      img.cleanup();
    }
  });
});
