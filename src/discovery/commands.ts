// `tendril list` (entries in menu order, default marked, one line per problem) and
// `tendril probe` (the device / partition / filesystem tree, like `lsblk -f`).

import { type ArgError, numberOption, parseArgs, type ParsedArgs } from '../util/args';
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

const COMMON = {
  flags: ['json', 'no-sys', 'all', 'help'],
  options: ['timeout', 'deadline'],
  repeatable: ['disk', 'root'],
};

export function discoverOptionsFrom(args: ParsedArgs): DiscoverOptions {
  const disks = args.lists.get('disk') ?? [];
  const roots = args.lists.get('root') ?? [];
  const cliTimeout = numberOption(args, 'timeout');
  const deadlineMs = numberOption(args, 'deadline');
  return {
    disks,
    roots,
    ...(args.flags.has('no-sys') ? { sysBlock: false } : {}),
    ...(cliTimeout !== undefined ? { cliTimeout } : {}),
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
  };
}

export async function runDiscoveryCommand(cmd: 'list' | 'probe', argv: string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, COMMON);
  } catch (e) {
    process.stderr.write(`tendril ${cmd}: ${(e as ArgError).message}\n`);
    return 2;
  }
  if (args.flags.has('help')) {
    process.stdout.write(
      `usage: tendril ${cmd} [--json] [--disk FILE]... [--root DIR[,esp|,xbootldr][,vfat]]... [--no-sys] [--timeout S] [--deadline MS]\n`,
    );
    return 0;
  }
  const session = await discover(discoverOptionsFrom(args));
  try {
    const r = session.result;
    if (cmd === 'probe') {
      process.stdout.write(args.flags.has('json') ? JSON.stringify(r.devices, null, 2) + '\n' : formatProbe(r));
    } else {
      process.stdout.write(
        args.flags.has('json') ? JSON.stringify(listJson(r), null, 2) + '\n' : formatList(r, args.flags.has('all')),
      );
    }
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

/** How the entry boots (an EFI program: in a VM), or why it cannot and what it declares. */
function describeStatus(s: EntryStatus): string {
  if (s.ok) return `${describeTarget(s.target)}${s.target.kind === 'efi' ? ' (VM)' : ''}`;
  return `cannot boot: ${s.reason}${s.declared ? `\n        declares ${describeTarget(s.declared)}` : ''}`;
}

function entryLine(e: MenuEntry, i: number, isDefault: boolean): string {
  const mark = isDefault ? '*' : ' ';
  const flags = [
    !isBootable(e) ? 'BROKEN' : '',
    e.hidden ? 'hidden' : '',
    e.bootCounter?.triesLeft === 0 ? 'bad' : '',
  ].filter(Boolean);
  return `${mark}${String(i + 1).padStart(3)}  ${e.displayTitle}${flags.length ? ` [${flags.join(',')}]` : ''}\n        id ${e.id}  (${e.origin.source} ${e.origin.fsId}:${e.origin.file}${e.origin.line ? ':' + e.origin.line : ''})\n        ${describeStatus(e.status)}\n`;
}

export function formatList(r: DiscoveryResult, all: boolean): string {
  const s = r.settings;
  let out = `timeout ${describeTimeout(s.timeout)} (${s.timeoutSource}); default ${s.defaultId ?? '(none)'} (${s.defaultReason}); editor ${s.editor ? 'on' : 'off'}\n`;
  const shown = r.entries.filter((e) => all || !e.hidden);
  shown.forEach((e, i) => (out += entryLine(e, i, e.default)));
  if (shown.length === 0) out += '  no boot entries found\n';
  const problems = [
    ...r.devices.flatMap((d) => d.diagnostics),
    ...r.diagnostics,
    ...r.entries.flatMap((e) => e.diagnostics),
  ].filter((d) => d.severity !== 'info');
  for (const d of problems) out += `! ${formatDiagnostic(d)}\n`;
  return out;
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
  for (const d of r.devices.flatMap((x) => x.diagnostics)) out += `! ${formatDiagnostic(d)}\n`;
  return out;
}
