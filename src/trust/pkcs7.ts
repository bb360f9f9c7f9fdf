// PKCS#7 SignedData as Authenticode uses it (RFC 2315 §9; Microsoft's "Windows Authenticode
// Portable Executable Signature Format"): the SpcIndirectDataContent with the image digest,
// the embedded certificates, and each SignerInfo with its authenticated attributes. Only
// parsing here; authenticode.ts checks the digests and signatures. See docs/signatures.md §2.

import { DerError, TAG, type Tlv, children, expectTag, oidText, parseOne } from './der';

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  spcIndirectData: '1.3.6.1.4.1.311.2.1.4',
  messageDigest: '1.2.840.113549.1.9.4',
  contentType: '1.2.840.113549.1.9.3',
  nestedSignature: '1.3.6.1.4.1.311.2.4.1',
} as const;

export type DigestAlg = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const DIGESTS: Readonly<Record<string, DigestAlg>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Most certificates one signature may embed, and most nested signatures followed. */
export const MAX_CERTS = 16;
export const MAX_SIGNERS = 8;

export interface SignerInfo {
  /** DER of the issuer Name and the serial INTEGER's contents, to find the certificate. */
  readonly issuer: Uint8Array;
  readonly serial: Uint8Array;
  readonly digestAlg: DigestAlg;
  /** The authenticated attributes re-tagged as a SET (0x31): the bytes the signature covers. */
  readonly signedAttrs: Uint8Array;
  /** The messageDigest attribute's value. */
  readonly messageDigest: Uint8Array;
  readonly signature: Uint8Array;
}

export interface SignedData {
  /** SpcIndirectDataContent's DigestInfo: the image hash and its algorithm. */
  readonly imageDigestAlg: DigestAlg;
  readonly imageDigest: Uint8Array;
  /** The content octets of SpcIndirectDataContent (what messageDigest is computed over). */
  readonly indirectContent: Uint8Array;
  readonly certificates: readonly Uint8Array[];
  readonly signers: readonly SignerInfo[];
  /** SignedData found in the signers' nested-signature attributes (signtool's dual signing). */
  readonly nested: readonly SignedData[];
}

function digestAlgOf(algId: Tlv | undefined, what: string, depth: number): DigestAlg {
  const seq = expectTag(algId, TAG.SEQUENCE, what);
  const oid = oidText(children(seq, depth)[0] ?? fail(`${what}: empty AlgorithmIdentifier`), what);
  const alg = DIGESTS[oid];
  if (!alg) throw new DerError(`${what}: digest algorithm ${oid} is not SHA-1/256/384/512`);
  return alg;
}

function fail(msg: string): never {
  throw new DerError(msg);
}

/** [n] EXPLICIT or IMPLICIT context tag number of a TLV, or -1. */
const ctx = (t: Tlv): number => ((t.tag & 0xc0) === 0x80 ? t.tag & 0x1f : -1);

function parseSignerInfo(t: Tlv, depth: number, nested: SignedData[], budget: { left: number }): SignerInfo {
  const f = children(expectTag(t, TAG.SEQUENCE, 'SignerInfo'), depth);
  const ias = children(expectTag(f[1], TAG.SEQUENCE, 'SignerInfo.issuerAndSerialNumber'), depth + 1);
  const issuer = expectTag(ias[0], TAG.SEQUENCE, 'SignerInfo issuer').der;
  const serial = expectTag(ias[1], TAG.INTEGER, 'SignerInfo serialNumber').body;
  const digestAlg = digestAlgOf(f[2], 'SignerInfo.digestAlgorithm', depth + 1);
  let i = 3;
  const attrs = f[i];
  if (!attrs || ctx(attrs) !== 0)
    throw new DerError('SignerInfo: no authenticated attributes (Authenticode needs them)');
  i++;
  let messageDigest: Uint8Array | undefined;
  let contentType: string | undefined;
  for (const a of children(attrs, depth + 1)) {
    const [type, values] = children(expectTag(a, TAG.SEQUENCE, 'attribute'), depth + 2);
    const oid = oidText(type ?? fail('attribute: no type'), 'attribute type');
    const vals = children(expectTag(values, TAG.SET, `attribute ${oid} values`), depth + 3);
    if (oid === OID.messageDigest) {
      if (messageDigest || vals.length !== 1)
        throw new DerError('messageDigest attribute repeated or not single-valued');
      messageDigest = expectTag(vals[0], TAG.OCTET_STRING, 'messageDigest').body;
    } else if (oid === OID.contentType) {
      contentType = oidText(vals[0] ?? fail('contentType: no value'), 'contentType');
    }
  }
  if (!messageDigest) throw new DerError('SignerInfo: no messageDigest attribute');
  if (contentType !== undefined && contentType !== OID.spcIndirectData)
    throw new DerError(`SignerInfo contentType attribute is ${contentType}, not SpcIndirectDataContent`);
  expectTag(f[i++], TAG.SEQUENCE, 'SignerInfo.digestEncryptionAlgorithm');
  const signature = expectTag(f[i++], TAG.OCTET_STRING, 'SignerInfo.encryptedDigest').body;
  const unauth = f[i];
  if (unauth && ctx(unauth) === 1) {
    for (const a of children(unauth, depth + 1)) {
      const [type, values] = children(expectTag(a, TAG.SEQUENCE, 'unauthenticated attribute'), depth + 2);
      if (oidText(type ?? fail('attribute: no type'), 'attribute type') !== OID.nestedSignature) continue;
      for (const v of children(expectTag(values, TAG.SET, 'nested signature values'), depth + 3)) {
        if (--budget.left < 0) throw new DerError(`more than ${MAX_SIGNERS} nested signatures`);
        nested.push(parseContentInfo(v, depth + 4, budget));
      }
    }
  }
  const signedAttrs = new Uint8Array(attrs.der);
  signedAttrs[0] = TAG.SET;
  return { issuer, serial, digestAlg, signedAttrs, messageDigest, signature };
}

