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
require(bundle)
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`tendril: ${e && e.message ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
