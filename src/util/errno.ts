// Errno numbers by name from the platform (os.constants.errno), never written as literals:
// the numbers differ between architectures and a typo in a table goes unnoticed.

import { constants } from 'node:os';

export type ErrnoName = keyof typeof constants.errno;

export function errnoNumber(name: ErrnoName): number {
  return constants.errno[name];
}
