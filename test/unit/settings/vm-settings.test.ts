// The [vm] table: the VM efi entries boot in (vCPUs, memory, firmware, Secure Boot), for the menu
// and `tendril boot`, whose own options override it. The firmware comes from the file only and a
// kernel argument can turn Secure Boot on, never off: a command line read from a disk must not
// weaken the VM a flashed settings file asked for.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingsFiles } from '../../fixtures/settings-files';
import { loadSettings } from '../../../src/settings/load';
import { diskInterfaceFor, vmChoicesFrom } from '../../../src/boot/vm-plan';
import { efiGptDisk } from '../../fixtures/efi-disks';

const { dir, file } = settingsFiles('vm-settings');
const MiB = 1 << 20;

describe('[vm] settings', () => {
  it('default: nothing chosen, Secure Boot off; the VMM decides cpus, memory and firmware', () => {
    const r = loadSettings({ file: path.join(dir, 'absent.toml'), cmdline: '' });
    expect(r.settings.vm).toEqual({ secureBoot: false });
    expect(vmChoicesFrom(r.settings.vm)).toEqual({});
  });

  it('take every key from the file; memory as a size text or whole MiB', () => {
    const f = file('[vm]\ncpus = 4\nmemory = "3G"\nfirmware = "/etc/tendril/OVMF_CODE.fd"\nsecure-boot = true\n');
    const r = loadSettings({ file: f, cmdline: '' });
    expect(r.problems).toEqual([]);
    expect(r.settings.vm).toEqual({
      cpus: 4,
      ramBytes: 3072 * MiB,
      firmware: '/etc/tendril/OVMF_CODE.fd',
      secureBoot: true,
    });
    expect(vmChoicesFrom(r.settings.vm)).toEqual({
      cpus: 4,
      ramBytes: 3072 * MiB,
      firmware: '/etc/tendril/OVMF_CODE.fd',
      secureBoot: true,
    });
    expect(loadSettings({ file: file('[vm]\nmemory = 1536\n'), cmdline: '' }).settings.vm.ramBytes).toBe(1536 * MiB);
  });

  it('display-output: auto, none or a device; anything else keeps the default, naming the line', () => {
    const r = loadSettings({ file: file('[vm]\ndisplay-output = "/dev/dri/card1"\n'), cmdline: '' });
    expect(r.problems).toEqual([]);
    expect(vmChoicesFrom(r.settings.vm)).toEqual({ displayOutput: '/dev/dri/card1' });
    const bad = loadSettings({ file: file('[vm]\ndisplay-output = "/dev/sda"\n'), cmdline: '' });
    expect(bad.problems[0]).toMatch(/vm\.display-output: expected auto, none, \/dev\/fbN or \/dev\/dri\/cardN/);
    expect(bad.settings.vm.displayOutput).toBeUndefined();
  });

  it('keep the default for values out of range, naming the line', () => {
    const f = file('[vm]\ncpus = 9\nmemory = "64K"\nfirmware = "OVMF.fd"\nsecure-boot = "maybe"\n');
    const r = loadSettings({ file: f, cmdline: '' });
    expect(r.settings.vm).toEqual({ secureBoot: false });
    expect(r.problems).toEqual([
      `${f}:2: vm.cpus: expected a vCPU count from 1 to 8, got 9; default kept`,
      `${f}:3: vm.memory: expected whole MiB from 128M to 64G (e.g. "2G"; a bare number is MiB), got '64K'; default kept`,
      `${f}:4: vm.firmware: expected an absolute path to UEFI firmware in the initramfs (not a kernel argument), got 'OVMF.fd'; default kept`,
      `${f}:5: vm.secure-boot: expected true or false (a kernel argument can only turn it on), got 'maybe'; default kept`,
    ]);
  });

  it('kernel arguments set cpus and memory, may turn Secure Boot on but not off, and never name the firmware', () => {
    const f = file('[vm]\ncpus = 4\nsecure-boot = true\nfirmware = "/fw/CODE.fd"\n');
    const r = loadSettings({
      file: f,
      cmdline: 'tendril.vm.cpus=1 tendril.vm.memory=2G tendril.vm.secure-boot=0 tendril.vm.firmware=/tmp/evil.fd',
    });
    expect(r.settings.vm).toEqual({ cpus: 1, ramBytes: 2048 * MiB, firmware: '/fw/CODE.fd', secureBoot: true });
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0]).toMatch(/^kernel argument tendril\.vm\.secure-boot: .* got '0'; not used$/);
    expect(r.problems[1]).toMatch(/^kernel argument tendril\.vm\.firmware: .* got '\/tmp\/evil\.fd'; not used$/);
    const on = loadSettings({ file: path.join(dir, 'absent.toml'), cmdline: 'tendril.vm.secure-boot=1' });
    expect(on.settings.vm.secureBoot).toBe(true);
  });
});

