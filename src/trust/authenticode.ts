// Authenticode verification of a PE image held in memory (a UKI, an add-on, an EFI-stub kernel):
// the image hash as Microsoft's "Windows Authenticode Portable Executable Signature Format"
// defines it, each WIN_CERTIFICATE's PKCS#7 SignedData checked against it, and the signer
// chained to a certificate the owner put in the db. Validity dates are ignored (no trusted
// clock before the OS runs; shim and sd-boot do the same). See docs/signatures.md §2.

import { X509Certificate, createHash, verify } from 'node:crypto';
import { parsePe, PeError } from '../discovery/uki/pe';
import { u16le, u32le } from '../util/bytes';
import { DerError, hex } from './der';
import { type DigestAlg, type SignedData, type SignerInfo, certIssuerSerial, parseSignedData } from './pkcs7';

/** Largest certificate table read (sbsign writes a few KiB per signature). */
export const MAX_CERT_TABLE = 1 << 20;
/** Most WIN_CERTIFICATE entries walked. */
export const MAX_WIN_CERTS = 16;
/** Longest chain followed from the signer to a db certificate. */
export const MAX_CHAIN = 8;

const WIN_CERT_REVISION_2 = 0x0200;
const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;
const SECURITY_DIR = 4;

/** A signature tendril cannot use: malformed, untrusted or not matching; the message says which. */
export class AuthenticodeError extends Error {
  override readonly name = 'AuthenticodeError';
}

/** The byte ranges the Authenticode hash covers, and where the certificate table is. */
export interface PeLayout {
  readonly ranges: readonly (readonly [number, number])[];
  /** [offset, size] of the certificate table; size 0 when the image is unsigned. */
  readonly certTable: readonly [number, number];
}

/**
 * Hashed ranges in order: headers without CheckSum and the security directory entry, the
 * sections by PointerToRawData, then whatever follows them up to the certificate table.
 */
export function authenticodeLayout(img: Uint8Array, file: string): PeLayout {
  const pe = parsePe(img, file);
  const size = img.length;
  const lfanew = u32le(img, 0x3c);
  const opt = lfanew + 24;
  const dirs = opt + (pe.format === 'PE32' ? 96 : 112);
  const checksum = opt + 64;
  const sizeOfHeaders = u32le(img, opt + 60);
  const optSize = u16le(img, lfanew + 20);
  // parsePe checked that the optional header (optSize bytes) is inside the file.
  if (dirs + 8 * (SECURITY_DIR + 1) > opt + optSize)
    throw new PeError(file, 'SizeOfOptionalHeader', lfanew + 20, `${optSize}: no security directory entry`);
  const nDirs = u32le(img, dirs - 4);
  if (nDirs <= SECURITY_DIR)
    throw new PeError(file, 'NumberOfRvaAndSizes', dirs - 4, `${nDirs}: no security directory entry`);
  const secEntry = dirs + 8 * SECURITY_DIR;
  const certAt = u32le(img, secEntry);
  const certSize = u32le(img, secEntry + 4);
  if (sizeOfHeaders < secEntry + 8 || sizeOfHeaders > size)
    throw new PeError(file, 'SizeOfHeaders', opt + 60, `${sizeOfHeaders} outside the headers or the file`);
  let end = size;
  if (certSize !== 0) {
    if (certSize > MAX_CERT_TABLE)
      throw new PeError(file, 'certificate table', secEntry + 4, `${certSize} bytes > limit ${MAX_CERT_TABLE}`);
    if (certAt + certSize !== size)
      throw new PeError(
        file,
        'certificate table',
        secEntry,
        `${certAt}+${certSize} is not at the end of the file (size ${size})`,
      );
    if (certAt < sizeOfHeaders)
      throw new PeError(file, 'certificate table', secEntry, `${certAt} is inside the headers`);
    end = certAt;
  }
  const ranges: [number, number][] = [
    [0, checksum],
    [checksum + 4, secEntry],
    [secEntry + 8, sizeOfHeaders],
  ];
  let hashed = sizeOfHeaders;
  const secs = pe.sections.filter((s) => s.sizeOfRawData > 0).sort((a, b) => a.pointerToRawData - b.pointerToRawData);
  for (const s of secs) {
    const a = s.pointerToRawData;
    const b = a + s.sizeOfRawData;
    if (b > end)
      throw new PeError(
        file,
        `section[${s.index}](${s.rawName})`,
        a,
        `raw data ${a}+${s.sizeOfRawData} runs past ${end}`,
      );
    ranges.push([a, b]);
    hashed += s.sizeOfRawData;
  }
  // Bytes after the last section and before the certificate table (sbsign's 8-byte padding).
  if (end > hashed) ranges.push([hashed, end]);
  return { ranges, certTable: [certAt, certSize] };
}

export function imageHash(img: Uint8Array, layout: PeLayout, alg: DigestAlg): Uint8Array {
  const h = createHash(alg);
  for (const [a, b] of layout.ranges) h.update(img.subarray(a, b));
  return h.digest();
}

/** The PKCS#7 blobs of every WIN_CERTIFICATE (revision 2, PKCS_SIGNED_DATA) in the table. */
export function winCertificates(img: Uint8Array, layout: PeLayout, file: string): Uint8Array[] {
  const [at, size] = layout.certTable;
  const out: Uint8Array[] = [];
  for (let p = at; p + 8 <= at + size;) {
    const len = u32le(img, p);
    const rev = u16le(img, p + 4);
    const type = u16le(img, p + 6);
    if (len < 8 || p + len > at + size)
      throw new AuthenticodeError(`${file}: WIN_CERTIFICATE at ${p}: length ${len} outside the table`);
    if (out.length >= MAX_WIN_CERTS) throw new AuthenticodeError(`${file}: more than ${MAX_WIN_CERTS} signatures`);
    if (rev !== WIN_CERT_REVISION_2 || type !== WIN_CERT_TYPE_PKCS_SIGNED_DATA)
      throw new AuthenticodeError(
        `${file}: WIN_CERTIFICATE at ${p}: revision 0x${rev.toString(16)} type ${type}, expected 0x200 PKCS_SIGNED_DATA`,
      );
    out.push(img.subarray(p + 8, p + len));
    p += (len + 7) & ~7;
  }
  return out;
}

