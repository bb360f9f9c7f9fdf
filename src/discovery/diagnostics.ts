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

export function diag(
  severity: Severity,
  source: string,
  message: string,
  where: Omit<Diagnostic, 'severity' | 'source' | 'message'> = {},
): Diagnostic {
  return { severity, source, message, ...where };
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
