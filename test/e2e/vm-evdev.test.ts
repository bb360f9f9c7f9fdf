// End to end, nested (docs/testing.md §3): the host's own input devices feed the guest's PS/2
// keyboard and mouse (docs/vmm-platform.md §9.1.1). The outer QEMU's PS/2
// keyboard and mouse are the outer guest's "AT Translated Set 2 keyboard" and psmouse device, with
// evdev nodes; `tendril vm --input-devices auto` grabs them. Its guest (Debian's kernel with a
// busybox initrd through Boot0000) waits for its own keyboard, says it is ready and reads a line
// from /dev/tty1; the test types the line on the OUTER machine's keyboard through QEMU's monitor
// (sendkey), so it travels outer i8042 → outer Linux evdev → tendril → tendril's i8042 → guest.
// Then the guest reads one packet from /dev/input/mice and the test moves the outer mouse.
// Another reader of the outer keyboard gets the keys typed before the grab and none during it.
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
  type OuterQemu,
} from '../fixtures/vm';

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const TYPED = 'hello-Evdev 42!';
/** QEMU sendkey names for TYPED, then Enter. */
const KEYS = [...'hello'.split(''), 'minus', 'shift-e', ...'vdev'.split(''), 'spc', '4', '2', 'shift-1', 'ret'];

const GUEST = [
  'for i in $(seq 1 60); do grep -q "AT Translated Set 2 keyboard" /proc/bus/input/devices && break; sleep 1; done',
  'for i in $(seq 1 30); do [ -e /dev/input/mice ] && grep -q "ImPS/2\\|PS/2" /proc/bus/input/devices && break; sleep 1; done',
  'grep "^N: Name" /proc/bus/input/devices | sed "s/^/TENDRIL-INPUT: /"',
  'echo TENDRIL-EVDEV-READY',
  'read -r line < /dev/tty1',
  'echo "TENDRIL-TYPED=$line"',
  '(dd if=/dev/input/mice bs=3 count=1 2>/dev/null | od -An -tx1 > /tmp/mouse) & m=$!',
  'sleep 2',
  'echo TENDRIL-MOUSE-READY',
  'wait $m',
  'echo "TENDRIL-MOUSE=$(cat /tmp/mouse)"',
].join('\n');

describe.skipIf(!haveQemu)(
  "tendril vm --input-devices: the host's keyboard and mouse drive the guest (nested KVM)",
  () => {
    it('keys typed and mouse moved on the outer machine arrive in the guest through evdev and the i8042', async () => {
      const disk = linuxEfiDisk(scriptInitrd(GUEST, ['psmouse']), 160);
      const before = sha256(disk);
      const fw = splitFirmware();
      const vm = `node /tendril.js vm ${fw.args} --disk /vm/disk0.img --cpus 1 --input-devices auto ${LINUX_EFI_LOADER}`;
      const shell = [
        'grep -E "^(N|H):" /proc/bus/input/devices | sed "s/^/TENDRIL-OUTER-INPUT: /"',
        // Another reader of the outer keyboard's evdev node: it gets the keys typed before the grab
        // (so the check below can fail) and none while tendril holds the keyboard.
        'kbd=$(grep -A5 "AT Translated Set 2 keyboard" /proc/bus/input/devices | grep -o "event[0-9]*" | head -1)',
        'cat /dev/input/$kbd > /tmp/ev.bin & t=$!',
        'echo TENDRIL-OUTER-TYPE-NOW; sleep 8',
        'echo "TENDRIL-OUTER-READER-BEFORE=$(wc -c </tmp/ev.bin)"; : > /tmp/ev.bin',
        `${vm} </dev/null; echo "TENDRIL-EVDEV-STATUS=$?"`,
        'sleep 1; kill $t 2>/dev/null',
        'echo "TENDRIL-OUTER-READER-DURING=$(wc -c </tmp/ev.bin)"',
      ].join('\n');
      const cpio = tendrilRunsInitramfs('vm-evdev', [{ label: 'evdev', argv: '', shell }], {
        files: { ...fw.files, '/vm/disk0.img': disk },
        modules: ['evdev', 'psmouse'],
      });
      const acted = { before: false, keys: false, mouse: false };
      const errors: string[] = [];
      const act = (what: string, outer: OuterQemu, commands: readonly string[]) => {
        void (async () => {
          await new Promise((r) => setTimeout(r, 1000));
          for (const c of commands) {
            await outer.hmp(c);
            await new Promise((r) => setTimeout(r, 150));
          }
        })().catch((e: Error) => errors.push(`${what}: ${e.message}`));
      };
      const run = await runNestedRetrying(cpio, ['TENDRIL-EXIT-CODE='], 3, {
        onOutput: (log, outer) => {
          if (!acted.before && log.includes('TENDRIL-OUTER-TYPE-NOW')) {
            acted.before = true;
            act('sendkey', outer, ['sendkey o', 'sendkey k']);
          }
          if (!acted.keys && log.includes('TENDRIL-EVDEV-READY')) {
            acted.keys = true;
            act(
              'sendkey',
              outer,
              KEYS.map((k) => `sendkey ${k}`),
            );
          }
          if (!acted.mouse && log.includes('TENDRIL-MOUSE-READY')) {
            acted.mouse = true;
            act('mouse_move', outer, ['mouse_move 10 5']);
          }
        },
      });
      expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
      expect(errors).toEqual([]);
      const log = run.log.replace(/\r/g, '');
      const tail = log.slice(-5000);
      expect(log, tail).toMatch(/^TENDRIL-OUTER-INPUT: N: Name="AT Translated Set 2 keyboard"$/m);
      expect(log, tail).toMatch(
        /tendril vm: input: grabbed \/dev\/input\/event\d+ \(AT Translated Set 2 keyboard; keyboard\)/,
      );
      expect(log, tail).toMatch(/tendril vm: input: grabbed \/dev\/input\/event\d+ \([^)]*PS\/2[^)]*; mouse\)/);
      expect(log, tail).toMatch(/^TENDRIL-INPUT: N: Name="AT Translated Set 2 keyboard"$/m);
      expect(log, tail).toMatch(new RegExp(`^TENDRIL-TYPED=${TYPED}$`, 'm'));
      // mousedev's packet: buttons byte with bit 3 and Y's sign, X 10 right, Y 5 down (negative up).
      expect(log, tail).toMatch(/^TENDRIL-MOUSE= 28 0a fb$/m);
      expect(log, tail).toMatch(/^TENDRIL-EVDEV-STATUS=0$/m);
      // 'o' and 'k' pressed and released: 4 key records and their SYN_REPORTs (24 bytes each).
      expect(Number(/^TENDRIL-OUTER-READER-BEFORE=(\d+)$/m.exec(log)?.[1]), tail).toBeGreaterThanOrEqual(8 * 24);
      expect(log, tail).toMatch(/^TENDRIL-OUTER-READER-DURING=0$/m);
      expect(sha256(disk)).toBe(before);
    }, 2_400_000);
  },
);