describe('the disk interface rule (vm-plan.ts diskInterfaceFor)', () => {
  it('auto: NVMe for a host NVMe namespace or Windows Boot Manager, virtio-blk otherwise; a choice wins', () => {
    expect(diskInterfaceFor(undefined, '/dev/nvme0n1', '\\EFI\\debian\\shimx64.efi').iface).toBe('nvme');
    expect(diskInterfaceFor('auto', '/dev/sda', '\\EFI\\Microsoft\\Boot\\bootmgfw.efi').iface).toBe('nvme');
    expect(diskInterfaceFor('auto', '/dev/sda', '\\EFI\\debian\\shimx64.efi')).toEqual({
      iface: 'virtio',
      reason: 'auto',
    });
    expect(diskInterfaceFor('auto', '/dev/nvme0n1p1', '\\EFI\\BOOT\\BOOTX64.EFI').iface).toBe('virtio');
    expect(diskInterfaceFor('virtio', '/dev/nvme0n1', '\\EFI\\Microsoft\\Boot\\bootmgfw.efi').iface).toBe('virtio');
  });

  it('auto: Windows Boot Manager on a host SATA disk goes on AHCI (storahci); Linux there stays on virtio-blk', () => {
    const win = diskInterfaceFor('auto', '/dev/sda', '\\EFI\\Microsoft\\Boot\\bootmgfw.efi', 'sata');
    expect(win.iface).toBe('ahci');
    expect(win.reason).toMatch(/SATA disk here.*storahci/);
    expect(diskInterfaceFor(undefined, '/dev/sda', '\\EFI\\debian\\shimx64.efi', 'sata').iface).toBe('virtio');
    expect(diskInterfaceFor('auto', '/dev/sda', '\\EFI\\Microsoft\\Boot\\bootmgfw.efi', 'scsi').iface).toBe('nvme');
    expect(diskInterfaceFor('auto', '/dev/nvme0n1', '\\EFI\\Microsoft\\Boot\\bootmgfw.efi', 'nvme').iface).toBe('nvme');
    expect(diskInterfaceFor('ahci', '/dev/nvme0n1', '\\EFI\\debian\\shimx64.efi').iface).toBe('ahci');
  });
});

