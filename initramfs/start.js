'use strict';
// The initramfs's /tendril.js: runs the bundle (/tendril-bundle.js) with the V8 code cache the
// builder made for this very node (/tendril-bundle.js.cache), so start-up skips parsing and
// compiling what the cache holds (initramfs/README.md, "Code cache"). V8 checks the cache
// against its version, flags and the source and ignores it when they differ: then this is a
// plain load. Workers (scan, VM) start this file too, so they load the same way.
// TENDRIL_CODE_CACHE_WRITE=FILE (the builder) writes the cache after the command has run,
// so the functions it compiled are in it.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { isMainThread } = require('node:worker_threads');

const bundle = path.join(__dirname, 'tendril-bundle.js');
const cacheFile = `${bundle}.cache`;
const write = process.env.TENDRIL_CODE_CACHE_WRITE;
let cachedData;
if (!write) {
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
}
// The CommonJS wrapper, as require() would add it; the bundle sees this file's module (so
// require.main === module holds) and its name (so workers start this file again).
const source = `(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(bundle, 'utf8')}\n})`;
const script = new vm.Script(source, { filename: bundle, cachedData });
if (cachedData && script.cachedDataRejected && process.env.TENDRIL_STAGES)
  process.stderr.write(`tendril: ${cacheFile} rejected by this node (version or flags differ); loading without it\n`);
if (write && isMainThread) process.on('exit', () => fs.writeFileSync(write, script.createCachedData()));
script.runInThisContext().call(module.exports, module.exports, require, module, __filename, __dirname);
