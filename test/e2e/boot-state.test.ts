// End to end, the State section of issue 14 (docs/state.md): the product initramfs boots under
// QEMU (TCG) a disk whose ESP (vfat) holds a counted BLS entry and tendril's state file with a
// one-shot, and whose ext4 partition holds a grub.cfg that used grubenv's next_entry. Booting
// makes exactly three writes, in order: the counter rename (one FAT directory sector), the
// grubenv one-shot written back (ext4, in place), the state file (one-shot dropped, last booted
// kept for `default @saved`). Checked on the image afterwards with mtools, debugfs,
// grub-editenv and the filesystem checkers, and sector by sector against the image before.
// A power cut after each write step (tendril.state.stop-after=N, then QEMU is killed) leaves a
// disk with exactly the writes before the cut; tendril.readonly=1 leaves every byte alone.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import {
  LOG_DIR,
  type QemuRun,
  blsEntry,
  productInitramfs,
  runQemu,
  targetInitrds,
  targetReport,
} from '../fixtures/boot';
import { buildGptDisk, changedSectorIndices, partitionFile } from '../fixtures/images';

const SECTOR = 512;
const MiB = 1024 * 1024;
/** Partition offsets (images.ts: 1 MiB alignment, sizes below). */
const ESP_AT = 1 * MiB;
const ESP_MIB = 40;
const BOOT_AT = ESP_AT + ESP_MIB * MiB;
const BOOT_MIB = 24;

function stateBlock(body: string): Uint8Array {
  const b = Buffer.alloc(512, '#');
  b.write('# tendril state\n' + body, 'latin1');
  return b;
}

function grubenv(vars: string): Uint8Array {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-grubenv-'));
  const f = path.join(dir, 'grubenv');
  execFileSync('grub-editenv', [f, 'create']);
  execFileSync('grub-editenv', [f, 'set', vars]);
  const b = fs.readFileSync(f);
  fs.rmSync(dir, { recursive: true, force: true });
  return b;
}

const GRUB_CFG = `load_env
if [ "\${next_entry}" ] ; then
   set default="\${next_entry}"
   set next_entry=
   save_env next_entry
fi
menuentry 'Grub one' --id grub-one {
  linux /vmlinuz tendril.test=grub-one
  initrd /initrd-main.img
}
`;

function disk(withState: boolean): string {
  const t = targetInitrds();
  return buildGptDisk([
    {
      type: 'esp',
      sizeMiB: ESP_MIB,
      fs: {
        kind: 'vfat',
        label: 'ESP',
        files: {
          'loader/loader.conf': 'timeout 0\ndefault @saved\n',
          'loader/entries/tendril-target+3.conf': blsEntry({
            title: 'Counted target',
            linux: '/vmlinuz',
            initrds: ['/initrd-main.img'],
            options: 'tendril.test=counted',
          }),
          'loader/entries/tendril-other.conf': blsEntry({
            title: 'Other',
            linux: '/vmlinuz',
            initrds: ['/initrd-main.img'],
            options: 'tendril.test=other',
          }),
          ...(withState
            ? { 'loader/tendril-state': stateBlock('oneshot=tendril-target.conf\n') }
            : {
                // The default here (it sorts first): its new name needs a second long-name slot,
                // so no single-sector rename exists and the kernel's vfat renames it.
                'loader/entries/zcross+3.conf': blsEntry({
                  title: 'Crossing',
                  linux: '/vmlinuz',
                  initrds: ['/initrd-main.img'],
                  options: 'tendril.test=crossed',
                }),
              }),
          vmlinuz: { copyOf: hostKernel().vmlinuz },
          'initrd-main.img': t.main,
        },
      },
    },
    {
      type: 'linux',
      sizeMiB: BOOT_MIB,
      fs: {
        kind: 'ext4',
        label: 'boot',
        files: { 'boot/grub/grub.cfg': GRUB_CFG, 'boot/grub/grubenv': grubenv('next_entry=grub-one') },
      },
    },
  ]);
}

