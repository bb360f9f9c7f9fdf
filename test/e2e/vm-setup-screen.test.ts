// End to end, nested (docs/testing.md §3): OVMF's setup screen on tendril's display, pixel for pixel
// against QEMU's (docs/vmm-platform.md §15). In one outer boot, tendril and then QEMU (-enable-kvm,
// in the same outer guest) run Debian's split OVMF with the same CODE image, a copy of the same
// VARS template, the same empty FAT disk, one vCPU, 512 MiB, a bochs-display and the same SMBIOS
// system identity (type 1: the outer QEMU's, which tendril passes on, given to the inner QEMU with
// -smbios). Neither VMM offers OVMF a boot menu timeout (fw_cfg boot-menu 0), so there is no
// countdown in which Escape could reach the setup hotkey; the way in is the UEFI shell instead:
// with nothing bootable on the disk it is the next boot option, and `exit` typed at its prompt (on
// tendril's console with --input keyboard, with `sendkey` on QEMU's monitor) returns EFI_SUCCESS,
// after which BDS starts the BootManagerMenu application, which in OVMF is UiApp, the front page.
// Once both have drawn it and settled, tendril is stopped (Ctrl-] on its console: it writes
// --screenshot) and QEMU's screen is dumped twice, 5 s apart (it must not change). The test
// compares every pixel outside the text rows that show hardware the two boards describe
// differently (MASK below).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CACHE,
  OUTER_SMBIOS_ARG,
  fatDisk,
  runNestedRetrying,
  splitFirmware,
  tendrilRunsInitramfs,
} from '../fixtures/vm';
import { GUEST_HMP, GUEST_QEMU, GUEST_QEMU_ENV, guestQemuFiles } from '../fixtures/guest-qemu';
import { decodePng } from '../fixtures/png';
import { decodePpm } from '../fixtures/ppm';

const haveQemu = spawnSync('qemu-system-x86_64', ['--version']).status === 0;
const MEMORY = '512M';
const CPUS = 1;
/** Seconds to leave each VMM on the front page before the picture is taken. */
const SETTLE_S = 10;
/**
 * The setup browser writes through EDK2's graphics console: the 8×19 system font on an 80×25 grid,
 * centred on the 640×480 mode (GraphicsConsoleDxe: (480 − 25·19) / 2 = 2 px above the first row).
 */
const SCREEN = { width: 640, height: 480 };
const CELL = { width: 8, height: 19, top: 2 };
const cellOf = (x: number, y: number) => ({
  row: Math.floor((y - CELL.top) / CELL.height),
  col: Math.floor(x / CELL.width),
});
/**
 * Cells of the front page's banner (UiApp FrontPage.c, UpdateFrontPageBannerStrings) that show
 * SMBIOS structures only QEMU has, and are masked; the rest of the banner is compared. Row 1, the
 * type 1 product name, is the same on both (the outer QEMU's, see above). Row 2, all of it: QEMU's
 * type 4 processor, its version string (by default the machine type, "pc-i440fx-7.2") on the left
 * and its current speed (2000 MHz: "2.00 GHz") on the right; tendril offers no type 4
 * (docs/vmm-platform.md §7.1), so the row is blank. Row 3 is compared: OVMF's own type 0 BIOS
 * version on the left ("0.0.0" on both), and on the right the memory size the front page adds up
 * from type 19 (memory array mapped addresses), "512 MB RAM" on both (smbios.ts memoryStructures).
 */
const MASK: ReadonlyArray<{ readonly row: number; readonly cols: readonly [number, number] }> = [
  { row: 2, cols: [0, 79] },
];
const masked = (x: number, y: number) => {
  const c = cellOf(x, y);
  return MASK.some((m) => m.row === c.row && c.col >= m.cols[0] && c.col <= m.cols[1]);
};

const keysFor = (text: string) => text.split('').map((c) => `'sendkey ${c}'`);

/** Shell: wait until `file` contains `text` (a grep pattern), at most `secs` s; says how long it took. */
function waitFor(file: string, text: string, secs: number, label: string): string {
  return [
    'n=0',
    `until grep -aq '${text}' ${file}; do`,
    `  if [ $n -ge ${secs} ]; then echo "TENDRIL-SETUP-TIMEOUT ${label}"; break; fi`,
    `  [ $((n % 30)) -eq 29 ] && echo "TENDRIL-SETUP-WAITING ${label} $n s"`,
    '  sleep 1; n=$((n + 1))',
    'done',
    `echo "TENDRIL-SETUP-${label}=$n"`,
  ].join('\n');
}

