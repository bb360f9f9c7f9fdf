// Real files for plan/load tests: a copy of Debian's kernel, an early microcode cpio and
// initrds made with cpio(1) and gzip(1), served through HostDirFileSystem.
import { execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hostKernel as findHostKernel } from '../../../initramfs/host';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import type { FileRef, MenuEntry } from '../../../src/discovery/model';

/** The installed Debian kernel's path (initramfs/host.ts). */
export const hostKernel = findHostKernel().vmlinuz;

export interface BootTree {
  readonly dir: string;
  readonly fs: HostDirFileSystem;
  cleanup(): void;
}

function cpioOf(dir: string, files: Record<string, string>, gzip: boolean): Buffer {
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'cpio-src-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
    fs.writeFileSync(path.join(src, name), content);
  }
  const list = execSync('find . | LC_ALL=C sort', { cwd: src }).toString();
  let out = execSync('cpio -o -H newc --quiet', {
    cwd: src,
    input:
      list
        .split('\n')
        .filter((l) => l && l !== '.')
        .map((l) => l.replace(/^\.\//, ''))
        .join('\n') + '\n',
  });
  if (gzip) out = execSync('gzip -n -c', { input: out });
  fs.rmSync(src, { recursive: true, force: true });
  void dir;
  return out;
}

export function makeBootTree(): BootTree {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-boot-'));
  fs.copyFileSync(hostKernel, path.join(dir, 'vmlinuz'));
  fs.writeFileSync(
    path.join(dir, 'intel-ucode.img'),
    cpioOf(dir, { 'kernel/x86/microcode/GenuineIntel.bin': 'not really microcode\n' }, false),
  );
  fs.writeFileSync(path.join(dir, 'initrd.img'), cpioOf(dir, { init: '#!/bin/sh\necho first\n' }, true));
  fs.writeFileSync(path.join(dir, 'second.img'), cpioOf(dir, { 'second-initrd-marker': 'second\n' }, false));
  fs.writeFileSync(path.join(dir, 'odd.img'), Buffer.from('abcde')); // 5 bytes: needs padding
  fs.writeFileSync(path.join(dir, 'empty.img'), Buffer.alloc(0));
  fs.writeFileSync(path.join(dir, 'corrupt-vmlinuz'), Buffer.alloc(8192, 0x41));
  return { dir, fs: new HostDirFileSystem(dir), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function linuxEntry(id: string, kernel: string, initrds: string[], cmdline: string, fsId = 'img:1'): MenuEntry {
  const ref = (p: string): FileRef => ({ fsId, path: p });
  return {
    id,
    sourceId: id,
    index: 0,
    default: false,
    title: id,
    displayTitle: id,
    origin: { source: 'bls', fsId, device: 'img', partition: 1, file: `/loader/entries/${id}` },
    status: { ok: true, target: { kind: 'linux', kernel: ref(kernel), initrds: initrds.map(ref), cmdline } },
    diagnostics: [],
  };
}
