// End to end: a NIC plugged in while the menu waits. The product initramfs starts with no NIC
// at all (QEMU -nodefaults), so the menu's first lease stage ends with "no Ethernet interface";
// well after its carrier window a virtio NIC is hot-added through QMP (slirp behind it, a
// pxelinux config over TFTP). The menu's hotplug watch (src/net/hotplug.ts) must lease it, show
// its entry, and boot it by kexec when Enter is pressed.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { LOG_DIR, productInitramfs, targetReport } from '../fixtures/boot';
import { pxeTftpRoot } from '../fixtures/pxe-root';
import { type InteractiveRun, KEY, runQemuInteractive, stripAnsi } from '../fixtures/qemu-interactive';

const MAC = '52:54:00:12:34:99';
// After the menu is drawn: well past the first lease stage's 10 s carrier window (and /init's
// wait for the NIC drivers), so only the hotplug watch can pick the NIC up.
const PLUG_AFTER_MS = 30_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-hotplug-e2e-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function tftpRoot(): string {
  return pxeTftpRoot(path.join(dir, 'tftp'), {
    default: [
      'DEFAULT plugged',
      'LABEL plugged',
      '  MENU LABEL Plugged-in network',
      '  KERNEL vmlinuz',
      '  INITRD initrd-main.img,initrd-second.img',
      '  APPEND tendril.test=hotplugged quiet',
      '',
    ].join('\n'),
  });
}

/** One QMP session: capabilities, then each command in turn; resolves with the replies. */
function qmp(socket: string, commands: readonly object[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let buf = '';
    let sent = 0;
    const next = (): void => {
      const cmd = sent === 0 ? { execute: 'qmp_capabilities' } : commands[sent - 1];
      if (cmd === undefined) {
        c.end();
        resolve(buf);
        return;
      }
      sent++;
      c.write(JSON.stringify(cmd) + '\n');
    };
    c.on('data', (d) => {
      buf += d.toString('utf8');
      // The greeting, then one {"return"} or {"error"} per command (events may come between).
      const replies = (buf.match(/"(return|error)"/g) ?? []).length;
      if (buf.includes('"QMP"') && replies === sent) next();
    });
    c.on('error', reject);
    setTimeout(() => reject(new Error(`QMP timed out: ${buf}`)), 30_000).unref();
  });
}

let run: InteractiveRun;
let qmpReplies = '';
let plugged = false;

beforeAll(async () => {
  const root = tftpRoot();
  const sock = path.join(dir, 'qmp.sock');
  let plugTimer: NodeJS.Timeout | undefined;
  let seen = '';
  run = await runQemuInteractive({
    kernel: hostKernel().vmlinuz,
    initrd: productInitramfs(),
    append: 'console=ttyS0 quiet tendril.mode=menu',
    disks: [],
    timeoutMs: 400_000,
    until: /TARGET-DONE/,
    logFile: path.join(LOG_DIR, 'netboot-hotplug.log'),
    extra: ['-qmp', `unix:${sock},server=on,wait=off`],
    onOutput: (s) => {
      seen = (seen + s).slice(-65536);
      if (plugTimer || !/Boot entries/.test(stripAnsi(seen))) return;
      plugTimer = setTimeout(() => {
        plugged = true;
        void qmp(sock, [
          {
            execute: 'netdev_add',
            arguments: { type: 'user', id: 'n1', restrict: true, ipv6: false, tftp: root, bootfile: 'pxelinux.0' },
          },
          { execute: 'device_add', arguments: { driver: 'virtio-net-pci', netdev: 'n1', id: 'nic1', mac: MAC } },
        ]).then(
          (r) => void (qmpReplies = r),
          (e: unknown) => void (qmpReplies = `QMP failed: ${String(e)}`),
        );
      }, PLUG_AFTER_MS);
    },
    steps: [{ when: /Plugged-in network/, send: [KEY.enter] }],
  });
  clearTimeout(plugTimer);
}, 900_000);

describe('a NIC plugged in while the menu waits', () => {
  it('is leased, its pxelinux entry appears, and Enter boots it', () => {
    if (!/TARGET-DONE/.test(run.output))
      console.error(`${run.text.slice(-4000)}\n--- screen ---\n${run.screen}\n--- QMP ---\n${qmpReplies}`);
    expect(plugged).toBe(true);
    expect(qmpReplies).not.toMatch(/"error"/);
    expect(run.stepsDone).toBe(1);
    expect(run.screens[0]).toMatch(/Plugged-in network/);
    const r = targetReport(run.output);
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('tendril.test=hotplugged');
    expect(r.files['/second-initrd-marker']).toBe('second-piece-arrived');
  });
});
