// A standalone entry for `tendril vm` (tests and benches bundle this; the product wires
// runVmCommand into src/cli.ts). The vCPU worker loads this same bundle, so only the main
// thread runs the command.
import { isMainThread } from 'node:worker_threads';
import { runVmCommand } from './command';

if (isMainThread && require.main === module) {
  runVmCommand(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`tendril vm: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
