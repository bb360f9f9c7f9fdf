// bench/menu: (1) time from process start to the first frame and to the first full frame
// (entries listed) of the real `tendril menu` in a tmux terminal, with 10 and 500 entries;
// (2) per-keypress cost (state update + layout + blessed draw to a terminal stream) with 10
// and 500 entries, against the baseline of writing one raw 80x24 frame to the same stream.
//
//   node scripts/run-ts.mjs bench/menu.ts

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import blessed = require('blessed');
import type { MenuEntry } from '../src/discovery/model';
import { MenuState } from '../src/menu/state';
import { ASCII, render } from '../src/menu/view';
import { writeTree } from '../test/fixtures/images';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'tendril.js');

function entries(n: number): MenuEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `e${i}.conf`,
    sourceId: `e${i}.conf`,
    index: i,
    default: i === 0,
    title: `Entry ${i}`,
    displayTitle: `Some Linux ${i} (6.${i % 20}.${i})`,
    sortKey: `os${i % 7}`,
    machineId: `${(i % 7).toString(16).padStart(32, '0')}`,
    version: `6.${i % 20}.${i}`,
    origin: { source: 'bls', fsId: 'd:1', device: '/dev/x', partition: 1, file: `/loader/entries/e${i}.conf` },
    status: {
      ok: true,
      target: {
        kind: 'linux',
        kernel: { fsId: 'd:1', path: '/vmlinuz' },
        initrds: [],
        cmdline: 'root=/dev/sda2 ro quiet',
      },
    },
    diagnostics: [],
  }));
}

function treeWith(n: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-menubench-'));
  const tree: Record<string, string> = { 'loader/loader.conf': 'timeout menu-force\n', vmlinuz: 'k\n' };
  for (let i = 0; i < n; i++)
    tree[`loader/entries/b${i}.conf`] = `title Bench ${i}\nversion 1.${i}\nlinux /vmlinuz\noptions quiet\n`;
  writeTree(dir, tree);
  return dir;
}

async function startup(n: number): Promise<{ partial: number; full: number }> {
  const dir = treeWith(n);
  const log = path.join(dir, 'frames.log');
  const session = `tendril-menubench-${process.pid}-${n}`;
  const cmd = `env TERM=linux TENDRIL_FRAME_LOG=${log} ${process.execPath} ${BIN} menu --dry-run --no-sys --root ${dir},esp`;
  execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '80', '-y', '24', cmd]);
  const end = Date.now() + 20_000;
  let text = '';
  while (Date.now() < end) {
    text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    if (/^full /m.test(text)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  execFileSync('tmux', ['kill-session', '-t', session]);
  fs.rmSync(dir, { recursive: true, force: true });
  const get = (k: string): number =>
    Number(
      /^(\S+) (\S+)$/m.test(text)
        ? text
            .split('\n')
            .find((l) => l.startsWith(k + ' '))
            ?.split(' ')[1]
        : NaN,
    );
  return { partial: get('partial'), full: get('full') };
}

function keypress(n: number, presses: number): { perKeyMs: number; baselineMs: number } {
  const st = new MenuState();
  const list = entries(n);
  st.setEntries(list, {
    timeout: { kind: 'menu-force' },
    timeoutSource: 'bench',
    editor: true,
    defaultId: list[0]!.id,
    defaultReason: 'bench',
  });
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const input = new PassThrough();
  const out = Object.assign(sink, { isTTY: true, columns: 80, rows: 24 }) as unknown as NodeJS.WriteStream;
  const screen = blessed.screen({
    input: input as unknown as blessed.Widgets.IScreenOptions['input'],
    output: out as unknown as blessed.Widgets.IScreenOptions['output'],
    terminal: 'linux',
    smartCSR: true,
    warnings: false,
  });
  const box = blessed.box({ top: 0, left: 0, width: '100%', height: '100%', tags: true });
  screen.append(box);
  const keys = ['down', 'down', 'right', 'down', 'up', 'pagedown', 'home', 'end', 'left', 'up'];
  const t0 = performance.now();
  for (let i = 0; i < presses; i++) {
    st.key(keys[i % keys.length]!);
    const f = render(st, 80, 24, ASCII);
    box.setContent(
      f.lines
        .map((l) => (l.style === 'selected' ? `{inverse}${blessed.escape(l.text)}{/inverse}` : blessed.escape(l.text)))
        .join('\n'),
    );
    screen.render();
  }
  const perKeyMs = (performance.now() - t0) / presses;
  const raw = ('x'.repeat(80) + '\r\n').repeat(24);
  const t1 = performance.now();
  for (let i = 0; i < presses; i++) out.write(raw);
  const baselineMs = (performance.now() - t1) / presses;
  screen.destroy();
  return { perKeyMs, baselineMs };
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'tendril.js'))) throw new Error('build first (node scripts/build.mjs)');
  console.log('bench/menu');
  console.log('entries  first frame ms  first full frame ms   (from process start, real tendril menu in tmux 80x24)');
  for (const n of [10, 500]) {
    const best = { partial: Infinity, full: Infinity };
    for (let r = 0; r < 3; r++) {
      const s = await startup(n);
      best.partial = Math.min(best.partial, s.partial);
      best.full = Math.min(best.full, s.full);
    }
    console.log(
      `${String(n).padStart(7)}  ${best.partial.toFixed(1).padStart(14)}  ${best.full.toFixed(1).padStart(19)}`,
    );
  }
  console.log('entries  per keypress ms  raw-frame baseline ms  ratio');
  for (const n of [10, 500]) {
    const k = keypress(n, 2000);
    console.log(
      `${String(n).padStart(7)}  ${k.perKeyMs.toFixed(3).padStart(15)}  ${k.baselineMs.toFixed(4).padStart(21)}  ${(k.perKeyMs / k.baselineMs).toFixed(1)}x`,
    );
  }
  console.log('(a keypress only touches in-memory state: no disk I/O happens between a key and its redraw)');
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
