// The state writes on real disk images (docs/state.md): `tendril boot --next/--set-default`
// through the bundle (the state file updated in place: one sector), the boot's writes made by the device writer (counter rename on the FAT ESP
// and on an ext4 XBOOTLDR, in place), each checked with mtools/debugfs/fsck and byte for byte
// outside the sectors that had to change. Needs root (O_EXCL opens of the images are fine without,
// but the fixtures' loop devices are not).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discover } from '../../../src/discovery/discover';
import { applyStateWrites } from '../../../src/state/apply';
import { stateWritesFor } from '../../../src/state/plan';
import { deviceWriter } from '../../../src/state/writer';
import { blsEntry } from '../../fixtures/boot';
import { buildGptDisk, changedSectorIndices, partitionFile } from '../../fixtures/images';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');
const MiB = 1024 * 1024;
const ESP_AT = MiB;
const BOOT_AT = ESP_AT + 16 * MiB;

if (process.getuid?.() !== 0) throw new Error('test/unit/state/device.test.ts needs root (loop devices, mount)');

const entry = (t: string) => blsEntry({ title: t, linux: '/vmlinuz', initrds: [], options: `t=${t}` });

const cached = buildGptDisk([
  {
    type: 'esp',
    sizeMiB: 16,
    fs: {
      kind: 'vfat',
      label: 'ESP',
      files: {
        'loader/loader.conf': 'timeout 3\n',
        'loader/entries/alpha-linux+3.conf': entry('alpha'),
        'loader/entries/beta-linux.conf': entry('beta'),
        // Created once by a kernel vfat mount (test/e2e/boot-state.test.ts covers that: this host's
        // kernel has no vfat); here it exists, as after that first save.
        'loader/tendril-state': Buffer.from('# tendril state\n'.padEnd(512, '#')),
        vmlinuz: 'not a kernel',
      },
    },
  },
  {
    type: 'xbootldr',
    sizeMiB: 16,
    fs: {
      kind: 'ext4',
      label: 'xboot',
      files: { 'loader/entries/gamma-linux+1-4.conf': entry('gamma'), vmlinuz: 'not a kernel' },
    },
  },
]);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-state-dev-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function copy(): string {
  const p = path.join(tmp, `disk${n++}.img`);
  fs.copyFileSync(cached, p);
  return p;
}

const tendril = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const listJson = (img: string) =>
  JSON.parse(tendril('list', '--json', '--disk', img).stdout) as {
    settings: { defaultId?: string; defaultReason: string };
  };
const mtype = (img: string, p: string) =>
  execFileSync('mtype', ['-i', `${img}@@${ESP_AT}`, `::${p}`], { encoding: 'latin1' });
const mdir = (img: string, p: string) =>
  execFileSync('mdir', ['-b', '-i', `${img}@@${ESP_AT}`, `::${p}`], { encoding: 'utf8' });

const fsckFat = (img: string) =>
  execFileSync('fsck.vfat', ['-n', partitionFile(img, ESP_AT, 16 * MiB)], { stdio: 'pipe' });
const fsckExt = (img: string) =>
  execFileSync('e2fsck', ['-fn', partitionFile(img, BOOT_AT, 16 * MiB)], { stdio: 'pipe' });

