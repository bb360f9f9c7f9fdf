import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostKernel } from '../../../initramfs/host';
import { BZIMAGE_PROBE_BYTES, probeBzImage, versionOffset } from '../../../src/kexec/bzimage';

const { vmlinuz } = hostKernel();

function load(): { head: Uint8Array; size: number; ver?: Uint8Array } {
  const all = fs.readFileSync(vmlinuz);
  const head = new Uint8Array(all.subarray(0, BZIMAGE_PROBE_BYTES));
  const vo = versionOffset(head);
  return { head, size: all.length, ...(vo ? { ver: new Uint8Array(all.subarray(vo, vo + 128)) } : {}) };
}

describe('probeBzImage on Debian kernel', () => {
  it('accepts the real kernel and reads the version that file(1) reports', () => {
    const { head, size, ver } = load();
    const p = probeBzImage(head, size, ver);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    const fileOut = execFileSync('file', ['-L', vmlinuz], { encoding: 'utf8' });
    const m = /version (\S+)/.exec(fileOut);
    expect(m).not.toBeNull();
    expect(p.version?.split(' ')[0]).toBe(m![1]);
    expect(p.protocol).toBeGreaterThanOrEqual(0x020c);
    // Debian's x86_64 kernels use COMMAND_LINE_SIZE 2048 → cmdline_size 2047 (boot.rst).
    expect(p.cmdlineSize).toBe(2047);
    expect(p.efiStub).toBe(true);
    // init_size (0x260): the decompressed kernel's footprint, larger than the compressed file,
    // as read by od(1) from the same offset.
    const od = execFileSync('od', ['-An', '-tu4', '-j', String(0x260), '-N4', vmlinuz], { encoding: 'utf8' });
    expect(p.initSize).toBe(Number(od.trim()));
    expect(p.initSize).toBeGreaterThan(size);
  });

  const mutate = (f: (b: Uint8Array) => void): Uint8Array => {
    const b = new Uint8Array(load().head);
    f(b);
    return b;
  };
  const size = (): number => load().size;

  it.each([
    ['boot_flag', (b: Uint8Array) => (b[0x1fe] = 0), /boot_flag 0xaa00 \(want 0xaa55\)/],
    ['magic', (b: Uint8Array) => (b[0x202] = 0x41), /header magic "AdrS"/],
    [
      'protocol',
      (b: Uint8Array) => {
        b[0x206] = 0x0b;
        b[0x207] = 0x02;
      },
      /2\.11 is older than 2\.12/,
    ],
    ['loadflags', (b: Uint8Array) => (b[0x211] = b[0x211]! & ~1), /LOADED_HIGH/],
    ['xlf64', (b: Uint8Array) => (b[0x236] = b[0x236]! & ~1), /XLF_KERNEL_64/],
    ['xlf4g', (b: Uint8Array) => (b[0x236] = b[0x236]! & ~2), /ABOVE_4G/],
  ])('names the failed check: %s', (_n, f, re) => {
    const p = probeBzImage(mutate(f), size());
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.reason).toMatch(re);
  });

  it('refuses tiny, ELF, gzip and arm64 images with their names', () => {
    const head = load().head;
    expect(probeBzImage(head.subarray(0, 600), 600)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/too small/) as unknown,
    });
    const elf = fs.readFileSync(process.execPath).subarray(0, BZIMAGE_PROBE_BYTES);
    expect(probeBzImage(elf, 1 << 20)).toMatchObject({ ok: false, format: 'elf' });
    const gz = execFileSync('gzip', ['-c'], { input: Buffer.alloc(4096, 1) });
    expect(probeBzImage(gz, 1 << 20)).toMatchObject({ ok: false, format: 'gzip' });
    const arm = new Uint8Array(BZIMAGE_PROBE_BYTES);
    arm.set([0x41, 0x52, 0x4d, 0x64], 0x38); // "ARM\x64"
    expect(probeBzImage(arm, 1 << 20)).toMatchObject({ ok: false, format: 'arm64-Image' });
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 0x300 }), fc.nat(1 << 30), (b, sz) => {
        const p = probeBzImage(b, sz);
        expect(typeof p.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});
