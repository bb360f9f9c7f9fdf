// The certificates an https download trusts, and what a TLS failure means in words.
// The default is the netboot CA bundle shipped in the initramfs; `system` takes Node's
// bundled roots. See docs/net-transfer.md §2.

import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { DEFAULT_CA_FILE } from '../../settings/schema';

/** A PEM bundle file, or `system` for the public roots. */
export type CaSetting = string;

export interface Trust {
  readonly ca: readonly string[];
  /** How error messages name it: `CA bundle /etc/tendril/netboot-ca.pem`, `the system roots`. */
  readonly label: string;
}

const MAX_CA_FILE = 4 << 20;

/** Loads the CA setting: an explicit file must exist; the default file is used when present. */
export function loadTrust(setting: CaSetting | undefined): Trust {
  if (setting === 'system') return { ca: tls.rootCertificates, label: 'the system roots' };
  const file = setting ?? (fs.existsSync(DEFAULT_CA_FILE) ? DEFAULT_CA_FILE : undefined);
  if (file === undefined) return { ca: tls.rootCertificates, label: `the system roots (no ${DEFAULT_CA_FILE})` };
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.size > MAX_CA_FILE) throw new Error(`${file}: CA bundle of ${st.size} bytes exceeds ${MAX_CA_FILE}`);
    text = fs.readFileSync(file, 'latin1');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code ? `${file}: cannot read CA bundle: ${err.code}` : err.message);
  }
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (certs.length === 0) throw new Error(`${file}: no PEM certificate in the CA bundle`);
  return { ca: certs, label: `CA bundle ${file}` };
}

/** OpenSSL verification codes Node reports on a refused certificate. */
const CERT_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A certificate failure as a sentence, or undefined when `e` is not one. */
export function describeCertError(
  e: NodeJS.ErrnoException,
  host: string,
  trust: Trust,
  now = new Date(),
): string | undefined {
  const code = e.code ?? '';
  if (!CERT_CODES.has(code)) return undefined;
  const base = `certificate of ${host} refused (${code}: ${e.message})`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `${base}; the local clock says ${now.toISOString()}: if that is wrong, set the time (SNTP) and retry`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH')
    return `${base}; the certificate does not name ${host}`;
  return `${base}; not signed by ${trust.label}`;
}
