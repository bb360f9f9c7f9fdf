// Signature verification for one kexec boot (docs/signatures.md §4): which file is checked how,
// the VerifyHook materialize() drives over the bytes it copies, and the verdicts for
// `--dry-run` and the menu's details from the same code.

import type { MenuEntry, UkiTarget } from '../discovery/model';
import { ukiBootParts } from '../discovery/uki/parts';
import { FsError, readFileLimited } from '../discovery/fs/types';
import { PeError, parsePe } from '../discovery/uki/pe';
import { type VerifyHook, VerifyFailure } from '../kexec/load';
import { type BootPlan, type FsLookup, type PlanFile, labelOf, readPlanFile } from '../kexec/plan';
import type { TrustPolicy } from '../settings/schema';
import { AuthenticodeError, verifyAuthenticode } from './authenticode';
import { DerError } from './der';
import { type DetachedCheck, detachedCheck } from './detached';
import type { TrustStore } from './keys';
import { MemoryFileSystem } from './memfs';
import { MAX_MINISIGN_BYTES } from './minisign';
import { MAX_SSHSIG_BYTES } from './sshsig';
import { type EntryVerdict, type FileVerdict, aggregate, verdictLine } from './verdict';

/** Largest PE image read whole for Authenticode (a UKI with a big initrd is ~100 MiB). */
export const MAX_IMAGE_BYTES = 1 << 30;
const MAX_SIG_FILE = Math.max(MAX_SSHSIG_BYTES, MAX_MINISIGN_BYTES);

const keyOf = (fsId: string, path: string): string => `${fsId}\0${path}`;

interface Image {
  readonly label: string;
  readonly fsId: string;
  readonly path: string;
  bytes?: Uint8Array;
  verdict?: FileVerdict;
}

interface Detached {
  readonly label: string;
  check?: DetachedCheck;
  /** Set when the file turned out to have no .sig and is not a signed PE either. */
  verdict?: FileVerdict;
  seen: number;
  readonly size: number;
  /** The plan file whose copy feeds the check (a file listed twice is checked once). */
  fedBy?: PlanFile;
}

export interface VerifySession extends VerifyHook {
  /** The verdicts, once finish() ran. */
  result(): EntryVerdict | undefined;
}

/** Read `path` whole through the discovery reader, bounded. */
async function readWhole(lookup: FsLookup, fsId: string, path: string, limit: number): Promise<Uint8Array> {
  const fsys = lookup(fsId);
  if (!fsys) throw new FsError('EIO', path, `filesystem ${fsId} is not available`);
  return readFileLimited(fsys, path, limit);
}

function authenticode(img: Image, store: TrustStore): FileVerdict {
  try {
    const r = verifyAuthenticode(img.bytes!, store.db, img.label);
    return { file: img.label, verdict: 'verified', how: 'authenticode', signer: `${r.signer} (via ${r.anchor})` };
  } catch (e) {
    if (e instanceof AuthenticodeError && /no Authenticode signature$/.test(e.message))
      return { file: img.label, verdict: 'unsigned', reason: 'no Authenticode signature' };
    if (e instanceof AuthenticodeError || e instanceof PeError || e instanceof DerError)
      return { file: img.label, verdict: 'bad', reason: e.message };
    throw e;
  }
}

/** A plan file taken from an image must be exactly one of the image's sections (as planned). */
function checkRange(img: Image, f: PlanFile): void {
  const section = f.label.slice(f.label.lastIndexOf('#') + 1);
  const pe = parsePe(img.bytes!, img.label);
  if (!pe.sections.some((s) => s.name === section && s.offset === f.offset && s.length === f.size))
    throw new VerifyFailure(
      `${f.label}: the verified image has no section ${section} at ${f.offset}+${f.size}`,
      'EBADMSG',
    );
}

/**
 * The command line was composed when the boot was planned, from the disk as it was then: derive
 * it again from the verified bytes and refuse a difference (the file was replaced in between).
 */
