// Measured boot for one kexec boot (docs/measured-boot.md): the hook materialize() calls once
// the bytes are in memory, and the same measurements predicted for `--dry-run`.

import * as fs from 'node:fs';
import type { MenuEntry } from '../discovery/model';
import { FsError } from '../discovery/fs/types';
import { KexecError } from '../kexec/errors';
import { MeasureFailure, type MeasureHook, type WrittenDigests } from '../kexec/load';
import { type BootPlan, CHUNK, type FsLookup, readPlanFile } from '../kexec/plan';
import { errnoNumber } from '../util/errno';
import type { HashAlg } from './algs';
import { TpmError } from './client';
import { eventLogCpio } from './cpio';
import { EventLogError } from './eventlog';
import { type Digests, MultiHash, extendValue, hexOf } from './digest';
import { type MeasureState, MeasureError, type Measurer } from './measure';
import { type BootInputs, type FileDigest, type Measurement, PCR_CMDLINE, PCR_FILES, bootMeasurements } from './scheme';

/** Where the measurement's inputs beyond the plan come from. */
export interface MeasureSources {
  readonly entry: MenuEntry;
  readonly lookup: FsLookup;
  /** tendril's settings file: measured into PCR 5 when it exists. */
  readonly settingsFile: string;
}

function settingsDigest(file: string, algs: readonly HashAlg[]): FileDigest | undefined {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MeasureError(`${file}: ${(e as Error).message}`);
  }
  const h = new MultiHash(algs);
  h.update(b);
  return { label: file, digests: h.digests() };
}

/** The entry's config file (origin.file), streamed through the discovery reader. */
async function configDigest(s: MeasureSources, algs: readonly HashAlg[]): Promise<FileDigest> {
  const o = s.entry.origin;
  const label = `${o.fsId}:${o.file}`;
  const fsys = s.lookup(o.fsId);
  if (!fsys) throw new MeasureError(`config ${label}: filesystem ${o.fsId} is not available`);
  const h = new MultiHash(algs);
  const f = await fsys.open(o.file);
  try {
    for (let pos = 0; pos < f.size;) {
      const c = await f.read(pos, Math.min(CHUNK, f.size - pos));
      if (c.length === 0) throw new FsError('EIO', o.file, `short read at ${pos}`);
      h.update(c);
      pos += c.length;
    }
  } finally {
    await f.close();
  }
  return { label, digests: h.digests() };
}

async function inputs(
  s: MeasureSources,
  plan: BootPlan,
  algs: readonly HashAlg[],
  d: WrittenDigests,
): Promise<BootInputs> {
  const settings = settingsDigest(s.settingsFile, algs);
  return {
    ...(settings ? { settings } : {}),
    config: await configDigest(s, algs),
    kernel: { label: plan.kernel.label, digests: d.kernel },
    initrds: plan.initrds.map((f, i) => ({ label: f.label, digests: d.initrds[i]! })),
    cmdline: plan.cmdline,
  };
}

function refusal(plan: BootPlan, why: string): KexecError {
  return new KexecError({
    syscall: 'measure',
    errno: 'ENODEV',
    code: errnoNumber('ENODEV'),
    kernel: plan.kernel.label,
    initrds: plan.initrds.map((f) => f.label),
    cmdlineLength: Buffer.byteLength(plan.cmdline) + 1,
    hint: why,
  });
}

/**
 * The hook for loadPlan(): undefined when nothing is measured; a refusal (require without a TPM,
 * a TPM that failed when asked for its banks) is a KexecError before anything is read.
 */
export function measureHookFor(state: MeasureState, s: MeasureSources, plan: BootPlan): MeasureHook | undefined {
  if (state.kind === 'off') return undefined;
  if (state.kind === 'refuse') throw refusal(plan, state.why);
  const m: Measurer = state;
  return {
    algs: m.algs,
    async measured(d) {
      try {
        for (const e of bootMeasurements(m.algs, await inputs(s, plan, m.algs, d))) m.record(e);
        return eventLogCpio(m.log());
      } catch (e) {
        if (e instanceof TpmError || e instanceof MeasureError || e instanceof FsError || e instanceof EventLogError)
          throw new MeasureFailure(`measured boot: ${e.message}`);
        throw e;
      }
    },
  };
}

const typeName = (t: number): string => (t === 0xd ? 'EV_IPL' : t === 0x5 ? 'EV_ACTION' : `event 0x${t.toString(16)}`);

/** `--dry-run`: what would be extended (SHA-256), and PCR 8 and 9 as they would read from zero. */
export async function describeMeasurements(
  state: MeasureState,
  s: MeasureSources,
  plan: BootPlan,
  hashLimit: number,
): Promise<string[]> {
  const head = `measurements (${state.kind === 'on' ? `TPM ${state.device}, banks ${state.algs.join(', ')}` : state.why}):`;
  const big = [plan.kernel, ...plan.initrds].find((f) => f.size > hashLimit);
  if (big) return [head, `  not computed: ${big.label} exceeds the dry-run hash limit of ${hashLimit} bytes`];
  try {
    return [head, ...(await predicted(s, plan))];
  } catch (e) {
    return [head, `  not computed: ${e instanceof Error ? e.message : String(e)}`];
  }
}

async function predicted(s: MeasureSources, plan: BootPlan): Promise<string[]> {
  const algs: HashAlg[] = ['sha256'];
  const hashPlanFile = async (f: BootPlan['kernel']): Promise<Digests> => {
    const h = new MultiHash(algs);
    for await (const c of readPlanFile(f, s.lookup)) h.update(c);
    return h.digests();
  };
  const written: WrittenDigests = {
    kernel: await hashPlanFile(plan.kernel),
    initrds: await Promise.all(plan.initrds.map(hashPlanFile)),
  };
  const ms: Measurement[] = bootMeasurements(algs, await inputs(s, plan, algs, written));
  const lines: string[] = [];
  for (const e of ms)
    lines.push(
      `  PCR ${e.pcr} ${typeName(e.type)} sha256 ${hexOf(e.digests.get('sha256')!)} ${Buffer.from(e.data).toString('utf8').replace(/\0$/, '')}`,
    );
  for (const pcr of [PCR_FILES, PCR_CMDLINE]) {
    let v: Uint8Array = new Uint8Array(32);
    for (const e of ms) if (e.pcr === pcr) v = extendValue('sha256', v, e.digests.get('sha256')!);
    lines.push(`  PCR ${pcr} sha256 from zero: ${hexOf(v)}`);
  }
  if (plan.initrds.length)
    lines.push('  the event log goes to the target as an extra initrd piece: /tendril/tpm-eventlog.bin (not measured)');
  return lines;
}
