// Turns MenuState into screen lines for any width × height (80×24 and up). Styles are
// hints (inverse for the selection, dim for bad entries); every state is also readable
// without them ('>' marks the selection, '[bad]' the bad entries), for serial lines
// without attributes. Borders are ASCII unless the terminal surely draws Unicode. Every string
// from a disk (titles, ids, paths, reasons, diagnostics, log messages) goes through printable()
// (src/util/printable.ts) here, as the frame is built; the state keeps them exact.

import { isBootable, namedTarget, type MenuEntry } from '../discovery/model';
import { logRecords } from '../log';
import { formatDiagnostic } from '../discovery/diagnostics';
import type { MenuState, Row } from './state';
import { editableCmdline } from './state';
import { printable } from '../util/printable';

export type Style = 'normal' | 'selected' | 'dim' | 'title' | 'status';

export interface Line {
  readonly text: string;
  readonly style: Style;
}

export interface Frame {
  readonly lines: Line[];
  /** Where the terminal cursor belongs (editor, search, password), 0-based. */
  readonly cursor?: { readonly row: number; readonly col: number };
}

export interface Glyphs {
  readonly h: string;
  readonly v: string;
  readonly tl: string;
  readonly tr: string;
  readonly bl: string;
  readonly br: string;
  readonly spinner: readonly string[];
}

export const ASCII: Glyphs = { h: '-', v: '|', tl: '+', tr: '+', bl: '+', br: '+', spinner: ['|', '/', '-', '\\'] };
export const UNICODE: Glyphs = {
  h: '─',
  v: '│',
  tl: '┌',
  tr: '┐',
  bl: '└',
  br: '┘',
  spinner: ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'],
};

/** Unicode borders only where they are known to render: the Linux console, UTF-8 xterms. */
export function glyphsFor(env: NodeJS.ProcessEnv): Glyphs {
  // /init sets TENDRIL_ASCII=1 when the console is a serial port: the far end's font is unknown.
  if (env.TENDRIL_ASCII === '1') return ASCII;
  const term = env.TERM ?? '';
  if (term === 'linux') return UNICODE;
  const utf8 = /utf-?8/i.test(env.LC_ALL || env.LC_CTYPE || env.LANG || '');
  if (utf8 && /^(xterm|screen|tmux|rxvt|alacritty|foot|kitty)/.test(term)) return UNICODE;
  return ASCII;
}

export const HELP_TEXT = [
  'Keys',
  '  Up/Down, j/k    move              PgUp/PgDn, Home/End   jump',
  '  1-9             select entry N    Enter                 boot the selection',
  '  Right / Left    open / fold a group of versions of one OS',
  '  /               search titles     e                     edit the command line',
  '  i               entry details     l                     log of every message',
  '  H               show hidden entries (grub hiddenentry, MENU HIDE)',
  '  w               boot a VM entry with its disk written through (asks first)',
  '  d               make the selection the default (again: clear it); kept on the ESP',
  '  r               rescan disks      s                     rescue shell',
  '  R               reboot            P                     power off',
  '  h, ?            this help         Esc                   back',
  '',
  'Editor: Left/Right, Home/End, Ctrl-A/E, Ctrl-K (kill to end), Ctrl-U (kill to start),',
  '        Ctrl-W (kill word), Backspace/Delete; Enter boots with the edited line; Esc cancels.',
  'Any key stops the countdown. Ctrl-L redraws the screen.',
];

function fit(s: string, w: number): string {
  if (w <= 0) return '';
  const chars = [...s];
  if (chars.length <= w) return s + ' '.repeat(w - chars.length);
  return chars.slice(0, Math.max(0, w - 1)).join('') + '~';
}

