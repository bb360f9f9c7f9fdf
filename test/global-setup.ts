// Builds the bundle once before the tests: integration tests drive the real CLI
// (dist/tendril.js). A failed build is reported here and fails those tests, not the rest.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export default function setup(): void {
  try {
    execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'build.mjs')], { stdio: 'pipe' });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    process.stderr.write(
      `global-setup: bundle build failed; CLI tests will fail:\n${err.stderr?.toString() ?? String(e)}\n`,
    );
  }
}
