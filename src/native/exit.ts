// Leaving the process when a scan worker is stuck in a syscall: flush stdout/stderr, then
// _exit through the addon (process.exit would join the stuck thread and never return).

import { loadAddon } from './load';

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

export async function exitNow(code: number): Promise<never> {
  await flush(process.stdout);
  await flush(process.stderr);
  try {
    const fn = loadAddon().exitNow;
    if (typeof fn === 'function') (fn as (c: number) => void)(code);
  } catch {
    /* no addon: fall through */
  }
  process.exit(code);
}