/** A db certificate, parsed once. */
export interface DbCert {
  readonly source: string;
  readonly cert: X509Certificate;
}

export interface AuthenticodeResult {
  /** The signer certificate's subject CN (or whole subject), and the db certificate it chains to. */
  readonly signer: string;
  readonly anchor: string;
  readonly alg: DigestAlg;
}

export const subjectName = (c: X509Certificate): string => {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(c.subject);
  return cn ? cn[1]! : c.subject.replace(/\n/g, ', ');
};

function checkSigner(sd: SignedData, s: SignerInfo, certs: readonly X509Certificate[], raw: readonly Uint8Array[]) {
  const idx = raw.findIndex((c) => {
    const is = certIssuerSerial(c);
    return Buffer.from(is.issuer).equals(Buffer.from(s.issuer)) && Buffer.from(is.serial).equals(Buffer.from(s.serial));
  });
  if (idx < 0) throw new AuthenticodeError(`signer certificate (serial ${hex(s.serial)}) is not in the signature`);
  const cert = certs[idx]!;
  const md = createHash(s.digestAlg).update(sd.indirectContent).digest();
  if (!md.equals(Buffer.from(s.messageDigest)))
    throw new AuthenticodeError(`${subjectName(cert)}: messageDigest does not match SpcIndirectDataContent`);
  let ok: boolean;
  try {
    ok = verify(s.digestAlg, s.signedAttrs, cert.publicKey, s.signature);
  } catch (e) {
    throw new AuthenticodeError(`${subjectName(cert)}: signature not checkable: ${(e as Error).message}`);
  }
  if (!ok) throw new AuthenticodeError(`${subjectName(cert)}: signature over the attributes does not verify`);
  return cert;
}

function chainToDb(leaf: X509Certificate, pool: readonly X509Certificate[], db: readonly DbCert[]): DbCert | undefined {
  // child.checkIssued(parent) matches names and key identifiers; verify() checks the signature.
  const issues = (parent: X509Certificate, child: X509Certificate): boolean =>
    child.checkIssued(parent) && child.verify(parent.publicKey);
  let cur = leaf;
  for (let n = 0; n < MAX_CHAIN; n++) {
    const c = cur;
    const anchor = db.find((d) => d.cert.raw.equals(c.raw)) ?? db.find((d) => issues(d.cert, c));
    if (anchor) return anchor;
    // An intermediate must be a CA; the db certificates are the owner's choice and need not be.
    const up = pool.find((p) => p.ca && !p.raw.equals(c.raw) && issues(p, c));
    if (!up) return undefined;
    cur = up;
  }
  return undefined;
}

function flatten(sd: SignedData, out: SignedData[] = []): SignedData[] {
  out.push(sd);
  for (const n of sd.nested) flatten(n, out);
  return out;
}

/**
 * Verify `img` (the whole PE file) against `db`. Returns the first trusted signature; throws
 * AuthenticodeError (or PeError / DerError) with every signature's reason when none is.
 */
export function verifyAuthenticode(img: Uint8Array, db: readonly DbCert[], file: string): AuthenticodeResult {
  const layout = authenticodeLayout(img, file);
  if (layout.certTable[1] === 0) throw new AuthenticodeError(`${file}: no Authenticode signature`);
  const reasons: string[] = [];
  const hashes = new Map<DigestAlg, Buffer>();
  for (const blob of winCertificates(img, layout, file)) {
    let sds: SignedData[];
    try {
      sds = flatten(parseSignedData(blob));
    } catch (e) {
      if (e instanceof DerError) {
        reasons.push(`malformed signature: ${e.message}`);
        continue;
      }
      throw e;
    }
    for (const sd of sds) {
      try {
        if (sd.imageDigestAlg === 'sha1') throw new AuthenticodeError('SHA-1 image digest is not accepted');
        let h = hashes.get(sd.imageDigestAlg);
        if (!h) hashes.set(sd.imageDigestAlg, (h = Buffer.from(imageHash(img, layout, sd.imageDigestAlg))));
        if (!h.equals(Buffer.from(sd.imageDigest)))
          throw new AuthenticodeError(`image ${sd.imageDigestAlg} digest does not match the signed one`);
        const certs = sd.certificates.map((c) => new X509Certificate(Buffer.from(c)));
        for (const s of sd.signers) {
          if (s.digestAlg === 'sha1') throw new AuthenticodeError('SHA-1 signer digest is not accepted');
          const cert = checkSigner(sd, s, certs, sd.certificates);
          const anchor = chainToDb(cert, certs, db);
          if (!anchor)
            throw new AuthenticodeError(`signed by ${subjectName(cert)}, which no db certificate vouches for`);
          return {
            signer: subjectName(cert),
            anchor: `${subjectName(anchor.cert)} (${anchor.source})`,
            alg: s.digestAlg,
          };
        }
      } catch (e) {
        if (e instanceof AuthenticodeError || e instanceof DerError) reasons.push(e.message);
        else if (e instanceof Error && 'code' in e) reasons.push(`certificate: ${e.message}`);
        else throw e;
      }
    }
  }
  throw new AuthenticodeError(`${file}: ${reasons.join('; ') || 'no usable signature'}`);
}