interface Outcome {
  readonly run: QemuRun;
  readonly image: string;
}

const dirs: string[] = [];

async function boot(name: string, extra: string, until?: RegExp, from = pristine): Promise<Outcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-state-e2e-'));
  dirs.push(dir);
  const image = path.join(dir, 'disk.img');
  fs.copyFileSync(from, image);
  const run = await runQemu({
    kernel: hostKernel().vmlinuz,
    initrd: initramfs,
    append: `console=ttyS0 quiet tendril.mode=boot ${extra}`.trim(),
    disks: [image],
    timeoutMs: 300_000,
    ...(until ? { until } : {}),
    logFile: path.join(LOG_DIR, `boot-state-${name}.log`),
  });
  return { run, image };
}

/** The sector holding `needle` (first occurrence) in `img`. */
function sectorOf(img: Buffer, needle: Buffer | string): number {
  const i = img.indexOf(needle);
  expect(i).toBeGreaterThanOrEqual(0);
  return Math.floor(i / SECTOR);
}

/** `mdir` of a directory on the ESP, names only. */
function espNames(image: string, dir: string): string {
  return execFileSync('mdir', ['-b', '-i', `${image}@@${ESP_AT}`, `::${dir}`], { encoding: 'utf8' });
}

function espFile(image: string, p: string): string {
  return execFileSync('mtype', ['-i', `${image}@@${ESP_AT}`, `::${p}`], { encoding: 'latin1' });
}

function fsckClean(image: string): void {
  // fsck.vfat -n exits 0 only when it found nothing to fix; e2fsck -fn likewise.
  execFileSync('fsck.vfat', ['-n', partitionFile(image, ESP_AT, ESP_MIB * MiB)], { stdio: 'pipe' });
  execFileSync('e2fsck', ['-fn', partitionFile(image, BOOT_AT, BOOT_MIB * MiB)], { stdio: 'pipe' });
}

function grubenvList(image: string): string {
  const part = partitionFile(image, BOOT_AT, BOOT_MIB * MiB);
  const out = `${part}.grubenv`;
  execFileSync('debugfs', ['-R', `dump /boot/grub/grubenv ${out}`, part], { stdio: 'pipe' });
  return execFileSync('grub-editenv', [out, 'list'], { encoding: 'utf8' });
}

let pristine: string;
let initramfs: string;
let before: Buffer;
let full: Outcome;
let cut1: Outcome;
let cut2: Outcome;
let readonly: Outcome;
let created: Outcome;

beforeAll(async () => {
  pristine = disk(true);
  before = fs.readFileSync(pristine);
  initramfs = productInitramfs();
  // Five boots side by side: four of the same disk, one of the disk without a state file.
  [full, cut1, cut2, readonly, created] = await Promise.all([
    boot('full', ''),
    boot('cut1', 'tendril.state.stop-after=1', /stopped after write 1/),
    boot('cut2', 'tendril.state.stop-after=2', /stopped after write 2/),
    boot('readonly', 'tendril.readonly=1'),
    boot('create', '', undefined, disk(false)),
  ]);
}, 900_000);

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('a boot makes exactly its three writes', () => {
  it('the one-shot picked the counted entry, which booted after the writes', () => {
    const r = targetReport(full.run.output);
    if (!r.booted) console.error(full.run.output.slice(-6000));
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('tendril.test=counted');
    const o = full.run.output;
    const i1 = o.indexOf('written: rename vda:1 /loader/entries/tendril-target+3.conf -> tendril-target+2-1.conf');
    const i2 = o.indexOf('written: grubenv vda:2 /boot/grub/grubenv: next_entry=""');
    const i3 = o.indexOf('written: update vda:1 /loader/tendril-state: unset oneshot, last="tendril-target.conf"');
    expect([i1, i2, i3].every((i) => i >= 0)).toBe(true);
    expect(i1 < i2 && i2 < i3).toBe(true);
  });

  it('the disk reads as the new state with the real tools, and fsck finds nothing', () => {
    const names = espNames(full.image, '/loader/entries');
    expect(names).toContain('tendril-target+2-1.conf');
    expect(names).not.toContain('tendril-target+3.conf');
    expect(espFile(full.image, '/loader/entries/tendril-target+2-1.conf')).toContain('tendril.test=counted');
    const state = espFile(full.image, '/loader/tendril-state');
    expect(state).toContain('last=tendril-target.conf\n');
    expect(state).not.toContain('oneshot=');
    expect(state.length).toBe(512);
    expect(grubenvList(full.image)).toBe('next_entry=\n');
    fsckClean(full.image);
  });

  it('only the directory sector, the grubenv sector and the state sector changed', () => {
    const after = fs.readFileSync(full.image);
    const dirSector = sectorOf(before, Buffer.from('t+3.c', 'utf16le'));
    const envSector = sectorOf(before, '# GRUB Environment Block\n');
    const stateSector = sectorOf(before, '# tendril state\n');
    expect(changedSectorIndices(before, after)).toEqual([dirSector, stateSector, envSector].sort((a, b) => a - b));
  });
});

