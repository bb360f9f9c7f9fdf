#!/bin/sh
# Run systemd's bootctl over copies of two host directories, as ESP and XBOOTLDR, and print
# `bootctl list --json=short`. bootctl insists that each is the root of a filesystem, so
# the copies live on private tmpfs mounts. Run it inside `unshare -m` so nothing leaks.
# usage: unshare -m bootctl-list.sh BOOTCTL ESP_DIR XBOOTLDR_DIR
set -eu
B=$1
M=$(mktemp -d)
trap 'umount "$M/esp" "$M/xb" 2>/dev/null; rm -rf "$M"' EXIT
mkdir -p "$M/esp" "$M/xb"
mount -t tmpfs tendril-esp "$M/esp"
cp -a "$2/." "$M/esp/"
mount -t tmpfs tendril-xb "$M/xb"
cp -a "$3/." "$M/xb/"
SYSTEMD_RELAX_ESP_CHECKS=1 SYSTEMD_RELAX_XBOOTLDR_CHECKS=1 \
  "$B" --esp-path="$M/esp" --boot-path="$M/xb" --no-pager list --json=short
