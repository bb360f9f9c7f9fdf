// On a running system without systemd, `tendril boot` refuses to kexec at once (docs/state.md §4):
// the real CLI, a real BLS disk; nothing is loaded and nothing on the disk is written (the boot
// counter stays). `--force` and `systemctl kexec` are not run here: either would replace this
// machine's kernel.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blsDisk, blsEntry, privateCopy } from '../../fixtures/boot';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');

describe('tendril boot on a running system', () => {
  it('without systemd and without --force: refused with the reason, before anything is loaded or written', () => {
    // This machine must be one where the refusal is the answer; elsewhere the test would kexec it.
    if (fs.existsSync('/run/systemd/system') || process.pid === 1)
      throw new Error(
        'test/unit/boot/handover.test.ts: systemd runs here; this test would hand the host to systemctl kexec',
      );
    const disk = privateCopy(
      blsDisk('timeout 0\n', {
        'counted+2.conf': blsEntry({
          title: 'Counted',
          linux: '/vmlinuz',
          initrds: ['/initrd-main.img'],
          options: 'x',
        }),
      }),
    );
    try {
      const before = fs.readFileSync(disk);
      const env = { ...process.env };
      delete env.TENDRIL_INITRAMFS;
      const r = spawnSync(process.execPath, [BIN, 'boot', '--entry', 'counted.conf', '--disk', disk], {
        encoding: 'utf8',
        env,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/entry 'counted.conf': .*running system without systemd.*--force/);
      expect(r.stderr).not.toMatch(/loaded kernel|state: written/);
      expect(fs.readFileSync(disk).equals(before)).toBe(true);
    } finally {
      fs.rmSync(path.dirname(disk), { recursive: true, force: true });
    }
  });
});
