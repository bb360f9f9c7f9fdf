// The size report: bytes per component, uncompressed and as a share of the whole, plus the
// compressed total. Printed as a table and written as JSON next to the image.

export type Component =
  'node' | 'libs' | 'bundle' | 'addon' | 'terminfo' | 'busybox' | 'tools' | 'modules' | 'firmware' | 'init' | 'other';

export interface SizeReport {
  readonly components: Record<Component, { files: number; bytes: number }>;
  readonly cpioBytes: number;
  readonly compressed: { readonly method: string; readonly bytes: number; readonly seconds: number };
  /** The squashfs payload (layout `squashfs`), inside the image, already compressed. */
  readonly payload?: {
    readonly method: string;
    readonly files: number;
    readonly bytes: number;
    readonly seconds: number;
  };
  readonly alternatives?: { method: string; bytes: number; compressSeconds: number; decompressSeconds: number }[];
  readonly kernelModulesFrom: string;
}

export class SizeTally {
  private readonly c = new Map<Component, { files: number; bytes: number }>();
  add(component: Component, bytes: number): void {
    const e = this.c.get(component) ?? { files: 0, bytes: 0 };
    e.files++;
    e.bytes += bytes;
    this.c.set(component, e);
  }
  result(): Record<Component, { files: number; bytes: number }> {
    const all: Component[] = [
      'node',
      'libs',
      'bundle',
      'addon',
      'terminfo',
      'busybox',
      'tools',
      'modules',
      'firmware',
      'init',
      'other',
    ];
    return Object.fromEntries(all.map((k) => [k, this.c.get(k) ?? { files: 0, bytes: 0 }])) as Record<
      Component,
      { files: number; bytes: number }
    >;
  }
}

const mib = (n: number): string => (n / (1 << 20)).toFixed(2).padStart(8);

export function formatReport(r: SizeReport): string {
  const lines = ['component      files   MiB (uncompressed)  share'];
  const total = Object.values(r.components).reduce((s, c) => s + c.bytes, 0) || 1;
  for (const [k, v] of Object.entries(r.components)) {
    if (!v.files) continue;
    lines.push(
      `${k.padEnd(12)} ${String(v.files).padStart(7)} ${mib(v.bytes)}            ${((v.bytes / total) * 100).toFixed(1).padStart(5)} %`,
    );
  }
  lines.push(`cpio total           ${mib(r.cpioBytes)}`);
  lines.push(
    `compressed (${r.compressed.method}) ${mib(r.compressed.bytes)} MiB in ${r.compressed.seconds.toFixed(1)} s`,
  );
  if (r.payload)
    lines.push(
      `  of which the payload (${r.payload.method}, ${r.payload.files} files) ${mib(r.payload.bytes)} MiB, built in ${r.payload.seconds.toFixed(1)} s`,
    );
  for (const a of r.alternatives ?? []) {
    lines.push(
      `  measured ${a.method.padEnd(24)} ${mib(a.bytes)} MiB, compress ${a.compressSeconds.toFixed(1)} s, decompress ${a.decompressSeconds.toFixed(2)} s`,
    );
  }
  lines.push(`kernel modules from ${r.kernelModulesFrom}`);
  return lines.join('\n');
}
