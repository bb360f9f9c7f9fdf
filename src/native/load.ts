// Finds and loads the one native addon, tendril.node, lazily (a startup snapshot cannot
// hold a native handle, and commands that never touch a syscall should not pay for it).
// Search order: $TENDRIL_ADDON; next to the bundle (the initramfs puts it at /tendril.node
// beside /tendril.js); native/build/Release in a checkout (bundle in dist/ or source in src/).

import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: Record<string, unknown> | undefined;
let failure: Error | undefined;

/** Candidate paths, most specific first. Exported for tests and diagnostics. */
export function addonCandidates(baseDir: string = __dirname, env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  if (env.TENDRIL_ADDON) out.push(env.TENDRIL_ADDON);
  out.push(path.join(baseDir, 'tendril.node'));
  // dist/tendril.js → ../native/build/Release; src/native/load.ts → ../../native/build/Release
  for (const up of ['..', path.join('..', '..'), path.join('..', '..', '..')]) {
    out.push(path.join(baseDir, up, 'native', 'build', 'Release', 'tendril.node'));
  }
  return out;
}

export class AddonMissingError extends Error {
  constructor(readonly tried: string[]) {
    super(`native addon tendril.node not found (tried ${tried.join(', ')}); run: sh scripts/build-native.sh`);
    this.name = 'AddonMissingError';
  }
}

/** The addon's exports, loaded on first use. Throws AddonMissingError or the dlopen error. */
export function loadAddon(): Record<string, unknown> {
  if (cached) return cached;
  if (failure) throw failure;
  const tried = addonCandidates();
  const file = tried.find((p) => fs.existsSync(p));
  if (!file) {
    failure = new AddonMissingError(tried);
    throw failure;
  }
  const mod = { exports: {} as Record<string, unknown> };
  try {
    process.dlopen(mod, file);
  } catch (e) {
    failure = new Error(`dlopen ${file}: ${e instanceof Error ? e.message : String(e)}`);
    throw failure;
  }
  cached = mod.exports;
  return cached;
}

/** True when the addon can be loaded (does not throw). */
export function addonAvailable(): boolean {
  try {
    loadAddon();
    return true;
  } catch {
    return false;
  }
}
