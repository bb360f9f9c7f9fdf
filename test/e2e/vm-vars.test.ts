// End to end, nested (docs/testing.md §3): where the variables live (docs/vmm-platform.md §11).
// Three runs in one outer boot, each starting the UEFI shell, whose startup.nsh stores a
// non-volatile shell variable (a UEFI variable) when it is missing and removes it when found:
//   1. --vars /tmp/guest.vars (absent): starts from the template, the shell stores the variable,
//      tendril reports it added and writes the file;
//   2. --vars /tmp/guest.vars again: the shell finds it (kept across runs), removes it; reported;
//   3. no --vars: in memory only, from the template: the variable is not there.
// The disk is ",ro": OVMF's \NvVars file could not carry anything between runs.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fatDisk, runNestedRetrying, sha256, splitFirmware, vmInitramfsRuns } from '../fixtures/vm';

const FIRST = 'TENDRIL-VARS-FIRST-9b3e';
const KEPT = 'TENDRIL-VARS-KEPT-9b3e';
/** The UEFI Shell keeps its non-volatile environment under gShellVariableGuid. */
const SHELL_VARIABLE_GUID = '158def5a-f656-419c-b027-7a3192c079d2';
const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

const STARTUP = [
  'if "%tendrilvars%" == "1" then',
  `  echo ${KEPT}`,
  '  set -d tendrilvars',
  '  reset -s',
  'endif',
  'set tendrilvars 1',
  `echo ${FIRST}`,
  'reset -s',
].join('\r\n');

describe.skipIf(!haveQemu)('tendril vm --vars FILE (nested KVM)', () => {
  it('keeps variables in the file across runs, reports what the guest changed, keeps nothing without it', async () => {
    const disk = fatDisk('vm-vars', [{ path: 'startup.nsh', data: STARTUP + '\r\n' }]);
    const before = sha256(disk);
    const cpio = vmInitramfsRuns(
      'vm-vars',
      [{ file: disk, opts: ',ro' }],
      [
        { label: 'one', args: '--vars /tmp/guest.vars' },
        { label: 'two', args: '--vars /tmp/guest.vars' },
        { label: 'three', args: '' },
      ],
      splitFirmware(),
    );
    const run = await runNestedRetrying(cpio, ['TENDRIL-RUN-three-EXIT=']);
    const log = run.log.replace(/\r/g, '');
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const part = (a: string, b?: string) =>
      log.slice(log.indexOf(`TENDRIL-RUN-${a}-START`), b ? log.indexOf(`TENDRIL-RUN-${b}-START`) : undefined);
    const [one, two, three] = [part('one', 'two'), part('two', 'three'), part('three')];
    const said = (text: string, kind: string) =>
      new RegExp(`^\\s+${kind}\\s+tendrilvars\\s+${SHELL_VARIABLE_GUID}$`, 'm').test(text);

    expect(one, one.slice(-3000)).toContain('UEFI variables from /vm/VARS_TEMPLATE.fd; Secure Boot setup mode');
    expect(one).toMatch(new RegExp(`^${FIRST}$`, 'm'));
    expect(one).toMatch(/the guest changed \d+ UEFI variables; kept in \/tmp\/guest\.vars:/);
    expect(said(one, 'added')).toBe(true);
    expect(one).toContain('TENDRIL-RUN-one-EXIT=0');

    expect(two, two.slice(-3000)).toContain('UEFI variables from /tmp/guest.vars; Secure Boot setup mode');
    expect(two).toMatch(new RegExp(`^ *${KEPT}$`, 'm'));
    expect(said(two, 'deleted')).toBe(true);
    expect(two).toContain('TENDRIL-RUN-two-EXIT=0');

    expect(three, three.slice(-3000)).toContain('(in memory for this run)');
    expect(three).toMatch(new RegExp(`^${FIRST}$`, 'm'));
    expect(three).not.toContain(KEPT);
    expect(three).toMatch(/the guest changed \d+ UEFI variables; not kept \(--vars FILE keeps them\):/);
    expect(said(three, 'added')).toBe(true);

    expect(/TENDRIL-DISK0-SHA256=([0-9a-f]{64})/.exec(log)?.[1]).toBe(before);
    expect(sha256(disk)).toBe(before);
  }, 900_000);
});
