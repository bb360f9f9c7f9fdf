// `tendril vm` through the shipped entry point (bin/tendril.js → dist/tendril.js, the file the
// initramfs carries as /tendril.js), on this host's /dev/kvm with a tiny integer-only real-mode
// "firmware" (an emulating /dev/kvm cannot run OVMF; docs/testing.md §1). The VM worker starts
// from the bundle itself, so this is the path a user's `tendril vm` takes.
import { describe, expect, it, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

const root = path.join(__dirname, '..', '..', '..');
const BIN = path.join(root, 'bin', 'tendril.js');
const haveKvm = fs.existsSync('/dev/kvm');

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'native', 'build', 'Release', 'tendril.node')))
    execFileSync('sh', [path.join(root, 'scripts', 'build-native.sh')], { stdio: 'inherit' });
});

/** A tiny unified image, shaped as checkFirmware wants (docs/vmm-platform.md §1): a 4 KiB variable
 *  store volume, then 64 KiB of "CODE" ending at 4 GiB whose reset vector jumps to code at 0xF000
 *  that prints `text` on COM1 and powers off (PM1a_CNT SLP_EN with SLP_TYP 0 at PMBA 0xB000). */
export function tinyFirmware(text: string): Buffer {
  const vars = Buffer.alloc(0x1000, 0xff);
  vars.fill(0, 0, 0x10);
  Buffer.from('8d2bf1ff96768b4ca9852747075b4f50', 'hex').copy(vars, 0x10); // EFI_SYSTEM_NV_DATA_FV_GUID
  vars.writeBigUInt64LE(0x1000n, 0x20);
  vars.write('_FVH', 0x28, 'ascii');
  vars.writeUInt16LE(0x48, 0x30); // HeaderLength: the variable store header follows
  Buffer.from('782cf3aa7b949a43a1802e144ec37792', 'hex').copy(vars, 0x48); // authenticated store
  vars.writeUInt32LE(0x1000 - 0x48, 0x48 + 16);
  vars.fill(0, 0x48 + 20, 0x48 + 28);
  vars[0x48 + 20] = 0x5a; // formatted
  vars[0x48 + 21] = 0xfe; // healthy
  const b = Buffer.alloc(0x10000, 0xf4);
  b.write('_FVH', 0x28, 'ascii');
  const code: number[] = [];
  for (const ch of Buffer.from(text)) code.push(0xba, 0xf8, 0x03, 0xb0, ch, 0xee); // mov dx,3F8; mov al,ch; out dx,al
  code.push(0xba, 0x04, 0xb0, 0xb8, 0x00, 0x20, 0xef, 0xf4); // mov dx,B004; mov ax,2000; out dx,ax; hlt
  Buffer.from(code).copy(b, 0xf000);
  Buffer.from([0xe9, (0xf000 - 0xfff3) & 0xff, ((0xf000 - 0xfff3) >> 8) & 0xff]).copy(b, 0xfff0);
  return Buffer.concat([vars, b]);
}

describe.skipIf(!haveKvm)('tendril vm from bin/tendril.js', () => {
  it('runs the firmware in the VM worker: COM1 output on stdout, ACPI power-off, status 0', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-vm-cli-'));
    const fw = path.join(dir, 'tiny.fd');
    fs.writeFileSync(fw, tinyFirmware('TENDRIL-CLI-OK\n'));
    const r = spawnSync(process.execPath, [BIN, 'vm', '--firmware', fw, '--memory', '128M', '--stats'], {
      encoding: 'utf8',
      input: '',
      timeout: 60_000,
    });
    expect(r.stderr).not.toContain('worker exited');
    expect(r.stdout).toContain('TENDRIL-CLI-OK');
    expect(r.stderr).toContain('guest powered off (ACPI S5');
    expect(r.stderr).toMatch(/tendril-vm-stats \{/);
    expect(r.stderr).toContain(
      `UEFI variables from ${fw} (its own variable store) (in memory for this run); Secure Boot setup mode`,
    );
    expect(r.stderr).toContain('the guest changed no UEFI variables; not kept (--vars FILE keeps them)');
    expect(r.status, r.stderr).toBe(0);
  });

  it('--vars FILE: written at the end (only FILE in its directory afterwards), read back next time, checked', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-vm-vars-'));
    const fw = path.join(dir, 'tiny.fd');
    const image = tinyFirmware('V\n');
    fs.writeFileSync(fw, image);
    const state = path.join(dir, 'state');
    fs.mkdirSync(state);
    const vars = path.join(state, 'guest.vars');
    const vm = (...extra: string[]) =>
      spawnSync(process.execPath, [BIN, 'vm', '--firmware', fw, '--memory', '128M', '--cpus', '1', ...extra], {
        encoding: 'utf8',
        input: '',
        timeout: 60_000,
      });
    const first = vm('--vars', vars);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain(`UEFI variables from ${fw} (its own variable store); Secure Boot setup mode`);
    expect(first.stderr).toContain(`the guest changed no UEFI variables; kept in ${vars}`);
    expect(fs.readdirSync(state)).toEqual(['guest.vars']); // no temporary file left behind
    expect(fs.readFileSync(vars).equals(image.subarray(0, 0x1000))).toBe(true);
    const second = vm('--vars', vars);
    expect(second.stderr).toContain(`UEFI variables from ${vars}; Secure Boot setup mode`);
    expect(second.status, second.stderr).toBe(0);
    fs.writeFileSync(vars, Buffer.alloc(0x2000));
    const bad = vm('--vars', vars);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      /--vars .*guest\.vars: .*not a VARS image.*8192 bytes, but this firmware's variable store has 4096/,
    );
  });
});
