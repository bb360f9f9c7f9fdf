// The scheme end to end on a real TPM (swtpm): materialize() with the measure hook extends PCR 5,
// 9 and 8 with the digests of the exact bytes it wrote, logs every extend, and appends the log as
// a cpio piece that cpio(1) unpacks; tpm2_eventlog (tpm2-tools) parses the log and replays it to
// the values the TPM itself reports, in both banks. Recovery extends PCR 4 once per boot.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KexecError } from '../../../src/kexec/errors';
import { loadPlan, materialize } from '../../../src/kexec/load';
import { type BootPlan, planBoot } from '../../../src/kexec/plan';
import type { HashAlg } from '../../../src/tpm/algs';
import { measureHookFor } from '../../../src/tpm/boot';
import { extendValue, hexOf } from '../../../src/tpm/digest';
import { EV_ACTION, EV_IPL, parseEventLog } from '../../../src/tpm/eventlog';
import { type Measurer, openMeasurement } from '../../../src/tpm/measure';
import { recoveryGate } from '../../../src/tpm/recovery';
import { tpmFromSettings } from '../../../src/tpm/setup';
import { type BootTree, linuxEntry, makeBootTree } from '../kexec/helpers';
import { eventlogReplay, startSwtpm, type Swtpm } from '../../fixtures/swtpm';

let t: BootTree;
let sw: Swtpm;
let m: Measurer;
let work: string;
const lookup = (id: string) => (id === 'img:1' ? t.fs : undefined);
const ENTRY = 'a.conf';
const files = ['/intel-ucode.img', '/odd.img', '/initrd.img', '/second.img'];
const CMDLINE = 'root=/dev/vda2 quiet tendril.test="a b"';