describe('[vm] settings reach the VM plan (bin/tendril.js boot --dry-run)', () => {
  const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');
  const img = efiGptDisk();
  const dryRun = (settings: string, extra: string[] = []) =>
    spawnSync(process.execPath, [BIN, 'boot', '--disk', img, '--entry', 'tendril-efi.conf', '--dry-run', ...extra], {
      encoding: 'utf8',
      env: { ...process.env, TENDRIL_SETTINGS: file(settings) },
    });

  it('the plan takes vCPUs and memory from [vm]; --cpus and --memory override them', () => {
    const r = dryRun('[vm]\ncpus = 3\nmemory = "1536M"\n');
    expect(r.stdout, r.stderr).toContain('vCPUs: 3\n');
    expect(r.stdout).toContain('memory: 1536 MiB\n');
    const o = dryRun('[vm]\ncpus = 3\nmemory = "1536M"\n', ['--cpus', '1', '--memory', '1G']);
    expect(o.stdout, o.stderr).toContain('vCPUs: 1\n');
    expect(o.stdout).toContain('memory: 1 GiB\n');
  });

  it('[vm] rtc and input reach the plan; bad values keep the defaults, naming the line', () => {
    const r = dryRun('[vm]\nrtc = "localtime"\ninput = "keyboard"\n');
    expect(r.stdout, r.stderr).toMatch(/^\s*guest clock \(CMOS RTC\): localtime$/m);
    expect(r.stdout).toMatch(/^\s*console keystrokes go to: the PS\/2 keyboard$/m);
    const d = dryRun('');
    expect(d.stdout, d.stderr).toMatch(/^\s*guest clock \(CMOS RTC\): utc$/m);
    expect(d.stdout).toMatch(/^\s*console keystrokes go to: COM1 \(serial\)$/m);
    const f = file('[vm]\nrtc = "gmt"\ninput = "mouse"\n');
    expect(loadSettings({ file: f, cmdline: '' }).problems).toEqual([
      `${f}:2: vm.rtc: expected utc, localtime, host, got 'gmt'; default kept`,
      `${f}:3: vm.input: expected serial, keyboard, got 'mouse'; default kept`,
    ]);
  });

  it('tendril settings prints the [vm] keys in effect', () => {
    const r = spawnSync(
      process.execPath,
      [BIN, 'settings', '--file', file('[vm]\nmemory = "3G"\n'), '--cmdline', 'quiet'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "vm.cpus = 2\nvm.memory = 3G\nvm.firmware = auto (Debian's OVMF, found through the ovmf package)\nvm.secure-boot = false\nvm.disk-interface = auto\n",
    );
  });

  it('the disk interface: auto puts the disk on virtio-blk; [vm] and --disk-interface choose NVMe or AHCI', () => {
    const auto = dryRun('');
    expect(auto.stdout, auto.stderr).toMatch(/^\s*disk 0: .* on virtio-blk \(auto\); holds /m);
    const set = dryRun('[vm]\ndisk-interface = "nvme"\n');
    expect(set.stdout, set.stderr).toMatch(/^\s*disk 0: .* on NVMe \(chosen\); holds /m);
    const opt = dryRun('[vm]\ndisk-interface = "nvme"\n', ['--disk-interface', 'virtio']);
    expect(opt.stdout, opt.stderr).toMatch(/^\s*disk 0: .* on virtio-blk \(chosen\); holds /m);
    const ahci = dryRun('[vm]\ndisk-interface = "ahci"\n');
    expect(ahci.stdout, ahci.stderr).toMatch(/^\s*disk 0: .* on AHCI \(SATA\) \(chosen\); holds /m);
    const ahciOpt = dryRun('', ['--disk-interface', 'ahci']);
    expect(ahciOpt.stdout, ahciOpt.stderr).toMatch(/^\s*disk 0: .* on AHCI \(SATA\) \(chosen\); holds /m);
    const bad = loadSettings({
      file: file('[vm]\ndisk-interface = "scsi"\n'),
      cmdline: 'tendril.vm.disk-interface=nvme',
    });
    expect(bad.problems[0]).toMatch(/vm\.disk-interface: expected auto, virtio, nvme, ahci, got 'scsi'; default kept$/);
    expect(bad.settings.vm.diskInterface).toBe('nvme');
  });

  it('a firmware that does not exist makes the entry unavailable, naming the file', () => {
    const r = dryRun('[vm]\nfirmware = "/nonexistent/OVMF_CODE.fd"\n');
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('/nonexistent/OVMF_CODE.fd');
  });
});
