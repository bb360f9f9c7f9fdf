// SNTP before TLS, end to end in QEMU: the product initramfs boots with its RTC at 2005-01-01 on
// the demo's network (a tap device in a namespace this test creates; dnsmasq, nginx with the test
// CA baked into the initramfs). dnsmasq names chronyd (run there with -x: it never sets this
// host's clock) in DHCP option 42. With chronyd, tendril steps the guest's clock before the first
// https fetch and the iPXE menu's default kexecs; without it the certificate is "not yet valid",
// the error says what the local clock reads, and nothing from the network boots.

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { LOG_DIR, productInitramfs, runQemu, targetReport, type QemuRun } from '../fixtures/boot';
import { chronydArgs, CHRONYD, CHRONY_STRATUM, requireChronyd } from '../fixtures/chrony';
import { DEMO_SERVER, demoDnsmasqArgs, demoNetwork, demoNginxConf } from '../fixtures/demo-net';
import { nginxArgs } from '../fixtures/nginx';

const MAC = '52:54:00:12:34:57';
const RTC = '2005-01-01';

/** One netboot (tendril.mode=netboot) of the demo's network with the guest's RTC at RTC. */
async function wrongRtcBoot(name: string, withChronyd: boolean): Promise<QemuRun> {
  if (process.getuid?.() !== 0) throw new Error('this test needs root (a network namespace with a tap device)');
  const ns = `tnb-clock-${process.pid}`;
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-clock-net-'));
  const ip = (...a: string[]): void => void execFileSync('ip', a, { stdio: 'pipe' });
  const children: ChildProcess[] = [];
  ip('netns', 'add', ns);
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'tuntap', 'add', 'dev', 'tap0', 'mode', 'tap');
    ip('-n', ns, 'addr', 'add', `${DEMO_SERVER}/24`, 'dev', 'tap0');
    ip('-n', ns, 'link', 'set', 'tap0', 'up');
    const net = demoNetwork();
    fs.writeFileSync(path.join(d, 'nginx.conf'), demoNginxConf(net, d));
    const start = (cmd: string, args: string[]): void =>
      void children.push(spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore' }));
    start('/usr/sbin/dnsmasq', [...demoDnsmasqArgs('tap0', d), `--dhcp-option=option:ntp-server,${DEMO_SERVER}`]);
    start('/usr/sbin/nginx', nginxArgs(d));
    if (withChronyd) start(CHRONYD, chronydArgs(d));
    return await runQemu({
      kernel: hostKernel().vmlinuz,
      initrd: productInitramfs('zstd', 'squashfs', net.caPem),
      append: 'console=ttyS0 quiet tendril.mode=netboot',
      disks: [],
      timeoutMs: 300_000,
      // The target's report, or tendril's first failed attempt (/init would try twice more).
      until: /TARGET-DONE|tendril: exited with status \d+/,
      logFile: path.join(LOG_DIR, `${name}.log`),
      prefix: ['ip', 'netns', 'exec', ns],
      extra: [
        '-rtc',
        `base=${RTC}`,
        '-netdev',
        'tap,id=n0,ifname=tap0,script=no,downscript=no',
        '-device',
        `virtio-net-pci,netdev=n0,mac=${MAC}`,
      ],
    });
  } finally {
    // The servers write into `d` until they are gone.
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(d, { recursive: true, force: true });
  }
}

const runs: Record<string, QemuRun> = {};

beforeAll(async () => {
  requireChronyd();
  // One guest at a time: the machine has two cores.
  runs.synced = await wrongRtcBoot('netboot-clock-sntp', true);
  runs.unsynced = await wrongRtcBoot('netboot-clock-no-sntp', false);
}, 700_000);

describe(`SNTP before TLS: a guest whose RTC says ${RTC}`, () => {
  it('with chronyd named in option 42: the clock is stepped before https and the iPXE default kexecs', () => {
    const run = runs.synced!;
    const r = targetReport(run.output);
    if (!r.booted) console.error(run.output.slice(-6000));
    expect(run.timedOut).toBe(false);
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('demo=net-https');
    const line = /tendril netboot: clock: stepped by \+(\d+)\.\d{3} s from 192\.0\.2\.1, stratum (\d+)/.exec(
      run.output,
    );
    expect(line, 'the serial log shows the clock line').not.toBeNull();
    expect(Number(line![2])).toBe(CHRONY_STRATUM);
    // The step is what separates the RTC from this host's clock (to within a minute of boot time).
    const expected = (Date.now() - Date.parse(`${RTC}T00:00:00Z`)) / 1000;
    expect(Math.abs(Number(line![1]) - expected)).toBeLessThan(600);
  });

  it('without an NTP server: https fails naming the clock, and nothing from the network boots', () => {
    const run = runs.unsynced!;
    const out = run.output;
    if (targetReport(out).booted) console.error(out.slice(-6000));
    expect(run.timedOut).toBe(false);
    expect(targetReport(out).booted).toBe(false);
    expect(out).toMatch(
      /tendril netboot: clock: no usable NTP reply, the clock stays as it is: NTP server 192\.0\.2\.1: /,
    );
    expect(out).toMatch(/CERT_NOT_YET_VALID/);
    expect(out).toMatch(
      /the local clock says 2005-01-01T\d\d:\d\d:\d\d\.\d{3}Z: if that is wrong, set the time \(SNTP\)/,
    );
    expect(out).toContain('tendril: exited with status 1');
  });
});
