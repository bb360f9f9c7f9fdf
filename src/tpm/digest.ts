// Digests of the same bytes in every active bank, computed in one pass over the data.

import { createHash, type Hash } from 'node:crypto';
import type { HashAlg } from './algs';

export type Digests = ReadonlyMap<HashAlg, Uint8Array>;

export class MultiHash {
  private readonly hs: [HashAlg, Hash][];
  constructor(algs: readonly HashAlg[]) {
    this.hs = algs.map((a) => [a, createHash(a)]);
  }

  update(b: Uint8Array): void {
    for (const [, h] of this.hs) h.update(b);
  }

  digests(): Digests {
    return new Map(this.hs.map(([a, h]) => [a, new Uint8Array(h.digest())]));
  }
}

export function digestsOf(algs: readonly HashAlg[], b: Uint8Array): Digests {
  const m = new MultiHash(algs);
  m.update(b);
  return m.digests();
}

/** PCR_new = H(PCR_old || digest), the TPM's extend (TPM 2.0 Library Part 1, "PCR Extend"), for predictions and replay. */
export function extendValue(alg: HashAlg, old: Uint8Array, digest: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(alg).update(old).update(digest).digest());
}

export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
