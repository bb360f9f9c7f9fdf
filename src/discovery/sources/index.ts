// Every entry source. Local sources only read the filesystems of one disk (BLS reads the
// ESP, XBOOTLDR and /boot of a disk; UKIs take add-ons from the same disk's ESP; the ESP source
// lists its own ESP's programs), so they
// run inside the scan worker that owns the disk, in parallel with other disks. Global
// sources (grub `search`, sprout extractors, syslinux next to them) may reach any disk and
// run once every disk is known.
import { blsSource } from './bls';
import { espSource } from './esp';
import type { EntrySourceFn } from './context';
import { grubSource } from './grub';
import { sproutSource } from './sprout';
import { syslinuxSource } from './syslinux';
import { ukiSource } from './uki';

export const localSources: readonly EntrySourceFn[] = [blsSource, ukiSource, espSource];
export const globalSources: readonly EntrySourceFn[] = [grubSource, syslinuxSource, sproutSource];
export const allSources: readonly EntrySourceFn[] = [...localSources, ...globalSources];