async function changedSincePlanned(
  t: UkiTarget,
  plan: BootPlan,
  images: Map<string, Image>,
): Promise<string | undefined> {
  const byFs = new Map<string, Map<string, Uint8Array>>();
  for (const i of images.values()) {
    if (!i.bytes) return undefined; // already bad: unreadable
    if (!byFs.has(i.fsId)) byFs.set(i.fsId, new Map());
    byFs.get(i.fsId)!.set(i.path, i.bytes);
  }
  const fsOf = (id: string) => new MemoryFileSystem(byFs.get(id) ?? new Map());
  try {
    const addons = t.addons.map((a) => ({ fs: fsOf(a.fsId), path: a.path, fsId: a.fsId }));
    const p = await ukiBootParts(fsOf(t.image.fsId), t.image.path, t.profile, addons, { fsId: t.image.fsId });
    if (p.kernel.offset !== plan.kernel.offset || p.kernel.length !== plan.kernel.size)
      return 'changed since the boot was planned: its .linux is elsewhere';
    if (plan.uki && (p.embeddedCmdline !== plan.uki.embeddedCmdline || p.addonCmdline !== plan.uki.addonCmdline))
      return 'changed since the boot was planned: its command line differs from the one planned';
    return undefined;
  } catch (e) {
    return `the verified image does not read as planned: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * The hook for one plan. Under `warn` it never refuses (each unverified file goes to `warn`);
 * under `require` finish() throws VerifyFailure naming the first unverified file and the reason.
 */
export function verifySession(
  policy: Exclude<TrustPolicy, 'off'>,
  store: TrustStore,
  entry: MenuEntry,
  plan: BootPlan,
  lookup: FsLookup,
  warn: (line: string) => void = () => {},
): VerifySession {
  const t = entry.status.ok ? entry.status.target : undefined;
  const images = new Map<string, Image>();
  const detached = new Map<string, Detached>();
  const addImage = (fsId: string, path: string, label: string): void => {
    if (!images.has(keyOf(fsId, path))) images.set(keyOf(fsId, path), { label, fsId, path });
  };
  if (t?.kind === 'uki') {
    // Every plan file of a UKI is a section of the image or of an add-on; add-ons may carry only
    // a command line, and are verified all the same.
    addImage(t.image.fsId, t.image.path, labelOf(t.image));
    for (const a of t.addons) addImage(a.fsId, a.path, labelOf(a));
    for (const f of [plan.kernel, ...plan.initrds]) addImage(f.fsId, f.path, labelOf(f));
  } else {
    for (const f of [plan.kernel, ...plan.initrds])
      detached.set(keyOf(f.fsId, f.path), { label: f.label, seen: 0, size: f.size });
  }
  let verdict: EntryVerdict | undefined;

  return {
    async prepare() {
      for (const [k, d] of detached) {
        const [fsId, path] = k.split('\0') as [string, string];
        let sig: Uint8Array | undefined;
        try {
          sig = await readWhole(lookup, fsId, `${path}.sig`, MAX_SIG_FILE);
        } catch (e) {
          if (!(e instanceof FsError)) throw e;
          if (e.code !== 'ENOENT') {
            d.verdict = { file: d.label, verdict: 'bad', reason: `${path}.sig: ${e.message}` };
            continue;
          }
        }
        if (sig) d.check = detachedCheck(d.label, Buffer.from(sig).toString('utf8'), store);
        else if (path === plan.kernel.path && fsId === plan.kernel.fsId) {
          // No .sig: a kernel may still be a signed PE (distro kernels with an EFI stub are).
          detached.delete(k);
          addImage(fsId, path, d.label);
        } else d.verdict = { file: d.label, verdict: 'unsigned', reason: `no ${path}.sig` };
      }
      for (const img of images.values()) {
        try {
          img.bytes = await readWhole(lookup, img.fsId, img.path, MAX_IMAGE_BYTES);
        } catch (e) {
          if (!(e instanceof FsError)) throw e;
          img.verdict = { file: img.label, verdict: 'bad', reason: `reading for verification: ${e.message}` };
          continue;
        }
        img.verdict = authenticode(img, store);
        if (img.verdict.verdict === 'unsigned' && t?.kind !== 'uki')
          img.verdict = { ...img.verdict, reason: `no ${img.path}.sig and no Authenticode signature` };
      }
      if (t?.kind === 'uki') {
        const main = images.get(keyOf(t.image.fsId, t.image.path))!;
        const why = main.verdict?.verdict === 'verified' ? await changedSincePlanned(t, plan, images) : undefined;
        if (why) main.verdict = { file: main.label, verdict: 'bad', reason: why };
      }
    },
    bytes(f) {
      const img = images.get(keyOf(f.fsId, f.path));
      if (!img) return undefined;
      if (!img.bytes) {
        // Unreadable for verification: refused under require, read as usual under warn.
        if (policy === 'warn') return undefined;
        throw new VerifyFailure(`trust.policy = require: ${verdictLine(img.verdict!)}`, 'EPERM');
      }
      if (!f.label.includes('#')) {
        if (f.offset === 0 && f.size === img.bytes.length) return img.bytes;
        throw new VerifyFailure(`${f.label}: ${img.bytes.length} bytes now, ${f.size} when planned`, 'EBADMSG');
      }
      checkRange(img, f);
      return img.bytes.subarray(f.offset, f.offset + f.size);
    },
    observe(f) {
      const d = detached.get(keyOf(f.fsId, f.path));
      if (!d?.check || f.offset !== 0 || (d.fedBy && d.fedBy !== f)) return undefined;
      d.fedBy = f;
      return (c) => {
        d.seen += c.length;
        d.check!.update(c);
      };
    },
    finish() {
      const files: FileVerdict[] = [];
      for (const img of images.values()) files.push(img.verdict!);
      for (const d of detached.values()) {
        if (d.verdict) files.push(d.verdict);
        else if (d.seen !== d.size)
          files.push({ file: d.label, verdict: 'bad', reason: `${d.seen} of ${d.size} bytes were checked` });
        else files.push(d.check!.finish());
      }
      verdict = aggregate(files);
      if (verdict.verified) return;
      const first = files.find((f) => f.verdict !== 'verified')!;
      if (policy === 'require')
        throw new VerifyFailure(
          `trust.policy = require: ${verdictLine(first)}`,
          first.verdict === 'bad' ? 'EBADMSG' : 'EPERM',
        );
      for (const f of files) if (f.verdict !== 'verified') warn(`signature: ${verdictLine(f)} (trust.policy = warn)`);
    },
    result: () => verdict,
  };
}

/**
 * The verdicts without booting (`--dry-run`, the menu's details): the same session over the
 * same readers, the bytes read once and thrown away. Never throws for a policy refusal.
 */
export async function checkEntry(
  store: TrustStore,
  entry: MenuEntry,
  plan: BootPlan,
  lookup: FsLookup,
): Promise<EntryVerdict> {
  const s = verifySession('warn', store, entry, plan, lookup);
  await s.prepare();
  for (const f of [plan.kernel, ...plan.initrds]) {
    if (s.bytes(f)) continue;
    const see = s.observe(f);
    if (see) for await (const c of readPlanFile(f, lookup)) see(c);
  }
  s.finish();
  return s.result()!;
}

/** `--dry-run` lines: the policy, then one line per file. */
export function describeVerdict(policy: TrustPolicy, v: EntryVerdict, problems: readonly string[]): string[] {
  const head = `signatures (trust.policy = ${policy}): ${v.state === 'verified' ? 'verified' : policy === 'require' ? `${v.state}: would be REFUSED` : v.state}`;
  return [head, ...v.files.map((f) => `  ${verdictLine(f)}`), ...problems.map((p) => `  key file skipped: ${p}`)];
}