describe('tendril boot --next / --set-default', () => {
  it('--next saves the one-shot in one sector, and the next start picks it', () => {
    const img = copy();
    expect(listJson(img).settings.defaultId).not.toBe('beta-linux.conf');
    const before = fs.readFileSync(img);
    const r = tendril('boot', '--next', 'beta-linux.conf', '--disk', img);
    expect(r.stderr).toMatch(
      /^tendril: state: written: update \S+:1 \/loader\/tendril-state: oneshot="beta-linux.conf"\n$/,
    );
    expect(r.stdout).toBe('next boot: beta-linux.conf\n');
    expect(mtype(img, '/loader/tendril-state')).toMatch(/^# tendril state\noneshot=beta-linux.conf\n#+$/);
    expect(listJson(img).settings).toMatchObject({
      defaultId: 'beta-linux.conf',
      defaultReason: 'one-shot beta-linux.conf (disk0.img:1 /loader/tendril-state)'.replace(
        'disk0.img',
        path.basename(img),
      ),
    });
    expect(changedSectorIndices(before, fs.readFileSync(img))).toEqual([
      Math.floor(before.indexOf('# tendril state\n') / 512),
    ]);
    fsckFat(img);
  });

  it('--set-default sets, replaces and clears the default in place: one sector changes', () => {
    const img = copy();
    expect(tendril('boot', '--set-default', 'alpha-linux.conf', '--disk', img).status).toBe(0);
    const before = fs.readFileSync(img);
    const r = tendril('boot', '--set-default', 'beta-linux.conf', '--disk', img);
    expect(r.status).toBe(0);
    const after = fs.readFileSync(img);
    const stateSector = Math.floor(before.indexOf('# tendril state\n') / 512);
    expect(changedSectorIndices(before, after)).toEqual([stateSector]);
    expect(listJson(img).settings.defaultId).toBe('beta-linux.conf');
    expect(tendril('boot', '--set-default', 'none', '--disk', img).status).toBe(0);
    expect(mtype(img, '/loader/tendril-state')).not.toContain('default=');
    fsckFat(img);
  });

  it('refuses an unknown id and --no-write, changing nothing', () => {
    const img = copy();
    const before = fs.readFileSync(img);
    expect(tendril('boot', '--next', 'nope.conf', '--disk', img)).toMatchObject({
      status: 1,
      stderr: "tendril boot: no entry with id 'nope.conf'\n",
    });
    expect(tendril('boot', '--next', 'beta-linux.conf', '--no-write', '--disk', img)).toMatchObject({
      status: 1,
      stderr: 'tendril boot: not saved: read-only (--no-write)\n',
    });
    expect(fs.readFileSync(img).equals(before)).toBe(true);
  });

  it("the menu's d under --dry-run names the dry run as the reason and writes nothing", () => {
    const img = copy();
    const before = fs.readFileSync(img);
    const r = spawnSync(process.execPath, [BIN, 'menu', '--plain', '--dry-run', '--timeout', '30', '--disk', img], {
      encoding: 'utf8',
      input: '\nd 2\nq\n',
    });
    expect(r.stdout).toContain('not saved: read-only (--dry-run)');
    expect(fs.readFileSync(img).equals(before)).toBe(true);
  });
});

describe("a boot's writes through the device writer", () => {
  async function writesFor(img: string, id: string) {
    const s = await discover({ disks: [img] });
    try {
      const e = s.result.entries.find((x) => x.id === id)!;
      const lines: string[] = [];
      const rep = await applyStateWrites(stateWritesFor(e, s.result), {
        filesystem: (fsId) => s.result.devices.flatMap((d) => d.filesystems).find((f) => f.fsId === fsId),
        writer: deviceWriter(),
        say: (l) => lines.push(l),
        readonly: false,
      });
      return { rep, lines };
    } finally {
      await s.close();
    }
  }

  it('FAT: the counted entry is renamed in one directory sector; mtools and fsck agree', async () => {
    const img = copy();
    const before = fs.readFileSync(img);
    const { rep } = await writesFor(img, 'alpha-linux.conf');
    expect(rep.failed).toEqual([]);
    expect(rep.written).toEqual([expect.stringMatching(/alpha-linux\+3.conf -> alpha-linux\+2-1.conf/)]);
    const names = mdir(img, '/loader/entries');
    expect(names).toContain('alpha-linux+2-1.conf');
    expect(names).not.toContain('alpha-linux+3.conf');
    expect(mtype(img, '/loader/entries/alpha-linux+2-1.conf')).toContain('t=alpha');
    expect(changedSectorIndices(before, fs.readFileSync(img))).toHaveLength(1);
    fsckFat(img);
  });

  it('ext4: the counted entry on the XBOOTLDR is renamed in place; debugfs and e2fsck agree', async () => {
    const img = copy();
    const before = fs.readFileSync(img);
    const { rep } = await writesFor(img, 'gamma-linux.conf');
    expect(rep.failed).toEqual([]);
    const ls = execFileSync('debugfs', ['-R', 'ls /loader/entries', partitionFile(img, BOOT_AT, 16 * MiB)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(ls).toContain('gamma-linux+0-5.conf');
    expect(ls).not.toContain('gamma-linux+1-4.conf');
    const c = changedSectorIndices(before, fs.readFileSync(img));
    expect(c.length).toBeGreaterThanOrEqual(1);
    expect(c.length).toBeLessThanOrEqual(8); // within one filesystem block
    expect(c.every((s) => s * 512 >= BOOT_AT)).toBe(true);
    fsckExt(img);
  });
});
