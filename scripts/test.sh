#!/usr/bin/env bash
# The test command (README, .ci/run): installs what it needs, type-checks, lints (eslint with
# type information, prettier, the import-cycle check), runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc --noEmit -p .
npm run --silent lint
npx vitest run "$@"
