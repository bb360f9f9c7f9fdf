// `tendril settings`: the settings in effect (defaults, /etc/tendril/tendril.toml, `tendril.*`
// kernel arguments) and every problem found reading them: what an owner checks before flashing.

import { commandArgs, type CommandSpec, flag, formatSize, type Options, text } from '../util/args';
import { DEFAULT_CPUS } from '../vm/limits';
import { printableLines } from '../util/printable';
import { loadSettings } from './load';
import { PULL_PREFETCH_MAX_MIB } from './schema';

const OPTIONS = {
  json: flag({ help: 'print {settings, problems} as JSON' }),
  file: text({ metavar: 'FILE', help: 'read this settings file instead of /etc/tendril/tendril.toml' }),
  cmdline: text({ metavar: 'TEXT', help: 'take these kernel arguments instead of /proc/cmdline' }),
};

export const SETTINGS_COMMAND: CommandSpec<typeof OPTIONS, Options<typeof OPTIONS>> = {
  name: 'settings',
  synopsis: '[--json] [--file FILE] [--cmdline TEXT]',
  summary: "Print tendril's settings in effect and any problem reading them (exit 1 when there is one).",
  options: OPTIONS,
  build: (p) => p.opts,
};

export function runSettingsCommand(argv: string[]): number {
  const parsed = commandArgs(SETTINGS_COMMAND, argv);
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.args;
  const r = loadSettings({
    ...(o.file !== undefined ? { file: o.file } : {}),
    ...(o.cmdline !== undefined ? { cmdline: o.cmdline } : {}),
  });
  if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else {
    const n = r.settings.net;
    const vm = r.settings.vm;
    const mode = n.mode.kind === 'ip' ? n.mode.spec : n.mode.kind;
    const lines = [
      `net.mode = ${mode}`,
      `net.identity = ${n.identity}`,
      `net.family = ${n.family}`,
      `net.ca = ${n.ca.kind === 'system' ? 'system' : n.ca.path}`,
      `net.timeout = ${n.timeout}`,
      ...(n.proxy !== undefined ? [`net.proxy = ${n.proxy}`] : []),
      ...(n.noProxy !== undefined ? [`net.no-proxy = ${n.noProxy}`] : []),
      `net.require-verified = ${n.requireVerified}`,
      `net.sums = ${n.sums}`,
      `net.max-image = ${n.maxImageMiB}`,
      `net.pull-prefetch = ${n.pullPrefetch ?? false}`,
      `net.pull-prefetch-max = ${n.pullPrefetchMaxMiB ?? PULL_PREFETCH_MAX_MIB}`,
      ...Object.entries(n.pins).map(([url, hex]) => `net.pins."${url}" = ${hex}`),
      `net.ntp = ${n.ntp.join(',')}`,
      ...n.vlan.map((v) => `net.vlan = ${v}`),
      ...n.bond.map((b) => `net.bond = ${b}`),
      ...n.nvme.map((t) => `net.nvme = ${t}`),
      `net.nvme-hostnqn = ${n.nvmeHostnqn ?? 'from the SMBIOS UUID (nqn.2014-08.org.nvmexpress:uuid:…)'}`,
      `net.nvme-writable = ${n.nvmeWritable ?? false}`,
      `net.clock = ${n.clock ?? 'set under the initramfs, check elsewhere'}`,
      `tpm.measure = ${r.settings.tpm.measure}`,
      `state.readonly = ${r.settings.state.readonly}`,
      ...(r.settings.state.stopAfter !== undefined ? [`state.stop-after = ${r.settings.state.stopAfter}`] : []),
      `trust.policy = ${r.settings.trust.policy}`,
      `trust.db = ${r.settings.trust.db}`,
      `trust.keys = ${r.settings.trust.keys}`,
      `vm.cpus = ${vm.cpus ?? DEFAULT_CPUS}`,
      `vm.memory = ${vm.ramBytes !== undefined ? formatSize(vm.ramBytes) : "auto (from the host's available memory)"}`,
      `vm.firmware = ${vm.firmware ?? "auto (Debian's OVMF, found through the ovmf package)"}`,
      `vm.secure-boot = ${vm.secureBoot}`,
      `vm.disk-interface = ${vm.diskInterface ?? 'auto'}`,
      `vm.rtc = ${vm.rtc ?? 'utc'}`,
      `vm.input = ${vm.input ?? 'serial'}`,
      `vm.input-devices = ${vm.inputDevices === undefined ? 'auto (when the VM has a display)' : typeof vm.inputDevices === 'string' ? vm.inputDevices : vm.inputDevices.join(',')}`,
      `vm.display = ${vm.display ?? 'auto (on for Windows Boot Manager)'}`,
      `vm.display-output = ${vm.displayOutput ?? 'auto (when the VM has a display: /dev/fb0, else a connected DRM card)'}`,
      `vm.hyperv = ${vm.hyperv ?? 'auto (on for Windows Boot Manager)'}`,
    ];
    process.stdout.write(printableLines(lines).join('\n') + '\n');
    if (r.problems.length) process.stderr.write(printableLines(r.problems).join('\n') + '\n');
  }
  return r.problems.length ? 1 : 0;
}
