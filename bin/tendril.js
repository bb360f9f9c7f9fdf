#!/usr/bin/env node
'use strict';
// Runs the bundle; builds it first in a fresh checkout.
const fs = require('node:fs');
const path = require('node:path');
const bundle = path.join(__dirname, '..', 'dist', 'tendril.js');
if (!fs.existsSync(bundle)) {
  require('node:child_process').execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'build.mjs')], {
    stdio: 'inherit',
  });
}
const tendril = require(bundle);
tendril.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    // The message may quote a disk: shown printable (src/util/printable.ts).
    process.stderr.write(`tendril: ${tendril.printable(e && e.message ? e.message : String(e))}\n`);
    process.exitCode = 1;
  },
);
