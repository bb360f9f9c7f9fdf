// Issue 16, finding 10: strings from a disk never reach the terminal raw. An ext4 image made by
// mke2fs -d carries a BLS title with ESC [2J, an OSC retitle ended by BEL, C1 controls (UTF-8
// U+009B/U+009D), ESC [1A ESC [K; a version and options with CSI and OSC; a broken
// entry whose kernel path holds an ESC (so the reason and the diagnostic quote it); and a
// filesystem label with ESC [2J (mke2fs -L takes it). `list`, `probe`, `boot --dry-run` and
// `menu --plain` must show every one as a visible escape (src/util/printable.ts) and emit no
// control byte but their own newlines; `list --json` keeps the exact title; the healthy entry is
// still listed and plans; the image is unchanged.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListJson } from '../../../src/discovery/json';
import { printable } from '../../../src/util/printable';
import { type HostileImage, KERNEL, hostileExt4, sha256Of, tinyInitrd } from '../../fixtures/hostile-disks';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');
const ESC = '\x1b';
const TITLE = `Evil ${ESC}[2J${ESC}]0;pwned\x07 \u009b \u009d ${ESC}[1A${ESC}[K end`;
const SHOWN = 'Evil \\x1b[2J\\x1b]0;pwned\\x07 \\x9b \\x9d \\x1b[1A\\x1b[K end';
const LABEL = `b${ESC}[2Jt`;

let img: HostileImage;
let before = '';

beforeAll(() => {
  img = hostileExt4(
    {
      vmlinuz: { copyOf: KERNEL },
      'initrd.img': tinyInitrd(),
      'loader/entries/ok.conf': 'title Healthy\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=/dev/vda ro\n',
      'loader/entries/evil.conf': `title ${TITLE}\nversion 1${ESC}[31m2\nlinux /vmlinuz\noptions quiet ${ESC}]0;x\x07 \\ end\n`,
      'loader/entries/evil-broken.conf': `title Broken${ESC}[8m\nlinux /no${ESC}[2Jkernel\n`,
    },
    LABEL,
  );
  before = sha256Of(img.image);
});
afterAll(() => img.cleanup());

function tendril(args: string[], input = ''): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [BIN, ...args, '--disk', img.image], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, TERM: 'dumb' },
  });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

/** No C0 control but newline, no DEL, no C1 (as UTF-8: C2 80–C2 9F) in what a command printed. */
function expectTerminalSafe(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  const bad: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 && b !== 0x0a) || b === 0x7f) bad.push(`0x${b.toString(16)} at ${i}`);
    if (b === 0xc2 && bytes[i + 1]! >= 0x80 && bytes[i + 1]! <= 0x9f)
      bad.push(`C1 0x${bytes[i + 1]!.toString(16)} at ${i}`);
  }
  expect(bad).toEqual([]);
}

describe('disk strings on the terminal (issue 16 finding 10)', () => {
  it('list shows the title, version, paths and diagnostics as escapes, and the healthy entry', () => {
    const r = tendril(['list', '--no-sys']);
    expect(r.status).toBe(0);
    expectTerminalSafe(r.out + r.err);
    expect(r.out).toContain(`  ${SHOWN}\n`);
    expect(r.out).toMatch(/\* {2}1 {2}Healthy\n/);
    // The broken entry's reason and its diagnostic quote the path with the ESC.
    expect(r.out).toContain('Broken\\x1b[8m [BROKEN]');
    expect(r.out).toContain('cannot boot: linux /no\\x1b[2Jkernel: not found');
    expect(r.out).toMatch(/! error bls: .*evil-broken\.conf:2: linux \/no\\x1b\[2Jkernel: not found/);
    expect(sha256Of(img.image)).toBe(before);
  });

  it('list --json keeps every string exact', () => {
    const r = tendril(['list', '--json', '--no-sys']);
    const j = JSON.parse(r.out) as ListJson;
    const evil = j.entries.find((e) => e.id === 'evil.conf');
    expect(evil?.title).toBe(TITLE);
    expect(evil?.version).toBe(`1${ESC}[31m2`);
    expect(j.devices[0]?.filesystems[0]?.probe?.label).toBe(LABEL);
    expect(j.entries.map((e) => e.id)).toContain('ok.conf');
  });

  it('probe shows the label as an escape', () => {
    const r = tendril(['probe', '--no-sys']);
    expect(r.status).toBe(0);
    expectTerminalSafe(r.out + r.err);
    expect(r.out).toContain(` ${printable(LABEL)} `);
    expect(r.out).toContain('b\\x1b[2Jt');
  });

  it("boot --dry-run prints the plan printable, and a broken entry's refusal too", () => {
    const ok = tendril(['boot', '--dry-run', '--entry', 'evil.conf']);
    expect(ok.status).toBe(0);
    expectTerminalSafe(ok.out + ok.err);
    expect(ok.out).toContain(`entry: evil.conf (${SHOWN})`);
    expect(ok.out).toMatch(/cmdline \(\d+\/\d+ bytes\): quiet \\x1b\]0;x\\x07 \\\\ end/);
    const broken = tendril(['boot', '--dry-run', '--entry', 'evil-broken.conf']);
    expect(broken.status).toBe(1);
    expectTerminalSafe(broken.out + broken.err);
    expect(broken.err).toContain('linux /no\\x1b[2Jkernel: not found');
    const healthy = tendril(['boot', '--dry-run', '--entry', 'ok.conf']);
    expect(healthy.status).toBe(0);
    expect(healthy.out).toMatch(/kernel: disk\.img:0:\/vmlinuz size \d+ sha256 [0-9a-f]{64}/);
    expect(sha256Of(img.image)).toBe(before);
  });

  it('menu --plain (the serial console) lists, details and dry-run boots with escapes only', () => {
    // The first line stops the countdown to the default entry.
    const list = tendril(['menu', '--plain', '--no-sys', '--dry-run'], '\nq\n');
    expect(list.status).toBe(0);
    const n = /(\d+)\) {3}Evil/.exec(list.out)?.[1];
    const b = /(\d+)\) {3}Broken/.exec(list.out)?.[1];
    expect(n).toBeDefined();
    expect(b).toBeDefined();
    // Details of both hostile entries, an edit prompt showing the command line, then a dry-run boot.
    const r = tendril(['menu', '--plain', '--no-sys', '--dry-run'], `\ni ${n}\ni ${b}\n${b}\ne ${n}\n\n`);
    expect(r.status).toBe(0);
    expectTerminalSafe(r.out + r.err);
    expect(r.out).toContain(`)   ${SHOWN}\n`);
    expect(r.out).toContain(`title     ${SHOWN}\n`);
    expect(r.out).toContain('version   1\\x1b[31m2\n');
    expect(r.out).toContain('cmdline   quiet \\x1b]0;x\\x07 \\\\ end\n');
    expect(r.out).toContain('Cannot boot Broken\\x1b[8m\n');
    expect(r.out).toContain('current: quiet \\x1b]0;x\\x07 \\\\ end\n');
    expect(r.out).toContain(`entry: evil.conf (${SHOWN})`);
    expect(r.out).toMatch(/\* Healthy/);
    expect(sha256Of(img.image)).toBe(before);
  });
});
