// Live discovery re-evaluates only what a new device can change (issue 9, "Discovery stays incremental"). Disks whose
// grub, syslinux and sprout configs reach each other (`search` by uuid/label/file,
// `configfile` and `source` on another disk, sprout extractors) arrive one at a time in
// random orders; every live list and the final result must equal what a full evaluation
// gives, and the number of evaluations must grow linearly with the disks.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover, type DiscoverOptions } from '../../../src/discovery/discover';
import { runSourcesOver } from '../../../src/discovery/local';
import type { DeviceInfo, DiscoveryResult, LinuxTarget, MenuEntry } from '../../../src/discovery/model';
import { targetOf } from '../../fixtures/status';
import type { EfiArch, MountedFs } from '../../../src/discovery/sources/context';
import { localSources } from '../../../src/discovery/sources';
import type { DeviceScanner, ScanOutcome, ScanRequest } from '../../../src/discovery/worker/pool';
import { makeCtx, type FsSpec, type TestCtx } from '../grub/helpers';

const uuid = (n: number) => `${String(n).padStart(8, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;

/**
 * Serves host-directory filesystems as scanned disks. With an arrival order, disk
 * `order[k]` answers only after the live list has been delivered k times, so devices
 * arrive one by one in that order; without one, every disk answers at once.
 */
class TreeScanner implements DeviceScanner {
  private delivered = 0;
  private readonly waiting: { at: number; go: () => void }[] = [];

  constructor(
    private readonly disks: ReadonlyMap<string, readonly MountedFs[]>,
    private readonly order?: readonly string[],
  ) {}

  /** One live list was delivered: let the next disk answer. */
  delivered1(): void {
    this.delivered++;
    for (const w of this.waiting.filter((x) => x.at <= this.delivered)) w.go();
  }

  async scan(info: DeviceInfo, _deadlineMs: number, req: ScanRequest): Promise<ScanOutcome> {
    const at = this.order ? this.order.indexOf(info.name) : 0;
    if (at > this.delivered) await new Promise<void>((go) => this.waiting.push({ at, go }));
    const mounts = this.disks.get(info.name) ?? [];
    const local = req.local ? await runSourcesOver(localSources, mounts, req.arch) : undefined;
    return {
      report: { device: info, filesystems: mounts.map((m) => m.report), diagnostics: [], elapsedMs: 0 },
      readers: new Map(mounts.map((m) => [m.report.fsId, m.fs] as const)),
      ...(local ? { local } : {}),
    };
  }

  async close(): Promise<void> {}

  hasStuck(): boolean {
    return false;
  }
}

interface Rig {
  readonly names: readonly string[];
  readonly paths: readonly string[];
  readonly disks: ReadonlyMap<string, readonly MountedFs[]>;
  cleanup(): void;
}

/** Host trees for `specs` plus one (empty) image file per disk, named like the disk. */
function rig(specs: readonly FsSpec[]): Rig {
  const t: TestCtx = makeCtx(specs);
  const names = [...new Set(specs.map((s) => s.device))];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-incr-'));
  const paths = names.map((n) => {
    const p = path.join(dir, n);
    fs.writeFileSync(p, '');
    return p;
  });
  const disks = new Map(
    names.map((n) => [n, t.ctx.filesystems.filter((m) => m.report.device === `/dev/${n}`)] as const),
  );
  return {
    names,
    paths,
    disks,
    cleanup: () => {
      t.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Run {
  readonly live: (readonly MenuEntry[])[];
  readonly result: DiscoveryResult;
  readonly evaluations: number;
  readonly sourceRuns: number;
}

async function run(
  r: Pick<Rig, 'paths' | 'disks'>,
  order: readonly string[] | undefined,
  reevaluate: DiscoverOptions['reevaluate'],
): Promise<Run> {
  const scanner = new TreeScanner(r.disks, order);
  const live: (readonly MenuEntry[])[] = [];
  const arch: EfiArch = 'x64';
  const s = await discover({
    disks: r.paths,
    sysBlock: false,
    arch,
    scanner,
    ...(reevaluate ? { reevaluate } : {}),
    ...(order
      ? {
          onEntries: (entries: readonly MenuEntry[]) => {
            live.push(entries);
            scanner.delivered1();
          },
        }
      : {}),
  });
  await s.close();
  return { live, result: s.result, evaluations: s.stats.evaluations, sourceRuns: s.stats.sourceRuns };
}

// Eight disks that look each other up. In discovery order: an ESP stub that `configfile`s
// vdh's grub.cfg; grub.cfgs whose entries `search` another disk by uuid, label and file and
// `source` a script (with a parse error) from another disk; syslinux on vde; a sprout ESP
// whose extractors find disks by label and by file; a grub.cfg that `configfile`s vdh's
// config too, which is "already evaluated" only once the stub on vda is there.
const WEB: readonly FsSpec[] = [
  {
    device: 'vda',
    partition: 1,
    type: 'vfat',
    role: 'esp',
    uuid: 'AAAA-0001',
    files: {
      'EFI/debian/grub.cfg': `search.fs_uuid ${uuid(8)} root\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n`,
    },
  },
  {
    device: 'vdb',
    partition: 1,
    uuid: uuid(2),
    label: 'bdisk',
    files: {
      'boot/vmlinuz-5.0': 'k',
      'boot/grub/grub.cfg':
        'set timeout=3\nset default=1\n' +
        `menuentry 'B kernel on C' { search --no-floppy --fs-uuid --set=root ${uuid(3)}; linux /vmlinuz-6.1 ro; initrd /initrd.img-6.1; }\n` +
        "menuentry 'B local' { linux /boot/vmlinuz-5.0 ro; }\n" +
        'search --file --set=e /shared/extra.cfg\nsource ($e)/shared/extra.cfg\n',
    },
  },
  {
    device: 'vdc',
    partition: 1,
    uuid: uuid(3),
    files: {
      'vmlinuz-6.1': 'k',
      'initrd.img-6.1': 'i',
      'boot/grub/grub.cfg':
        "search --label --set=d dlabel\nmenuentry 'C kernel on D' { linux ($d)/vmlinuz-7 quiet; }\n",
    },
  },
  {
    device: 'vdd',
    partition: 1,
    uuid: uuid(4),
    label: 'dlabel',
    files: {
      'vmlinuz-7': 'k',
      'boot/grub/grub.cfg':
        "search --file --set=e /shared/extra.cfg\nsource ($e)/shared/extra.cfg\nmenuentry 'D own' { linux /vmlinuz-7; }\n",
    },
  },
  {
    device: 'vde',
    partition: 1,
    uuid: uuid(5),
    files: {
      'vmlinuz-8': 'k',
      'shared/extra.cfg':
        "menuentry 'E via search' { linux ($e)/vmlinuz-8 console=ttyS0; }\nif [ x ]; then\n  set a=1\n",
      'extlinux/extlinux.conf': 'DEFAULT e\nLABEL e\n  KERNEL /vmlinuz-8\n  APPEND root=/dev/vde1\n',
    },
  },
  {
    device: 'vdf',
    partition: 1,
    type: 'vfat',
    role: 'esp',
    uuid: 'FFFF-0006',
    files: {
      'sprout.toml': String.raw`version = 1
