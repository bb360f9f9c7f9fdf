// Superblock probes against `blkid -p -o export` on images made by each filesystem's own
// mkfs, plus dumpe2fs for ext feature lists and mtools for FAT code-page labels.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../src/discovery/diagnostics';
import { BufferSource, FileSource } from '../../../src/discovery/io/source';
import type { FsProbe, FsType } from '../../../src/discovery/model';
import { probeFilesystem } from '../../../src/discovery/probe';
import { blkidExport, fsImage, patchedCopy, type FsRecipe } from '../../fixtures/disks';

function probe(img: string): { probe: FsProbe | null; diagnostics: Diagnostic[] } {
  const src = FileSource.open(img);
  try {
    const diagnostics: Diagnostic[] = [];
    return { probe: probeFilesystem(src, diagnostics), diagnostics };
  } finally {
    src.close();
  }
}

const READABLE = new Set<FsType>(['ext2', 'ext3', 'ext4', 'vfat', 'iso9660']);

// Where blkid's VERSION means what our `version` means.
const VERSION_LIKE_BLKID = new Set<FsType>([
  'vfat',
  'crypto_LUKS',
  'LVM2_member',
  'swap',
  'squashfs',
  'exfat',
  'f2fs',
  'iso9660',
]);

const CASES: [string, FsRecipe][] = [
  ['FAT12', { kind: 'vfat', fatBits: 12, sizeMiB: 2, label: 'F12LBL', uuid: '0000abcd' }],
  [
    'FAT16',
    { kind: 'vfat', fatBits: 16, sizeMiB: 16, label: 'ESP', uuid: 'deadbeef', files: { 'EFI/BOOT/x.txt': 'x' } },
  ],
  ['FAT32', { kind: 'vfat', fatBits: 32, sizeMiB: 64, label: 'BIG FAT', uuid: '12345678' }],
  ['FAT without label', { kind: 'vfat', fatBits: 16, sizeMiB: 16 }],
  ['ext2', { kind: 'ext2', label: 'e2', uuid: '11111111-2222-4333-8444-555555555555' }],
  ['ext3', { kind: 'ext3', label: 'e3 with space' }],
  ['ext4', { kind: 'ext4', label: 'bööt-ünïcode' }],
  ['ext4 no label', { kind: 'ext4' }],
  ['ext4 without journal', { kind: 'ext4', label: 'nojournal', mkfsArgs: ['-O', '^has_journal'] }],
  ['ext4 needs_recovery', { kind: 'ext4', label: 'dirty', debugfs: ['feature needs_recovery'] }],
  ['iso9660', { kind: 'iso9660', label: 'MY_ISO', isoDate: '2024010203040500' }],
  ['iso9660 long label', { kind: 'iso9660', label: 'A_VOLUME_LABEL_LONGER_THAN_16', isoDate: '2023123123595999' }],
  ['iso9660 non-ASCII label (Joliet differs)', { kind: 'iso9660', label: 'Bööt Disk', isoDate: '2022060708091011' }],
  ['xfs', { kind: 'xfs', label: 'xfsroot', uuid: '0e3f1c2a-0000-4000-8000-00000000000a' }],
  ['btrfs', { kind: 'btrfs', label: 'btrpool', uuid: '0e3f1c2a-0000-4000-8000-00000000000b' }],
  ['LUKS1', { kind: 'luks1', uuid: '0e3f1c2a-0000-4000-8000-00000000000c' }],
  ['LUKS2', { kind: 'luks2', label: 'cryptroot', uuid: '0e3f1c2a-0000-4000-8000-00000000000d' }],
  ['LVM2 PV', { kind: 'lvm2', uuid: 'Tendri-lPV0-abcd-efgh-ijkl-mnop-qrstuv' }],
  ['swap', { kind: 'swap', label: 'swaplbl', uuid: '0e3f1c2a-0000-4000-8000-00000000000e' }],
  ['squashfs', { kind: 'squashfs', files: { 'etc/os-release': 'ID=test\n' } }],
  ['ntfs', { kind: 'ntfs', label: 'Windows' }],
  ['exfat', { kind: 'exfat', label: 'EXSTICK' }],
  ['f2fs', { kind: 'f2fs', label: 'f2root', uuid: '0e3f1c2a-0000-4000-8000-00000000000f' }],
];

