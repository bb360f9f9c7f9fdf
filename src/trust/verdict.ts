// What verification says about one file and about an entry (docs/signatures.md §4).

export type How = 'authenticode' | 'minisign' | 'sshsig';

export type FileVerdict =
  | { readonly file: string; readonly verdict: 'verified'; readonly signer: string; readonly how: How }
  | { readonly file: string; readonly verdict: 'unsigned' | 'bad'; readonly reason: string };

export interface EntryVerdict {
  /** Every file verified. */
  readonly verified: boolean;
  readonly files: readonly FileVerdict[];
  /** 'verified', 'unsigned' (some file has no signature) or 'bad' (some signature failed); bad wins. */
  readonly state: 'verified' | 'unsigned' | 'bad';
}

export function aggregate(files: readonly FileVerdict[]): EntryVerdict {
  const state = files.some((f) => f.verdict === 'bad')
    ? 'bad'
    : files.some((f) => f.verdict === 'unsigned')
      ? 'unsigned'
      : 'verified';
  return { verified: state === 'verified', files, state };
}

/** One line per file: `file: verified (authenticode) by X` / `file: unsigned: reason`. */
export function verdictLine(f: FileVerdict): string {
  return f.verdict === 'verified'
    ? `${f.file}: verified (${f.how}) by ${f.signer}`
    : `${f.file}: ${f.verdict === 'bad' ? 'BAD signature' : 'unsigned'}: ${f.reason}`;
}

/** The menu's mark for an entry under warn/require: '' when verified. */
export function verdictMark(v: EntryVerdict): string {
  return v.state === 'verified' ? '' : v.state === 'bad' ? '[bad sig]' : '[unsigned]';
}
