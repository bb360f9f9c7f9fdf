// End to end, nested (docs/testing.md §3): the VM's screen on the host's own screen
// (docs/vmm-platform.md §15.1) and the screenshot key (§15.2). The outer QEMU has a
// bochs-display; the outer guest loads Linux's bochs DRM driver, whose fbdev emulation is
// /dev/fb0 and whose card is /dev/dri/card0. tendril runs a Linux guest that draws the test
// pattern on its efifb (display-pattern.ts), once with --display-out /dev/fb0 and once with
// --display-out /dev/dri/card0; while the guest waits after drawing, the test takes the OUTER
// QEMU's screendump and compares its pixels with the pattern where the guest's screen lands. In
// the first run the screenshot key (Ctrl-\ then s, typed into tendril's stdin) writes a PNG that
// must match too.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  LINUX_EFI_LOADER,
  linuxEfiDisk,
  runNestedRetrying,
  scriptInitrd,
  sha256,
  splitFirmware,
  tendrilRunsInitramfs,
} from '../fixtures/vm';
import { decodePng } from '../fixtures/png';
import { DRAW_PATTERN, colour, parseFbLine, rowFiles } from '../fixtures/display-pattern';
import { place } from '../../src/vm/display/blit';

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;

/** Seconds the guest keeps its picture after drawing, for the test's screendumps. */
const HOLD_S = 40;