describe.skipIf(!haveQemu)('tendril vm --display: OVMF setup screen against QEMU (nested KVM)', () => {
  it("the front page is drawn pixel for pixel as on QEMU's bochs-display", async () => {
    const fw = splitFirmware();
    const disk = fatDisk('setup-screen-empty', []);
    const tendril = `node /tendril.js vm ${fw.args} --disk /vm/empty.img --cpus ${CPUS} --memory ${MEMORY} --input keyboard --screenshot /tmp/tendril.png`;
    const qemu = [
      `${GUEST_QEMU} -enable-kvm -machine pc -cpu host -smp ${CPUS} -m ${MEMORY} -nodefaults`,
      '-vga none -device bochs-display -display none',
      '-drive if=pflash,format=raw,readonly=on,file=/vm/OVMF_CODE_4M.fd -drive if=pflash,format=raw,file=/tmp/qemu-vars.fd',
      '-drive if=none,id=d,file=/vm/empty.img,format=raw,snapshot=on -device virtio-blk-pci,drive=d,disable-legacy=on',
      `-smbios ${OUTER_SMBIOS_ARG} -serial file:/tmp/qemu.log -monitor unix:/tmp/qemu-mon.sock,server,nowait`,
    ].join(' ');
    const hmp = (...cmds: string[]) => `node ${GUEST_HMP} /tmp/qemu-mon.sock ${cmds.join(' ')} >/dev/null`;
    const shell = [
      GUEST_QEMU_ENV,
      // tendril: its console types on the PS/2 keyboard; the guest's COM1 goes to a file.
      'mkfifo /tmp/keys',
      `${tendril} </tmp/keys >/tmp/tendril.log 2>&1 & t=$!`,
      'exec 3>/tmp/keys',
      waitFor('/tmp/tendril.log', 'Shell> ', 300, 'TENDRIL-SHELL'),
      'sleep 1',
      "printf 'exit\\r' >&3",
      waitFor('/tmp/tendril.log', 'Device Manager', 120, 'TENDRIL-FRONT-PAGE'),
      `sleep ${SETTLE_S}`,
      "printf '\\035' >&3",
      'wait $t; echo "TENDRIL-SETUP-TENDRIL-STATUS=$?"',
      'exec 3>&-',
      "grep -a 'tendril vm:' /tmp/tendril.log",
      // QEMU, the same way, its keys through the monitor.
      'cp /vm/VARS_TEMPLATE.fd /tmp/qemu-vars.fd',
      `${qemu} & q=$!`,
      waitFor('/tmp/qemu.log', 'Shell> ', 300, 'QEMU-SHELL'),
      'sleep 1',
      hmp(...keysFor('exit'), "'sendkey ret'"),
      waitFor('/tmp/qemu.log', 'Device Manager', 120, 'QEMU-FRONT-PAGE'),
      `sleep ${SETTLE_S}`,
      hmp("'screendump /tmp/qemu-1.ppm'"),
      'sleep 5',
      hmp("'screendump /tmp/qemu.ppm'", 'quit'),
      'wait $q; echo "TENDRIL-SETUP-QEMU-STATUS=$?"',
      'cmp -s /tmp/qemu-1.ppm /tmp/qemu.ppm && echo TENDRIL-SETUP-QEMU-STABLE=yes || echo TENDRIL-SETUP-QEMU-STABLE=no',
      'echo TENDRIL-PNG-BEGIN; base64 /tmp/tendril.png; echo TENDRIL-PNG-END',
      'echo TENDRIL-PPM-BEGIN; gzip -c /tmp/qemu.ppm | base64; echo TENDRIL-PPM-END',
    ].join('\n');
    const cpio = tendrilRunsInitramfs('vm-setup-screen', [{ label: 'setup', argv: '', shell }], {
      files: { ...fw.files, ...guestQemuFiles(), '/vm/empty.img': disk },
    });
    const t0 = Date.now();
    const run = await runNestedRetrying(cpio, ['TENDRIL-EXIT-CODE='], 3, {
      timeoutMs: 900_000,
      smbios: [OUTER_SMBIOS_ARG],
    });
    process.stderr.write(`vm-setup-screen: outer run ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect(run.hostFault, `${run.hostFault}\n${run.kernelLog.slice(-6000)}`).toBeNull();
    const log = run.log.replace(/\r/g, '');
    const tail = log.slice(-4000);
    expect(log, tail).not.toContain('TENDRIL-SETUP-TIMEOUT');
    // Ctrl-] stops the VM: status 130.
    expect(log, tail).toMatch(/^TENDRIL-SETUP-TENDRIL-STATUS=130$/m);
    expect(log, tail).toMatch(/^TENDRIL-SETUP-QEMU-STATUS=0$/m);
    expect(log, tail).toMatch(/^TENDRIL-SETUP-QEMU-STABLE=yes$/m);
    const b64 = (name: string) =>
      Buffer.from(
        (new RegExp(`${name}-BEGIN\\n([\\s\\S]*?)\\n${name}-END`).exec(log)?.[1] ?? '').replace(/\s+/g, ''),
        'base64',
      );
    const mine = decodePng(b64('TENDRIL-PNG'));
    const theirs = decodePpm(gunzipSync(b64('TENDRIL-PPM')));
    const dir = path.join(CACHE, 'vm-setup-screen');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'tendril.png'), b64('TENDRIL-PNG'));
    fs.writeFileSync(path.join(dir, 'qemu.ppm.gz'), b64('TENDRIL-PPM'));

    expect([mine.width, mine.height]).toEqual([theirs.width, theirs.height]);
    expect([mine.width, mine.height]).toEqual([SCREEN.width, SCREEN.height]);
    let compared = 0;
    let differ = 0;
    /** Cells with a differing pixel, masked or not, for the report. */
    const cells = new Set<string>();
    const colours = new Map<string, number>();
    for (let y = 0; y < mine.height; y++)
      for (let x = 0; x < mine.width; x++) {
        const o = (y * mine.width + x) * 3;
        const same = mine.rgb.compare(theirs.rgb, o, o + 3, o, o + 3) === 0;
        if (!same) {
          const c = cellOf(x, y);
          cells.add(`${c.row}:${c.col}`);
        }
        if (masked(x, y)) continue;
        compared++;
        if (!same) differ++;
        const k = mine.rgb.toString('hex', o, o + 3);
        colours.set(k, (colours.get(k) ?? 0) + 1);
      }
    const byRow = new Map<number, number[]>();
    for (const rc of cells) {
      const [r, c] = rc.split(':').map(Number) as [number, number];
      byRow.set(r, [...(byRow.get(r) ?? []), c]);
    }
    const report = `cells that differ, by text row: ${[...byRow].map(([r, cs]) => `row ${r} cols ${Math.min(...cs)}-${Math.max(...cs)}`).join('; ')}; images in ${dir}`;
    process.stderr.write(`vm-setup-screen: ${report}\n`);
    expect(differ, `pixels that differ outside the mask; ${report}`).toBe(0);
    expect(compared / (mine.width * mine.height)).toBeGreaterThanOrEqual(0.8);
    // Not a blank screen: the compared area holds the setup browser's colours, the grey form, the
    // black help bar, and the menu text and help in blue (EFI_LIGHTGRAY 0x989898, EFI_BLUE 0x000098).
    expect(colours.get('989898') ?? 0).toBeGreaterThan(100_000);
    expect(colours.get('000000') ?? 0).toBeGreaterThan(30_000);
    expect(colours.get('000098') ?? 0).toBeGreaterThan(1_000);
    // ... and the menu itself: "Device Manager" (text row 9, columns 3-16) has both text and form pixels.
    const menuItem = new Set<string>();
    for (let y = CELL.top + 9 * CELL.height; y < CELL.top + 10 * CELL.height; y++)
      for (let x = 3 * CELL.width; x < 17 * CELL.width; x++)
        menuItem.add(mine.rgb.toString('hex', (y * mine.width + x) * 3, (y * mine.width + x) * 3 + 3));
    expect([...menuItem].sort()).toEqual(['000000', '989898']);
  }, 1_200_000);
});
