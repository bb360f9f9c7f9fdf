#!/usr/bin/env bash
# The test command (README, .ci/run): installs what it needs, type-checks, runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc --noEmit -p .
npx vitest run "$@"
