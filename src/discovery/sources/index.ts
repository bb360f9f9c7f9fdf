// Every entry source, in the order their entries are collected (sorting decides the menu).
import type { EntrySourceFn } from './context';

export const allSources: readonly EntrySourceFn[] = [];
