// Every entry source, in the order their entries are collected (sorting decides the menu).
import type { EntrySourceFn } from './context';
import { sproutSource } from './sprout';
import { syslinuxSource } from './syslinux';
import { ukiSource } from './uki';

export const allSources: readonly EntrySourceFn[] = [ukiSource, syslinuxSource, sproutSource];
