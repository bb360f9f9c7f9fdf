// `tendril list` (entries in menu order, default marked, one line per problem) and
// `tendril probe` (the device / partition / filesystem tree, like `lsblk -f`). Every string
// from a disk is made printable (src/util/printable.ts) as a line is built; --json is exact.

import { commandArgs, type CommandSpec, flag, num, type Options, text } from '../util/args';
import { formatDiagnostic } from './diagnostics';
import { discover, type DiscoverOptions } from './discover';
import {
  isBootable,
  type MenuEntry,
  type BootTarget,
  type DiscoveryResult,
  type EntryStatus,
  type FileRef,
  type TimeoutSetting,
} from './model';
import { listJson } from './json';
import { loadSettings } from '../settings/load';
import { printable } from '../util/printable';

/** The options of every command that discovers disks (list, probe, menu, and boot's subset). */
export const DISCOVERY_OPTIONS = {
  disk: text({ metavar: 'FILE', repeat: true, help: 'scan an image file or block device as a disk' }),
  root: text({
    metavar: 'DIR[,esp|,xbootldr][,vfat]',
    repeat: true,
    help: 'serve a host directory as a filesystem',
  }),
  noSys: flag({ help: 'do not scan /sys/class/block (scanned when neither --disk nor --root is given)' }),
  timeout: num({
    metavar: 'S',
    min: 0,
    max: 3600,
    unit: 'seconds',
    help: 'countdown before the default boots, overriding every config',
  }),
  deadline: num({
    metavar: 'MS',
    integer: true,
    min: 100,
    max: 600_000,
    unit: 'ms',
    help: 'per-device discovery deadline (default 30000)',
  }),
};

export function discoverOptionsFrom(o: Options<typeof DISCOVERY_OPTIONS>): DiscoverOptions {
  return {
    disks: o.disk,
    roots: o.root,
    ...(o.noSys ? { sysBlock: false } : {}),
    ...(o.timeout !== undefined ? { cliTimeout: o.timeout } : {}),
    ...(o.deadline !== undefined ? { deadlineMs: o.deadline } : {}),
  };
}

const LIST_OPTIONS = {
  json: flag({ help: 'print the list as JSON (schema 1, see README.md)' }),
  all: flag({ help: 'show hidden entries too' }),
  ...DISCOVERY_OPTIONS,
};

const PROBE_OPTIONS = {
  json: flag({ help: 'print the device tree as JSON' }),
  ...DISCOVERY_OPTIONS,
};

const DISCOVERY_SYNOPSIS =
  '[--disk FILE]... [--root DIR[,esp|,xbootldr][,vfat]]... [--no-sys] [--timeout S] [--deadline MS]';

export const LIST_COMMAND: CommandSpec<typeof LIST_OPTIONS, Options<typeof LIST_OPTIONS>> = {
  name: 'list',
  synopsis: `[--json] [--all] ${DISCOVERY_SYNOPSIS}`,
  summary: 'Boot entries in menu order, the default marked *, one line per problem.',
  options: LIST_OPTIONS,
  build: (p) => p.opts,
};

export const PROBE_COMMAND: CommandSpec<typeof PROBE_OPTIONS, Options<typeof PROBE_OPTIONS>> = {
  name: 'probe',
  synopsis: `[--json] ${DISCOVERY_SYNOPSIS}`,
  summary: 'The device / partition / filesystem tree.',
  options: PROBE_OPTIONS,
  build: (p) => p.opts,
};

export async function runDiscoveryCommand(cmd: 'list' | 'probe', argv: string[]): Promise<number> {
  if (cmd === 'list') {
    const p = commandArgs(LIST_COMMAND, argv);
    if ('exit' in p) return p.exit;
    const o = p.args;
    return discoverAndPrint(o, (r) => (o.json ? JSON.stringify(listJson(r), null, 2) + '\n' : formatList(r, o.all)));
  }
  const p = commandArgs(PROBE_COMMAND, argv);
  if ('exit' in p) return p.exit;
  const o = p.args;
  // The device tree needs no entries: no entry source runs (none reads a directory).
  return discoverAndPrint(o, (r) => (o.json ? JSON.stringify(r.devices, null, 2) + '\n' : formatProbe(r)), {
    sources: [],
  });
}

async function discoverAndPrint(
  o: Options<typeof DISCOVERY_OPTIONS>,
  format: (r: DiscoveryResult) => string,
  extra: Partial<DiscoverOptions> = {},
): Promise<number> {
  // net.origin: `uki-url :name` entries are listed as `tendril boot` would see them (docs/net-bootfiles.md §8).
  const origin = loadSettings().settings.net.origin;
  const session = await discover({
    ...discoverOptionsFrom(o),
    ...(origin !== undefined ? { originUrl: origin } : {}),
    ...extra,
  });
  try {
    process.stdout.write(format(session.result));
  } finally {
    await session.close();
  }
  if (session.hasStuckDevice()) {
    const { exitNow } = await import('../native/exit');
    return exitNow(0);
  }
  return 0;
}