function readPpm(file: string): { width: number; height: number; rgb: Uint8Array } {
  const b = fs.readFileSync(file);
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(b.subarray(0, 64).toString('latin1'));
  if (!m) throw new Error(`${file}: not a binary PPM`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  return { width, height, rgb: b.subarray(m[0].length, m[0].length + width * height * 3) };
}

/** Pixels of `img` that differ from the pattern of a `guest`-sized screen placed as tendril does. */
function mismatches(img: { width: number; height: number; rgb: Uint8Array }, guest: { width: number; height: number }) {
  const p = place(guest, img);
  let wrong = 0;
  let first = '';
  for (let y = 0; y < p.h; y++)
    for (let x = 0; x < p.w; x++) {
      const [bl, g, r] = colour(p.sx + x, p.sy + y);
      const o = ((p.dy + y) * img.width + p.dx + x) * 3;
      if (img.rgb[o] !== r || img.rgb[o + 1] !== g || img.rgb[o + 2] !== bl) {
        if (!wrong) first = `(${x},${y}) = ${[...img.rgb.subarray(o, o + 3)].join(',')} want ${[r, g, bl].join(',')}`;
        wrong++;
      }
    }
  return { wrong, first, placement: p };
}

const GUEST = `${DRAW_PATTERN}\nsleep ${HOLD_S}`;

describe.skipIf(!haveQemu)("tendril vm --display-out: the guest's screen on the host's (nested KVM)", () => {
  it('fbdev and DRM outputs show the pattern pixel for pixel; Ctrl-\\ s writes a matching PNG', async () => {
    const disk = linuxEfiDisk(scriptInitrd(GUEST, [], rowFiles()), 160);
    const before = sha256(disk);
    const fw = splitFirmware();
    const vm = (out: string, extra: string) =>
      `node /tendril.js vm ${fw.args} --disk /vm/disk0.img --cpus 1 --display-out ${out} --stats ${extra} ${LINUX_EFI_LOADER}`;
    const waitFor = (what: string) =>
      `n=0; while ! grep -q '${what}' /tmp/hd.log && [ $n -lt 900 ]; do sleep 1; n=$((n + 1)); done`;
    const shell = [
      // The outer fbcon would blink its cursor into the picture.
      'for v in /sys/class/vtconsole/vtcon*; do grep -q "frame buffer" $v/name && echo 0 > $v/bind; done',
      'echo "TENDRIL-OUTER-FB=$(cat /sys/class/graphics/fb0/name)|$(cat /sys/class/graphics/fb0/virtual_size)|$(ls /dev/dri)"',
      'mkfifo /tmp/keys',
      `(${vm('/dev/fb0', '--screenshot /tmp/shot.png')} </tmp/keys 2>&1; echo "TENDRIL-HD-FB-STATUS=$?") | tee /tmp/hd.log & kb=$!`,
      'exec 3>/tmp/keys',
      waitFor('TENDRIL-FB-DRAWN'),
      'sleep 2',
      `printf '\\034s' >&3`,
      waitFor('tendril vm: screenshot: '),
      'cp /tmp/shot.png /tmp/key.png',
      'echo TENDRIL-PNG-BEGIN; base64 /tmp/key.png; echo TENDRIL-PNG-END',
      'wait $kb',
      'exec 3>&-',
      `${vm('/dev/dri/card0', '')} </dev/null 2>&1; echo "TENDRIL-HD-DRM-STATUS=$?"`,
    ].join('\n');
    const cpio = tendrilRunsInitramfs('vm-host-display', [{ label: 'hd', argv: '', shell }], {
      files: { ...fw.files, '/vm/disk0.img': disk },
      modules: ['bochs'],
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-hd-'));
    const dumps: Record<string, string[]> = { fb: [], drm: [] };
    const pending: Array<Promise<unknown>> = [];
    let drawn = 0;
    // Two VM runs, each drawing 800 rows with dd under nested TCG: several minutes each.
    const run = await runNestedRetrying(cpio, ['TENDRIL-EXIT-CODE='], 2, {
      timeoutMs: 1_500_000,
      qemuArgs: ['-device', 'bochs-display'],
      onOutput: (log, outer) => {
        const n = log.split('TENDRIL-FB-DRAWN').length - 1;
        while (drawn < n) {
          const which = drawn === 0 ? 'fb' : 'drm';
          drawn++;
          // Several dumps while the guest holds its picture: the first may come before the copy.
          for (const s of [3, 8, 15]) {
            const f = path.join(dir, `${which}-${s}.ppm`);
            pending.push(
              new Promise((r) => setTimeout(r, s * 1000))
                .then(() => outer.hmp(`screendump ${f}`))
                .then(() => dumps[which]!.push(f))
                .catch(() => {}),
            );
          }
        }
      },
    });
    await Promise.all(pending);
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const log = run.log.replace(/\r/g, '');
    const tail = log.slice(-5000);
    expect(log, tail).toMatch(/^TENDRIL-OUTER-FB=bochs/m);
    expect(log, tail).toMatch(/tendril vm: display output: \/dev\/fb0: fbdev/);
    expect(log, tail).toMatch(/tendril vm: display output: \/dev\/dri\/card0: DRM connector/);
    expect(log, tail).toMatch(/^TENDRIL-HD-FB-STATUS=0$/m);
    expect(log, tail).toMatch(/^TENDRIL-HD-DRM-STATUS=0$/m);
    // The CRTC went back to the fbdev console's buffer (drmRestore), without complaint.
    expect(log, tail).not.toMatch(/restoring the screen/);
    const guest = parseFbLine(log);
    expect(guest, tail).not.toBeNull();
    for (const m of log.matchAll(/^tendril-vm-stats (.*)$/gm)) {
      const exits = (JSON.parse(m[1]!) as { exits: Record<string, number> }).exits;
      const shown = Object.entries(exits).filter(([k]) => k.startsWith('display:'));
      process.stderr.write(`[vm-host-display] ${shown.map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
    }
    for (const which of ['fb', 'drm']) {
      expect(dumps[which]!.length, `${which}: screendumps taken`).toBeGreaterThan(0);
      const results = dumps[which]!.map((f) => ({ f, img: readPpm(f) })).map(({ f, img }) => ({
        f,
        size: `${img.width}x${img.height}`,
        ...mismatches(img, guest!),
      }));
      const best = results.reduce((a, b) => (b.wrong < a.wrong ? b : a));
      process.stderr.write(
        `[vm-host-display] ${which}: guest ${guest!.width}x${guest!.height} on ${best.size} at ${best.placement.dx},${best.placement.dy}; mismatches per dump ${results.map((r) => r.wrong).join(', ')}\n`,
      );
      expect(best.wrong, `${which}: pixels that differ in ${best.f}; first ${best.first}`).toBe(0);
    }
    const b64 = /TENDRIL-PNG-BEGIN\n([\s\S]*?)\nTENDRIL-PNG-END/.exec(log)?.[1] ?? '';
    const png = decodePng(Buffer.from(b64.replace(/\s+/g, ''), 'base64'));
    expect([png.width, png.height]).toEqual([guest!.width, guest!.height]);
    expect(mismatches(png, guest!).wrong, 'screenshot-key PNG pixels that differ').toBe(0);
    expect(sha256(disk)).toBe(before);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 2_400_000);
});
