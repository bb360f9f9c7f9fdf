// `tendril tpm recovery` through the bundle: what /init relies on before its rescue shell
// (0 = go ahead, 3 = the shell stays closed), without a TPM under each policy.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');

function recovery(measure: string, args = ['tpm', 'recovery']): { status: number | null; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-tpm-cmd-'));
  fs.writeFileSync(path.join(dir, 'tendril.toml'), `[tpm]\nmeasure = "${measure}"\n`);
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      TENDRIL_SETTINGS: path.join(dir, 'tendril.toml'),
      TENDRIL_TPM_DEVICE: path.join(dir, 'tpmrm0'),
      TENDRIL_TPM_LOG: path.join(dir, 'log.bin'),
    },
  });
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: r.status, stderr: r.stderr.replace(dir, 'DIR') };
}

describe('tendril tpm recovery without a TPM', () => {
  it('auto: nothing to measure, the shell may open (0), one line says why', () => {
    expect(recovery('auto')).toEqual({
      status: 0,
      stderr: 'tendril: tpm: no TPM (DIR/tpmrm0 absent): nothing is measured\n',
    });
  });
  it('off: 0', () => {
    expect(recovery('off').status).toBe(0);
  });
  it('require: 3, the shell stays closed, with the reason', () => {
    expect(recovery('require')).toEqual({
      status: 3,
      stderr:
        'tendril: tpm: the rescue shell stays closed: no TPM (DIR/tpmrm0 absent), and [tpm] measure = "require"\n',
    });
  });
  it('a bad action is a usage error', () => {
    expect(recovery('auto', ['tpm', 'status']).status).toBe(2);
    expect(recovery('auto', ['tpm']).status).toBe(2);
  });
});