[extractors.d.filesystem-device-match]
has-label = "dlabel"
[extractors.s.filesystem-device-match]
has-item = "\\shared\\extra.cfg"
[actions.d7]
chainload.path = "$d\\vmlinuz-7"
chainload.options = ["quiet"]
[actions.s8]
chainload.path = "$s\\vmlinuz-8"
[entries.d7]
title = "Sprout D"
actions = ["d7"]
[entries.s8]
title = "Sprout E"
actions = ["s8"]
`,
    },
  },
  {
    device: 'vdg',
    partition: 1,
    uuid: uuid(7),
    files: {
      'vmlinuz-g': 'k',
      'boot/grub/grub.cfg': `menuentry 'G own' { linux /vmlinuz-g; }\nsearch.fs_uuid ${uuid(8)} r\nconfigfile ($r)/boot/grub/grub.cfg\n`,
    },
  },
  {
    device: 'vdh',
    partition: 1,
    uuid: uuid(8),
    files: {
      'vmlinuz-h': 'k',
      'boot/grub/grub.cfg':
        "menuentry 'H' { linux /vmlinuz-h; }\nmenuentry 'H kernel on B' { search --set=root --label bdisk; linux /boot/vmlinuz-5.0; }\n",
    },
  },
];

describe('live discovery re-evaluates only what a new device can change', () => {
  let web: Rig;
  let full: Run;
  beforeAll(async () => {
    web = rig(WEB);
    full = await run(web, undefined, undefined);
  });
  afterAll(() => web.cleanup());

  it('the fixture reaches across disks (uuid, label, file, configfile, source, extractors)', () => {
    const byTitle = (t: string) => full.result.entries.find((e) => e.title === t);
    const kernelFs = (t: string) =>
      (byTitle(t) ? (targetOf(byTitle(t)!) as LinuxTarget | undefined) : undefined)?.kernel.fsId;
    expect(kernelFs('B kernel on C')).toBe('vdc:1');
    expect(kernelFs('C kernel on D')).toBe('vdd:1');
    expect(kernelFs('E via search')).toBe('vde:1');
    expect(kernelFs('H kernel on B')).toBe('vdb:1');
    expect(byTitle('H')?.origin).toMatchObject({ fsId: 'vdh:1', file: '/boot/grub/grub.cfg' });
    expect(byTitle('G own')).toBeDefined();
    const sprout = full.result.entries.filter((e) => e.origin.source === 'sprout');
    expect(sprout.map((e) => e.title).sort()).toEqual(['Sprout D', 'Sprout E']);
    expect(full.result.entries.some((e) => e.origin.source === 'syslinux')).toBe(true);
    const msgs = full.result.diagnostics.map((d) => d.message);
    expect(msgs.filter((m) => m.startsWith('parse error'))).toHaveLength(1);
    expect(msgs.some((m) => m.includes('already evaluated in this scan'))).toBe(true);
    expect(msgs.some((m) => m.includes('extractor d matched vdd:1'))).toBe(true);
  });

  it('in any arrival order every live list and the result equal a full re-evaluation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray([...web.names], { minLength: 8, maxLength: 8 }), async (order) => {
        const affected = await run(web, order, 'affected');
        const all = await run(web, order, 'all');
        expect(affected.live).toHaveLength(order.length + 1);
        expect(affected.live).toEqual(all.live);
        expect(affected.result).toEqual(full.result);
        expect(all.result).toEqual(full.result);
        expect(affected.sourceRuns).toBe(all.sourceRuns);
        expect(affected.evaluations).toBeLessThan(all.evaluations);
      }),
      { numRuns: 12 },
    );
  });
});

/** Disk k's only entry boots a kernel found by `search --fs-uuid` on disk k+1. */
function chain(n: number): FsSpec[] {
  return Array.from({ length: n }, (_, k) => ({
    device: `vd${String.fromCharCode(97 + k)}`,
    partition: 1,
    uuid: uuid(k + 1),
    files: {
      vmlinuz: 'k',
      'boot/grub/grub.cfg': `menuentry 'disk ${k}' { search --fs-uuid --set=root ${uuid(k + 2)}; linux /vmlinuz; }\n`,
    },
  }));
}

describe('the number of evaluations is linear in the number of devices', () => {
  // Per arrival: grub probes the new filesystem (1), evaluates its grub.cfg (1) and the
  // previous disk's, whose search now finds it (1); syslinux scans it (1). Once the last
  // disk is in, nothing is left to do: 3 + 4 (n - 1). Re-evaluating everything after every
  // device costs 3 k at the k-th arrival and 3 n at the end.
  it.each([4, 8])('%i disks arriving in order', async (n) => {
    const r = rig(chain(n));
    try {
      const order = r.names;
      const affected = await run(r, order, 'affected');
      const all = await run(r, order, 'all');
      expect(affected.live).toEqual(all.live);
      expect(affected.result).toEqual(all.result);
      // Each disk's kernel is found on the next disk (the last one's search fails: its own).
      const kernels = affected.result.entries.map((e) => [e.title, (targetOf(e) as LinuxTarget).kernel.fsId]);
      expect(kernels.sort()).toEqual(r.names.map((_, k) => [`disk ${k}`, `${r.names[Math.min(k + 1, n - 1)]}:1`]));
      expect(affected.sourceRuns).toBe(3 * (n + 1));
      expect(affected.evaluations).toBe(4 * n - 1);
      expect(all.evaluations).toBe((3 * n * (n + 1)) / 2 + 3 * n);
    } finally {
      r.cleanup();
    }
  });
});

describe('a failed evaluation is not remembered', () => {
  it('a config whose read failed once is evaluated again at the next update', async () => {
    const r = rig([
      { device: 'vda', partition: 1, files: { k: 'k', 'boot/grub/grub.cfg': "menuentry 'A' { linux /k; }\n" } },
      { device: 'vdb', partition: 1, files: { k: 'k', 'boot/grub/grub.cfg': "menuentry 'B' { linux /k; }\n" } },
    ]);
    try {
      const [m] = r.disks.get('vda')!;
      const inner = m!.fs;
      let failures = 1;
      const flaky = Object.assign(Object.create(inner) as typeof inner, {
        open: async (p: string) => {
          if (p === '/boot/grub/grub.cfg' && failures-- > 0) throw new Error('pread: EIO (simulated)');
          return inner.open(p);
        },
      });
      const disks = new Map(r.disks).set('vda', [{ report: m!.report, fs: flaky }]);
      const live = await run({ paths: r.paths, disks }, ['vda', 'vdb'], 'affected');
      expect(live.live.map((es) => es.map((e) => e.title))).toEqual([[], ['A', 'B'], ['A', 'B']]);
      expect(live.result.diagnostics.filter((d) => d.message.includes('evaluation stopped'))).toEqual([]);
    } finally {
      r.cleanup();
    }
  });
});
