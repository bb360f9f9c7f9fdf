#!/usr/bin/env bash
# The main job: builds tendril and the demo disks (Fedora-style ESP + /boot, Debian ESP with
# systemd-boot layout, an MBR disk with logical partitions), then shows what tendril finds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mapfile -t disks < <(node scripts/run-ts.mjs test/fixtures/demo.ts "${TMPDIR:-/tmp}/tendril-demo")
args=()
for d in "${disks[@]}"; do args+=(--disk "$d"); done
echo "== tendril probe"
node bin/tendril.js probe --no-sys "${args[@]}"
echo
echo "== tendril list"
node bin/tendril.js list --no-sys "${args[@]}"