describe('a power cut after each write step', () => {
  it('after write 1: only the rename is on the disk, and it is consistent', () => {
    expect(cut1.run.output).toMatch(/stopped after write 1/);
    expect(targetReport(cut1.run.output).booted).toBe(false);
    const names = espNames(cut1.image, '/loader/entries');
    expect(names).toContain('tendril-target+2-1.conf');
    expect(espFile(cut1.image, '/loader/tendril-state')).toContain('oneshot=tendril-target.conf\n');
    expect(grubenvList(cut1.image)).toBe('next_entry=grub-one\n');
    fsckClean(cut1.image);
    expect(changedSectorIndices(before, fs.readFileSync(cut1.image))).toEqual([
      sectorOf(before, Buffer.from('t+3.c', 'utf16le')),
    ]);
  });

  it('after write 2: the rename and the grubenv, not the state file', () => {
    expect(cut2.run.output).toMatch(/stopped after write 2/);
    expect(espNames(cut2.image, '/loader/entries')).toContain('tendril-target+2-1.conf');
    expect(grubenvList(cut2.image)).toBe('next_entry=\n');
    expect(espFile(cut2.image, '/loader/tendril-state')).toContain('oneshot=tendril-target.conf\n');
    fsckClean(cut2.image);
    expect(changedSectorIndices(before, fs.readFileSync(cut2.image))).toHaveLength(2);
  });
});

describe('the first save creates the state file', () => {
  it('under default @saved the booted entry is recorded in a new /loader/tendril-state (kernel vfat mount)', () => {
    const r = targetReport(created.run.output);
    if (!r.booted) console.error(created.run.output.slice(-6000));
    expect(r.booted).toBe(true);
    expect(r.cmdline).toContain('tendril.test=crossed');
    expect(created.run.output).toMatch(/written: create vda:1 \/loader\/tendril-state: last="zcross.conf"/);
    const state = espFile(created.image, '/loader/tendril-state');
    expect(state).toBe('# tendril state\nlast=zcross.conf\n'.padEnd(512, '#'));
    expect(espNames(created.image, '/loader')).not.toMatch(/tendril-state\.tmp/);
    fsckClean(created.image);
  });

  it('a rename that needs another long-name slot is made by the kernel vfat', () => {
    expect(created.run.output).toMatch(/written: rename vda:1 \/loader\/entries\/zcross\+3\.conf -> zcross\+2-1\.conf/);
    const names = espNames(created.image, '/loader/entries');
    expect(names).toContain('zcross+2-1.conf');
    expect(names).not.toContain('zcross+3.conf');
  });
});

describe('tendril.readonly=1', () => {
  it('boots the same entry, writes nothing and says so', () => {
    expect(targetReport(readonly.run.output).cmdline).toContain('tendril.test=counted');
    expect(readonly.run.output).toMatch(/not written \(read-only\): rename/);
    expect(fs.readFileSync(readonly.image).equals(before)).toBe(true);
  });
});
