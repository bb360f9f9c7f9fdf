// End to end, measured boot (issue 14, "Measurement"; docs/measured-boot.md): QEMU (TCG) with a
// software TPM (swtpm, SHA-1 and SHA-256 banks, on tpm-crb) boots the product initramfs with a BLS
// disk; tendril measures and kexecs the default entry; the target kernel prints its PCRs from
// /sys/class/tpm/tpm0 and the event log piece it received. The PCR values must equal the extend
// chains computed here from the disk's files and the command line the target got (from zero:
// SeaBIOS and `-kernel` touch no PCR above 7, which the firmware's own log confirms), and the log
// must replay to them under tpm2_eventlog. A wrong order or a wrong byte changes the values.

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { parseEventLog } from '../../src/tpm/eventlog';
import {
  LOG_DIR,
  type QemuRun,
  blsDisk,
  blsEntry,
  privateCopy,
  productInitramfs,
  runQemu,
  sha256File,
  targetInitrds,
  targetReport,
} from '../fixtures/boot';

const ENTRY = blsEntry({
  title: 'Measured',
  version: '1.0',
  linux: '/vmlinuz',
  initrds: ['/intel-ucode.img', '/initrd-main.img', '/initrd-second.img'],
  options: 'tendril.test=tpm quiet',
});

const sha = (alg: string, b: Uint8Array | string): Buffer => createHash(alg).update(b).digest();
const chain = (alg: string, parts: (Uint8Array | string)[]): string =>
  parts
    .reduce<Buffer>((v, p) => sha(alg, Buffer.concat([v, sha(alg, p)])), Buffer.alloc(alg === 'sha1' ? 20 : 32))
    .toString('hex');

let run: QemuRun;
let dir: string;
let swtpm: ChildProcess;
let pristine: string;
let before: string;
let after: string;

/** Bytes printed by `od -An -v -tx1` under a prefix. */
function odBytes(out: string, prefix: string): Buffer {
  const hex = [...out.matchAll(new RegExp(`^${prefix} +((?:[0-9a-f]{2} ?)+)\\r?$`, 'gm'))].map((m) =>
    m[1]!.replace(/ /g, ''),
  );
  return Buffer.from(hex.join(''), 'hex');
}

/** PCRs the target printed: { sha256: { 9: 'hex' } }, lower case. */
function pcrs(out: string): Record<string, Record<number, string>> {
  const r: Record<string, Record<number, string>> = {};
  for (const m of out.matchAll(/^TARGET-PCR (\w+) (\d+) ([0-9A-Fa-f]+)\r?$/gm))
    (r[m[1]!] ??= {})[Number(m[2])] = m[3]!.toLowerCase();
  return r;
}

