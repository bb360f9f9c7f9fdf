// The console watch for OVMF's boot manager reports (src/vm/boot-watch.ts), on the lines
// OvmfPkg/Library/PlatformBmPrintScLib prints, in the chunks the console delivers them in.
import { describe, expect, it } from 'vitest';
import { BootWatch } from '../../../src/vm/boot-watch';

const LOADING =
  'BdsDxe: loading Boot0000 "tendril: \\EFI\\x.efi" from HD(1,GPT,5D1E0B7A-21C4-4B8E-9A51-6F0C2D3E4A5B,0x800,0x20000)/\\EFI\\x.efi\r\n';
const FAILED =
  'BdsDxe: failed to load Boot0000 "tendril: \\EFI\\x.efi" from HD(1,GPT,5D1E0B7A-21C4-4B8E-9A51-6F0C2D3E4A5B,0x800,0x20000)/\\EFI\\x.efi: Access Denied';

describe('BootWatch', () => {
  it('reports a failure to load or start the watched option once its line is complete', () => {
    const w = new BootWatch('Boot0000');
    expect(w.feed(Buffer.from(LOADING))).toBeNull();
    const text = Buffer.from(`\x1b[0m${FAILED}\r\n`);
    // Split anywhere: across chunks, the line is only reported when it ends.
    expect(w.feed(text.subarray(0, 40))).toBeNull();
    expect(w.feed(text.subarray(40, text.length - 2))).toBeNull();
    expect(w.feed(text.subarray(text.length - 2))).toBe(FAILED);
    const s = new BootWatch('Boot0000');
    expect(
      s.feed(
        Buffer.from(FAILED.replace('failed to load', 'failed to start').replace('Access Denied', 'Not Found') + '\n'),
      ),
    ).toMatch(/failed to start Boot0000 .*: Not Found$/);
  });

  it('ignores other options, successful starts and ordinary output', () => {
    const w = new BootWatch('Boot0000');
    expect(w.feed(Buffer.from(FAILED.replace('Boot0000', 'Boot0003') + '\r\n'))).toBeNull();
    expect(w.feed(Buffer.from(LOADING.replace('loading', 'starting')))).toBeNull();
    expect(w.feed(Buffer.from('Shell> echo BdsDxe: failed to load\r\n'))).toBeNull();
    expect(w.feed(Buffer.alloc(100_000, 0x41))).toBeNull(); // one long line: bounded memory
  });
});
