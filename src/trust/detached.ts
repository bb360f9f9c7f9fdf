// Detached signatures `<file>.sig` for kernels and initrds (docs/signatures.md §3): minisign or
// OpenSSH SSHSIG (namespace `file`), checked over the very chunks that are copied for the boot,
// hashed as they pass (BLAKE2b-512 for prehashed minisign, sha256/sha512 for SSHSIG); only a
// legacy minisign signature needs the whole file, so its chunks are kept, up to a limit.

import { createHash, type Hash } from 'node:crypto';
import type { TrustStore } from './keys';
import { MinisignError, checkMinisign, keyIdText, parseMinisignSig } from './minisign';
import { SshsigError, checkSshsig, parseSshsig } from './sshsig';
import type { FileVerdict } from './verdict';

/** Largest file a legacy (non-prehashed) minisign signature is checked for. */
export const MAX_LEGACY_BYTES = 256 << 20;

export interface DetachedCheck {
  update(chunk: Uint8Array): void;
  finish(): FileVerdict;
}

const bad = (file: string, reason: string): FileVerdict => ({ file, verdict: 'bad', reason });

/** A check of `file`'s bytes (fed through update) against the text of its `.sig`. */
export function detachedCheck(file: string, sigText: string, store: TrustStore): DetachedCheck {
  try {
    if (sigText.includes('-----BEGIN SSH SIGNATURE-----')) return sshsigCheck(file, sigText, store);
    if (sigText.startsWith('untrusted comment:')) return minisignCheck(file, sigText, store);
    return fixed(bad(file, '.sig is neither a minisign nor an SSH signature'));
  } catch (e) {
    if (e instanceof MinisignError || e instanceof SshsigError) return fixed(bad(file, `.sig: ${e.message}`));
    throw e;
  }
}

function fixed(v: FileVerdict): DetachedCheck {
  return { update() {}, finish: () => v };
}

function sshsigCheck(file: string, text: string, store: TrustStore): DetachedCheck {
  const s = parseSshsig(text);
  const h = createHash(s.hashAlg);
  return {
    update: (c) => h.update(c),
    finish() {
      try {
        const who = checkSshsig(s, h.digest(), store.ssh, 'file');
        return { file, verdict: 'verified', how: 'sshsig', signer: `${who.comment || 'ssh key'} (${who.fingerprint})` };
      } catch (e) {
        if (e instanceof SshsigError) return bad(file, e.message);
        throw e;
      }
    },
  };
}

function minisignCheck(file: string, text: string, store: TrustStore): DetachedCheck {
  const s = parseMinisignSig(text);
  let h: Hash | undefined;
  let kept: Uint8Array[] | undefined;
  let size = 0;
  if (s.prehashed) h = createHash('blake2b512');
  else kept = [];
  return {
    update(c) {
      size += c.length;
      if (h) h.update(c);
      else if (kept && size <= MAX_LEGACY_BYTES) kept.push(c);
    },
    finish() {
      if (!h && size > MAX_LEGACY_BYTES)
        return bad(
          file,
          `legacy minisign signature on a file over ${MAX_LEGACY_BYTES} bytes: re-sign with minisign 0.11 (prehashed)`,
        );
      try {
        const r = checkMinisign(s, h ? h.digest() : Buffer.concat(kept!), store.minisign);
        const name = r.key.comment.replace(/^minisign public key\s*/, '') || keyIdText(r.key.id);
        return { file, verdict: 'verified', how: 'minisign', signer: `minisign ${name}: ${r.trustedComment}` };
      } catch (e) {
        if (e instanceof MinisignError) return bad(file, e.message);
        throw e;
      }
    },
  };
}
