// bin/tendril.js with /dev/kvm taken away in a private mount namespace (unshare -m): replaced by
// /dev/null (opens, but is not KVM), missing (an empty tmpfs over /dev), or a KVM node the user
// may not open (mode 0600, run as nobody). The real check runs each time; an efi entry is then
// unavailable: `boot --dry-run` prints why and the VM it would have run, `boot --entry` exits 1
// with the reason, and a Linux entry on the same disk still plans for kexec.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { efiGptDisk } from '../../fixtures/efi-disks';
import { sha256File } from '../../fixtures/images';

const REPO = path.join(__dirname, '..', '..', '..');
const BIN = path.join(REPO, 'bin', 'tendril.js');
const root = process.getuid?.() === 0;
const canUnshare = root && spawnSync('unshare', ['-m', 'true']).status === 0;

/** Runs `setup` then bin/tendril.js ARGS (as `user` when given) in a new mount namespace. */
function hidden(setup: string, args: string[], user?: number) {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // Another user may not reach the checkout (a clone under a 0700 mktemp directory): in the
  // namespace it is bound at /mnt/repo, below a world-traversable tmpfs.
  const bin = user === undefined ? BIN : '/mnt/repo/bin/tendril.js';
  const reach =
    user === undefined
      ? ''
      : `\nmount -t tmpfs -o mode=755 none /mnt\nmkdir /mnt/repo\nmount --bind ${q(REPO)} /mnt/repo`;
  const node = [process.execPath, bin, ...args].map(q).join(' ');
  const as = user === undefined ? '' : `setpriv --reuid ${user} --regid ${user} --clear-groups `;
  const r = spawnSync('unshare', ['-m', 'sh', '-ec', `${setup}${reach}\nexec ${as}${node}`], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!canUnshare)('efi entries when /dev/kvm cannot be used (mount namespace)', () => {
  const img = efiGptDisk();
  const entry = ['--disk', img, '--entry', 'tendril-efi.conf'];

  it('/dev/kvm is /dev/null: --dry-run prints the reason and the VM it would run, exit 1', () => {
    const before = sha256File(img);
    const r = hidden('mount --bind /dev/null /dev/kvm', ['boot', ...entry, '--dry-run']);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^entry: tendril-efi\.conf \(Tendril EFI program\)\nunavailable: /);
    // /dev/null is a character device: the KVM ioctl is what fails.
    expect(r.stdout).toContain(
      'unavailable: the VM cannot run here: /dev/kvm: ioctl KVM_GET_API_VERSION: ENOTTY (not a KVM device)',
    );
    expect(r.stdout).toMatch(
      /\n {2}boot variable: Boot0000 = HD\(2,GPT,[0-9A-F-]{36},0x[0-9a-f]+,0x[0-9a-f]+\)\/\\\\EFI\\\\tendril\\\\marker\.efi/,
    );
    expect(r.stdout).toContain(`\n  disk 0: ${img} read-only, guest writes go to an in-memory copy-on-write overlay`);
    expect(r.stderr).toContain(
      "tendril: entry 'tendril-efi.conf' cannot boot here: the VM cannot run here: /dev/kvm: ioctl KVM_GET_API_VERSION: ENOTTY",
    );
    expect(r.stderr).toContain('tendril: no entry could be booted');
    expect(sha256File(img)).toBe(before);
  });

  it('/dev/kvm missing: tendril boot --entry exits 1 with ENOENT; a Linux entry still plans', () => {
    const r = hidden('mount -t tmpfs none /dev', ['boot', ...entry]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      "tendril: entry 'tendril-efi.conf' cannot boot here: the VM cannot run here: /dev/kvm: stat: ENOENT (no such file): this kernel offers no KVM",
    );
    const k = hidden('mount -t tmpfs none /dev', ['boot', '--disk', img, '--entry', 'linux.conf', '--dry-run']);
    expect(k.status, k.stderr).toBe(0);
    expect(k.stdout).toContain('syscall: kexec_file_load');
  });

  it('/dev/kvm not openable by this user: EACCES, named', () => {
    const r = hidden(
      'mount -t tmpfs none /dev\nmknod -m 600 /dev/kvm c 10 232',
      ['boot', ...entry, '--dry-run'],
      65534,
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain(
      'unavailable: the VM cannot run here: /dev/kvm: open: EACCES (permission denied): run tendril as root or in the kvm group',
    );
  });

  it('--default falls through an unavailable efi default to the next bootable entry', () => {
    const withDefault = efiGptDisk({ 'loader/loader.conf': 'default tendril-efi.conf\n' });
    const r = hidden('mount -t tmpfs none /dev', ['boot', '--disk', withDefault, '--default', '--dry-run']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "tendril: entry 'tendril-efi.conf' cannot boot here: the VM cannot run here: /dev/kvm: stat: ENOENT",
    );
    expect(r.stderr).toContain("tendril: trying next entry 'linux.conf'");
    expect(r.stdout).toMatch(
      /^entry: tendril-efi\.conf [^]*\nentry: linux\.conf [^]*syscall: kexec_file_load\nmeasurements \([^]*\n$/,
    );
  });
});
