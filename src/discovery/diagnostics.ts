// Diagnostics: every problem found while reading disks and configs becomes one of these
// instead of an exception. They name the device, the file and the line where known.

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  readonly severity: Severity;
  /** Which part of tendril produced it: 'gpt', 'mbr', 'ext', 'fat', 'iso9660', 'bls', 'uki', 'grub', ... */
  readonly source: string;
  readonly message: string;
  /** Device or image the problem belongs to ('/dev/vda', 'disk.img'). */
  readonly device?: string;
  /** Filesystem id (see FsId) when the problem is inside a filesystem. */
  readonly fsId?: string;
  /** Path inside that filesystem. */
  readonly file?: string;
  /** 1-based line number inside `file`. */
  readonly line?: number;
}

/** Where a problem is; a field may be passed as undefined (unknown) and is then left out. */
export type Where = { readonly [K in 'device' | 'fsId' | 'file' | 'line']?: Diagnostic[K] | undefined };

export function diag(severity: Severity, source: string, message: string, where: Where = {}): Diagnostic {
  const d: { -readonly [K in keyof Diagnostic]: Diagnostic[K] } = { severity, source, message };
  if (where.device !== undefined) d.device = where.device;
  if (where.fsId !== undefined) d.fsId = where.fsId;
  if (where.file !== undefined) d.file = where.file;
  if (where.line !== undefined) d.line = where.line;
  return d;
}

/** One line for a terminal: `error bls: disk.img:2 /loader/entries/a.conf:3: unknown key`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where: string[] = [];
  if (d.fsId) where.push(d.fsId);
  else if (d.device) where.push(d.device);
  if (d.file) where.push(d.line !== undefined ? `${d.file}:${d.line}` : d.file);
  return `${d.severity} ${d.source}: ${where.length ? where.join(' ') + ': ' : ''}${d.message}`;
}

/** Message of an unknown thrown value, without stack noise. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
