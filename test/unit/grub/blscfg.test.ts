// blscfg entries and the plain BLS source describe the same snippets: same id, same fsId and
// file, so discovery can keep one of each (the grub one carries grub's variable expansion).
import { afterEach, describe, expect, it } from 'vitest';
import type { LinuxTarget } from '../../../src/discovery/model';
import { blsSource } from '../../../src/discovery/sources/bls';
import { scanGrub } from '../../../src/discovery/sources/grub';
import { grubenv, makeCtx, type TestCtx } from './helpers';
import { targetOf } from '../../fixtures/status';

let t: TestCtx | undefined;
afterEach(() => t?.cleanup());

const CFG = `load_env
set blsdir=/loader/entries
blscfg
menuentry 'Custom after blscfg' { linux /vmlinuz-6.9.1 root=/dev/sda3; }
`;

describe('blscfg vs the BLS source', () => {
  it('same ids (lower-cased file name with .conf, counter stripped), fsId and file; boot counter kept', async () => {
    t = makeCtx([
      {
        device: 'sda',
        partition: 2,
        uuid: '2b7c9d1e-4f3a-4b6c-9e8d-7a6b5c4d3e2f',
        files: {
          'grub2/grub.cfg': CFG,
          'grub2/grubenv': grubenv({ kernelopts: 'root=/dev/sda3 ro', saved_entry: 'Fedora-6.9.1+3-1' }),
          'loader/entries/Fedora-6.9.1+3-1.conf':
            'title Fedora 6.9.1\nversion 6.9.1\nlinux /vmlinuz-6.9.1\ninitrd /initramfs-6.9.1.img\noptions $kernelopts quiet\n',
          'loader/entries/Fedora-6.8.0.conf':
            'title Fedora 6.8.0\nversion 6.8.0\nlinux /boot/vmlinuz-6.8.0\noptions "$kernelopts" nomodeset\n',
          'vmlinuz-6.9.1': 'k',
          'initramfs-6.9.1.img': 'i',
          'vmlinuz-6.8.0': 'k',
        },
      },
    ]);
    const g = await scanGrub(t.ctx);
    const b = await blsSource(t.ctx);
    const grubBls = g.entries.filter((e) => !e.sourceId.startsWith('grub:'));
    expect(grubBls.map((e) => e.sourceId)).toEqual(['fedora-6.9.1.conf', 'fedora-6.8.0.conf']);
    expect(g.entries.map((e) => e.title)).toEqual(['Fedora 6.9.1', 'Fedora 6.8.0', 'Custom after blscfg']);
    for (const e of grubBls) {
      const twin = b.entries.find((x) => x.sourceId === e.sourceId);
      expect(twin, e.sourceId).toBeDefined();
      expect([twin!.origin.fsId, twin!.origin.file]).toEqual([e.origin.fsId, e.origin.file]);
    }
    expect(grubBls[0]!.bootCounter).toMatchObject({ triesLeft: 3, triesDone: 1 });
    expect((targetOf(grubBls[0]!) as LinuxTarget).cmdline).toBe('root=/dev/sda3 ro quiet');
    // "$kernelopts" quoted in options stays one argument: grub's cmdline quoting applies.
    expect((targetOf(grubBls[1]!) as LinuxTarget).cmdline).toBe('"root=/dev/sda3 ro" nomodeset');
    // /boot/vmlinuz-6.8.0 does not exist on a separate /boot: the docs/bls.md §5 fallback drops /boot.
    expect((targetOf(grubBls[1]!) as LinuxTarget).kernel.path).toBe('/vmlinuz-6.8.0');
    // saved_entry names the file stem (with its counter, as grub sees the name).
    expect(g.settings?.defaultId).toBe('fedora-6.9.1.conf');
  });
});