export function humanSize(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)}${units[i]}`;
}

export function describeTimeout(t: TimeoutSetting): string {
  return t.kind === 'seconds' ? `${t.seconds}s` : t.kind;
}

function ref(r: FileRef): string {
  return `${r.fsId}${r.path}`;
}

/** What a target names, in one line. */
export function describeTarget(t: BootTarget): string {
  switch (t.kind) {
    case 'linux':
      return `linux ${ref(t.kernel)}${t.initrds.length ? ' initrd ' + t.initrds.map(ref).join(',') : ''}`;
    case 'uki':
      return `uki ${ref(t.image)}${t.profile ? '@' + t.profile : ''}`;
    case 'efi':
      return `efi ${ref(t.image)}`;
    case 'multiboot':
      return `multiboot ${ref(t.kernel)} +${t.modules.length} modules`;
    case 'uki-url':
      return `uki-url ${t.url}`;
  }
}

/** How the entry boots (an EFI program: in a VM), or why it cannot and what it declares: one
 *  line each, made printable. */
function describeStatus(s: EntryStatus): string[] {
  if (s.ok) return [`${printable(describeTarget(s.target))}${s.target.kind === 'efi' ? ' (VM)' : ''}`];
  return [
    `cannot boot: ${printable(s.reason)}`,
    ...(s.declared ? [`declares ${printable(describeTarget(s.declared))}`] : []),
  ];
}

function entryLines(e: MenuEntry, i: number, isDefault: boolean): string[] {
  const mark = isDefault ? '*' : ' ';
  const flags = [
    !isBootable(e) ? 'BROKEN' : '',
    e.hidden ? 'hidden' : '',
    e.bootCounter?.triesLeft === 0 ? 'bad' : '',
  ].filter(Boolean);
  const o = e.origin;
  return [
    `${mark}${String(i + 1).padStart(3)}  ${printable(e.displayTitle)}${flags.length ? ` [${flags.join(',')}]` : ''}`,
    `        id ${printable(e.id)}  (${o.source} ${printable(`${o.fsId}:${o.file}`)}${o.line ? ':' + o.line : ''})`,
    ...describeStatus(e.status).map((l) => `        ${l}`),
  ];
}

export function formatList(r: DiscoveryResult, all: boolean): string {
  const s = r.settings;
  const lines = [
    `timeout ${describeTimeout(s.timeout)} (${printable(s.timeoutSource)}); default ${printable(s.defaultId ?? '(none)')} (${printable(s.defaultReason)}); editor ${s.editor ? 'on' : 'off'}`,
  ];
  const shown = r.entries.filter((e) => all || !e.hidden);
  shown.forEach((e, i) => lines.push(...entryLines(e, i, e.default)));
  if (shown.length === 0) lines.push('  no boot entries found');
  const problems = [
    ...r.devices.flatMap((d) => d.diagnostics),
    ...r.diagnostics,
    ...r.entries.flatMap((e) => e.diagnostics),
  ].filter((d) => d.severity !== 'info');
  for (const d of problems) lines.push(`! ${printable(formatDiagnostic(d))}`);
  return lines.join('\n') + '\n';
}

export function formatProbe(r: DiscoveryResult): string {
  const rows: string[][] = [['NAME', 'SIZE', 'TABLE/TYPE', 'FSTYPE', 'LABEL', 'UUID', 'PARTUUID', 'ROLE']];
  for (const d of r.devices) {
    const dev = d.device;
    rows.push([
      dev.name,
      humanSize(dev.size),
      [d.table?.scheme ?? '-', d.table?.usedBackupGpt ? '(backup)' : '', d.table?.hybridIso ? '(hybrid-iso)' : '']
        .filter(Boolean)
        .join(' '),
      '',
      dev.model ?? '',
      d.table?.diskGuid ?? d.table?.mbrSignature ?? '',
      '',
      `${dev.bus}${dev.removable ? ' removable' : ''}${d.timedOut ? ' TIMED-OUT' : ''}`,
    ]);
    d.filesystems.forEach((f, i) => {
      const last = i === d.filesystems.length - 1;
      rows.push([
        `${last ? '└─' : '├─'}${f.fsId}`,
        humanSize(f.size),
        f.partTypeName ?? f.partType ?? (f.partition === 0 ? 'whole disk' : ''),
        // blkid-style short versions only (FAT16, LUKS2); ext feature lists stay in --json.
        f.probe
          ? `${f.probe.type}${f.probe.version && f.probe.version.length <= 8 ? ' ' + f.probe.version : ''}${f.probe.dirty ? ' (dirty)' : ''}`
          : '',
        f.probe?.label ?? '',
        f.probe?.uuid ?? '',
        f.partUuid ?? '',
        f.role ?? '',
      ]);
    });
  }
  // Cells hold disk strings (labels, UUIDs, model names): printable before they are measured.
  for (const row of rows) row.forEach((c, i) => (row[i] = printable(c)));
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  let out =
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n';
  for (const d of r.devices.flatMap((x) => x.diagnostics)) out += `! ${printable(formatDiagnostic(d))}\n`;
  return out;
}
