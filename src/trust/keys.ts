// The owner's keys, read from the initramfs (never from the disk being verified):
// X.509 certificates for Authenticode in `db/*.pem`, minisign and OpenSSH Ed25519 public keys in
// `keys/*.pub`. A file that does not parse is reported and skipped; the others still count.
// See docs/signatures.md §5.

import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DbCert } from './authenticode';
import { MinisignError, type MinisignKey, parseMinisignKey } from './minisign';
import { SshsigError, type TrustedKey, parseTrustedKeys } from './sshsig';

export const DEFAULT_DB_DIR = '/etc/tendril/db';
export const DEFAULT_KEYS_DIR = '/etc/tendril/keys';
/** Most files read from each directory, and the largest one. */
export const MAX_KEY_FILES = 64;
export const MAX_KEY_FILE_BYTES = 256 << 10;
const MAX_CERTS_PER_FILE = 32;

export interface TrustStore {
  readonly db: readonly DbCert[];
  readonly minisign: readonly MinisignKey[];
  readonly ssh: readonly TrustedKey[];
  /** Files that were skipped, with the reason. */
  readonly problems: readonly string[];
}

function listDir(dir: string, ext: string, problems: string[]): string[] {
  let names: string[];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith(ext))
      .sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problems.push(`${dir}: readdir: ${code ?? (e as Error).message}`);
    return [];
  }
  if (names.length > MAX_KEY_FILES) {
    problems.push(`${dir}: ${names.length} files, only the first ${MAX_KEY_FILES} are read`);
    names = names.slice(0, MAX_KEY_FILES);
  }
  return names.map((n) => path.join(dir, n));
}

function readSmall(file: string, problems: string[]): string | undefined {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_KEY_FILE_BYTES) throw new Error(`${st.size} bytes > limit ${MAX_KEY_FILE_BYTES}`);
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    problems.push(`${file}: ${(e as Error).message}`);
    return undefined;
  }
}

/** Every `-----BEGIN CERTIFICATE-----` block of a PEM file (a bundle may hold several). */
function certsOf(file: string, text: string): DbCert[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM certificate');
  if (blocks.length > MAX_CERTS_PER_FILE) throw new Error(`more than ${MAX_CERTS_PER_FILE} certificates`);
  return blocks.map((b) => ({ source: file, cert: new X509Certificate(b) }));
}

/** Both directories' keys; null skips one (the initramfs builder checks them one at a time). */
export function loadTrustStore(
  dbDir: string | null = DEFAULT_DB_DIR,
  keysDir: string | null = DEFAULT_KEYS_DIR,
): TrustStore {
  const problems: string[] = [];
  const db: DbCert[] = [];
  const minisign: MinisignKey[] = [];
  const ssh: TrustedKey[] = [];
  for (const f of dbDir === null ? [] : listDir(dbDir, '.pem', problems)) {
    const t = readSmall(f, problems);
    if (t === undefined) continue;
    try {
      db.push(...certsOf(f, t));
    } catch (e) {
      problems.push(`${f}: ${(e as Error).message}`);
    }
  }
  for (const f of keysDir === null ? [] : listDir(keysDir, '.pub', problems)) {
    const t = readSmall(f, problems);
    if (t === undefined) continue;
    try {
      if (/^untrusted comment:/.test(t)) minisign.push(parseMinisignKey(t, f));
      else ssh.push(...parseTrustedKeys(t, f));
    } catch (e) {
      if (e instanceof MinisignError || e instanceof SshsigError) problems.push(e.message);
      else throw e;
    }
  }
  return { db, minisign, ssh, problems };
}