/** tpm2_eventlog's replay of a log file. */
function replay(bytes: Buffer): { pcrs: Record<string, Record<number, string>>; stdout: string; stderr: string } {
  const f = path.join(dir, `log-${Math.random().toString(36).slice(2)}.bin`);
  fs.writeFileSync(f, bytes);
  const r = spawnSync('tpm2_eventlog', [f], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const out: Record<string, Record<number, string>> = {};
  let bank = '';
  for (const line of r.stdout.slice(r.stdout.indexOf('\npcrs:')).split('\n')) {
    const b = /^ {2}(\w+):$/.exec(line);
    if (b) bank = b[1]!;
    const v = /^ {4}(\d+)\s*: 0x([0-9a-f]+)$/i.exec(line);
    if (v) (out[bank] ??= {})[Number(v[1])] = v[2]!.toLowerCase();
  }
  return { pcrs: out, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  const img = blsDisk('timeout 1\ndefault measured.conf\n', { 'measured.conf': ENTRY });
  const initramfs = productInitramfs();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-boot-tpm-'));
  const state = path.join(dir, 'tpm');
  fs.mkdirSync(state);
  execFileSync('swtpm_setup', ['--tpm2', '--tpmstate', state, '--pcr-banks', 'sha1,sha256', '--overwrite'], {
    stdio: 'pipe',
  });
  const sock = path.join(dir, 'swtpm.sock');
  swtpm = spawn('swtpm', ['socket', '--tpm2', '--tpmstate', `dir=${state}`, '--ctrl', `type=unixio,path=${sock}`], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  pristine = sha256File(img);
  const disk = privateCopy(img);
  before = sha256File(disk);
  run = await runQemu({
    kernel: hostKernel().vmlinuz,
    initrd: initramfs,
    append: 'console=ttyS0 quiet tendril.mode=boot',
    disks: [disk],
    timeoutMs: 300_000,
    logFile: path.join(LOG_DIR, 'boot-tpm.log'),
    extra: [
      '-chardev',
      `socket,id=chrtpm,path=${sock}`,
      '-tpmdev',
      'emulator,id=tpm0,chardev=chrtpm',
      '-device',
      'tpm-crb,tpmdev=tpm0',
    ],
  });
  after = sha256File(disk);
  fs.rmSync(path.dirname(disk), { recursive: true, force: true });
}, 900_000);

afterAll(() => {
  swtpm?.kill('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a measured boot under QEMU with swtpm', () => {
  it('tendril measured and kexecd the entry; the target booted with the TPM', () => {
    if (!/TARGET-DONE/.test(run.output)) console.error(run.output.slice(-6000));
    expect(run.timedOut).toBe(false);
    expect(run.output).toMatch(/loaded kernel \d+ \+ initrd \d+ bytes via memfd in \d+ ms \(measured\)/);
    expect(targetReport(run.output).booted).toBe(true);
    expect(pcrs(run.output).sha256?.[9]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('PCR 9 (both banks) = kernel, then each initrd in the order passed, from zero', () => {
    const t = targetInitrds();
    const files = [fs.readFileSync(hostKernel().vmlinuz), t.ucode, t.main, t.second];
    const got = pcrs(run.output);
    expect(got.sha256![9]).toBe(chain('sha256', files));
    expect(got.sha1![9]).toBe(chain('sha1', files));
    // The oracle can fail: another order (or a file missing) is another value.
    expect(chain('sha256', [files[0]!, t.main, t.ucode, t.second])).not.toBe(got.sha256![9]);
    expect(chain('sha256', files.slice(0, 3))).not.toBe(got.sha256![9]);
  });

  it('PCR 8 (both banks) = the exact command line the target received', () => {
    const line = /^TARGET-CMDLINE: (.*?)\r?$/m.exec(run.output)![1]!;
    expect(line.split(' ')).toEqual(['tendril.test=tpm', 'quiet', 'console=ttyS0']);
    const got = pcrs(run.output);
    expect(got.sha256![8]).toBe(chain('sha256', [line]));
    expect(got.sha1![8]).toBe(chain('sha1', [line]));
    expect(chain('sha256', [`${line}\0`])).not.toBe(got.sha256![8]);
  });

  it('the event log piece arrived intact and replays (tpm2_eventlog) to the PCR values', () => {
    const log = odBytes(run.output, 'TARGET-EVENTLOG');
    expect(log.length).toBeGreaterThan(0);
    expect(/^TARGET-EVENTLOG-SHA256 ([0-9a-f]{64}) /m.exec(run.output)![1]).toBe(sha('sha256', log).toString('hex'));
    const events = parseEventLog(log).events;
    expect(events.map((e) => e.pcr)).toEqual([5, 9, 9, 9, 9, 8]);
    expect(Buffer.from(events[0]!.data).toString()).toMatch(
      /^tendril_config: \S+:\/loader\/entries\/measured\.conf\0$/,
    );
    const r = replay(log);
    const got = pcrs(run.output);
    for (const bank of ['sha1', 'sha256']) for (const p of [8, 9]) expect(r.pcrs[bank]![p]).toBe(got[bank]![p]);
    expect(r.stderr).not.toMatch(/does not match/);
  });

  it("PCR 5 = the firmware's PCR 5 extended with the entry's BLS file; PCR 4 untouched (no shell, no editor)", () => {
    const fw = odBytes(run.output, 'TARGET-FWLOG');
    expect(fw.length).toBeGreaterThan(0);
    const f = replay(fw);
    // SeaBIOS measured nothing above PCR 7: PCR 8 and 9 started at zero.
    expect(
      Object.keys(f.pcrs.sha256 ?? {})
        .map(Number)
        .filter((p) => p > 7),
    ).toEqual([]);
    const got = pcrs(run.output);
    for (const bank of ['sha1', 'sha256']) {
      const fw5 = Buffer.from(f.pcrs[bank]![5]!, 'hex');
      expect(got[bank]![5]).toBe(sha(bank, Buffer.concat([fw5, sha(bank, ENTRY)])).toString('hex'));
      expect(got[bank]![4]).toBe(f.pcrs[bank]![4]);
    }
  });

  it('the disk image is byte-for-byte unchanged', () => {
    expect(after).toBe(before);
    expect(before).toBe(pristine);
  });
});