function rowText(r: Row, vmUnavailable: boolean, trustMark?: string): string {
  const e = r.entry;
  const marks: string[] = [];
  const s = e.status;
  if (!s.ok) marks.push('BROKEN');
  if (e.bootCounter?.triesLeft === 0) marks.push('bad');
  if (e.hidden) marks.push('hidden');
  // How it boots: only an entry that does boot has a way of booting.
  if (s.ok && s.target.kind === 'efi') marks.push(vmUnavailable ? 'VM unavailable' : 'VM');
  if (s.ok && s.target.kind === 'uki') marks.push('UKI');
  const fold = r.groupSize > 1 ? (r.expanded ? 'v ' : '> ') : r.depth === 1 ? '    ' : '  ';
  const count = r.groupSize > 1 && !r.expanded ? `  [+${r.groupSize - 1}]` : '';
  return `${fold}${printable(e.displayTitle)}${marks.length ? `  [${marks.join(',')}]` : ''}${trustMark ? `  ${trustMark}` : ''}${count}`;
}

function box(title: string, body: readonly string[], width: number, height: number, g: Glyphs, scroll = 0): Line[] {
  const inner = width - 2;
  const out: Line[] = [
    { text: g.tl + fit(` ${title} `, inner).replace(/ +$/, (m) => g.h.repeat(m.length)) + g.tr, style: 'title' },
  ];
  const rows = Math.max(0, height - 2);
  const start = Math.min(scroll, Math.max(0, body.length - rows));
  for (let i = 0; i < rows; i++) out.push({ text: g.v + fit(body[start + i] ?? '', inner) + g.v, style: 'normal' });
  out.push({ text: g.bl + g.h.repeat(inner) + g.br, style: 'normal' });
  return out;
}

export function wrap(s: string, width: number): string[] {
  if (width <= 0) return [s];
  const out: string[] = [];
  let rest = s;
  while ([...rest].length > width) {
    const chars = [...rest];
    out.push(chars.slice(0, width).join(''));
    rest = chars.slice(width).join('');
  }
  out.push(rest);
  return out;
}

