// bench/formats: the config front ends, each against its own baseline in the same run:
// a generated 5,000-line grub.cfg (bench/formats-grub.ts) and a sprout config generating
// 1,000 entries (bench/formats-sprout.ts).
//   node scripts/run-ts.mjs bench/formats.ts

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
let failed = false;
for (const b of ['bench/formats-grub.ts', 'bench/formats-sprout.ts']) {
  console.log(`== ${b}`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'run-ts.mjs'), path.join(ROOT, b)], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
