// Issue 16, finding 4: a BLS entry whose initrd is a 1 TiB sparse file (truncate -s 1T in the
// tree, mke2fs -d keeps the hole) next to a healthy entry. `boot --dry-run` used to hash it for
// minutes and a real boot would copy it into memory; now the plan is refused before a byte is
// read, with the numbers (docs/kexec.md §4.2). Where memory would allow it, --dry-run does not
// hash past its limit; the menu's details pane reads headers only. The healthy entry still
// plans, and the image is unchanged.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover, type DiscoverySession } from '../../../src/discovery/discover';
import type { MenuEntry } from '../../../src/discovery/model';
import { KexecError } from '../../../src/kexec/errors';
import { memAvailable } from '../../../src/kexec/memory';
import { DRY_RUN_HASH_LIMIT, describePlan, planBoot } from '../../../src/kexec/plan';
import { entryDetails } from '../../../src/menu/details';
import { countingReads, readCounter } from '../../fixtures/counting-fs';
import {
  type HostileImage,
  KERNEL,
  allocatedBytes,
  hostileExt4,
  sha256Of,
  tinyInitrd,
} from '../../fixtures/hostile-disks';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');
const TiB = 1024 ** 4;

let img: HostileImage;
let before = '';

beforeAll(() => {
  img = hostileExt4({
    vmlinuz: { copyOf: KERNEL },
    'initrd.img': tinyInitrd(),
    'huge.img': { sparse: TiB },
    'loader/entries/ok.conf': 'title Healthy\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=/dev/vda ro\n',
    'loader/entries/huge.conf': 'title Huge\nlinux /vmlinuz\ninitrd /huge.img\noptions root=/dev/vda ro\n',
  });
  before = sha256Of(img.image);
});
afterAll(() => img.cleanup());

function boot(...args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [BIN, 'boot', '--dry-run', '--disk', img.image, ...args], {
    encoding: 'utf8',
    // A guard against a hang, not a timing assertion: the old code hashed for minutes.
    timeout: 60_000,
  });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

describe('a 1 TiB sparse initrd (issue 16 finding 4)', () => {
  it('is a real sparse file in a small ext4 image (mke2fs -d kept the hole)', () => {
    const stat = execFileSync('debugfs', ['-R', 'stat /huge.img', img.image], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(stat).toMatch(/Size: 1099511627776\b/);
    expect(stat).toMatch(/Blockcount: 0\b/);
    expect(allocatedBytes(img.image)).toBeLessThan(64 << 20);
  });

  it('boot --dry-run refuses it with the numbers; the healthy entry still plans', () => {
    const r = boot('--entry', 'huge.conf');
    expect(r.status).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain("tendril: entry 'huge.conf': boot failed: plan: ENOMEM");
    expect(r.err).toMatch(/hint: not enough memory: loading needs 3\.0 TiB \(kernel 7\.9 MiB, initrd 1\.0 TiB/);
    expect(r.err).toMatch(
      /MemAvailable is \d+(\.\d)? [KMGT]iB; the largest file is disk\.img:0:\/huge\.img \(1\.0 TiB\)/,
    );
    expect(r.err).toContain('initrds: disk.img:0:/huge.img (1099511627776 bytes total)');
    const ok = boot('--entry', 'ok.conf');
    expect(ok.status).toBe(0);
    expect(ok.out).toMatch(/^kernel: disk\.img:0:\/vmlinuz size \d+ sha256 [0-9a-f]{64}$/m);
    expect(ok.out).toMatch(/^memory: loading needs \d+ MiB, MemAvailable \d+(\.\d)? [MGT]iB$/m);
    // --default falls through from the refused entry to the healthy one, or starts there.
    const d = boot('--default');
    expect(d.status).toBe(0);
    expect(d.out).toContain('entry: ok.conf (Healthy)');
    expect(sha256Of(img.image)).toBe(before);
  });

  describe('in process, through the real ext4 reader', () => {
    let session: DiscoverySession;
    let huge: MenuEntry;
    beforeAll(async () => {
      session = await discover({ disks: [img.image], sysBlock: false });
      const e = session.result.entries.find((x) => x.id === 'huge.conf');
      if (!e) throw new Error('huge.conf not listed');
      huge = e;
      expect(session.result.entries.map((x) => x.id).sort()).toEqual(['huge.conf', 'ok.conf']);
    });
    afterAll(() => session.close());

    it('refuses before reading a byte of any file', async () => {
      const counter = readCounter();
      const lookup = (id: string) => {
        const f = session.fs(id);
        return f && countingReads(f, counter);
      };
      const err = await planBoot(huge, lookup).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KexecError);
      expect((err as KexecError).failure.errno).toBe('ENOMEM');
      expect(counter.total()).toBe(0);
    });

    it('with memory to spare, --dry-run gives its size and no hash past the limit', async () => {
      const counter = readCounter();
      const lookup = (id: string) => {
        const f = session.fs(id);
        return f && countingReads(f, counter);
      };
      // A machine with 8 TiB available would load it; the dry run still does not hash it.
      const plan = await planBoot(huge, lookup, { memAvailable: () => 8 * TiB });
      const text = await describePlan(plan, lookup);
      expect(DRY_RUN_HASH_LIMIT).toBe(512 << 20);
      expect(text).toContain(
        'initrd[0]: disk.img:0:/huge.img size 1099511627776 sha256 not computed: 1.0 TiB exceeds the dry-run hash limit of 512 MiB at 0 pad 0',
      );
      expect(text).toMatch(/^kernel: disk\.img:0:\/vmlinuz size \d+ sha256 [0-9a-f]{64}$/m);
      expect(text).toMatch(/^memory: loading needs 3\.0 TiB, MemAvailable 8\.0 TiB$/m);
      // The kernel (hashed) and a few headers: nothing of the 1 TiB file beyond its first 512 bytes.
      const kernel = (await session.fs('disk.img:0')!.stat('/vmlinuz')).size;
      expect(counter.total()).toBeLessThan(kernel + 64 * 1024);
      // A lower limit skips the kernel's hash too.
      expect(await describePlan(plan, lookup, { hashLimit: 1 << 20 })).toMatch(
        /^kernel: disk\.img:0:\/vmlinuz size \d+ sha256 not computed: 7\.9 MiB exceeds the dry-run hash limit of 1\.0 MiB$/m,
      );
    });

    it("the menu's details pane reads headers only and shows why it cannot load", async () => {
      const counter = readCounter();
      const lookup = (id: string) => {
        const f = session.fs(id);
        return f && countingReads(f, counter);
      };
      const lines = await entryDetails(huge, { lookup, devices: [], kexec: { memAvailable } });
      expect(lines).toContain('initrd    disk.img:0:/huge.img  (1099511627776 bytes)');
      expect(lines.find((l) => l.startsWith('final '))).toMatch(
        /^final {5}\(not bootable by kexec: not enough memory: loading needs 3\.0 TiB/,
      );
      expect(counter.total()).toBe(0);
      // With memory to spare it plans, reading only the kernel's header and 512 bytes of the initrd.
      const more = await entryDetails(huge, { lookup, devices: [], kexec: { memAvailable: () => 8 * TiB } });
      expect(more.find((l) => l.startsWith('final '))).toBe('final     root=/dev/vda ro');
      expect(counter.total()).toBeLessThan(4096);
      expect(sha256Of(img.image)).toBe(before);
    });
  });
});
