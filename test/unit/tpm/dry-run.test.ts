// `tendril boot --dry-run` through the bundle on a real BLS disk: the measurements it prints are
// the digests of the files on the disk, the settings file and the command line, and its PCR 8/9
// predictions are the extend chains an owner computes from them.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { blsDisk, blsEntry, targetInitrds } from '../../fixtures/boot';

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const chain = (ds: string[]): string =>
  ds.reduce((v, d) => sha(Buffer.concat([Buffer.from(v, 'hex'), Buffer.from(d, 'hex')])), '00'.repeat(32));

describe('tendril boot --dry-run prints the measurements', () => {
  it('PCR, event type, digest and what, for settings, config, kernel, initrds in order, command line', () => {
    const entry = blsEntry({
      title: 'Two',
      linux: '/vmlinuz',
      initrds: ['/intel-ucode.img', '/initrd-main.img', '/initrd-second.img'],
      options: 'two console=ttyS1',
    });
    const disk = blsDisk('timeout 1\ndefault two.conf\n', { 'two.conf': entry });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-tpm-dry-'));
    const settings = path.join(dir, 'tendril.toml');
    fs.writeFileSync(settings, '[tpm]\nmeasure = "auto"\n');
    const bin = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');
    const r = spawnSync(process.execPath, [bin, 'boot', '--default', '--dry-run', '--disk', disk], {
      encoding: 'utf8',
      env: { ...process.env, TENDRIL_SETTINGS: settings, TENDRIL_TPM_DEVICE: path.join(dir, 'tpmrm0') },
    });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(0);
    const m = r.stdout.slice(r.stdout.indexOf('measurements ('));
    expect(m.split('\n')[0]).toBe(`measurements (no TPM (${path.join(dir, 'tpmrm0')} absent): nothing is measured):`);
    const t = targetInitrds();
    const fsId = /kernel: (\S+):\/vmlinuz/.exec(r.stdout)![1]!;
    const cmdline = /^cmdline \(\d+\/\d+ bytes\): (.*)$/m.exec(r.stdout)![1]!;
    const files = [fs.readFileSync(hostKernel().vmlinuz), t.ucode, t.main, t.second].map(sha);
    expect(m.split('\n').slice(1, 9)).toEqual([
      `  PCR 5 EV_IPL sha256 ${sha('[tpm]\nmeasure = "auto"\n')} tendril_settings: ${settings}`,
      `  PCR 5 EV_IPL sha256 ${sha(entry)} tendril_config: ${fsId}:/loader/entries/two.conf`,
      `  PCR 9 EV_IPL sha256 ${files[0]} tendril_kernel: ${fsId}:/vmlinuz`,
      `  PCR 9 EV_IPL sha256 ${files[1]} tendril_initrd: ${fsId}:/intel-ucode.img`,
      `  PCR 9 EV_IPL sha256 ${files[2]} tendril_initrd: ${fsId}:/initrd-main.img`,
      `  PCR 9 EV_IPL sha256 ${files[3]} tendril_initrd: ${fsId}:/initrd-second.img`,
      `  PCR 8 EV_IPL sha256 ${sha(cmdline)} tendril_cmdline: ${cmdline}`,
      `  PCR 9 sha256 from zero: ${chain(files)}`,
    ]);
    expect(m).toContain(`  PCR 8 sha256 from zero: ${chain([sha(cmdline)])}\n`);
    expect(cmdline).toBe('two console=ttyS1');
  });
});
