// Hash algorithms of PCR banks (TCG Algorithm Registry: TPM_ALG_ID) that tendril can compute
// with node:crypto. A bank with another algorithm (SM3) cannot be extended correctly here.

export type HashAlg = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const ALG_ID: Readonly<Record<HashAlg, number>> = {
  sha1: 0x0004,
  sha256: 0x000b,
  sha384: 0x000c,
  sha512: 0x000d,
};
export const DIGEST_SIZE: Readonly<Record<HashAlg, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

const BY_ID = new Map<number, HashAlg>(Object.entries(ALG_ID).map(([k, v]) => [v, k as HashAlg]));
const OTHER: Readonly<Record<number, string>> = {
  0x0012: 'sm3_256',
  0x0027: 'sha3_256',
  0x0028: 'sha3_384',
  0x0029: 'sha3_512',
};

export function algById(id: number): HashAlg | undefined {
  return BY_ID.get(id);
}

export function algName(id: number): string {
  return BY_ID.get(id) ?? OTHER[id] ?? `alg 0x${id.toString(16).padStart(4, '0')}`;
}

/** Largest digest any bank may have (SHA-512): a bound for parsing. */
export const MAX_DIGEST = 64;
