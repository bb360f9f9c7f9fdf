// End to end, nested (docs/testing.md §3): the display (docs/vmm-platform.md §15). OVMF's
// QemuVideoDxe sets a mode on tendril's bochs-display and hands the GOP framebuffer to Linux, whose
// efifb becomes /dev/fb0. The guest (Debian's kernel, a busybox initrd, through Boot0000) reports
// the mode, takes the framebuffer console off it, and draws a known pattern row by row: 16×16-pixel
// blocks of 16 colours, shifted per band of 16 rows. tendril writes the screen at power-off
// (`--screenshot`); the outer guest prints the PNG in base64 and the test compares every pixel
// with the pattern for the mode the guest reported.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import {
  LINUX_EFI,
  linuxEfiDisk,
  runNestedRetrying,
  scriptInitrd,
  sha256,
  splitFirmware,
  tendrilRunsInitramfs,
} from '../fixtures/vm';
import { decodePng } from '../fixtures/png';
import { DRAW_PATTERN, colour, rowFiles } from '../fixtures/display-pattern';

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

describe.skipIf(!haveQemu)('tendril vm --display: the GOP framebuffer, as Linux draws on it (nested KVM)', () => {
  it('the screenshot matches the pattern the guest drew, pixel for pixel', async () => {
    const disk = linuxEfiDisk(scriptInitrd(DRAW_PATTERN, [], rowFiles()), 160);
    const before = sha256(disk);
    const fw = splitFirmware();
    const args = `initrd=\\EFI\\tendril\\initrd.img console=ttyS0 panic=-1 quiet`;
    const vm = `node /tendril.js vm ${fw.args} --disk /vm/disk0.img --cpus 1 --screenshot /tmp/shot.png --loader '0:1:${LINUX_EFI}' --loader-args '${args}' </dev/null`;
    const shell = [
      vm,
      'echo "TENDRIL-VM-STATUS=$?"',
      'echo TENDRIL-PNG-BEGIN',
      'base64 /tmp/shot.png',
      'echo TENDRIL-PNG-END',
    ].join('\n');
    const cpio = tendrilRunsInitramfs('vm-display', [{ label: 'fb', argv: '', shell }], {
      files: { ...fw.files, '/vm/disk0.img': disk },
    });
    const run = await runNestedRetrying(cpio, ['TENDRIL-EXIT-CODE=']);
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const log = run.log.replace(/\r/g, '');
    const tail = log.slice(-4000);
    expect(log, tail).toContain('TENDRIL-FB-DRAWN');
    expect(log, tail).toMatch(/^TENDRIL-VM-STATUS=0$/m);
    const fb = /^TENDRIL-FB=([^|]*)\|(\d+)\|(\d+)\|(\d+)\|(\d+)$/m.exec(log);
    expect(fb, tail).not.toBeNull();
    const [, name, w, h, , bpp] = fb!;
    expect(name).toMatch(/EFI VGA|simpledrm|efifb/i);
    expect(bpp).toBe('32');
    const shot = /tendril vm: screenshot: \/tmp\/shot\.png \((\d+)x(\d+)\)/.exec(log);
    expect(shot, tail).not.toBeNull();
    expect([shot![1], shot![2]]).toEqual([w, h]);
    const b64 = /TENDRIL-PNG-BEGIN\n([\s\S]*?)\nTENDRIL-PNG-END/.exec(log)?.[1] ?? '';
    const png = decodePng(Buffer.from(b64.replace(/\s+/g, ''), 'base64'));
    expect([png.width, png.height]).toEqual([Number(w), Number(h)]);
    let wrong = 0;
    let first = '';
    for (let y = 0; y < png.height; y++)
      for (let x = 0; x < png.width; x++) {
        const [bl, g, r] = colour(x, y);
        const o = (y * png.width + x) * 3;
        if (png.rgb[o] !== r || png.rgb[o + 1] !== g || png.rgb[o + 2] !== bl) {
          if (!wrong) first = `(${x},${y}) = ${[...png.rgb.subarray(o, o + 3)].join(',')} want ${[r, g, bl].join(',')}`;
          wrong++;
        }
      }
    expect(wrong, `pixels that differ; first ${first}`).toBe(0);
    expect(sha256(disk)).toBe(before);
  }, 1_800_000);
});
