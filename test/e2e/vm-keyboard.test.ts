// End to end, nested (docs/testing.md §3): keys typed on tendril's console reach the guest through
// the i8042 (docs/vmm-platform.md §9.1). `tendril vm --input keyboard` turns the console's bytes into
// PS/2 key strokes (scan code set 2, translated by the controller). The guest, Debian's kernel with
// a busybox initrd through Boot0000, finds the keyboard ("AT Translated Set 2 keyboard": the
// FADT's 8042 flag and the DSDT's PNP0303), says it is ready, and reads a line from the virtual
// terminal the keyboard types into (/dev/tty1, not the serial console), then echoes it on COM1.
// The outer guest types the line into tendril's stdin (a FIFO) once the guest is ready.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  LINUX_EFI_LOADER,
  linuxEfiDisk,
  runNestedRetrying,
  scriptInitrd,
  sha256,
  splitFirmware,
  tendrilRunsInitramfs,
} from '../fixtures/vm';

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const TYPED = 'hello-Kbd 42!';

const GUEST = [
  'for i in $(seq 1 60); do grep -q "AT Translated Set 2 keyboard" /proc/bus/input/devices && break; sleep 1; done',
  'grep "^N: Name" /proc/bus/input/devices | sed "s/^/TENDRIL-INPUT: /"',
  'echo TENDRIL-KBD-READY',
  'read -r line < /dev/tty1',
  'echo "TENDRIL-TYPED=$line"',
].join('\n');

describe.skipIf(!haveQemu)('tendril vm --input keyboard: the console types on the PS/2 keyboard (nested KVM)', () => {
  it('a line typed on the console arrives in the guest through the i8042', async () => {
    const disk = linuxEfiDisk(scriptInitrd(GUEST), 160);
    const before = sha256(disk);
    const fw = splitFirmware();
    const vm = `node /tendril.js vm ${fw.args} --disk /vm/disk0.img --cpus 1 --input keyboard ${LINUX_EFI_LOADER}`;
    const shell = [
      'mkfifo /tmp/keys',
      `(${vm} </tmp/keys 2>&1; echo "TENDRIL-KBD-STATUS=$?") | tee /tmp/kbd.log & kb=$!`,
      'exec 3>/tmp/keys',
      'n=0; while ! grep -q TENDRIL-KBD-READY /tmp/kbd.log && [ $n -lt 900 ]; do sleep 1; n=$((n + 1)); done',
      'sleep 1',
      `printf '${TYPED}\\r' >&3`,
      'wait $kb',
      'exec 3>&-',
    ].join('\n');
    const cpio = tendrilRunsInitramfs('vm-keyboard', [{ label: 'kbd', argv: '', shell }], {
      files: { ...fw.files, '/vm/disk0.img': disk },
    });
    const run = await runNestedRetrying(cpio, ['TENDRIL-EXIT-CODE=']);
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const log = run.log.replace(/\r/g, '');
    const tail = log.slice(-4000);
    expect(log, tail).toMatch(/^TENDRIL-INPUT: N: Name="AT Translated Set 2 keyboard"$/m);
    expect(log, tail).toMatch(new RegExp(`^TENDRIL-TYPED=${TYPED}$`, 'm'));
    expect(log, tail).toMatch(/^TENDRIL-KBD-STATUS=0$/m);
    expect(sha256(disk)).toBe(before);
  }, 1_800_000);
});