export function render(st: MenuState, width: number, height: number, g: Glyphs, tickCount = 0): Frame {
  const w = Math.max(20, width);
  const h = Math.max(8, height);
  const lines: Line[] = [];
  const spin =
    st.pending > 0
      ? ` ${g.spinner[tickCount % g.spinner.length]} scanning ${st.pending} device${st.pending > 1 ? 's' : ''}`
      : '';
  lines.push({ text: fit(` tendril boot menu${spin}`, w), style: 'status' });
  const m = st.mode;
  const bodyHeight = h - 4; // header, box top/bottom are inside, status + keys at the bottom
  let cursor: Frame['cursor'];
  let footer = ' Enter boot  e edit  i info  / search  l log  s shell  h help';
  let status = '';

  if (m.kind === 'help') {
    lines.push(...box('Help', HELP_TEXT, w, bodyHeight, g, st.scroll));
    footer = ' Esc back';
  } else if (m.kind === 'log') {
    const recs = logRecords().map(
      (r) => `${new Date(r.time).toISOString().slice(11, 19)} ${r.level} ${r.scope}: ${r.message}`,
    );
    const diags = st.entries.flatMap((e) => e.diagnostics.map(formatDiagnostic));
    const body = [...recs, ...diags].flatMap((l) => wrap(printable(l), w - 2));
    lines.push(...box(`Log (${body.length} lines)`, body.length ? body : ['(empty)'], w, bodyHeight, g, st.scroll));
    footer = ' Up/Down scroll  Esc back';
  } else if (m.kind === 'details') {
    const body = (st.details ?? detailLines(m.entry)).flatMap((l) => wrap(printable(l), w - 2));
    lines.push(...box(`Details: ${printable(m.entry.displayTitle)}`, body, w, bodyHeight, g, st.scroll));
    footer = ' Up/Down scroll  Esc back';
  } else if (m.kind === 'error') {
    const body = m.lines.flatMap((l) => wrap(printable(l), w - 2));
    lines.push(...box(printable(m.title), [...body, '', 'Press any key to return to the list.'], w, bodyHeight, g));
    footer = ' any key: back';
  } else if (m.kind === 'write-through') {
    const t = namedTarget(m.entry.status);
    const where = t?.kind === 'efi' ? `the disk holding ${t.image.fsId}` : 'its disk';
    const body = [
      `Boot ${m.entry.displayTitle} in the VM with ${where} WRITE-THROUGH?`,
      '',
      'The guest gets the whole disk read-write: everything it writes (filesystems,',
      'logs, updates, a changed boot order on the ESP) reaches the real disk.',
      'Without write-through (Enter on the entry) the disk is read-only and the',
      "guest's writes go to an in-memory overlay that ends with the VM.",
      '',
      'Press y to boot with write-through; any other key goes back.',
    ].flatMap((l) => wrap(printable(l), w - 2));
    lines.push(...box('Write through to the disk?', body, w, bodyHeight, g));
    footer = ' y write through  any other key: back';
  } else if (m.kind === 'loading') {
    lines.push(
      ...box(
        `Loading ${printable(m.entry.displayTitle)}`,
        ['', ...wrap(printable(m.progress), w - 2)],
        w,
        bodyHeight,
        g,
      ),
    );
    footer = '';
  } else {
    const rows = st.rows();
    const listHeight = bodyHeight - 2;
    const top = Math.max(0, Math.min(st.selected - Math.floor(listHeight / 2), rows.length - listHeight));
    const title =
      m.kind === 'search'
        ? `Search: ${printable(m.query.value)}`
        : st.showHidden
          ? 'Boot entries (hidden shown)'
          : 'Boot entries';
    const inner = w - 2;
    lines.push({
      text: g.tl + fit(` ${title} `, inner).replace(/ +$/, (x) => g.h.repeat(x.length)) + g.tr,
      style: 'title',
    });
    const defId = st.settings?.defaultId;
    for (let i = 0; i < listHeight; i++) {
      const r = rows[top + i];
      if (!r) {
        const empty =
          rows.length === 0 && i === 0
            ? st.pending > 0 || st.discovering
              ? '  looking for boot entries...'
              : '  no boot entries found (r rescans, s opens a shell)'
            : '';
        lines.push({ text: g.v + fit(empty, inner) + g.v, style: 'normal' });
        continue;
      }
      const sel = top + i === st.selected;
      const text = `${sel ? '>' : ' '}${r.entry.id === defId ? '*' : ' '}${rowText(r, st.vmUnavailable !== undefined, st.trustMarks.get(r.entry.id))}`;
      const bad = r.entry.bootCounter?.triesLeft === 0 || !isBootable(r.entry);
      lines.push({ text: g.v + fit(text, inner) + g.v, style: sel ? 'selected' : bad ? 'dim' : 'normal' });
    }
    lines.push({ text: g.bl + g.h.repeat(inner) + g.br, style: 'normal' });
    if (m.kind === 'search') {
      const [text, col] = m.query.view(w - 3);
      status = ` /${text}`;
      cursor = { row: h - 2, col: 2 + col };
      footer = ' type to filter  Enter select  Esc cancel';
    } else if (m.kind === 'editor') {
      const [text, col] = m.editor.view(w - 3);
      status = ` >${text}`;
      cursor = { row: h - 2, col: 2 + col };
      footer = ` editing ${printable(m.entry.id)}: Enter boot  Esc cancel  Ctrl-A/E/K/U`;
    } else if (m.kind === 'password') {
      status = ` Password: ${'*'.repeat(m.input.value.length)}${m.error ? `   (${m.error})` : ''}`;
      cursor = { row: h - 2, col: 11 + m.input.value.length };
      footer = ' Enter confirm  Esc cancel';
    } else if (m.kind === 'confirm') {
      status = ` Really ${m.action === 'reboot' ? 'reboot' : 'power off'}? (y/n)`;
    } else if (st.countdown !== null && st.defaultEntry) {
      status = ` Booting '${printable(st.defaultEntry.displayTitle)}' in ${st.countdown} s. Any key stops the countdown.`;
    } else if (st.current) {
      const s = st.current.status;
      const id = printable(st.current.id);
      status = !s.ok
        ? ` ${id}  BROKEN: ${printable(s.reason)}`
        : s.target.kind === 'efi' && st.vmUnavailable !== undefined
          ? ` ${id}  VM unavailable: ${printable(st.vmUnavailable)}`
          : ` ${id}`;
    }
  }
  while (lines.length < h - 2) lines.push({ text: '', style: 'normal' });
  lines.length = Math.min(lines.length, h - 2);
  lines.push({ text: fit(status, w), style: 'status' });
  lines.push({ text: fit(footer, w), style: 'status' });
  return cursor ? { lines, cursor } : { lines };
}

