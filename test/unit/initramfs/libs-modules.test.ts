import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { elfInterpreter, parseLoaderList, sharedLibraries } from '../../../initramfs/libs';
import { loadModuleDb, nameOfPath, resolveModules } from '../../../initramfs/modules';

const { version } = hostKernel();

describe('shared libraries via the dynamic loader', () => {
  it('parses loader output forms', () => {
    const t =
      '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n';
    expect(parseLoaderList(t)).toEqual(['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
    expect(() => parseLoaderList('\tlibfoo.so => not found\n')).toThrow(/libfoo.so not found/);
  });
  it('finds what ldd finds for node, including the interpreter from PT_INTERP', () => {
    const interp = elfInterpreter(process.execPath);
    const readelf = execFileSync('readelf', ['-l', process.execPath], { encoding: 'utf8' });
    expect(readelf).toContain(`[Requesting program interpreter: ${interp}]`);
    const libs = sharedLibraries(process.execPath);
    const ldd = execFileSync('ldd', [process.execPath], { encoding: 'utf8' });
    const lddPaths = [...ldd.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]);
    expect(libs.map((l) => l.path).sort()).toEqual([...new Set(lddPaths)].sort());
    for (const l of libs) expect(fs.statSync(l.realPath).isFile()).toBe(true);
  });
  it('a static binary needs nothing', () => {
    expect(elfInterpreter('/bin/busybox')).toBeUndefined();
  });
});

describe('kernel modules with dependencies', () => {
  it('orders virtio_blk after what modinfo says it depends on', () => {
    const db = loadModuleDb(version);
    const sel = resolveModules(db, ['virtio_blk', 'ext4', 'vfat', 'no_such_module_xyz']);
    const names = sel.order.map(nameOfPath);
    expect(sel.missing).toEqual(['no_such_module_xyz']);
    for (const m of ['virtio_blk', 'ext4', 'vfat']) {
      const deps = execFileSync('modinfo', ['-k', version, '-F', 'depends', m], { encoding: 'utf8' })
        .trim()
        .split(',')
        .filter(Boolean);
      for (const d of deps) {
        if (!db.paths.has(d.replace(/-/g, '_'))) continue; // built in
        expect(names.indexOf(d.replace(/-/g, '_'))).toBeGreaterThanOrEqual(0);
        expect(names.indexOf(d.replace(/-/g, '_'))).toBeLessThan(names.indexOf(m));
      }
    }
    // ext4's softdep pre: crypto-crc32c resolves through modules.alias to a crc32c module.
    const soft = execFileSync('modinfo', ['-k', version, '-F', 'softdep', 'ext4'], { encoding: 'utf8' });
    if (/crc32c/.test(soft)) expect(names.some((n) => n.startsWith('crc32c'))).toBe(true);
    expect(new Set(sel.order).size).toBe(sel.order.length);
  });
});
