// `tendril list --json` / `tendril probe` through the real bundle (worker threads, real
// images made by mke2fs/mkfs.vfat/sgdisk/sfdisk). Expected orders and defaults come from the
// BLS rules in docs/bls.md §6, §8, §9 and §11, worked out by hand for these fixtures.

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ListJson } from '../../../src/discovery/json';
import { debianEspDisk, fedoraDisk, mbrLogicalDisk } from '../../fixtures/demo';
import { sha256File } from '../../fixtures/images';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');
const MID_FEDORA = '6a9857a393724b7a981ebb5b8495b9ea';

function list(...args: string[]): ListJson {
  const out = execFileSync(process.execPath, [BIN, 'list', '--json', '--no-sys', ...args], { encoding: 'utf8' });
  return JSON.parse(out) as ListJson;
}

let fedora = '';
let debian = '';
let mbr = '';

beforeAll(() => {
  fedora = fedoraDisk();
  debian = debianEspDisk();
  mbr = mbrLogicalDisk();
});

describe('tendril list on a Fedora-style disk (ESP + XBOOTLDR ext4 /boot)', () => {
  it('sorts by version within the sort-key, expands $kernelopts, and picks the loader.conf default', () => {
    const r = list('--disk', fedora);
    expect(r.schema).toBe(2);
    expect(r.entries.map((e) => e.id)).toEqual([
      `${MID_FEDORA}-6.5.6-300.fc39.x86_64.conf`,
      `${MID_FEDORA}-6.4.15-200.fc38.x86_64.conf`,
      `${MID_FEDORA}-0-rescue.conf`,
    ]);
    // Two entries share a title: the version disambiguates them (docs/bls.md §6).
    expect(r.entries.map((e) => e.displayTitle)).toEqual([
      'Fedora Linux 39 (Workstation Edition) (6.5.6-300.fc39.x86_64)',
      'Fedora Linux 39 (Workstation Edition) (6.4.15-200.fc38.x86_64)',
      `Fedora Linux (0-rescue-${MID_FEDORA}) 39 (Workstation Edition)`,
    ]);
    const [newest, older] = r.entries;
    expect(newest!.target).toMatchObject({
      kind: 'linux',
      kernel: { path: '/vmlinuz-6.5.6-300.fc39.x86_64' },
      initrds: [{ path: '/intel-ucode.img' }, { path: '/initramfs-6.5.6-300.fc39.x86_64.img' }],
      cmdline: 'root=UUID=3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f ro rhgb quiet',
    });
    // $kernelopts from /grub2/grubenv; $tuned_initrd is empty and vanishes.
    expect(older!.target).toMatchObject({
      kind: 'linux',
      initrds: [{ path: '/initramfs-6.4.15-200.fc38.x86_64.img' }],
      cmdline: 'root=UUID=3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f ro rhgb quiet',
    });
    expect(newest!.origin).toMatchObject({
      source: 'bls',
      partition: 2,
      fsUuid: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    });
    expect(r.settings.defaultId).toBe(newest!.id);
    expect(r.entries[0]!.default).toBe(true);
    expect(r.settings.timeout).toEqual({ kind: 'seconds', seconds: 3 });
    expect(r.settings.editor).toBe(true);
  });

  it('reports the partitions and filesystems as blkid/sgdisk see them', () => {
    const r = list('--disk', fedora);
    const fss = r.devices[0]!.filesystems;
    expect(r.devices[0]!.table?.scheme).toBe('gpt');
    expect(fss.map((f) => [f.partition, f.role, f.probe?.type, f.probe?.label])).toEqual([
      [1, 'esp', 'vfat', 'ESP'],
      [2, 'xbootldr', 'ext4', 'boot'],
    ]);
    expect(fss[0]!.probe?.uuid).toBe('1234-ABCD');
  });
});

describe('tendril list on a Debian systemd-boot ESP', () => {
  it('sorts the bad boot-counted entry last and keeps the efi entry', () => {
    const r = list('--disk', debian);
    expect(r.entries.map((e) => e.id)).toEqual([
      'debian-6.1.0-18-amd64.conf',
      'memtest.conf',
      'debian-6.1.0-17-amd64.conf',
    ]);
    const bad = r.entries[2]!;
    expect(bad.bootCounter).toMatchObject({ triesLeft: 0, triesDone: 3 });
    expect(r.entries[1]!.target?.kind).toBe('efi');
    expect(r.settings.defaultId).toBe('debian-6.1.0-18-amd64.conf');
    expect(r.settings.timeout).toEqual({ kind: 'menu-force' });
  });
});