function parseContentInfo(t: Tlv, depth: number, budget: { left: number }): SignedData {
  const ci = children(expectTag(t, TAG.SEQUENCE, 'ContentInfo'), depth);
  if (oidText(ci[0] ?? fail('ContentInfo: empty'), 'ContentInfo.contentType') !== OID.signedData)
    throw new DerError('ContentInfo is not SignedData');
  const wrap = ci[1];
  if (!wrap || ctx(wrap) !== 0) throw new DerError('ContentInfo: no [0] content');
  const sd = children(expectTag(children(wrap, depth + 1)[0], TAG.SEQUENCE, 'SignedData'), depth + 2);
  const d = depth + 3;
  const inner = children(expectTag(sd[2], TAG.SEQUENCE, 'SignedData.contentInfo'), d);
  if (oidText(inner[0] ?? fail('SignedData.contentInfo: empty'), 'contentInfo.contentType') !== OID.spcIndirectData)
    throw new DerError('SignedData content is not SpcIndirectDataContent');
  if (!inner[1] || ctx(inner[1]) !== 0) throw new DerError('SpcIndirectDataContent: no [0] content');
  const spc = expectTag(children(inner[1], d + 1)[0], TAG.SEQUENCE, 'SpcIndirectDataContent');
  const [, digestInfo] = children(spc, d + 2);
  const di = children(expectTag(digestInfo, TAG.SEQUENCE, 'SpcIndirectDataContent.messageDigest'), d + 3);
  const imageDigestAlg = digestAlgOf(di[0], 'DigestInfo.digestAlgorithm', d + 4);
  const imageDigest = expectTag(di[1], TAG.OCTET_STRING, 'DigestInfo.digest').body;
  const certificates: Uint8Array[] = [];
  let i = 3;
  if (sd[i] && ctx(sd[i]!) === 0) {
    for (const c of children(sd[i]!, d)) {
      if (certificates.length >= MAX_CERTS) throw new DerError(`more than ${MAX_CERTS} certificates`);
      certificates.push(expectTag(c, TAG.SEQUENCE, 'certificate').der);
    }
    i++;
  }
  if (sd[i] && ctx(sd[i]!) === 1) i++;
  const signerSet = children(expectTag(sd[i], TAG.SET, 'SignedData.signerInfos'), d);
  if (signerSet.length === 0) throw new DerError('SignedData has no SignerInfo');
  const nested: SignedData[] = [];
  const signers = signerSet.map((s) => {
    if (--budget.left < 0) throw new DerError(`more than ${MAX_SIGNERS} signers`);
    return parseSignerInfo(s, d + 1, nested, budget);
  });
  return { imageDigestAlg, imageDigest, indirectContent: spc.body, certificates, signers, nested };
}

/** Parse one WIN_CERTIFICATE's PKCS#7 blob. Throws DerError naming what is wrong. */
export function parseSignedData(der: Uint8Array): SignedData {
  return parseContentInfo(parseOne(der, 'PKCS#7'), 0, { left: MAX_SIGNERS });
}

/** Issuer Name DER and serial INTEGER contents of an X.509 certificate (RFC 5280 §4.1). */
export function certIssuerSerial(cert: Uint8Array): { issuer: Uint8Array; serial: Uint8Array } {
  const c = children(expectTag(parseOne(cert, 'certificate'), TAG.SEQUENCE, 'certificate'), 0);
  const tbs = children(expectTag(c[0], TAG.SEQUENCE, 'TBSCertificate'), 1);
  let i = tbs[0] && ctx(tbs[0]) === 0 ? 1 : 0;
  const serial = expectTag(tbs[i++], TAG.INTEGER, 'serialNumber').body;
  i++; // signature AlgorithmIdentifier
  const issuer = expectTag(tbs[i], TAG.SEQUENCE, 'issuer').der;
  return { issuer, serial };
}
