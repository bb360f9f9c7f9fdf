// Every entry source, in the order their entries are collected (sorting decides the menu).
import { blsSource } from './bls';
import type { EntrySourceFn } from './context';
import { grubSource } from './grub';
import { sproutSource } from './sprout';
import { syslinuxSource } from './syslinux';
import { ukiSource } from './uki';

export const allSources: readonly EntrySourceFn[] = [blsSource, ukiSource, grubSource, syslinuxSource, sproutSource];
