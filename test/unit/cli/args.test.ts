// Every command's argument errors through the real CLI (bin/tendril.js and the bundle that
// test/global-setup.ts builds): one line naming the option, then that command's usage, exit 2;
// nothing is scanned or booted. `--help` prints the same usage on stdout with exit 0.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HASH_PASSWORD_COMMAND } from '../../../src/cli';
import { LIST_COMMAND, PROBE_COMMAND } from '../../../src/discovery/commands';
import { BOOT_COMMAND } from '../../../src/boot/command';
import { MENU_COMMAND } from '../../../src/menu/command';
import { NETBOOT_COMMAND } from '../../../src/net/netboot-command';
import { BUILD_COMMAND } from '../../../initramfs/build';
import { type CommandSpec, type OptionMap, optionName, usage } from '../../../src/util/args';
import { VM_COMMAND } from '../../../src/vm/command';
import { SETTINGS_COMMAND } from '../../../src/settings/command';
import { TPM_COMMAND } from '../../../src/tpm/command';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input: '', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// [argv after the command word, the one error line after "tendril <cmd>: "]
type Case = readonly [readonly string[], string];

function commandCases<O extends OptionMap, T>(spec: CommandSpec<O, T>, cases: readonly Case[]): void {
  describe(`tendril ${spec.name}`, () => {
    it.each(cases.map(([argv, line]) => ({ argv, line })))('$argv → $line', ({ argv, line }) => {
      const r = run([spec.name, ...argv]);
      expect(r.err).toBe(`tendril ${spec.name}: ${line}\n${usage(spec)}`);
      expect(r.out).toBe('');
      expect(r.code).toBe(2);
    });
    it('--help prints the usage on stdout and exits 0', () => {
      const r = run([spec.name, '--help']);
      expect(r).toEqual({ code: 0, out: usage(spec), err: '' });
    });
  });
}

commandCases(LIST_COMMAND, [
  [['--jsno'], 'unknown option --jsno'],
  [['--disk'], '--disk needs a value'],
  [['--timeout', 'abc'], "--timeout needs a number in 0..3600 (seconds), got 'abc'"],
  [['--deadline=1.5'], "--deadline needs a whole number in 100..600000 (ms), got '1.5'"],
  [['disk.img'], "unexpected argument 'disk.img'"],
]);

commandCases(NETBOOT_COMMAND, [
  [['--identity', 'efi'], "--identity must be one of pxe, http, ipxe, tendril, got 'efi'"],
  [
    ['--ip', 'eth0:sometimes'],
    "--ip ip=eth0:sometimes: 'sometimes' is not one of none, off, dhcp, on, any, dhcp6, auto6",
  ],
  [['--timeout', '0'], "--timeout needs a number in 1..600 (seconds), got '0'"],
  [['--nameserver', 'dns.example'], "--nameserver needs an IPv4 address, got 'dns.example'"],
  [['eth0'], "unexpected argument 'eth0'"],
]);

commandCases(PROBE_COMMAND, [
  [['--all'], 'unknown option --all'],
  [['--json=yes'], '--json takes no value'],
  [['--deadline', '0'], "--deadline needs a whole number in 100..600000 (ms), got '0'"],
]);

commandCases(BOOT_COMMAND, [
  [['--entry'], '--entry needs a value'],
  [['--entry', '--default'], '--entry needs a value'],
  [['--default', '--timeout', 'x'], "--timeout needs a number in 0..3600 (seconds), got 'x'"],
  [['--default', '--device-deadline', '1e3'], "--device-deadline needs a whole number in 100..600000 (ms), got '1e3'"],
  [
    ['--default', '--console-policy', 'all'],
    "--console-policy must be one of add-if-missing, replace, keep, got 'all'",
  ],
  [['--entry', 'a', '--entry', 'b'], '--entry given more than once'],
  [['--default', '--bogus'], 'unknown option --bogus'],
  [[], 'give exactly one of --entry ID, --default, --next ID or --set-default ID|none'],
]);

commandCases(MENU_COMMAND, [
  [['--timeout', '-1'], "--timeout needs a number in 0..3600 (seconds), got '-1'"],
  [['--password-hash'], '--password-hash needs a value'],
  [['--plain=yes'], '--plain takes no value'],
  [['--no-such'], 'unknown option --no-such'],
]);

commandCases(VM_COMMAND, [
  [['--firmware', 'f', '--memory', '1X'], "--memory needs a size in 128M..64G (K/M/G suffix), got '1X'"],
  [['--firmware', 'f', '--cpus', 'NaN'], "--cpus needs a whole number in 1..8, got 'NaN'"],
  [
    ['--firmware', 'f', '--disk', 'a.img,bad'],
    "--disk a.img,bad: unknown option 'bad' (use ,rw ,ro ,noboot, ,if=nvme or ,if=ahci)",
  ],
  [['--vars-template'], '--vars-template needs a value'],
  [['--firmware'], '--firmware needs a value'],
]);

commandCases(HASH_PASSWORD_COMMAND, [
  [['one', 'two'], "unexpected argument 'two'"],
  [['-p'], 'unknown option -p'],
  [[], 'no password given'],
]);

commandCases(SETTINGS_COMMAND, [
  [['--file'], '--file needs a value'],
  [['x'], "unexpected argument 'x'"],
]);

describe('tendril hash-password operands', () => {
  it('takes a password after --, even one that looks like an option', () => {
    const r = run(['hash-password', '--', '-secret']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^scrypt\$/);
  });
});

describe('usage texts', () => {
  const specs: Pick<CommandSpec<OptionMap, unknown>, 'name' | 'synopsis' | 'options'>[] = [
    LIST_COMMAND,
    PROBE_COMMAND,
    BOOT_COMMAND,
    MENU_COMMAND,
    VM_COMMAND,
    NETBOOT_COMMAND,
    HASH_PASSWORD_COMMAND,
    TPM_COMMAND,
    BUILD_COMMAND,
    SETTINGS_COMMAND,
  ];
  it.each(specs.map((s) => ({ name: s.name, spec: s })))('the $name synopsis names every option', ({ spec }) => {
    for (const key of Object.keys(spec.options)) expect(spec.synopsis).toContain(`--${optionName(key)}`);
  });
});
