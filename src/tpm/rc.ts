// TPM 2.0 response codes in words (TPM 2.0 Library Part 2, "TPM_RC (Response Codes)"): a failure message
// names the code the TPM returned and what it means, e.g. "0x000001c4 TPM_RC_VALUE (parameter 1)".

const VER1: Readonly<Record<number, string>> = {
  0x00: 'INITIALIZE (TPM not started)',
  0x01: 'FAILURE (TPM in failure mode)',
  0x03: 'SEQUENCE',
  0x0b: 'PRIVATE',
  0x19: 'HMAC',
  0x20: 'DISABLED',
  0x21: 'EXCLUSIVE',
  0x24: 'AUTH_TYPE',
  0x25: 'AUTH_MISSING',
  0x26: 'POLICY',
  0x27: 'PCR',
  0x28: 'PCR_CHANGED',
  0x2d: 'UPGRADE',
  0x2e: 'TOO_MANY_CONTEXTS',
  0x2f: 'AUTH_UNAVAILABLE',
  0x30: 'REBOOT',
  0x31: 'UNBALANCED',
  0x42: 'COMMAND_SIZE',
  0x43: 'COMMAND_CODE (command not supported or not allowed)',
  0x44: 'AUTHSIZE',
  0x45: 'AUTH_CONTEXT',
  0x46: 'NV_RANGE',
  0x47: 'NV_SIZE',
  0x48: 'NV_LOCKED',
  0x49: 'NV_AUTHORIZATION',
  0x4a: 'NV_UNINITIALIZED',
  0x4b: 'NV_SPACE',
  0x4c: 'NV_DEFINED',
  0x50: 'BAD_CONTEXT',
  0x51: 'CPHASH',
  0x52: 'PARENT',
  0x53: 'NEEDS_TEST',
  0x54: 'NO_RESULT',
  0x55: 'SENSITIVE',
};

const FMT1: Readonly<Record<number, string>> = {
  0x01: 'ASYMMETRIC',
  0x02: 'ATTRIBUTES',
  0x03: 'HASH (hash algorithm not supported or bank not allocated)',
  0x04: 'VALUE',
  0x05: 'HIERARCHY',
  0x07: 'KEY_SIZE',
  0x08: 'MGF',
  0x09: 'MODE',
  0x0a: 'TYPE',
  0x0b: 'HANDLE',
  0x0c: 'KDF',
  0x0d: 'RANGE',
  0x0e: 'AUTH_FAIL',
  0x0f: 'NONCE',
  0x10: 'PP',
  0x12: 'SCHEME',
  0x15: 'SIZE',
  0x16: 'SYMMETRIC',
  0x17: 'TAG',
  0x18: 'SELECTOR',
  0x1a: 'INSUFFICIENT',
  0x1b: 'SIGNATURE',
  0x1c: 'KEY',
  0x1d: 'POLICY_FAIL',
  0x1f: 'INTEGRITY',
  0x20: 'TICKET',
  0x21: 'RESERVED_BITS',
  0x22: 'BAD_AUTH',
  0x23: 'EXPIRED',
  0x24: 'POLICY_CC',
  0x25: 'BINDING',
  0x26: 'CURVE',
  0x27: 'ECC_POINT',
};

const WARN: Readonly<Record<number, string>> = {
  0x01: 'CONTEXT_GAP',
  0x02: 'OBJECT_MEMORY',
  0x03: 'SESSION_MEMORY',
  0x04: 'MEMORY',
  0x05: 'SESSION_HANDLES',
  0x06: 'OBJECT_HANDLES',
  0x07: 'LOCALITY (PCR not extendable from this locality)',
  0x08: 'YIELDED',
  0x09: 'CANCELED',
  0x0a: 'TESTING (self-test running, retry)',
  0x20: 'NV_RATE',
  0x21: 'LOCKOUT',
  0x22: 'RETRY',
  0x23: 'NV_UNAVAILABLE',
};

const hex = (rc: number): string => `0x${(rc >>> 0).toString(16).padStart(8, '0')}`;

/** "0x00000184 TPM_RC_VALUE (parameter 1)". Unknown codes still show the number and class. */
export function describeRc(rc: number): string {
  rc >>>= 0;
  const layer = rc >>> 16;
  const code = rc & 0xffff;
  // TSS layers (tpm2-tss: 0x0B resource manager, ...) put a layer number above the TPM's code.
  const pre = layer ? `${hex(rc)} (software layer ${layer}) ` : `${hex(rc)} `;
  if (code === 0) return `${pre}TPM_RC_SUCCESS`;
  if (code & 0x80) {
    const n = (code >> 8) & 0xf;
    const name = FMT1[code & 0x3f] ?? `format-1 error 0x${(code & 0x3f).toString(16)}`;
    const where = code & 0x40 ? `parameter ${n}` : n & 0x8 ? `session ${n & 0x7}` : `handle ${n}`;
    return `${pre}TPM_RC_${name} (${where})`;
  }
  if (!(code & 0x100)) return `${pre}TPM 1.2 response code ${code}`;
  if (code & 0x400) return `${pre}vendor-specific response code 0x${(code & 0x7f).toString(16)}`;
  const e = code & 0x7f;
  if (code & 0x800) {
    if (e >= 0x10 && e <= 0x16) return `${pre}TPM_RC_REFERENCE_H${e - 0x10}`;
    if (e >= 0x18 && e <= 0x1e) return `${pre}TPM_RC_REFERENCE_S${e - 0x18}`;
    return `${pre}TPM_RC_${WARN[e] ?? `warning 0x${e.toString(16)}`}`;
  }
  return `${pre}TPM_RC_${VER1[e] ?? `error 0x${e.toString(16)}`}`;
}