describe('tendril list on an MBR disk with logical partitions', () => {
  it('reads /boot/loader/entries from the root filesystem in partition 6', () => {
    const r = list('--disk', mbr);
    expect(r.devices[0]!.table?.scheme).toBe('mbr');
    expect(r.devices[0]!.filesystems.map((f) => f.partition)).toEqual(expect.arrayContaining([1, 5, 6]));
    expect(r.entries.map((e) => [e.id, e.origin.partition, e.displayTitle])).toEqual([
      ['arch-lts.conf', 6, 'Arch Linux (6.6.30-lts)'],
      ['arch.conf', 6, 'Arch Linux'],
    ]);
  });
});

describe('several disks at once', () => {
  it('merges every disk into one sorted list and leaves every image unchanged', () => {
    const before = [fedora, debian, mbr].map(sha256File);
    const r = list('--disk', fedora, '--disk', debian, '--disk', mbr);
    // sort-key ascending (arch < debian < fedora), then no sort-key, then bad entries.
    expect(r.entries.map((e) => e.sortKey ?? '-')).toEqual([
      'arch',
      'arch',
      'debian',
      'fedora',
      'fedora',
      'fedora',
      '-',
      'debian',
    ]);
    expect(r.entries.at(-1)!.bootCounter?.triesLeft).toBe(0);
    expect([fedora, debian, mbr].map(sha256File)).toEqual(before);
  });
});

describe('damaged and hostile devices', () => {
  it('uses the backup GPT when the primary header is smashed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-smash-'));
    const img = path.join(dir, 'smashed.img');
    fs.copyFileSync(fedora, img);
    const fd = fs.openSync(img, 'r+');
    fs.writeSync(fd, Buffer.alloc(512), 0, 512, 512);
    fs.closeSync(fd);
    const r = list('--disk', img);
    expect(r.devices[0]!.table?.usedBackupGpt).toBe(true);
    expect(r.devices[0]!.diagnostics.some((d) => /backup/i.test(d.message))).toBe(true);
    expect(r.entries).toHaveLength(3);
    fs.rmSync(dir, { recursive: true });
  });

  it('reports a device that never answers and still lists the others', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-fifo-'));
    const fifo = path.join(dir, 'hung.img');
    execFileSync('mkfifo', [fifo]);
    // Opening a FIFO blocks until a writer appears: a stand-in for a disk that hangs.
    const r = spawnSync(
      process.execPath,
      [BIN, 'list', '--json', '--no-sys', '--deadline', '1500', '--disk', fifo, '--disk', debian],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as ListJson;
    const hung = j.devices.find((d) => d.device.path === fifo)!;
    expect(hung.timedOut).toBe(true);
    expect(hung.diagnostics[0]!.message).toMatch(/no answer within 1500 ms/);
    expect(j.entries.map((e) => e.id)).toContain('debian-6.1.0-18-amd64.conf');
    fs.rmSync(dir, { recursive: true });
  });

  it('lists a missing image as a problem, not a crash', () => {
    const r = spawnSync(process.execPath, [BIN, 'list', '--no-sys', '--disk', '/nonexistent.img', '--disk', debian], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/! error device: .*nonexistent\.img/);
    expect(r.stdout).toMatch(/Debian GNU\/Linux 12/);
  });
});

describe('tendril probe', () => {
  it('prints the tree with types, labels and roles', () => {
    const out = execFileSync(process.execPath, [BIN, 'probe', '--no-sys', '--disk', fedora, '--disk', mbr], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/├─\S+:1\s+34M\s+EFI System\s+vfat FAT\d+\s+ESP\s+1234-ABCD/);
    expect(out).toMatch(/└─\S+:2\s+24M\s+.*ext4\s+boot\s+3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f.*xbootldr/);
    expect(out).toMatch(/:6\s+16M\s+.*ext4\s+archroot/);
  });
});
