// End to end, nested (docs/testing.md §3): a real Debian 12 disk (test/fixtures/debian-disk.ts:
// debootstrap, shim + signed GRUB on the ESP, update-grub's grub.cfg, ext4 root) boots in
// tendril's VM inside the outer QEMU/TCG guest: OVMF → shim → GRUB → Debian's kernel → systemd,
// whose unit prints a marker on ttyS0 and powers off. The disk is too big for the initramfs: it
// is the outer guest's /dev/vda (snapshot=on), passed to tendril as a real block device, and
// read in full after the run, so a byte tendril wrote would show in its checksum.
//
// Each case is the whole argv after `node /tendril.js`; the disk is DEBIAN_DEV. The one-vCPU
// cases run in a two-CPU outer guest; the default two vCPUs need a one-CPU outer guest on this
// test host (docs/testing.md §3, "Two vCPUs").
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import {
  BOOTNEXT_LOADER,
  BOOTNEXT_NUMBER,
  DEBIAN_MARKER,
  ESP_PARTUUID,
  SHIM_LOADER,
  debianDisk,
} from '../fixtures/debian-disk';
import { ovmfSplit } from '../../initramfs/host';
import {
  fakeMsdm,
  OUTER_SMBIOS,
  OUTER_SMBIOS_ARG,
  runNestedRetrying,
  sha256,
  splitFirmware,
  tendrilRunsInitramfs,
} from '../fixtures/vm';

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const EFI_GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
/** The Debian disk as the outer guest sees it (its first virtio disk). */
const DEBIAN_DEV = '/dev/vda';
const SPLIT = splitFirmware();
// `boot --firmware CODE` pairs the VARS template found next to it, as Debian names them.
const FIRMWARE = { ...SPLIT, files: { ...SPLIT.files, '/vm/OVMF_VARS_4M.fd': ovmfSplit().vars } };
const msdm = fakeMsdm();
const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface BootCase {
  readonly name: string;
  /** argv after /tendril.js (shell words). */
  readonly argv: string;
  /** The loader OVMF must report starting (`BdsDxe: starting Boot#### "..." from ...<loader>`). */
  readonly loader: string;
  /** The vCPUs the guest must report (its unit prints TENDRIL-DEBIAN-CPUS=N). */
  readonly cpus: number;
  readonly outerCpus: number;
  /** The root filesystem's device as the guest names it (its unit prints TENDRIL-DEBIAN-ROOT). */
  readonly root: string;
}

const CASES: readonly BootCase[] = [
  {
    name: 'vm --loader shim',
    argv: `vm ${FIRMWARE.args} --disk ${DEBIAN_DEV} --loader ${shQuote(`0:1:${SHIM_LOADER}`)} --memory 1G --cpus 1`,
    loader: SHIM_LOADER,
    cpus: 1,
    outerCpus: 2,
    root: '/dev/vda2',
  },
  {
    // The product path: discovery finds the ESP's automatic entry for \EFI\debian\shimx64.efi and
    // the boot dispatch runs it in the VM (Boot0000 = that loader; the disk read-only, overlaid).
    name: 'boot --entry auto-uefi-debian',
    argv: `boot --disk ${DEBIAN_DEV} --entry auto-uefi-debian --firmware /vm/OVMF_CODE_4M.fd --memory 1G --cpus 1`,
    loader: SHIM_LOADER,
    cpus: 1,
    outerCpus: 2,
    root: '/dev/vda2',
  },
  {
    // The same with the default vCPU count (src/vm/limits.ts DEFAULT_CPUS).
    name: 'two vCPUs (default)',
    argv: `boot --disk ${DEBIAN_DEV} --entry auto-uefi-debian --firmware /vm/OVMF_CODE_4M.fd --memory 1G`,
    loader: SHIM_LOADER,
    cpus: 2,
    outerCpus: 1,
    root: '/dev/vda2',
  },
  {
    // The disk on tendril's NVMe controller (src/vm/nvme/) at the default two vCPUs, so Linux
    // makes two I/O queue pairs: OVMF's NvmExpressDxe reads shim, GRUB and the kernel, and
    // Debian's nvme driver mounts the root from the namespace. --stats shows where the
    // doorbells went.
    name: 'NVMe (if=nvme), two vCPUs',
    argv: `vm ${FIRMWARE.args} --disk ${DEBIAN_DEV},if=nvme --loader ${shQuote(`0:1:${SHIM_LOADER}`)} --memory 1G --stats`,
    loader: SHIM_LOADER,
    cpus: 2,
    outerCpus: 1,
    root: '/dev/nvme0n1p2',
  },
  {
    // The disk on tendril's AHCI HBA (src/vm/ahci/), as a Windows installed in SATA mode needs it:
    // OVMF's AtaAtapiPassThru reads shim, GRUB and the kernel, and Debian's ahci driver (NCQ,
    // MSI) mounts the root from /dev/sda.
    name: 'AHCI (if=ahci), two vCPUs',
    argv: `vm ${FIRMWARE.args} --disk ${DEBIAN_DEV},if=ahci --loader ${shQuote(`0:1:${SHIM_LOADER}`)} --memory 1G --stats`,
    loader: SHIM_LOADER,
    cpus: 2,
    outerCpus: 1,
    root: '/dev/sda2',
  },
];