describe('probeFilesystem against blkid', () => {
  for (const [name, recipe] of CASES) {
    it(name, () => {
      const img = fsImage(recipe);
      const want = blkidExport(img);
      const { probe: got } = probe(img);
      expect(want.TYPE).toBeDefined();
      expect(got).not.toBeNull();
      expect(got!.type).toBe(want.TYPE);
      expect(got!.uuid).toBe(want.UUID);
      expect(got!.label).toBe(want.LABEL);
      expect(got!.readable).toBe(READABLE.has(got!.type));
      if (VERSION_LIKE_BLKID.has(got!.type)) expect(got!.version).toBe(want.VERSION);
      // The recipe's own label and UUID made it through (where the tool takes them).
      if (recipe.label !== undefined && recipe.kind !== 'iso9660') expect(got!.label).toBe(recipe.label);
    });
  }
});

describe('ext', () => {
  const dumpe2fsFeatures = (img: string): string => {
    const out = execFileSync('dumpe2fs', ['-h', img], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    return /^Filesystem features:\s+(.*)$/m.exec(out)![1]!.trim();
  };
  for (const [name, recipe] of CASES.filter(([, r]) => r.kind.startsWith('ext'))) {
    it(`${name}: the feature list is dumpe2fs's`, () => {
      const img = fsImage(recipe);
      expect(probe(img).probe!.version).toBe(dumpe2fsFeatures(img));
    });
  }

  it('needs_recovery marks the filesystem dirty with a warning', () => {
    const r = probe(fsImage({ kind: 'ext4', label: 'dirty', debugfs: ['feature needs_recovery'] }));
    expect(r.probe!.dirty).toBe(true);
    expect(r.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/needs_recovery/)]);
    expect(probe(fsImage({ kind: 'ext4' })).probe!.dirty).toBeUndefined();
  });

  it('a superblock with a bad metadata_csum is refused, as e2fsprogs and the kernel refuse it', () => {
    const img = patchedCopy(fsImage({ kind: 'ext4', label: 'csum' }), [{ offset: 1024 + 0x78, bytes: 'X' }]);
    // (blkid 2.38 does not check it; dumpe2fs does.)
    expect(() => execFileSync('dumpe2fs', ['-h', img], { stdio: 'pipe' })).toThrow(
      /Superblock checksum does not match/,
    );
    const r = probe(img);
    expect(r.probe).toBeNull();
    expect(r.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/superblock checksum mismatch/)]);
  });
});

