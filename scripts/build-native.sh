#!/bin/sh
# Builds native/build/Release/tendril.node with plain gcc against Node's own headers
# (no network, 0.3 s). node-gyp with --nodedir=/usr gives the same result; gcc is faster.
set -eu
cd "$(dirname "$0")/../native"
inc=/usr/include/node
[ -f "$inc/node_api.h" ] || inc="$(dirname "$(dirname "$(command -v node)")")/include/node"
mkdir -p build/Release
gcc -shared -fPIC -std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter -I"$inc" \
  src/addon.c src/args.c src/sys.c src/kvm.c src/net.c src/input.c src/display.c -lpthread -o build/Release/tendril.node
