// tendril's entry point: `tendril <command> [options]`. Each command lives with its concern;
// this file only dispatches and turns uncaught failures into one readable line.

import { isMainThread, workerData } from 'node:worker_threads';
import { runDiscoveryCommand } from './discovery/commands';
import { WORKER_ROLE } from './discovery/worker/protocol';
import { startScanWorker } from './discovery/worker/scan-worker';
import { commandArgs, type CommandSpec, usage } from './util/args';
import { printable } from './util/printable';
import { VM_DISPLAY_ROLE, VM_IO_ROLE, VM_VCPU_ROLE, VM_WORKER_ROLE, workerRole } from './vm/protocol';

/** bin/tendril.js prints a failure of main() with it. */
export { printable };

// The bundle is also the script of every worker (one file to ship in the initramfs): the scan
// workers, and the VM worker, whose module is loaded only there (commands load theirs lazily,
// so a role must be dispatched here, at the top level, or the worker would do nothing).
const role = workerRole(isMainThread, workerData);
if (role === WORKER_ROLE) startScanWorker();
// A failed import rejects unhandled, which ends the worker with an 'error' the command reports.
else if (role === VM_WORKER_ROLE || role === VM_VCPU_ROLE || role === VM_IO_ROLE || role === VM_DISPLAY_ROLE)
  void import('./vm/worker').then((m) => m.startVmWorker());

const USAGE = `usage: tendril <command> [options]

commands:
  list     list boot entries in menu order (--json, --disk FILE..., --root DIR, --timeout S)
  probe    print the device / partition / filesystem tree
  boot     boot an entry (--entry ID | --default) [--dry-run]: kexec, or a KVM VM
           for efi entries
  menu     the interactive boot menu (--plain, --dry-run, --disk FILE..., --timeout S)
  netboot  boot from the network: DHCP (or --ip), the boot file's entries, kexec
           ([--dry-run] [--json] [--leases-only] [--entry ID] [--iface IF]...)
  fetch    download a file over tftp/http/https as network boot does
           (URL [--sha256 H] [-o FILE] [--ca FILE|system] [--max-bytes N])
  settings the settings in effect (/etc/tendril/tendril.toml, tendril.* kernel
           arguments) and any problem reading them
  tpm recovery   extend PCR 4 with the tendril-recovery event before a rescue
           shell (once per boot; /init calls it)
  hash-password  print a salted scrypt hash for --password-hash / /etc/tendril/password-hash
  vm       run OVMF in a KVM virtual machine with disks passed through
           (--firmware FILE --disk DEV[,rw|,ro|,noboot]... [--memory 1G])
  help     this text

'tendril <command> --help' lists a command's options.
`;

export const HASH_PASSWORD_COMMAND: CommandSpec<Record<string, never>, string | undefined> = {
  name: 'hash-password',
  synopsis: '[--] [PASSWORD]',
  summary: 'Print a salted scrypt hash for --password-hash, $TENDRIL_PASSWORD_HASH or /etc/tendril/password-hash.',
  options: {},
  positional: { name: 'PASSWORD', min: 0, max: 1, help: "the password (read from stdin's first line when absent)" },
  notes: ["A password that starts with '-' follows '--'."],
  build: (p) => p.positional[0],
};

type Command = (argv: string[]) => Promise<number>;

function commands(): Record<string, Command> {
  return {
    list: (a) => runDiscoveryCommand('list', a),
    probe: (a) => runDiscoveryCommand('probe', a),
    // Loaded on demand: scan workers start from this same bundle and must not pay for
    // blessed, kexec or the VMM at start-up.
    boot: async (a) => (await import('./boot/command')).runBootCommand(a),
    menu: async (a) => (await import('./menu/command')).runMenuCommand(a),
    vm: async (a) => (await import('./vm/command')).runVmCommand(a),
    netboot: async (a) => (await import('./net/netboot-command')).runNetbootCommand(a),
    settings: async (a) => (await import('./settings/command')).runSettingsCommand(a),
    fetch: async (a) => (await import('./net/fetch-command')).runFetchCommand(a),
    tpm: async (a) => (await import('./tpm/command')).runTpmCommand(a),
    'hash-password': async (a) => {
      const parsed = commandArgs(HASH_PASSWORD_COMMAND, a);
      if ('exit' in parsed) return parsed.exit;
      const { hashPassword } = await import('./menu/password');
      const pw = parsed.args ?? (await readStdinLine());
      if (!pw) {
        process.stderr.write(`tendril hash-password: no password given\n${usage(HASH_PASSWORD_COMMAND)}`);
        return 2;
      }
      process.stdout.write(hashPassword(pw) + '\n');
      return 0;
    },
  };
}

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split('\n')[0]?.trim() ?? '';
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd) {
    process.stderr.write(`tendril: no command given\n${USAGE}`);
    return 2;
  }
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  const fn = commands()[cmd];
  if (!fn) {
    process.stderr.write(`tendril: unknown command '${cmd}'\n${USAGE}`);
    return 2;
  }
  return fn(rest);
}

if (isMainThread && require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // An unexpected failure may quote a disk (a path, a label): shown printable.
      process.stderr.write(`tendril: ${printable(e instanceof Error ? e.message : String(e))}\n`);
      process.exitCode = 1;
    },
  );
}