/** What the details view shows before file sizes are known: raw lines (disk strings exact),
 *  made printable by whoever prints them (render, the plain menu). */
export function detailLines(e: MenuEntry, sizes: ReadonlyMap<string, number> = new Map()): string[] {
  const o = e.origin;
  const size = (fsId: string, path: string): string => {
    const n = sizes.get(`${fsId}${path}`);
    return n === undefined ? '' : `  (${n} bytes)`;
  };
  const out = [
    `title     ${e.displayTitle}`,
    `id        ${e.id}`,
    `source    ${o.source}  ${o.file}${o.line ? ':' + o.line : ''}`,
    `device    ${o.device}  partition ${o.partition}${o.partUuid ? '  PARTUUID ' + o.partUuid : ''}${o.fsUuid ? '  UUID ' + o.fsUuid : ''}`,
  ];
  if (e.version) out.push(`version   ${e.version}`);
  if (e.sortKey || e.machineId) out.push(`sort-key  ${e.sortKey ?? '-'}  machine-id ${e.machineId ?? '-'}`);
  if (e.bootCounter)
    out.push(`tries     ${e.bootCounter.triesLeft} left, ${e.bootCounter.triesDone} done (${e.bootCounter.fileName})`);
  const s = e.status;
  const t = namedTarget(s);
  if (!s.ok) out.push(t ? 'target    as the config declares it (cannot boot):' : 'target    none');
  switch (t?.kind) {
    case undefined:
      break;
    case 'linux':
      out.push(`kernel    ${t.kernel.fsId}:${t.kernel.path}${size(t.kernel.fsId, t.kernel.path)}`);
      for (const i of t.initrds) out.push(`initrd    ${i.fsId}:${i.path}${size(i.fsId, i.path)}`);
      if (t.devicetree) out.push(`dtb       ${t.devicetree.fsId}:${t.devicetree.path}`);
      break;
    case 'uki':
      out.push(`uki       ${t.image.fsId}:${t.image.path}${size(t.image.fsId, t.image.path)}  profile ${t.profile}`);
      for (const a of t.addons) out.push(`add-on    ${a.fsId}:${a.path}`);
      if (t.uname) out.push(`uname     ${t.uname}`);
      break;
    case 'efi':
      out.push(
        `efi       ${t.image.fsId}:${t.image.path}${size(t.image.fsId, t.image.path)}${s.ok ? '  (booted in a VM)' : ''}`,
      );
      break;
    case 'multiboot':
      out.push(`multiboot ${t.kernel.fsId}:${t.kernel.path}`);
      for (const mo of t.modules) out.push(`module    ${mo.file.fsId}:${mo.file.path} ${mo.cmdline}`);
      break;
    case 'uki-url':
      out.push(`url       ${t.url}`);
      break;
  }
  out.push(`cmdline   ${editableCmdline(e) || '(none)'}`);
  out.push(`bootable  ${s.ok ? 'yes' : `NO: ${s.reason}`}`);
  for (const d of e.diagnostics) out.push(`! ${formatDiagnostic(d)}`);
  return out;
}