describe('FAT labels', () => {
  it('prefers the root-directory label entry over the boot sector copy, as blkid does', () => {
    const base = fsImage({ kind: 'vfat', fatBits: 16, sizeMiB: 16, label: 'ROOTDIR' });
    const img = patchedCopy(base, [{ offset: 0x2b, bytes: 'BPBCOPY    ' }]);
    expect(blkidExport(img).LABEL).toBe('ROOTDIR');
    expect(probe(img).probe!.label).toBe('ROOTDIR');
  });

  it('a label only in the boot sector is not the volume label (blkid: LABEL_FATBOOT only)', () => {
    const img = patchedCopy(fsImage({ kind: 'vfat', fatBits: 32, sizeMiB: 64 }), [
      { offset: 0x47, bytes: 'BPBONLY    ' },
    ]);
    const want = blkidExport(img);
    expect(want.LABEL_FATBOOT).toBe('BPBONLY');
    expect(want.LABEL).toBeUndefined();
    expect(probe(img).probe!.label).toBeUndefined();
  });

  it("'NO NAME' means no label", () => {
    const img = fsImage({ kind: 'vfat', fatBits: 16, sizeMiB: 16, label: 'NO NAME' });
    expect(blkidExport(img).LABEL).toBeUndefined();
    expect(probe(img).probe!.label).toBeUndefined();
  });

  it('decodes an OEM code-page label as mtools does (code page 850)', () => {
    // mlabel writes through mtools' code page conversion, into a private copy.
    const img = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cp850-')), 'fat.img');
    fs.copyFileSync(fsImage({ kind: 'vfat', fatBits: 16, sizeMiB: 16, label: 'PLACEHOLDER' }), img);
    execFileSync('mlabel', ['-i', img, '::CAFÉ ÅÖ'], { env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    const shown = execFileSync('mlabel', ['-i', img, '-s', '::'], {
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
    }).toString();
    const want = /Volume label is (.*)$/m.exec(shown)![1]!.trimEnd();
    expect(want).toBe('CAFÉ ÅÖ');
    expect(probe(img).probe!.label).toBe(want);
  });
});

describe('ISO 9660 labels', () => {
  it('a Joliet label that differs from the PVD one wins, as in blkid', () => {
    const base = fsImage({ kind: 'iso9660', label: 'PVD_LABEL', isoDate: '2024010203040500' });
    const jolietId = Buffer.from('Jöliet ☃ name'.padEnd(16, ' '), 'utf16le').swap16();
    // The Joliet SVD follows the PVD at sector 17 in xorriso's layout (checked here).
    const img = patchedCopy(base, [{ offset: 0x8800 + 40, bytes: jolietId }]);
    const want = blkidExport(img);
    expect(want.LABEL).toBe('Jöliet ☃ name');
    expect(probe(img).probe).toMatchObject({
      type: 'iso9660',
      label: want.LABEL,
      uuid: want.UUID,
      version: 'Joliet Extension',
    });
  });
});

describe('FAT type from the cluster count (Microsoft FAT specification §3.5)', () => {
  // Rewrite the total-sector count of a real FAT12 boot sector so that
  // (total - reserved - fats*fatsz - rootdir sectors) / sectors-per-cluster hits the limits.
  const variant = (clusters: number): FsProbe | null => {
    const buf = fs.readFileSync(fsImage({ kind: 'vfat', fatBits: 12, sizeMiB: 2, label: 'EDGE' }));
    const bps = buf.readUInt16LE(11);
    const spc = buf.readUInt8(13);
    const meta =
      buf.readUInt16LE(14) + buf.readUInt8(16) * buf.readUInt16LE(22) + Math.ceil((buf.readUInt16LE(17) * 32) / bps);
    buf.writeUInt16LE(0, 19);
    buf.writeUInt32LE(meta + clusters * spc, 32);
    return probeFilesystem(new BufferSource(buf, 'edge.img'));
  };
  it('4084 clusters is FAT12, 4085 is FAT16, 65524 is FAT16, 65525 is not FAT12/16', () => {
    expect(variant(4084)?.version).toBe('FAT12');
    expect(variant(4085)?.version).toBe('FAT16');
    expect(variant(65524)?.version).toBe('FAT16');
    expect(variant(65525)).toBeNull();
  });
});

describe('swap and hibernation', () => {
  const sigs: [string, string][] = [
    ['S1SUSPEND', 's1suspend'],
    ['S2SUSPEND', 's2suspend'],
    ['ULSUSPEND', 'ulsuspend'],
    ['LINHIB0001', 'linhib0001'],
  ];
  for (const [sig, version] of sigs) {
    it(`${sig} at PAGE_SIZE-10 is a hibernation image: dirty, with the swap's UUID and label`, () => {
      const swap = fsImage({ kind: 'swap', label: 'hib', uuid: '0e3f1c2a-0000-4000-8000-000000000010' });
      const img = patchedCopy(swap, [{ offset: 4096 - 10, bytes: sig.padEnd(10, '\0') }]);
      const want = blkidExport(img);
      expect(want.TYPE).toBe('swsuspend');
      const r = probe(img);
      expect(r.probe).toMatchObject({
        type: 'swap',
        dirty: true,
        version,
        uuid: want.UUID,
        label: want.LABEL,
        readable: false,
      });
      expect(r.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/hibernation image/)]);
    });
  }
});

describe('containers', () => {
  it('LUKS2 with a wiped primary header is still found through its secondary header, as blkid finds it', () => {
    const img = patchedCopy(fsImage({ kind: 'luks2', label: 'second', uuid: '0e3f1c2a-0000-4000-8000-000000000011' }), [
      { offset: 0, zeros: 4096 },
    ]);
    const want = blkidExport(img);
    expect(want.TYPE).toBe('crypto_LUKS');
    const r = probe(img);
    expect(r.probe).toMatchObject({ type: 'crypto_LUKS', uuid: want.UUID, label: want.LABEL, version: want.VERSION });
    expect(r.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/secondary LUKS2 header/)]);
  });

  it('an LVM2 label with a bad checksum is refused, as blkid refuses it', () => {
    const pv = fsImage({ kind: 'lvm2', uuid: 'Tendri-lPV0-abcd-efgh-ijkl-mnop-qrstuv' });
    const img = patchedCopy(pv, [{ offset: 512 + 40, bytes: 'Z' }]);
    expect(blkidExport(img).TYPE).toBeUndefined();
    const r = probe(img);
    expect(r.probe).toBeNull();
    expect(r.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/bad checksum/)]);
  });
});