beforeAll(() => {
  t = makeBootTree();
  fs.mkdirSync(path.join(t.dir, 'loader/entries'), { recursive: true });
  fs.writeFileSync(path.join(t.dir, 'loader/entries', ENTRY), 'title A\nlinux /vmlinuz\noptions quiet\n');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-tpm-measure-'));
  fs.writeFileSync(path.join(work, 'tendril.toml'), '[tpm]\nmeasure = "require"\n');
  sw = startSwtpm('sha1,sha256');
  const st = openMeasurement({ policy: 'require', transport: sw.transport, logPath: path.join(work, 'run/log.bin') });
  if (st.kind !== 'on') throw new Error(st.why);
  m = st;
});
afterAll(() => {
  sw.stop();
  t.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

const sha = (alg: HashAlg, b: Uint8Array | string): Uint8Array => new Uint8Array(createHash(alg).update(b).digest());
const read = (p: string): Buffer => fs.readFileSync(path.join(t.dir, p));
const zero = (alg: HashAlg): Uint8Array => new Uint8Array(alg === 'sha1' ? 20 : 32);
const chain = (alg: HashAlg, parts: (Uint8Array | string)[]): string =>
  hexOf(parts.reduce<Uint8Array>((v, p) => extendValue(alg, v, sha(alg, p)), zero(alg)));

function readFd(fd: number): Buffer {
  const size = fs.fstatSync(fd).size;
  const b = Buffer.alloc(size);
  let off = 0;
  while (off < size) off += fs.readSync(fd, b, off, size - off, off);
  return b;
}

/** tpm2_eventlog's replay of a log file (exit status checked). */
function replayFile(f: string): ReturnType<typeof eventlogReplay> {
  const r = eventlogReplay(fs.readFileSync(f));
  expect(r.status).toBe(0);
  return r;
}

let plan: BootPlan;
let initrd: Buffer;

describe('a measured materialize on swtpm', () => {
  beforeAll(async () => {
    plan = await planBoot(linuxEntry(ENTRY, '/vmlinuz', files, CMDLINE), lookup);
    const hook = measureHookFor(
      m,
      { entry: linuxEntry(ENTRY, '/vmlinuz', files, CMDLINE), lookup, settingsFile: path.join(work, 'tendril.toml') },
      plan,
    )!;
    const mat = await materialize(plan, lookup, undefined, hook);
    try {
      initrd = readFd(mat.initrdFd);
    } finally {
      mat.close();
    }
  });

  it('PCR 9: kernel then each initrd in order, digests of the exact file bytes, both banks', () => {
    for (const alg of ['sha256', 'sha1'] as const) {
      const want = chain(alg, [read('vmlinuz'), ...files.map((f) => read(f.slice(1)))]);
      expect(hexOf(m.tpm.read(9, alg)!)).toBe(want);
      // Any other order gives another value: the test sees order mistakes.
      expect(
        chain(alg, [
          read('vmlinuz'),
          ...files
            .slice()
            .reverse()
            .map((f) => read(f.slice(1))),
        ]),
      ).not.toBe(want);
    }
  });

  it('PCR 8: the exact command line bytes, no prefix, no NUL', () => {
    expect(plan.cmdline).toBe(CMDLINE);
    expect(hexOf(m.tpm.read(8, 'sha256')!)).toBe(chain('sha256', [CMDLINE]));
  });

  it("PCR 5: tendril's settings file, then the entry's config file", () => {
    const want = chain('sha256', [fs.readFileSync(path.join(work, 'tendril.toml')), read(`loader/entries/${ENTRY}`)]);
    expect(hexOf(m.tpm.read(5, 'sha256')!)).toBe(want);
  });

  it('the initrd is the measured pieces, then padding, then the event log as a cpio piece', () => {
    const measured = initrd.subarray(0, plan.initrdLayout.total);
    const pad = (4 - (plan.initrdLayout.total % 4)) % 4;
    expect(initrd.subarray(plan.initrdLayout.total, plan.initrdLayout.total + pad).equals(Buffer.alloc(pad))).toBe(
      true,
    );
    const piece = initrd.subarray(plan.initrdLayout.total + pad);
    expect(piece.subarray(0, 6).toString()).toBe('070701');
    const out = fs.mkdtempSync(path.join(work, 'cpio-'));
    execFileSync('cpio', ['-i', '-d', '--quiet'], { cwd: out, input: piece });
    const log = fs.readFileSync(path.join(out, 'tendril/tpm-eventlog.bin'));
    expect(log.equals(fs.readFileSync(m.logPath))).toBe(true);
    // The measured part is exactly what the files hold, in order (the log piece is not measured).
    expect(sha('sha256', measured)).toEqual(
      sha(
        'sha256',
        Buffer.concat(files.map((f, i) => [read(f.slice(1)), Buffer.alloc(plan.initrdLayout.pieces[i]!.pad)]).flat()),
      ),
    );
  });

  it('tpm2_eventlog parses the log and replays it to the TPM values; it verifies the PCR 8 digest', () => {
    const { pcrs, stderr } = replayFile(m.logPath);
    for (const alg of ['sha1', 'sha256'] as const)
      for (const pcr of [5, 8, 9]) expect(pcrs[alg]?.[pcr]).toBe(hexOf(m.tpm.read(pcr, alg)!));
    expect(stderr).not.toMatch(/Event \d+'s|digest/i);
    const events = parseEventLog(fs.readFileSync(m.logPath)).events;
    expect(events.map((e) => [e.pcr, e.type])).toEqual([
      [5, EV_IPL],
      [5, EV_IPL],
      [9, EV_IPL],
      ...files.map(() => [9, EV_IPL]),
      [8, EV_IPL],
    ]);
    expect(Buffer.from(events[2]!.data).toString()).toBe('tendril_kernel: img:1:/vmlinuz\0');
    expect(Buffer.from(events.at(-1)!.data).toString()).toBe(`tendril_cmdline: ${CMDLINE}\0`);
  });

  it('a log whose PCR 8 digest does not match its text is flagged by tpm2_eventlog (the oracle can fail)', () => {
    const b = Buffer.from(fs.readFileSync(m.logPath));
    const cmd = b.lastIndexOf(Buffer.from('tendril_cmdline: '));
    b.writeUInt8(b.readUInt8(cmd + 20) ^ 1, cmd + 20);
    const bad = path.join(work, 'bad.bin');
    fs.writeFileSync(bad, b);
    expect(replayFile(bad).stderr).toMatch(/Event 8's digest does not match its payload/);
  });

  it('recovery extends PCR 4 once per boot, the log remembering across processes', () => {
    expect(m.recoveryOnce()).toBe('extended');
    expect(m.recoveryOnce()).toBe('already');
    // A new process (tendril restarted by /init) reads the same log in /run.
    const again = openMeasurement({ policy: 'auto', transport: sw.transport, logPath: m.logPath });
    expect(again.kind === 'on' && again.recoveryOnce()).toBe('already');
    expect(hexOf(m.tpm.read(4, 'sha256')!)).toBe(chain('sha256', ['tendril-recovery']));
    const last = parseEventLog(fs.readFileSync(m.logPath)).events.at(-1)!;
    expect([last.pcr, last.type, Buffer.from(last.data).toString()]).toEqual([4, EV_ACTION, 'tendril-recovery']);
    expect(replayFile(m.logPath).pcrs.sha256?.[4]).toBe(hexOf(m.tpm.read(4, 'sha256')!));
  });
});

describe('policy', () => {
  it('off measures nothing; auto without a TPM measures nothing and says why; require refuses', async () => {
    expect(openMeasurement({ policy: 'off' })).toEqual({
      kind: 'off',
      why: 'measurement is off ([tpm] measure = "off")',
    });
    expect(openMeasurement({ policy: 'auto', device: '/nonexistent/tpmrm0' })).toEqual({
      kind: 'off',
      why: 'no TPM (/nonexistent/tpmrm0 absent): nothing is measured',
      absent: true,
    });
    const req = openMeasurement({ policy: 'require', device: '/nonexistent/tpmrm0' });
    expect(req.kind).toBe('refuse');
    const p = await planBoot(linuxEntry(ENTRY, '/vmlinuz', files, CMDLINE), lookup);
    expect(() =>
      measureHookFor(req, { entry: linuxEntry(ENTRY, '/vmlinuz', files, CMDLINE), lookup, settingsFile: '/x' }, p),
    ).toThrow(KexecError);
  });

  it('a TPM that fails mid-boot stops the load before kexec_file_load, naming device, command and RC', async () => {
    // A real TPM whose PCR_Extend commands arrive with a bad PCR handle (rewritten on the way).
    const bad = openMeasurement({
      policy: 'auto',
      logPath: path.join(work, 'run/bad.bin'),
      transport: {
        name: 'swtpm-bad',
        transmit: (c) => {
          const b = Buffer.from(c);
          if (b.readUInt32BE(6) === 0x182) b.writeUInt32BE(30, 10);
          return sw.transport.transmit(b);
        },
      },
    });
    const p = await planBoot(linuxEntry(ENTRY, '/vmlinuz', files, CMDLINE), lookup);
    const hook = measureHookFor(
      bad,
      { entry: linuxEntry(ENTRY, '/vmlinuz', files, CMDLINE), lookup, settingsFile: '/absent' },
      p,
    );
    let called = false;
    const err = await loadPlan(p, lookup, undefined, {
      measure: hook!,
      kexecFileLoad: () => {
        called = true;
      },
      readLoaded: () => '1',
    }).catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(err).toBeInstanceOf(KexecError);
    expect((err as KexecError).failure.syscall).toBe('measure');
    expect((err as KexecError).failure.hint).toMatch(
      /swtpm-bad: TPM2_PCR_Extend \(PCR 5\): 0x00000184 TPM_RC_VALUE \(handle 1\)/,
    );
  });

  it('the menu gate: go ahead when off, the reason when refusing or when the TPM fails', () => {
    const said: string[] = [];
    expect(
      recoveryGate(
        () => ({ kind: 'off', why: 'x' }),
        (l) => said.push(l),
      )(),
    ).toBeUndefined();
    expect(
      recoveryGate(
        () => ({ kind: 'refuse', why: 'no TPM, require' }),
        (l) => said.push(l),
      )(),
    ).toBe('no TPM, require');
    const failing = openMeasurement({
      policy: 'auto',
      logPath: path.join(work, 'run/gate.bin'),
      transport: {
        name: 'swtpm-bad',
        transmit: (c) => {
          const b = Buffer.from(c);
          if (b.readUInt32BE(6) === 0x182) b.writeUInt32BE(30, 10);
          return sw.transport.transmit(b);
        },
      },
    });
    expect(
      recoveryGate(
        () => failing,
        (l) => said.push(l),
      )(),
    ).toMatch(/^swtpm-bad: TPM2_PCR_Extend \(PCR 4\): 0x00000184/);
    expect(said).toEqual([]);
    expect(fs.existsSync(path.join(work, 'run/gate.bin'))).toBe(false);
  });

  it('while the device is absent, the state is asked again (a TPM driver module may load late)', () => {
    const dev = path.join(work, 'tpmrm-late');
    const saved = process.env.TENDRIL_SETTINGS;
    process.env.TENDRIL_SETTINGS = path.join(work, 'absent.toml');
    try {
      const t = tpmFromSettings({ device: dev, logPath: path.join(work, 'run/late.bin') });
      expect(t.policy).toBe('auto');
      expect(t.state()).toMatchObject({ kind: 'off', absent: true });
      // Something appears at the path (here a plain file, which answers nothing): asked again.
      fs.writeFileSync(dev, '');
      const now = t.state();
      expect(now.kind).toBe('refuse');
      expect(now.kind !== 'on' && now.why).toMatch(
        /tpmrm-late: TPM2_GetCapability\(TPM_CAP_PCRS\): malformed response/,
      );
    } finally {
      if (saved === undefined) delete process.env.TENDRIL_SETTINGS;
      else process.env.TENDRIL_SETTINGS = saved;
    }
  });
});
