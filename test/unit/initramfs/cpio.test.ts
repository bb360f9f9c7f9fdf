import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CpioEntry, CpioWriter, archiveName, cpioArchive } from '../../../initramfs/cpio';

function extract(archive: Buffer): { dir: string; listing: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpio-x-'));
  const listing = execFileSync('cpio', ['-idv', '--no-absolute-filenames', '--quiet'], {
    cwd: dir,
    input: archive,
    stdio: ['pipe', 'pipe', 'pipe'],
  }).toString();
  return { dir, listing };
}

function listTv(archive: Buffer): string[] {
  return execFileSync('cpio', ['-itv', '--quiet'], { input: archive }).toString().trim().split('\n');
}

describe('cpio newc writer, checked with GNU cpio', () => {
  it('round-trips dirs, files, symlinks and device nodes', () => {
    const data = Buffer.from('hello\nworld\n');
    const a = cpioArchive([
      { kind: 'dir', path: '/bin' },
      { kind: 'file', path: '/bin/tool', data, mode: 0o755 },
      { kind: 'symlink', path: '/bin/alias', target: 'tool' },
      { kind: 'file', path: 'empty', data: new Uint8Array(0) },
      { kind: 'dir', path: 'dev' },
      { kind: 'char', path: 'dev/console', major: 5, minor: 1 },
    ]);
    expect(a.subarray(0, 6).toString()).toBe('070701');
    expect(a.length % 4).toBe(0);
    const tv = listTv(a);
    expect(tv.find((l) => l.endsWith(' bin/tool'))).toMatch(/^-rwxr-xr-x/);
    expect(tv.find((l) => l.includes('bin/alias'))).toMatch(/^lrwxrwxrwx.* bin\/alias -> tool$/);
    expect(tv.find((l) => l.endsWith('dev/console'))).toMatch(/^crw-------.* 5,\s+1 /);
    // Extraction (devices need root: skip that member).
    const noDev = cpioArchive([
      { kind: 'dir', path: '/bin' },
      { kind: 'file', path: '/bin/tool', data, mode: 0o755 },
      { kind: 'symlink', path: '/bin/alias', target: 'tool' },
    ]);
    const { dir } = extract(noDev);
    expect(fs.readFileSync(path.join(dir, 'bin/alias'))).toEqual(data);
    expect(fs.statSync(path.join(dir, 'bin/tool')).mode & 0o777).toBe(0o755);
    fs.rmSync(dir, { recursive: true });
  });

  it('rejects duplicates and escaping paths', () => {
    const w = new CpioWriter();
    w.add({ kind: 'dir', path: 'a' });
    expect(() => w.add({ kind: 'dir', path: '/a' })).toThrow(/duplicate/);
    expect(() => archiveName('../x')).toThrow();
    expect(() => archiveName('/')).toThrow();
  });

  it('random trees extract byte-for-byte', () => {
    const name = fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, fc.uint8Array({ maxLength: 3000 })), { selector: (t) => t[0], maxLength: 8 }),
        (files) => {
          const entries: CpioEntry[] = [
            { kind: 'dir', path: 'd' },
            ...files.map(([n, data]): CpioEntry => ({ kind: 'file', path: `d/${n}`, data })),
          ];
          const { dir } = extract(cpioArchive(entries));
          try {
            for (const [n, data] of files)
              expect(new Uint8Array(fs.readFileSync(path.join(dir, 'd', n)))).toEqual(data);
            expect(fs.readdirSync(path.join(dir, 'd')).sort()).toEqual(files.map((f) => f[0]).sort());
          } finally {
            fs.rmSync(dir, { recursive: true });
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