/** SHA-256 of the file's first MiB. */
function firstMiBSha256(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(1 << 20);
    fs.readSync(fd, b, 0, b.length, 0);
    return createHash('sha256').update(b).digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

/** One run's part of the outer console, \r removed. */
function runPart(log: string, label: string): string {
  const text = log.replace(/\r/g, '');
  const from = text.indexOf(`TENDRIL-RUN-${label}-START`);
  const to = text.indexOf(`TENDRIL-RUN-${label}-EXIT=`, from);
  return from < 0 ? '' : text.slice(from, to < 0 ? undefined : text.indexOf('\n', to));
}

describe.skipIf(!haveQemu)('a real Debian disk in tendril vm (nested KVM)', () => {
  it.each(CASES)(
    '$name: OVMF → shim → GRUB → Debian to its marker, exit 0, disk unchanged',
    async (c) => {
      const disk = debianDisk();
      const before = sha256(disk.image);
      expect(before).toBe(disk.sha256);
      const cpio = tendrilRunsInitramfs('vm-debian', [{ label: 'boot', argv: c.argv }], {
        files: FIRMWARE.files,
        outerDisks: 1,
      });
      const run = await runNestedRetrying(cpio, [DEBIAN_MARKER, 'TENDRIL-EXIT-CODE='], 3, {
        drives: [disk.image],
        timeoutMs: 1_200_000,
        stallS: 600,
        outerCpus: c.outerCpus,
        acpiTables: [msdm.file],
        smbios: [OUTER_SMBIOS_ARG],
      });
      expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
      const boot = runPart(run.log, 'boot');
      const tail = boot.slice(-4000);
      const starting = new RegExp(`BdsDxe: starting Boot[0-9A-F]{4} .* from .*${c.loader.replace(/\\/g, '\\\\')}`);
      expect(boot, tail).toMatch(starting);
      expect(boot, tail).toContain('Welcome to GRUB!');
      expect(boot, tail).toMatch(new RegExp(`Linux version ${disk.kernelRelease.replace(/\./g, '\\.')} `));
      expect(boot, tail).toMatch(/Welcome to .*Debian GNU\/Linux 12 \(bookworm\)/);
      expect(boot, tail).toMatch(new RegExp(`^${DEBIAN_MARKER}$`, 'm'));
      expect(boot, tail).toMatch(new RegExp(`^TENDRIL-DEBIAN-CPUS=${c.cpus}$`, 'm'));
      expect(boot, tail).toMatch(new RegExp(`^TENDRIL-DEBIAN-ROOT=${c.root}$`, 'm'));
      // The outer machine's MSDM reached Debian in tendril's VM, with a WAET and a processor
      // device per vCPU (src/vm/host-tables.ts, src/vm/acpi/).
      expect(boot, tail).toMatch(new RegExp(`^TENDRIL-DEBIAN-MSDM-KEY=${msdm.key}$`, 'm'));
      expect(boot, tail).toMatch(/^TENDRIL-DEBIAN-ACPI-TABLES=.*\bWAET\b/m);
      // ... and its SMBIOS system identity (src/vm/smbios.ts).
      const o = OUTER_SMBIOS;
      expect(boot, tail).toContain(`TENDRIL-DEBIAN-DMI=${o.manufacturer}|${o.product}|${o.serial}|${o.uuid}\n`);
      expect(boot, tail).toMatch(new RegExp(`^TENDRIL-DEBIAN-ACPI0007=${c.cpus}$`, 'm'));
      expect(boot, tail).toMatch(
        /tendril vm: ACPI \/sys\/firmware\/acpi\/tables\/MSDM: passed on to the guest \(85 bytes\)/,
      );
      expect(
        /^TENDRIL-DEBIAN-DISK-1M-SHA256=([0-9a-f]{64})$/m.exec(boot)?.[1],
        "the disk's first MiB as the guest read it",
      ).toBe(firstMiBSha256(disk.image));
      expect(boot, tail).toContain('reboot: Power down');
      const stats = /^tendril-vm-stats (\{.*\})$/m.exec(boot)?.[1];
      if (c.root.startsWith('/dev/nvme')) {
        // Every I/O doorbell is a datamatch ioeventfd (nvme/doorbells.ts): what reaches JavaScript
        // is the admin queue's, a few dozen, against thousands of reads.
        expect(boot, tail).toMatch(/nvme nvme0: 2\/0\/0 default\/read\/poll queues/);
        const exits = (JSON.parse(stats ?? '{}') as { exits?: Record<string, number> }).exits ?? {};
        const requests = exits['disk0:requests'] ?? 0;
        expect(requests, stats).toBeGreaterThan(1000);
        expect(exits['disk0:notifies reaching JS'] ?? Infinity, stats).toBeLessThan(requests / 20);
      }
      if (c.root.startsWith('/dev/sd')) {
        // Linux found the HBA as the registers describe it, and uses NCQ.
        expect(boot, tail).toMatch(/ahci 0000:00:02\.0: AHCI 0001\.0301 32 slots 1 ports 6 Gbps 0x1 impl SATA mode/);
        expect(boot, tail).toMatch(/ata1\.00: \d+ sectors, multi \d+: LBA48 NCQ \(depth 32\)/);
        const exits = (JSON.parse(stats ?? '{}') as { exits?: Record<string, number> }).exits ?? {};
        expect(exits['disk0:requests'] ?? 0, stats).toBeGreaterThan(1000);
      }
      expect(boot, tail).toContain('TENDRIL-RUN-boot-EXIT=0');
      expect(/TENDRIL-VDA-SHA256=([0-9a-f]{64})/.exec(run.log)?.[1], 'the disk as the outer guest read it').toBe(
        before,
      );
      expect(sha256(disk.image)).toBe(before);
    },
    2_700_000,
  );

  it('--vars FILE: a BootNext set by efibootmgr in Debian is honoured by the next run, then deleted', async () => {
    const disk = debianDisk({ bootNext: true });
    const before = sha256(disk.image);
    const argv = `vm ${FIRMWARE.args} --vars /tmp/debian.vars --disk ${DEBIAN_DEV} --loader ${shQuote(`0:1:${SHIM_LOADER}`)} --memory 1G --cpus 1`;
    const cpio = tendrilRunsInitramfs(
      'vm-debian-bootnext',
      [
        { label: 'one', argv },
        { label: 'two', argv },
      ],
      { files: FIRMWARE.files, outerDisks: 1 },
    );
    const run = await runNestedRetrying(cpio, ['TENDRIL-RUN-two-EXIT='], 3, {
      drives: [disk.image],
      timeoutMs: 1_800_000,
      stallS: 600,
    });
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const [one, two] = [runPart(run.log, 'one'), runPart(run.log, 'two')];
    const reported = (text: string, kind: string, name: string) =>
      new RegExp(`^\\s+${kind}\\s+${name}\\s+${EFI_GLOBAL}$`, 'm').test(text);

    // Run 1: tendril's Boot0000 (shim) boots Debian, whose unit creates Boot7E57 and sets BootNext.
    expect(one, one.slice(-4000)).toMatch(/BdsDxe: starting Boot0000 .*\\EFI\\debian\\shimx64\.efi/);
    expect(one).toMatch(/^TENDRIL-DEBIAN-BOOTCURRENT=0000$/m);
    expect(one).toMatch(new RegExp(`^TENDRIL-DEBIAN-BOOTNEXT-SET=${BOOTNEXT_NUMBER}$`, 'm'));
    expect(one).toMatch(/the guest changed \d+ UEFI variables; kept in \/tmp\/debian\.vars:/);
    expect(reported(one, 'added', `Boot${BOOTNEXT_NUMBER}`), one.slice(-3000)).toBe(true);
    expect(reported(one, 'added', 'BootNext'), one.slice(-3000)).toBe(true);
    expect(one).toContain('TENDRIL-RUN-one-EXIT=0');

    // Run 2, same file: OVMF takes BootNext (GRUB without shim), Debian sees BootCurrent 7E57, and
    // OVMF deleted BootNext, which tendril reports.
    expect(two, two.slice(-4000)).toContain('UEFI variables from /tmp/debian.vars');
    const loaded = new RegExp(
      `BdsDxe: loading Boot${BOOTNEXT_NUMBER} "tendril-bootnext" from HD\\(1,GPT,${ESP_PARTUUID},0x800,0x20000\\)/${BOOTNEXT_LOADER.replace(/\\/g, '\\\\')}`,
      'i',
    );
    expect(two, two.slice(-4000)).toMatch(loaded);
    expect(two).not.toMatch(/BdsDxe: loading Boot0000/);
    expect(two).toMatch(new RegExp(`^TENDRIL-DEBIAN-BOOTCURRENT=${BOOTNEXT_NUMBER}$`, 'm'));
    expect(two).not.toContain('TENDRIL-DEBIAN-BOOTNEXT-SET');
    expect(two).toMatch(new RegExp(`^${DEBIAN_MARKER}$`, 'm'));
    expect(reported(two, 'deleted', 'BootNext'), two.slice(-3000)).toBe(true);
    expect(two).toContain('TENDRIL-RUN-two-EXIT=0');

    expect(/TENDRIL-VDA-SHA256=([0-9a-f]{64})/.exec(run.log)?.[1], 'the disk as the outer guest read it').toBe(before);
    expect(sha256(disk.image)).toBe(before);
  }, 3_900_000);

  it('SIGTERM to tendril presses the ACPI power button: Debian powers off cleanly, exit 0', async () => {
    const disk = debianDisk({ powerButton: true });
    const before = sha256(disk.image);
    const vm = `node /tendril.js vm ${FIRMWARE.args} --disk ${DEBIAN_DEV} --loader ${shQuote(`0:1:${SHIM_LOADER}`)} --memory 1G --cpus 1`;
    // tendril runs in the background; once the guest waits for its power button, the outer guest
    // sends tendril SIGTERM, as a host shutting down would.
    const shell = [
      `(${vm} </dev/null 2>&1; echo "TENDRIL-PB-STATUS=$?") | tee /tmp/pb.log & pb=$!`,
      // Until the guest waits for the button, or tendril ended without it getting there.
      'n=0; while ! grep -q -e TENDRIL-DEBIAN-WAITING -e TENDRIL-PB-STATUS /tmp/pb.log && [ $n -lt 1200 ]; do sleep 1; n=$((n + 1)); done',
      // `wait` alone would also wait for /init's own background jobs (the heartbeat).
      'sleep 2; kill -TERM $(pidof node) 2>/dev/null; wait $pb',
    ].join('\n');
    const cpio = tendrilRunsInitramfs('vm-debian-power-button', [{ label: 'pb', argv: '', shell }], {
      files: FIRMWARE.files,
      outerDisks: 1,
    });
    const run = await runNestedRetrying(cpio, ['TENDRIL-EXIT-CODE='], 3, {
      drives: [disk.image],
      timeoutMs: 1_200_000,
      stallS: 600,
    });
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const pb = runPart(run.log, 'pb');
    const tail = pb.slice(-4000);
    expect(pb, tail).toMatch(/^TENDRIL-DEBIAN-WAITING dev=\/dev\/input\/event\d+$/m);
    expect(pb, tail).toContain("tendril vm: pressing the guest's power button (ACPI)");
    expect(pb, tail).toMatch(/^TENDRIL-DEBIAN-POWER-BUTTON$/m);
    expect(pb, tail).toMatch(new RegExp(`^${DEBIAN_MARKER}$`, 'm'));
    expect(pb, tail).toContain('reboot: Power down');
    expect(pb, tail).toContain('tendril vm: guest powered off');
    expect(pb, tail).toMatch(/^TENDRIL-PB-STATUS=0$/m);
    expect(/TENDRIL-VDA-SHA256=([0-9a-f]{64})/.exec(run.log)?.[1], 'the disk as the outer guest read it').toBe(before);
  }, 2_700_000);
});
