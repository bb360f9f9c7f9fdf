import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KexecError } from '../../../src/kexec/errors';
import { loadPlan, materialize } from '../../../src/kexec/load';
import { planBoot } from '../../../src/kexec/plan';
import { type BootTree, linuxEntry, makeBootTree } from './helpers';

let t: BootTree;
beforeAll(() => {
  t = makeBootTree();
});
afterAll(() => t.cleanup());
const lookup = (id: string) => (id === 'img:1' ? t.fs : undefined);

function readFd(fd: number): Buffer {
  const size = fs.fstatSync(fd).size;
  const b = Buffer.alloc(size);
  let off = 0;
  while (off < size) off += fs.readSync(fd, b, off, size - off, off);
  return b;
}

/** The expected initrd from the spec rule, computed independently of layoutInitrd. */
function expectedInitrd(files: string[]): Buffer {
  const parts = files.map((f) => fs.readFileSync(path.join(t.dir, f))).filter((b) => b.length > 0);
  const out: Buffer[] = [];
  parts.forEach((b, i) => {
    out.push(b);
    if (i < parts.length - 1 && b.length % 4) out.push(Buffer.alloc(4 - (b.length % 4)));
  });
  return Buffer.concat(out);
}

describe('materialize', () => {
  const files = ['/intel-ucode.img', '/odd.img', '/empty.img', '/initrd.img', '/second.img'];
  it('produces read-only fds whose bytes are the kernel and the padded concatenation', async () => {
    const plan = await planBoot(linuxEntry('a.conf', '/vmlinuz', files, ''), lookup);
    const m = await materialize(plan, lookup);
    try {
      expect(m.backing).toBe('memfd');
      expect(readFd(m.kernelFd).equals(fs.readFileSync(path.join(t.dir, 'vmlinuz')))).toBe(true);
      expect(readFd(m.initrdFd).equals(expectedInitrd(files.map((f) => f.slice(1))))).toBe(true);
      // Read-only descriptors: the kernel's ETXTBSY rule (docs/kexec.md §1.2) needs no writer anywhere.
      for (const fd of [m.kernelFd, m.initrdFd]) expect(() => fs.writeSync(fd, Buffer.from('x'))).toThrow(/EBADF/);
    } finally {
      m.close();
    }
  });
  it('no initrd gives fd -1', async () => {
    const m = await materialize(await planBoot(linuxEntry('a.conf', '/vmlinuz', [], ''), lookup), lookup);
    expect(m.initrdFd).toBe(-1);
    m.close();
  });
});

describe('loadPlan', () => {
  // The syscall itself is replaced here: a real kexec_file_load on a test host would arm a
  // kernel for the host's next reboot. The QEMU e2e suites exercise the real one.
  it('passes sealed fds and the exact cmdline, then checks kexec_loaded', async () => {
    const plan = await planBoot(linuxEntry('a.conf', '/vmlinuz', ['/second.img'], 'root=x'), lookup);
    const seen: { kfd: number; ifd: number; cmd: string; ro: boolean }[] = [];
    const r = await loadPlan(plan, lookup, undefined, {
      kexecFileLoad: (kfd, ifd, cmd) => {
        let ro = false;
        try {
          fs.writeSync(kfd, Buffer.from('x'));
        } catch (e) {
          ro = (e as NodeJS.ErrnoException).code === 'EBADF';
        }
        seen.push({ kfd, ifd, cmd, ro });
      },
      readLoaded: () => '1\n',
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ cmd: 'root=x', ro: true });
    expect(r.initrdSize).toBe(fs.statSync(path.join(t.dir, 'second.img')).size);
    // The fds are closed after the load.
    expect(() => fs.fstatSync(seen[0]!.kfd)).toThrow();
  });
  it('turns a syscall error into a failure object with hint and sizes', async () => {
    const plan = await planBoot(linuxEntry('a.conf', '/vmlinuz', ['/second.img'], 'root=x'), lookup);
    const err = await loadPlan(plan, lookup, undefined, {
      kexecFileLoad: () => {
        throw Object.assign(new Error('kexec_file_load: EKEYREJECTED (Key was rejected by service)'), {
          code: 'EKEYREJECTED',
          // As the addon reports it; os.constants.errno has no EKEYREJECTED (Linux: 129).
          errno: 129,
          syscall: 'kexec_file_load',
        });
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KexecError);
    const f = (err as KexecError).failure;
    expect(f).toMatchObject({
      syscall: 'kexec_file_load',
      errno: 'EKEYREJECTED',
      code: 129,
      kernel: 'img:1:/vmlinuz',
      initrds: ['img:1:/second.img'],
      cmdlineLength: 7,
    });
    expect(f.hint).toMatch(/not signed/);
    expect(f.kernelSize).toBe(fs.statSync(path.join(t.dir, 'vmlinuz')).size);
  });
  it('a load that does not show in kexec_loaded is a failure', async () => {
    const plan = await planBoot(linuxEntry('a.conf', '/vmlinuz', [], ''), lookup);
    const err = (await loadPlan(plan, lookup, undefined, { kexecFileLoad: () => {}, readLoaded: () => '0' }).catch(
      (e: unknown) => e,
    )) as KexecError;
    expect(err.failure.hint).toMatch(/kexec_loaded is "0"/);
  });
});
