// Measuring for real: the `[tpm] measure` policy, the TPM behind it, and the event log in
// /run/tendril (docs/measured-boot.md). Every extend is followed by its log record; a failure
// of either stops the boot (a measured boot that skips a measurement is worse than none).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HashAlg } from './algs';
import { Tpm, TpmError } from './client';
import { DEFAULT_TPM_DEVICE, deviceTransport, type Transport } from './device';
import { EV_ACTION, eventRecord, parseEventLog, specIdHeader } from './eventlog';
import { type Measurement, PCR_RECOVERY, RECOVERY_EVENT, recoveryMeasurement } from './scheme';

export type MeasurePolicy = 'auto' | 'off' | 'require';

export const DEFAULT_LOG_PATH = '/run/tendril/tpm-eventlog.bin';

export interface TpmSetup {
  readonly policy: MeasurePolicy;
  /** Default /dev/tpmrm0, or $TENDRIL_TPM_DEVICE. */
  readonly device?: string;
  /** Default /run/tendril/tpm-eventlog.bin, or $TENDRIL_TPM_LOG. */
  readonly logPath?: string;
  /** Tests: talk to a TPM some other way than the device file. */
  readonly transport?: Transport;
}

/** Nothing is measured: measurement is off, or (auto) there is no TPM. */
export interface NotMeasuring {
  readonly kind: 'off';
  readonly why: string;
  /** No TPM device (yet: a driver module may still be loading). */
  readonly absent?: true;
}
/** Booting must stop: `require` without a TPM, or a TPM that failed. */
export interface Refusing {
  readonly kind: 'refuse';
  readonly why: string;
  readonly absent?: true;
}
export type MeasureState = NotMeasuring | Refusing | Measurer;

export class MeasureError extends Error {}

export class Measurer {
  readonly kind = 'on';
  constructor(
    readonly tpm: Tpm,
    readonly algs: readonly HashAlg[],
    readonly logPath: string,
  ) {}

  get device(): string {
    return this.tpm.transport.name;
  }

  /** Extend, then log; either failing throws (TpmError or MeasureError). */
  record(m: Measurement): void {
    this.tpm.extend(
      m.pcr,
      this.algs.map((alg) => ({ alg, digest: m.digests.get(alg)! })),
    );
    try {
      fs.mkdirSync(path.dirname(this.logPath), { recursive: true });
      const old = this.log();
      // Records carry one digest per header bank: appending to a log with other banks would corrupt it.
      if (old.length && parseEventLog(old).algs.join() !== this.algs.join())
        throw new Error(
          `the existing log lists banks ${parseEventLog(old).algs.join(', ')}, the TPM ${this.algs.join(', ')}`,
        );
      const fresh = old.length === 0;
      const rec = eventRecord(this.algs, m);
      fs.appendFileSync(this.logPath, fresh ? Buffer.concat([specIdHeader(this.algs), rec]) : rec);
    } catch (e) {
      throw new MeasureError(
        `PCR ${m.pcr} extended but its event could not be logged to ${this.logPath}: ${(e as Error).message}`,
      );
    }
  }

  /** The whole log so far (empty before the first event). */
  log(): Uint8Array {
    try {
      return new Uint8Array(fs.readFileSync(this.logPath));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Uint8Array(0);
      throw new MeasureError(`${this.logPath}: ${(e as Error).message}`);
    }
  }

  /** PCR 4 gets the recovery event once per boot: the log in /run remembers across restarts. */
  recoveryOnce(): 'extended' | 'already' {
    const b = this.log();
    if (b.length) {
      const parsed = parseEventLog(b);
      const tag = Buffer.from(RECOVERY_EVENT);
      if (parsed.events.some((e) => e.pcr === PCR_RECOVERY && e.type === EV_ACTION && tag.equals(e.data)))
        return 'already';
    }
    this.record(recoveryMeasurement(this.algs));
    return 'extended';
  }
}

/** Decide what measuring means here: ask the TPM for its banks when there is one. */
export function openMeasurement(s: TpmSetup): MeasureState {
  if (s.policy === 'off') return { kind: 'off', why: 'measurement is off ([tpm] measure = "off")' };
  const device = s.device ?? process.env.TENDRIL_TPM_DEVICE ?? DEFAULT_TPM_DEVICE;
  const logPath = s.logPath ?? process.env.TENDRIL_TPM_LOG ?? DEFAULT_LOG_PATH;
  if (!s.transport && !fs.existsSync(device)) {
    const why = `no TPM (${device} absent)`;
    return s.policy === 'require'
      ? { kind: 'refuse', why: `${why}, and [tpm] measure = "require"`, absent: true }
      : { kind: 'off', why: `${why}: nothing is measured`, absent: true };
  }
  const tpm = new Tpm(s.transport ?? deviceTransport(device));
  try {
    const banks = tpm.banks();
    if (!banks.active.includes('sha256'))
      return { kind: 'refuse', why: `${tpm.transport.name}: the SHA-256 PCR bank is not active` };
    if (banks.unsupported.length)
      return {
        kind: 'refuse',
        why: `${tpm.transport.name}: active PCR bank(s) ${banks.unsupported.join(', ')} cannot be extended by tendril`,
      };
    // The log's bank order is the header's: SHA-256 first, the others as the TPM lists them.
    const algs: HashAlg[] = ['sha256', ...banks.active.filter((a) => a !== 'sha256')];
    return new Measurer(tpm, algs, logPath);
  } catch (e) {
    if (e instanceof TpmError) return { kind: 'refuse', why: e.message };
    throw e;
  }
}
