// sprout.toml parse + evaluate for a config whose generators produce 1,000 entries (a
// 10×10×10 matrix) plus a list, each entry chainloading a real kernel on a host-directory ESP.
// Baseline in the same run: smol-toml's parse() of the same text alone.
//   node scripts/run-ts.mjs bench/formats-sprout.ts

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'smol-toml';
import { hostKernel } from '../initramfs/host';
import type { Diagnostic } from '../src/discovery/diagnostics';
import { HostDirFileSystem } from '../src/discovery/fs/hostdir';
import { isBootable } from '../src/discovery/model';
import type { MountedFs, SourceContext } from '../src/discovery/sources/context';
import { mergeDocuments } from '../src/discovery/sources/sprout/dropins';
import { evaluateSprout } from '../src/discovery/sources/sprout/evaluate';
import { validateConfig } from '../src/discovery/sources/sprout/schema';

const ten = (p: string) => `[${Array.from({ length: 10 }, (_, i) => `"${p}${i}"`).join(', ')}]`;
const CONFIG = `version = 1
[options]
default-entry = "Boot a9*"
menu-timeout = 5

[values]
root = "root=UUID=0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0 ro"
kernel = "\\\\EFI\\\\linux\\\\vmlinuz"
initrd = "\\\\EFI\\\\linux\\\\initrd.img"

[extractors.esp.filesystem-device-match]
has-item = "\\\\EFI\\\\linux\\\\vmlinuz"

[actions.boot]
chainload.path = "$esp$kernel"
chainload.options = ["$root", "console=$console", "mode=$mode", "profile=$profile"]
chainload.linux-initrd = "$esp$initrd"

[actions.hello]
print.text = "Booting $a $b $c"

[generators.grid.matrix]
entry.title = "Boot $a $b $c"
entry.actions = ["hello", "boot"]
entry.values = { console = "ttyS$b", mode = "$a", profile = "$c" }
values.a = ${ten('a')}
values.b = ${ten('b')}
values.c = ${ten('c')}

[generators.extra.list]
entry.title = "Extra $n"
entry.actions = ["boot"]
entry.values = { console = "tty0", mode = "extra", profile = "$n" }
values = [{ n = "one" }, { n = "two" }, { n = "three" }]
`;

function setup(): { ctx: SourceContext; home: MountedFs; cleanup(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-bench-sprout-'));
  fs.mkdirSync(path.join(root, 'EFI/linux'), { recursive: true });
  fs.copyFileSync(hostKernel().vmlinuz, path.join(root, 'EFI/linux/vmlinuz'));
  fs.writeFileSync(path.join(root, 'EFI/linux/initrd.img'), 'initrd');
  const home: MountedFs = {
    report: {
      fsId: 'vda:1',
      device: '/dev/vda',
      partition: 1,
      offset: 0,
      size: 0,
      probe: { type: 'vfat', readable: true },
      role: 'esp',
    },
    fs: new HostDirFileSystem(root, true),
  };
  return {
    home,
    ctx: { filesystems: [home], get: (id) => (id === 'vda:1' ? home : undefined), arch: 'x64' },
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

async function measure(name: string, minMs: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await fn(); // warm-up
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < minMs) {
    await fn();
    n++;
  }
  const ms = (performance.now() - t0) / n;
  console.log(`${name.padEnd(44)} ${ms.toFixed(3).padStart(10)} ms/op ${(1000 / ms).toFixed(1).padStart(10)} ops/s`);
  return ms;
}

async function main(): Promise<void> {
  const env = setup();
  try {
    console.log(`sprout.toml: ${CONFIG.length} bytes, ${CONFIG.split('\n').length} lines`);
    const base = await measure('baseline: smol-toml parse()', 1000, () => parse(CONFIG));
    const load = await measure('load: parse + version + locator + merge', 1000, () =>
      mergeDocuments([{ file: '/sprout.toml', text: CONFIG }], 'vda:1', []),
    );
    const valid = await measure('load + validate schema', 1000, () => {
      const m = mergeDocuments([{ file: '/sprout.toml', text: CONFIG }], 'vda:1', [])!;
      return validateConfig(m.raw, m.locate, 'vda:1');
    });
    let entries = 0;
    const full = await measure('load + evaluate (1,003 entries, real files)', 3000, async () => {
      const ds: Diagnostic[] = [];
      const m = mergeDocuments([{ file: '/sprout.toml', text: CONFIG }], 'vda:1', ds)!;
      const r = await evaluateSprout(m, env.home, env.ctx);
      entries = r.entries.length;
      if (!r.entries.every(isBootable)) throw new Error('bench config produced unbootable entries');
    });
    console.log(`entries per evaluation: ${entries}`);
    console.log(`ratio load/baseline:     ${(load / base).toFixed(2)}x`);
    console.log(`ratio validate/baseline: ${(valid / base).toFixed(2)}x`);
    console.log(
      `ratio evaluate/baseline: ${(full / base).toFixed(2)}x  (${((full * 1000) / entries).toFixed(1)} µs per entry)`,
    );
  } finally {
    env.cleanup();
  }
}

void main();
